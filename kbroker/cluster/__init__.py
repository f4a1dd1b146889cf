"""The replicated cluster (ZooKeeper mode): what a broker runs when ``zookeeper.connect`` is set.

``zkdata`` is the ZooKeeper tree (Kafka's paths and JSON layouts), the contract between the
controller (``controller``) and every broker's metadata cache (``metadata``)."""
