"""One module per API, each registering its handler with ``kbroker.registry.handler``.

The modules are not imported here: ``SERVED`` names, for every API the broker serves, the module
that handles it and the version range it serves, so ApiVersions can answer without loading them and
``kbroker.registry.HANDLERS`` imports a module on the first request of its API (a cold start loads
the few APIs a client uses, not all forty). A module's ``@handler(..., versions=...)`` must agree
with its line here (checked when it registers, and for all of them by tests/unit/test_api_table.py).
"""

# api_key: (module, min version, max version)
SERVED: dict[int, tuple[str, int, int]] = {
    0: ('produce', 0, 13),  # Produce
    1: ('fetch', 4, 18),  # Fetch
    2: ('list_offsets', 1, 10),  # ListOffsets
    3: ('metadata', 0, 13),  # Metadata
    8: ('offset_commit', 2, 9),  # OffsetCommit
    9: ('offset_fetch', 1, 9),  # OffsetFetch
    10: ('find_coordinator', 0, 6),  # FindCoordinator
    11: ('join_group', 0, 9),  # JoinGroup
    12: ('heartbeat', 0, 4),  # Heartbeat
    13: ('leave_group', 0, 5),  # LeaveGroup
    14: ('sync_group', 0, 5),  # SyncGroup
    15: ('describe_groups', 0, 6),  # DescribeGroups
    16: ('list_groups', 0, 5),  # ListGroups
    18: ('api_versions', 0, 4),  # ApiVersions
    19: ('create_topics', 2, 7),  # CreateTopics
    20: ('delete_topics', 1, 6),  # DeleteTopics
    21: ('delete_records', 0, 2),  # DeleteRecords
    22: ('init_producer_id', 0, 5),  # InitProducerId
    23: ('offset_for_leader_epoch', 2, 4),  # OffsetForLeaderEpoch
    24: ('add_partitions_to_txn', 0, 5),  # AddPartitionsToTxn
    25: ('add_offsets_to_txn', 0, 4),  # AddOffsetsToTxn
    26: ('end_txn', 0, 5),  # EndTxn
    27: ('write_txn_markers', 1, 1),  # WriteTxnMarkers
    28: ('txn_offset_commit', 0, 5),  # TxnOffsetCommit
    32: ('describe_configs', 1, 4),  # DescribeConfigs
    33: ('alter_configs', 0, 2),  # AlterConfigs
    35: ('describe_log_dirs', 1, 4),  # DescribeLogDirs
    37: ('create_partitions', 0, 3),  # CreatePartitions
    42: ('delete_groups', 0, 2),  # DeleteGroups
    43: ('elect_leaders', 0, 2),  # ElectLeaders
    44: ('incremental_alter_configs', 0, 1),  # IncrementalAlterConfigs
    45: ('alter_partition_reassignments', 0, 1),  # AlterPartitionReassignments
    46: ('list_partition_reassignments', 0, 0),  # ListPartitionReassignments
    47: ('offset_delete', 0, 0),  # OffsetDelete
    60: ('describe_cluster', 0, 2),  # DescribeCluster
    61: ('describe_producers', 0, 0),  # DescribeProducers
    65: ('describe_transactions', 0, 0),  # DescribeTransactions
    66: ('list_transactions', 0, 2),  # ListTransactions
    74: ('list_config_resources', 0, 1),  # ListConfigResources
    75: ('describe_topic_partitions', 0, 0),  # DescribeTopicPartitions
}
