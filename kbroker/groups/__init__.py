"""Classic consumer groups: the state machine (``group``, no I/O), the records of
``__consumer_offsets`` (``codec``, ``store``), the consumer protocol as far as the broker
reads it (``consumer_protocol``), and the async shell the handlers call
(``coordinator.GroupCoordinator``, held by the Broker as ``broker.groups``)."""


def client_host(peer: str) -> str:
    """Kafka's form of a member's address: "/<ip>" (the peer string is "ip:port")."""
    host = peer.rpartition(":")[0] if ":" in peer else peer
    return "/" + host
