"""Generated message classes, one module per API (`python -m wire.gen`).

A message module is imported the first time one of its classes is used — as an attribute of this
package (``wire.messages.FetchRequest``) or through ``REQUESTS``/``RESPONSES``/``DATA`` (see
wire.lazy) — so importing the package, or one module of it, does not build all ~90 of them."""
# ruff: noqa
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from wire.lazy import LazyTable

if TYPE_CHECKING:
    from wire.messages.add_offsets_to_txn import AddOffsetsToTxnRequest, AddOffsetsToTxnResponse
    from wire.messages.add_partitions_to_txn import AddPartitionsToTxnRequest, AddPartitionsToTxnResponse
    from wire.messages.add_raft_voter import AddRaftVoterRequest, AddRaftVoterResponse
    from wire.messages.allocate_producer_ids import AllocateProducerIdsRequest, AllocateProducerIdsResponse
    from wire.messages.alter_client_quotas import AlterClientQuotasRequest, AlterClientQuotasResponse
    from wire.messages.alter_configs import AlterConfigsRequest, AlterConfigsResponse
    from wire.messages.alter_partition import AlterPartitionRequest, AlterPartitionResponse
    from wire.messages.alter_partition_reassignments import AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse
    from wire.messages.alter_replica_log_dirs import AlterReplicaLogDirsRequest, AlterReplicaLogDirsResponse
    from wire.messages.alter_share_group_offsets import AlterShareGroupOffsetsRequest, AlterShareGroupOffsetsResponse
    from wire.messages.alter_user_scram_credentials import AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse
    from wire.messages.api_versions import ApiVersionsRequest, ApiVersionsResponse
    from wire.messages.assign_replicas_to_dirs import AssignReplicasToDirsRequest, AssignReplicasToDirsResponse
    from wire.messages.begin_quorum_epoch import BeginQuorumEpochRequest, BeginQuorumEpochResponse
    from wire.messages.broker_heartbeat import BrokerHeartbeatRequest, BrokerHeartbeatResponse
    from wire.messages.broker_registration import BrokerRegistrationRequest, BrokerRegistrationResponse
    from wire.messages.consumer_group_describe import ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse
    from wire.messages.consumer_group_heartbeat import ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse
    from wire.messages.consumer_protocol_assignment import ConsumerProtocolAssignment
    from wire.messages.consumer_protocol_subscription import ConsumerProtocolSubscription
    from wire.messages.controller_registration import ControllerRegistrationRequest, ControllerRegistrationResponse
    from wire.messages.create_acls import CreateAclsRequest, CreateAclsResponse
    from wire.messages.create_delegation_token import CreateDelegationTokenRequest, CreateDelegationTokenResponse
    from wire.messages.create_partitions import CreatePartitionsRequest, CreatePartitionsResponse
    from wire.messages.create_topics import CreateTopicsRequest, CreateTopicsResponse
    from wire.messages.default_principal_data import DefaultPrincipalData
    from wire.messages.delete_acls import DeleteAclsRequest, DeleteAclsResponse
    from wire.messages.delete_groups import DeleteGroupsRequest, DeleteGroupsResponse
    from wire.messages.delete_records import DeleteRecordsRequest, DeleteRecordsResponse
    from wire.messages.delete_share_group_offsets import DeleteShareGroupOffsetsRequest, DeleteShareGroupOffsetsResponse
    from wire.messages.delete_share_group_state import DeleteShareGroupStateRequest, DeleteShareGroupStateResponse
    from wire.messages.delete_topics import DeleteTopicsRequest, DeleteTopicsResponse
    from wire.messages.describe_acls import DescribeAclsRequest, DescribeAclsResponse
    from wire.messages.describe_client_quotas import DescribeClientQuotasRequest, DescribeClientQuotasResponse
    from wire.messages.describe_cluster import DescribeClusterRequest, DescribeClusterResponse
    from wire.messages.describe_configs import DescribeConfigsRequest, DescribeConfigsResponse
    from wire.messages.describe_delegation_token import DescribeDelegationTokenRequest, DescribeDelegationTokenResponse
    from wire.messages.describe_groups import DescribeGroupsRequest, DescribeGroupsResponse
    from wire.messages.describe_log_dirs import DescribeLogDirsRequest, DescribeLogDirsResponse
    from wire.messages.describe_producers import DescribeProducersRequest, DescribeProducersResponse
    from wire.messages.describe_quorum import DescribeQuorumRequest, DescribeQuorumResponse
    from wire.messages.describe_share_group_offsets import DescribeShareGroupOffsetsRequest, DescribeShareGroupOffsetsResponse
    from wire.messages.describe_topic_partitions import DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse
    from wire.messages.describe_transactions import DescribeTransactionsRequest, DescribeTransactionsResponse
    from wire.messages.describe_user_scram_credentials import DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse
    from wire.messages.elect_leaders import ElectLeadersRequest, ElectLeadersResponse
    from wire.messages.end_quorum_epoch import EndQuorumEpochRequest, EndQuorumEpochResponse
    from wire.messages.end_txn import EndTxnRequest, EndTxnResponse
    from wire.messages.end_txn_marker import EndTxnMarker
    from wire.messages.envelope import EnvelopeRequest, EnvelopeResponse
    from wire.messages.expire_delegation_token import ExpireDelegationTokenRequest, ExpireDelegationTokenResponse
    from wire.messages.fetch import FetchRequest, FetchResponse
    from wire.messages.fetch_snapshot import FetchSnapshotRequest, FetchSnapshotResponse
    from wire.messages.find_coordinator import FindCoordinatorRequest, FindCoordinatorResponse
    from wire.messages.get_telemetry_subscriptions import GetTelemetrySubscriptionsRequest, GetTelemetrySubscriptionsResponse
    from wire.messages.heartbeat import HeartbeatRequest, HeartbeatResponse
    from wire.messages.incremental_alter_configs import IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse
    from wire.messages.init_producer_id import InitProducerIdRequest, InitProducerIdResponse
    from wire.messages.initialize_share_group_state import InitializeShareGroupStateRequest, InitializeShareGroupStateResponse
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
    from wire.messages.push_telemetry import PushTelemetryRequest, PushTelemetryResponse
    from wire.messages.read_share_group_state import ReadShareGroupStateRequest, ReadShareGroupStateResponse
    from wire.messages.read_share_group_state_summary import ReadShareGroupStateSummaryRequest, ReadShareGroupStateSummaryResponse
    from wire.messages.remove_raft_voter import RemoveRaftVoterRequest, RemoveRaftVoterResponse
    from wire.messages.renew_delegation_token import RenewDelegationTokenRequest, RenewDelegationTokenResponse
    from wire.messages.sasl_authenticate import SaslAuthenticateRequest, SaslAuthenticateResponse
    from wire.messages.sasl_handshake import SaslHandshakeRequest, SaslHandshakeResponse
    from wire.messages.share_acknowledge import ShareAcknowledgeRequest, ShareAcknowledgeResponse
    from wire.messages.share_fetch import ShareFetchRequest, ShareFetchResponse
    from wire.messages.share_group_describe import ShareGroupDescribeRequest, ShareGroupDescribeResponse
    from wire.messages.share_group_heartbeat import ShareGroupHeartbeatRequest, ShareGroupHeartbeatResponse
    from wire.messages.streams_group_describe import StreamsGroupDescribeRequest, StreamsGroupDescribeResponse
    from wire.messages.streams_group_heartbeat import StreamsGroupHeartbeatRequest, StreamsGroupHeartbeatResponse
    from wire.messages.sync_group import SyncGroupRequest, SyncGroupResponse
    from wire.messages.txn_offset_commit import TxnOffsetCommitRequest, TxnOffsetCommitResponse
    from wire.messages.unregister_broker import UnregisterBrokerRequest, UnregisterBrokerResponse
    from wire.messages.update_features import UpdateFeaturesRequest, UpdateFeaturesResponse
    from wire.messages.update_raft_voter import UpdateRaftVoterRequest, UpdateRaftVoterResponse
    from wire.messages.vote import VoteRequest, VoteResponse
    from wire.messages.write_share_group_state import WriteShareGroupStateRequest, WriteShareGroupStateResponse
    from wire.messages.write_txn_markers import WriteTxnMarkersRequest, WriteTxnMarkersResponse

# class name -> its module
_MODULES: dict[str, str] = {
    'AddOffsetsToTxnRequest': 'add_offsets_to_txn',
    'AddOffsetsToTxnResponse': 'add_offsets_to_txn',
    'AddPartitionsToTxnRequest': 'add_partitions_to_txn',
    'AddPartitionsToTxnResponse': 'add_partitions_to_txn',
    'AddRaftVoterRequest': 'add_raft_voter',
    'AddRaftVoterResponse': 'add_raft_voter',
    'AllocateProducerIdsRequest': 'allocate_producer_ids',
    'AllocateProducerIdsResponse': 'allocate_producer_ids',
    'AlterClientQuotasRequest': 'alter_client_quotas',
    'AlterClientQuotasResponse': 'alter_client_quotas',
    'AlterConfigsRequest': 'alter_configs',
    'AlterConfigsResponse': 'alter_configs',
    'AlterPartitionRequest': 'alter_partition',
    'AlterPartitionResponse': 'alter_partition',
    'AlterPartitionReassignmentsRequest': 'alter_partition_reassignments',
    'AlterPartitionReassignmentsResponse': 'alter_partition_reassignments',
    'AlterReplicaLogDirsRequest': 'alter_replica_log_dirs',
    'AlterReplicaLogDirsResponse': 'alter_replica_log_dirs',
    'AlterShareGroupOffsetsRequest': 'alter_share_group_offsets',
    'AlterShareGroupOffsetsResponse': 'alter_share_group_offsets',
    'AlterUserScramCredentialsRequest': 'alter_user_scram_credentials',
    'AlterUserScramCredentialsResponse': 'alter_user_scram_credentials',
    'ApiVersionsRequest': 'api_versions',
    'ApiVersionsResponse': 'api_versions',
    'AssignReplicasToDirsRequest': 'assign_replicas_to_dirs',
    'AssignReplicasToDirsResponse': 'assign_replicas_to_dirs',
    'BeginQuorumEpochRequest': 'begin_quorum_epoch',
    'BeginQuorumEpochResponse': 'begin_quorum_epoch',
    'BrokerHeartbeatRequest': 'broker_heartbeat',
    'BrokerHeartbeatResponse': 'broker_heartbeat',
    'BrokerRegistrationRequest': 'broker_registration',
    'BrokerRegistrationResponse': 'broker_registration',
    'ConsumerGroupDescribeRequest': 'consumer_group_describe',
    'ConsumerGroupDescribeResponse': 'consumer_group_describe',
    'ConsumerGroupHeartbeatRequest': 'consumer_group_heartbeat',
    'ConsumerGroupHeartbeatResponse': 'consumer_group_heartbeat',
    'ConsumerProtocolAssignment': 'consumer_protocol_assignment',
    'ConsumerProtocolSubscription': 'consumer_protocol_subscription',
    'ControllerRegistrationRequest': 'controller_registration',
    'ControllerRegistrationResponse': 'controller_registration',
    'CreateAclsRequest': 'create_acls',
    'CreateAclsResponse': 'create_acls',
    'CreateDelegationTokenRequest': 'create_delegation_token',
    'CreateDelegationTokenResponse': 'create_delegation_token',
    'CreatePartitionsRequest': 'create_partitions',
    'CreatePartitionsResponse': 'create_partitions',
    'CreateTopicsRequest': 'create_topics',
    'CreateTopicsResponse': 'create_topics',
    'DefaultPrincipalData': 'default_principal_data',
    'DeleteAclsRequest': 'delete_acls',
    'DeleteAclsResponse': 'delete_acls',
    'DeleteGroupsRequest': 'delete_groups',
    'DeleteGroupsResponse': 'delete_groups',
    'DeleteRecordsRequest': 'delete_records',
    'DeleteRecordsResponse': 'delete_records',
    'DeleteShareGroupOffsetsRequest': 'delete_share_group_offsets',
    'DeleteShareGroupOffsetsResponse': 'delete_share_group_offsets',
    'DeleteShareGroupStateRequest': 'delete_share_group_state',
    'DeleteShareGroupStateResponse': 'delete_share_group_state',
    'DeleteTopicsRequest': 'delete_topics',
    'DeleteTopicsResponse': 'delete_topics',
    'DescribeAclsRequest': 'describe_acls',
    'DescribeAclsResponse': 'describe_acls',
    'DescribeClientQuotasRequest': 'describe_client_quotas',
    'DescribeClientQuotasResponse': 'describe_client_quotas',
    'DescribeClusterRequest': 'describe_cluster',
    'DescribeClusterResponse': 'describe_cluster',
    'DescribeConfigsRequest': 'describe_configs',
    'DescribeConfigsResponse': 'describe_configs',
    'DescribeDelegationTokenRequest': 'describe_delegation_token',
    'DescribeDelegationTokenResponse': 'describe_delegation_token',
    'DescribeGroupsRequest': 'describe_groups',
    'DescribeGroupsResponse': 'describe_groups',
    'DescribeLogDirsRequest': 'describe_log_dirs',
    'DescribeLogDirsResponse': 'describe_log_dirs',
    'DescribeProducersRequest': 'describe_producers',
    'DescribeProducersResponse': 'describe_producers',
    'DescribeQuorumRequest': 'describe_quorum',
    'DescribeQuorumResponse': 'describe_quorum',
    'DescribeShareGroupOffsetsRequest': 'describe_share_group_offsets',
    'DescribeShareGroupOffsetsResponse': 'describe_share_group_offsets',
    'DescribeTopicPartitionsRequest': 'describe_topic_partitions',
    'DescribeTopicPartitionsResponse': 'describe_topic_partitions',
    'DescribeTransactionsRequest': 'describe_transactions',
    'DescribeTransactionsResponse': 'describe_transactions',
    'DescribeUserScramCredentialsRequest': 'describe_user_scram_credentials',
    'DescribeUserScramCredentialsResponse': 'describe_user_scram_credentials',
    'ElectLeadersRequest': 'elect_leaders',
    'ElectLeadersResponse': 'elect_leaders',
    'EndQuorumEpochRequest': 'end_quorum_epoch',
    'EndQuorumEpochResponse': 'end_quorum_epoch',
    'EndTxnRequest': 'end_txn',
    'EndTxnResponse': 'end_txn',
    'EndTxnMarker': 'end_txn_marker',
    'EnvelopeRequest': 'envelope',
    'EnvelopeResponse': 'envelope',
    'ExpireDelegationTokenRequest': 'expire_delegation_token',
    'ExpireDelegationTokenResponse': 'expire_delegation_token',
    'FetchRequest': 'fetch',
    'FetchResponse': 'fetch',
    'FetchSnapshotRequest': 'fetch_snapshot',
    'FetchSnapshotResponse': 'fetch_snapshot',
    'FindCoordinatorRequest': 'find_coordinator',
    'FindCoordinatorResponse': 'find_coordinator',
    'GetTelemetrySubscriptionsRequest': 'get_telemetry_subscriptions',
    'GetTelemetrySubscriptionsResponse': 'get_telemetry_subscriptions',
    'HeartbeatRequest': 'heartbeat',
    'HeartbeatResponse': 'heartbeat',
    'IncrementalAlterConfigsRequest': 'incremental_alter_configs',
    'IncrementalAlterConfigsResponse': 'incremental_alter_configs',
    'InitProducerIdRequest': 'init_producer_id',
    'InitProducerIdResponse': 'init_producer_id',
    'InitializeShareGroupStateRequest': 'initialize_share_group_state',
    'InitializeShareGroupStateResponse': 'initialize_share_group_state',
    'JoinGroupRequest': 'join_group',
    'JoinGroupResponse': 'join_group',
    'LeaveGroupRequest': 'leave_group',
    'LeaveGroupResponse': 'leave_group',
    'ListConfigResourcesRequest': 'list_config_resources',
    'ListConfigResourcesResponse': 'list_config_resources',
    'ListGroupsRequest': 'list_groups',
    'ListGroupsResponse': 'list_groups',
    'ListOffsetsRequest': 'list_offsets',
    'ListOffsetsResponse': 'list_offsets',
    'ListPartitionReassignmentsRequest': 'list_partition_reassignments',
    'ListPartitionReassignmentsResponse': 'list_partition_reassignments',
    'ListTransactionsRequest': 'list_transactions',
    'ListTransactionsResponse': 'list_transactions',
    'MetadataRequest': 'metadata',
    'MetadataResponse': 'metadata',
    'OffsetCommitRequest': 'offset_commit',
    'OffsetCommitResponse': 'offset_commit',
    'OffsetDeleteRequest': 'offset_delete',
    'OffsetDeleteResponse': 'offset_delete',
    'OffsetFetchRequest': 'offset_fetch',
    'OffsetFetchResponse': 'offset_fetch',
    'OffsetForLeaderEpochRequest': 'offset_for_leader_epoch',
    'OffsetForLeaderEpochResponse': 'offset_for_leader_epoch',
    'ProduceRequest': 'produce',
    'ProduceResponse': 'produce',
    'PushTelemetryRequest': 'push_telemetry',
    'PushTelemetryResponse': 'push_telemetry',
    'ReadShareGroupStateRequest': 'read_share_group_state',
    'ReadShareGroupStateResponse': 'read_share_group_state',
    'ReadShareGroupStateSummaryRequest': 'read_share_group_state_summary',
    'ReadShareGroupStateSummaryResponse': 'read_share_group_state_summary',
    'RemoveRaftVoterRequest': 'remove_raft_voter',
    'RemoveRaftVoterResponse': 'remove_raft_voter',
    'RenewDelegationTokenRequest': 'renew_delegation_token',
    'RenewDelegationTokenResponse': 'renew_delegation_token',
    'SaslAuthenticateRequest': 'sasl_authenticate',
    'SaslAuthenticateResponse': 'sasl_authenticate',
    'SaslHandshakeRequest': 'sasl_handshake',
    'SaslHandshakeResponse': 'sasl_handshake',
    'ShareAcknowledgeRequest': 'share_acknowledge',
    'ShareAcknowledgeResponse': 'share_acknowledge',
    'ShareFetchRequest': 'share_fetch',
    'ShareFetchResponse': 'share_fetch',
    'ShareGroupDescribeRequest': 'share_group_describe',
    'ShareGroupDescribeResponse': 'share_group_describe',
    'ShareGroupHeartbeatRequest': 'share_group_heartbeat',
    'ShareGroupHeartbeatResponse': 'share_group_heartbeat',
    'StreamsGroupDescribeRequest': 'streams_group_describe',
    'StreamsGroupDescribeResponse': 'streams_group_describe',
    'StreamsGroupHeartbeatRequest': 'streams_group_heartbeat',
    'StreamsGroupHeartbeatResponse': 'streams_group_heartbeat',
    'SyncGroupRequest': 'sync_group',
    'SyncGroupResponse': 'sync_group',
    'TxnOffsetCommitRequest': 'txn_offset_commit',
    'TxnOffsetCommitResponse': 'txn_offset_commit',
    'UnregisterBrokerRequest': 'unregister_broker',
    'UnregisterBrokerResponse': 'unregister_broker',
    'UpdateFeaturesRequest': 'update_features',
    'UpdateFeaturesResponse': 'update_features',
    'UpdateRaftVoterRequest': 'update_raft_voter',
    'UpdateRaftVoterResponse': 'update_raft_voter',
    'VoteRequest': 'vote',
    'VoteResponse': 'vote',
    'WriteShareGroupStateRequest': 'write_share_group_state',
    'WriteShareGroupStateResponse': 'write_share_group_state',
    'WriteTxnMarkersRequest': 'write_txn_markers',
    'WriteTxnMarkersResponse': 'write_txn_markers',
}


def _load(name: str) -> type:
    cls = getattr(importlib.import_module(f"wire.messages.{_MODULES[name]}"), name)
    globals()[name] = cls  # the next access is a plain attribute
    return cls


def __getattr__(name: str) -> type:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return _load(name)


def _entry(key: object, name: str) -> type:
    return _load(name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_MODULES))


REQUESTS: dict[int, type] = LazyTable({
    25: 'AddOffsetsToTxnRequest',
    24: 'AddPartitionsToTxnRequest',
    80: 'AddRaftVoterRequest',
    67: 'AllocateProducerIdsRequest',
    49: 'AlterClientQuotasRequest',
    33: 'AlterConfigsRequest',
    56: 'AlterPartitionRequest',
    45: 'AlterPartitionReassignmentsRequest',
    34: 'AlterReplicaLogDirsRequest',
    91: 'AlterShareGroupOffsetsRequest',
    51: 'AlterUserScramCredentialsRequest',
    18: 'ApiVersionsRequest',
    73: 'AssignReplicasToDirsRequest',
    53: 'BeginQuorumEpochRequest',
    63: 'BrokerHeartbeatRequest',
    62: 'BrokerRegistrationRequest',
    69: 'ConsumerGroupDescribeRequest',
    68: 'ConsumerGroupHeartbeatRequest',
    70: 'ControllerRegistrationRequest',
    30: 'CreateAclsRequest',
    38: 'CreateDelegationTokenRequest',
    37: 'CreatePartitionsRequest',
    19: 'CreateTopicsRequest',
    31: 'DeleteAclsRequest',
    42: 'DeleteGroupsRequest',
    21: 'DeleteRecordsRequest',
    92: 'DeleteShareGroupOffsetsRequest',
    86: 'DeleteShareGroupStateRequest',
    20: 'DeleteTopicsRequest',
    29: 'DescribeAclsRequest',
    48: 'DescribeClientQuotasRequest',
    60: 'DescribeClusterRequest',
    32: 'DescribeConfigsRequest',
    41: 'DescribeDelegationTokenRequest',
    15: 'DescribeGroupsRequest',
    35: 'DescribeLogDirsRequest',
    61: 'DescribeProducersRequest',
    55: 'DescribeQuorumRequest',
    90: 'DescribeShareGroupOffsetsRequest',
    75: 'DescribeTopicPartitionsRequest',
    65: 'DescribeTransactionsRequest',
    50: 'DescribeUserScramCredentialsRequest',
    43: 'ElectLeadersRequest',
    54: 'EndQuorumEpochRequest',
    26: 'EndTxnRequest',
    58: 'EnvelopeRequest',
    40: 'ExpireDelegationTokenRequest',
    1: 'FetchRequest',
    59: 'FetchSnapshotRequest',
    10: 'FindCoordinatorRequest',
    71: 'GetTelemetrySubscriptionsRequest',
    12: 'HeartbeatRequest',
    44: 'IncrementalAlterConfigsRequest',
    22: 'InitProducerIdRequest',
    83: 'InitializeShareGroupStateRequest',
    11: 'JoinGroupRequest',
    13: 'LeaveGroupRequest',
    74: 'ListConfigResourcesRequest',
    16: 'ListGroupsRequest',
    2: 'ListOffsetsRequest',
    46: 'ListPartitionReassignmentsRequest',
    66: 'ListTransactionsRequest',
    3: 'MetadataRequest',
    8: 'OffsetCommitRequest',
    47: 'OffsetDeleteRequest',
    9: 'OffsetFetchRequest',
    23: 'OffsetForLeaderEpochRequest',
    0: 'ProduceRequest',
    72: 'PushTelemetryRequest',
    84: 'ReadShareGroupStateRequest',
    87: 'ReadShareGroupStateSummaryRequest',
    81: 'RemoveRaftVoterRequest',
    39: 'RenewDelegationTokenRequest',
    36: 'SaslAuthenticateRequest',
    17: 'SaslHandshakeRequest',
    79: 'ShareAcknowledgeRequest',
    78: 'ShareFetchRequest',
    77: 'ShareGroupDescribeRequest',
    76: 'ShareGroupHeartbeatRequest',
    89: 'StreamsGroupDescribeRequest',
    88: 'StreamsGroupHeartbeatRequest',
    14: 'SyncGroupRequest',
    28: 'TxnOffsetCommitRequest',
    64: 'UnregisterBrokerRequest',
    57: 'UpdateFeaturesRequest',
    82: 'UpdateRaftVoterRequest',
    52: 'VoteRequest',
    85: 'WriteShareGroupStateRequest',
    27: 'WriteTxnMarkersRequest',
}, _entry)

RESPONSES: dict[int, type] = LazyTable({
    25: 'AddOffsetsToTxnResponse',
    24: 'AddPartitionsToTxnResponse',
    80: 'AddRaftVoterResponse',
    67: 'AllocateProducerIdsResponse',
    49: 'AlterClientQuotasResponse',
    33: 'AlterConfigsResponse',
    56: 'AlterPartitionResponse',
    45: 'AlterPartitionReassignmentsResponse',
    34: 'AlterReplicaLogDirsResponse',
    91: 'AlterShareGroupOffsetsResponse',
    51: 'AlterUserScramCredentialsResponse',
    18: 'ApiVersionsResponse',
    73: 'AssignReplicasToDirsResponse',
    53: 'BeginQuorumEpochResponse',
    63: 'BrokerHeartbeatResponse',
    62: 'BrokerRegistrationResponse',
    69: 'ConsumerGroupDescribeResponse',
    68: 'ConsumerGroupHeartbeatResponse',
    70: 'ControllerRegistrationResponse',
    30: 'CreateAclsResponse',
    38: 'CreateDelegationTokenResponse',
    37: 'CreatePartitionsResponse',
    19: 'CreateTopicsResponse',
    31: 'DeleteAclsResponse',
    42: 'DeleteGroupsResponse',
    21: 'DeleteRecordsResponse',
    92: 'DeleteShareGroupOffsetsResponse',
    86: 'DeleteShareGroupStateResponse',
    20: 'DeleteTopicsResponse',
    29: 'DescribeAclsResponse',
    48: 'DescribeClientQuotasResponse',
    60: 'DescribeClusterResponse',
    32: 'DescribeConfigsResponse',
    41: 'DescribeDelegationTokenResponse',
    15: 'DescribeGroupsResponse',
    35: 'DescribeLogDirsResponse',
    61: 'DescribeProducersResponse',
    55: 'DescribeQuorumResponse',
    90: 'DescribeShareGroupOffsetsResponse',
    75: 'DescribeTopicPartitionsResponse',
    65: 'DescribeTransactionsResponse',
    50: 'DescribeUserScramCredentialsResponse',
    43: 'ElectLeadersResponse',
    54: 'EndQuorumEpochResponse',
    26: 'EndTxnResponse',
    58: 'EnvelopeResponse',
    40: 'ExpireDelegationTokenResponse',
    1: 'FetchResponse',
    59: 'FetchSnapshotResponse',
    10: 'FindCoordinatorResponse',
    71: 'GetTelemetrySubscriptionsResponse',
    12: 'HeartbeatResponse',
    44: 'IncrementalAlterConfigsResponse',
    22: 'InitProducerIdResponse',
    83: 'InitializeShareGroupStateResponse',
    11: 'JoinGroupResponse',
    13: 'LeaveGroupResponse',
    74: 'ListConfigResourcesResponse',
    16: 'ListGroupsResponse',
    2: 'ListOffsetsResponse',
    46: 'ListPartitionReassignmentsResponse',
    66: 'ListTransactionsResponse',
    3: 'MetadataResponse',
    8: 'OffsetCommitResponse',
    47: 'OffsetDeleteResponse',
    9: 'OffsetFetchResponse',
    23: 'OffsetForLeaderEpochResponse',
    0: 'ProduceResponse',
    72: 'PushTelemetryResponse',
    84: 'ReadShareGroupStateResponse',
    87: 'ReadShareGroupStateSummaryResponse',
    81: 'RemoveRaftVoterResponse',
    39: 'RenewDelegationTokenResponse',
    36: 'SaslAuthenticateResponse',
    17: 'SaslHandshakeResponse',
    79: 'ShareAcknowledgeResponse',
    78: 'ShareFetchResponse',
    77: 'ShareGroupDescribeResponse',
    76: 'ShareGroupHeartbeatResponse',
    89: 'StreamsGroupDescribeResponse',
    88: 'StreamsGroupHeartbeatResponse',
    14: 'SyncGroupResponse',
    28: 'TxnOffsetCommitResponse',
    64: 'UnregisterBrokerResponse',
    57: 'UpdateFeaturesResponse',
    82: 'UpdateRaftVoterResponse',
    52: 'VoteResponse',
    85: 'WriteShareGroupStateResponse',
    27: 'WriteTxnMarkersResponse',
}, _entry)

# definitions of type data (embedded in other messages or records)
DATA: dict[str, type] = LazyTable({
    'ConsumerProtocolAssignment': 'ConsumerProtocolAssignment',
    'ConsumerProtocolSubscription': 'ConsumerProtocolSubscription',
    'DefaultPrincipalData': 'DefaultPrincipalData',
    'EndTxnMarker': 'EndTxnMarker',
}, _entry)

KAFKA_RELEASE = "4.1.1"

# what a broker of KAFKA_RELEASE advertises for each API its broker listener serves
BROKER_VERSIONS: dict[int, tuple[int, int]] = {
    0: (0, 13),  # Produce
    1: (4, 18),  # Fetch
    2: (1, 10),  # ListOffsets
    3: (0, 13),  # Metadata
    8: (2, 9),  # OffsetCommit
    9: (1, 9),  # OffsetFetch
    10: (0, 6),  # FindCoordinator
    11: (0, 9),  # JoinGroup
    12: (0, 4),  # Heartbeat
    13: (0, 5),  # LeaveGroup
    14: (0, 5),  # SyncGroup
    15: (0, 6),  # DescribeGroups
    16: (0, 5),  # ListGroups
    17: (0, 1),  # SaslHandshake
    18: (0, 4),  # ApiVersions
    19: (2, 7),  # CreateTopics
    20: (1, 6),  # DeleteTopics
    21: (0, 2),  # DeleteRecords
    22: (0, 5),  # InitProducerId
    23: (2, 4),  # OffsetForLeaderEpoch
    24: (0, 5),  # AddPartitionsToTxn
    25: (0, 4),  # AddOffsetsToTxn
    26: (0, 5),  # EndTxn
    27: (1, 1),  # WriteTxnMarkers
    28: (0, 5),  # TxnOffsetCommit
    29: (1, 3),  # DescribeAcls
    30: (1, 3),  # CreateAcls
    31: (1, 3),  # DeleteAcls
    32: (1, 4),  # DescribeConfigs
    33: (0, 2),  # AlterConfigs
    34: (1, 2),  # AlterReplicaLogDirs
    35: (1, 4),  # DescribeLogDirs
    36: (0, 2),  # SaslAuthenticate
    37: (0, 3),  # CreatePartitions
    38: (1, 3),  # CreateDelegationToken
    39: (1, 2),  # RenewDelegationToken
    40: (1, 2),  # ExpireDelegationToken
    41: (1, 3),  # DescribeDelegationToken
    42: (0, 2),  # DeleteGroups
    43: (0, 2),  # ElectLeaders
    44: (0, 1),  # IncrementalAlterConfigs
    45: (0, 1),  # AlterPartitionReassignments
    46: (0, 0),  # ListPartitionReassignments
    47: (0, 0),  # OffsetDelete
    48: (0, 1),  # DescribeClientQuotas
    49: (0, 1),  # AlterClientQuotas
    50: (0, 0),  # DescribeUserScramCredentials
    51: (0, 0),  # AlterUserScramCredentials
    55: (0, 2),  # DescribeQuorum
    57: (0, 2),  # UpdateFeatures
    60: (0, 2),  # DescribeCluster
    61: (0, 0),  # DescribeProducers
    64: (0, 0),  # UnregisterBroker
    65: (0, 0),  # DescribeTransactions
    66: (0, 2),  # ListTransactions
    68: (0, 1),  # ConsumerGroupHeartbeat
    69: (0, 1),  # ConsumerGroupDescribe
    71: (0, 0),  # GetTelemetrySubscriptions
    72: (0, 0),  # PushTelemetry
    74: (0, 1),  # ListConfigResources
    75: (0, 0),  # DescribeTopicPartitions
    76: (1, 1),  # ShareGroupHeartbeat
    77: (1, 1),  # ShareGroupDescribe
    78: (1, 1),  # ShareFetch
    79: (1, 1),  # ShareAcknowledge
    80: (0, 0),  # AddRaftVoter
    81: (0, 0),  # RemoveRaftVoter
    83: (0, 0),  # InitializeShareGroupState
    84: (0, 0),  # ReadShareGroupState
    85: (0, 0),  # WriteShareGroupState
    86: (0, 0),  # DeleteShareGroupState
    87: (0, 0),  # ReadShareGroupStateSummary
    90: (0, 0),  # DescribeShareGroupOffsets
    91: (0, 0),  # AlterShareGroupOffsets
    92: (0, 0),  # DeleteShareGroupOffsets
}
