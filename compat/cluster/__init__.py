"""The cluster acceptance harness: a ZooKeeper and N kbroker processes (launcher), producers that log
every acknowledgement (producer), a checker of acknowledged records against the partitions' logs
(checker) and the failover campaign that kills leaders under load (failover)."""
