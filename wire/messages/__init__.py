"""Generated message classes, one module per API (`python -m wire.gen`)."""
# ruff: noqa

from wire.messages.add_offsets_to_txn import AddOffsetsToTxnRequest, AddOffsetsToTxnResponse
from wire.messages.add_partitions_to_txn import AddPartitionsToTxnRequest, AddPartitionsToTxnResponse
from wire.messages.alter_client_quotas import AlterClientQuotasRequest, AlterClientQuotasResponse
from wire.messages.alter_configs import AlterConfigsRequest, AlterConfigsResponse
from wire.messages.alter_partition_reassignments import AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse
from wire.messages.alter_replica_log_dirs import AlterReplicaLogDirsRequest, AlterReplicaLogDirsResponse
from wire.messages.alter_user_scram_credentials import AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse
from wire.messages.api_versions import ApiVersionsRequest, ApiVersionsResponse
from wire.messages.consumer_protocol_assignment import ConsumerProtocolAssignment
from wire.messages.consumer_protocol_subscription import ConsumerProtocolSubscription
from wire.messages.create_acls import CreateAclsRequest, CreateAclsResponse
from wire.messages.create_partitions import CreatePartitionsRequest, CreatePartitionsResponse
from wire.messages.create_topics import CreateTopicsRequest, CreateTopicsResponse
from wire.messages.delete_acls import DeleteAclsRequest, DeleteAclsResponse
from wire.messages.delete_groups import DeleteGroupsRequest, DeleteGroupsResponse
from wire.messages.delete_records import DeleteRecordsRequest, DeleteRecordsResponse
from wire.messages.delete_topics import DeleteTopicsRequest, DeleteTopicsResponse
from wire.messages.describe_acls import DescribeAclsRequest, DescribeAclsResponse
from wire.messages.describe_client_quotas import DescribeClientQuotasRequest, DescribeClientQuotasResponse
from wire.messages.describe_cluster import DescribeClusterRequest, DescribeClusterResponse
from wire.messages.describe_configs import DescribeConfigsRequest, DescribeConfigsResponse
from wire.messages.describe_groups import DescribeGroupsRequest, DescribeGroupsResponse
from wire.messages.describe_log_dirs import DescribeLogDirsRequest, DescribeLogDirsResponse
from wire.messages.describe_producers import DescribeProducersRequest, DescribeProducersResponse
from wire.messages.describe_quorum import DescribeQuorumRequest, DescribeQuorumResponse
from wire.messages.describe_topic_partitions import DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse
from wire.messages.describe_transactions import DescribeTransactionsRequest, DescribeTransactionsResponse
from wire.messages.describe_user_scram_credentials import DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse
from wire.messages.elect_leaders import ElectLeadersRequest, ElectLeadersResponse
from wire.messages.end_txn import EndTxnRequest, EndTxnResponse
from wire.messages.fetch import FetchRequest, FetchResponse
from wire.messages.find_coordinator import FindCoordinatorRequest, FindCoordinatorResponse
from wire.messages.heartbeat import HeartbeatRequest, HeartbeatResponse
from wire.messages.incremental_alter_configs import IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse
from wire.messages.init_producer_id import InitProducerIdRequest, InitProducerIdResponse
from wire.messages.join_group import JoinGroupRequest, JoinGroupResponse
from wire.messages.leave_group import LeaveGroupRequest, LeaveGroupResponse
from wire.messages.list_config_resources import ListConfigResourcesRequest, ListConfigResourcesResponse
from wire.messages.list_groups import ListGroupsRequest, ListGroupsResponse
from wire.messages.list_offsets import ListOffsetsRequest, ListOffsetsResponse
from wire.messages.list_partition_reassignments import ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse
from wire.messages.list_transactions import ListTransactionsRequest, ListTransactionsResponse
from wire.messages.metadata import MetadataRequest, MetadataResponse
from wire.messages.offset_commit import OffsetCommitRequest, OffsetCommitResponse
from wire.messages.offset_delete import OffsetDeleteRequest, OffsetDeleteResponse
from wire.messages.offset_fetch import OffsetFetchRequest, OffsetFetchResponse
from wire.messages.offset_for_leader_epoch import OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse
from wire.messages.produce import ProduceRequest, ProduceResponse
from wire.messages.sasl_authenticate import SaslAuthenticateRequest, SaslAuthenticateResponse
from wire.messages.sasl_handshake import SaslHandshakeRequest, SaslHandshakeResponse
from wire.messages.sync_group import SyncGroupRequest, SyncGroupResponse
from wire.messages.txn_offset_commit import TxnOffsetCommitRequest, TxnOffsetCommitResponse
from wire.messages.update_features import UpdateFeaturesRequest, UpdateFeaturesResponse
from wire.messages.write_txn_markers import WriteTxnMarkersRequest, WriteTxnMarkersResponse

REQUESTS: dict[int, type] = {
    25: AddOffsetsToTxnRequest,
    24: AddPartitionsToTxnRequest,
    49: AlterClientQuotasRequest,
    33: AlterConfigsRequest,
    45: AlterPartitionReassignmentsRequest,
    34: AlterReplicaLogDirsRequest,
    51: AlterUserScramCredentialsRequest,
    18: ApiVersionsRequest,
    30: CreateAclsRequest,
    37: CreatePartitionsRequest,
    19: CreateTopicsRequest,
    31: DeleteAclsRequest,
    42: DeleteGroupsRequest,
    21: DeleteRecordsRequest,
    20: DeleteTopicsRequest,
    29: DescribeAclsRequest,
    48: DescribeClientQuotasRequest,
    60: DescribeClusterRequest,
    32: DescribeConfigsRequest,
    15: DescribeGroupsRequest,
    35: DescribeLogDirsRequest,
    61: DescribeProducersRequest,
    55: DescribeQuorumRequest,
    75: DescribeTopicPartitionsRequest,
    65: DescribeTransactionsRequest,
    50: DescribeUserScramCredentialsRequest,
    43: ElectLeadersRequest,
    26: EndTxnRequest,
    1: FetchRequest,
    10: FindCoordinatorRequest,
    12: HeartbeatRequest,
    44: IncrementalAlterConfigsRequest,
    22: InitProducerIdRequest,
    11: JoinGroupRequest,
    13: LeaveGroupRequest,
    74: ListConfigResourcesRequest,
    16: ListGroupsRequest,
    2: ListOffsetsRequest,
    46: ListPartitionReassignmentsRequest,
    66: ListTransactionsRequest,
    3: MetadataRequest,
    8: OffsetCommitRequest,
    47: OffsetDeleteRequest,
    9: OffsetFetchRequest,
    23: OffsetForLeaderEpochRequest,
    0: ProduceRequest,
    36: SaslAuthenticateRequest,
    17: SaslHandshakeRequest,
    14: SyncGroupRequest,
    28: TxnOffsetCommitRequest,
    57: UpdateFeaturesRequest,
    27: WriteTxnMarkersRequest,
}

RESPONSES: dict[int, type] = {
    25: AddOffsetsToTxnResponse,
    24: AddPartitionsToTxnResponse,
    49: AlterClientQuotasResponse,
    33: AlterConfigsResponse,
    45: AlterPartitionReassignmentsResponse,
    34: AlterReplicaLogDirsResponse,
    51: AlterUserScramCredentialsResponse,
    18: ApiVersionsResponse,
    30: CreateAclsResponse,
    37: CreatePartitionsResponse,
    19: CreateTopicsResponse,
    31: DeleteAclsResponse,
    42: DeleteGroupsResponse,
    21: DeleteRecordsResponse,
    20: DeleteTopicsResponse,
    29: DescribeAclsResponse,
    48: DescribeClientQuotasResponse,
    60: DescribeClusterResponse,
    32: DescribeConfigsResponse,
    15: DescribeGroupsResponse,
    35: DescribeLogDirsResponse,
    61: DescribeProducersResponse,
    55: DescribeQuorumResponse,
    75: DescribeTopicPartitionsResponse,
    65: DescribeTransactionsResponse,
    50: DescribeUserScramCredentialsResponse,
    43: ElectLeadersResponse,
    26: EndTxnResponse,
    1: FetchResponse,
    10: FindCoordinatorResponse,
    12: HeartbeatResponse,
    44: IncrementalAlterConfigsResponse,
    22: InitProducerIdResponse,
    11: JoinGroupResponse,
    13: LeaveGroupResponse,
    74: ListConfigResourcesResponse,
    16: ListGroupsResponse,
    2: ListOffsetsResponse,
    46: ListPartitionReassignmentsResponse,
    66: ListTransactionsResponse,
    3: MetadataResponse,
    8: OffsetCommitResponse,
    47: OffsetDeleteResponse,
    9: OffsetFetchResponse,
    23: OffsetForLeaderEpochResponse,
    0: ProduceResponse,
    36: SaslAuthenticateResponse,
    17: SaslHandshakeResponse,
    14: SyncGroupResponse,
    28: TxnOffsetCommitResponse,
    57: UpdateFeaturesResponse,
    27: WriteTxnMarkersResponse,
}
