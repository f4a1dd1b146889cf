"""The ZooKeeper tree of a cluster: Kafka's ZooKeeper-mode paths and their JSON values.

Pure encoding and decoding, no I/O: the controller writes these znodes, every broker reads them.

    /cluster/id                                   {"version":"1","id":"<cluster id>"}
    /controller                  ephemeral        {"version":1,"brokerid":N,"timestamp":"<ms>"}
    /controller_epoch                             "<epoch>"
    /brokers/ids/<id>            ephemeral        {"version":5,"host","port","endpoints":[...],
                                                   "listener_security_protocol_map":{...},"rack","timestamp"}
    /brokers/topics/<t>                           {"version":3,"topic_id":"<base64>","partitions":{"0":[1,2,3]},
                                                   "adding_replicas":{},"removing_replicas":{}}
    /brokers/topics/<t>/partitions/<p>/state      {"version":1,"controller_epoch":C,"leader":L,
                                                   "leader_epoch":E,"isr":[...]}
    /config/topics/<t>                            {"version":1,"config":{...}}
    /config/brokers/<id> | <default>              {"version":1,"config":{...}}  dynamic broker configs
    /config/changes/config_change_<seq>           {"version":2,"entity_path":"topics/<t>" or "brokers/<id>"}
    /admin/delete_topics/<t>                      (empty)
    /admin/controlled_shutdown/<id>               {"version":1,"attempt":N} a stopping broker asks the controller
                                                  to move its leaderships away; the controller answers in the
                                                  same znode: {"version":1,"attempt":N,"controller_epoch":C,
                                                  "remaining":[{"topic":t,"partition":p}]} (partitions it still
                                                  leads); kept until the broker is gone (the controller then
                                                  deletes it) or registers again (the broker deletes it)
    /isr_change_notification/isr_change_<seq>     {"version":1,"partitions":[{"topic":t,"partition":p}]}
    /latest_producer_id_block                     {"version":1,"broker":N,"block_start":"<n>","block_end":"<m>"}
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import dataclass, field

CLUSTER_ID = "/cluster/id"
CONTROLLER = "/controller"
CONTROLLER_EPOCH = "/controller_epoch"
BROKER_IDS = "/brokers/ids"
BROKER_TOPICS = "/brokers/topics"
CONFIG_TOPICS = "/config/topics"
CONFIG_BROKERS = "/config/brokers"
CONFIG_CHANGES = "/config/changes"
DELETE_TOPICS = "/admin/delete_topics"
ISR_CHANGES = "/isr_change_notification"
PRODUCER_ID_BLOCK = "/latest_producer_id_block"
CONTROLLED_SHUTDOWN = "/admin/controlled_shutdown"  # kbroker's: Kafka used its ControlledShutdown API
PRODUCER_ID_BLOCK_SIZE = 1000

# Persistent paths every broker makes sure exist at start (Kafka's ZkUtils.persistentZkPaths).
PERSISTENT_PATHS = (BROKER_IDS, BROKER_TOPICS, CONFIG_TOPICS, CONFIG_BROKERS, CONFIG_CHANGES,
                    DELETE_TOPICS, ISR_CHANGES, "/cluster", "/admin")

NO_LEADER = -1


def broker_path(broker_id: int) -> str:
    return f"{BROKER_IDS}/{broker_id}"


def topic_path(topic: str) -> str:
    return f"{BROKER_TOPICS}/{topic}"


def partitions_path(topic: str) -> str:
    return f"{BROKER_TOPICS}/{topic}/partitions"


def state_path(topic: str, partition: int) -> str:
    return f"{BROKER_TOPICS}/{topic}/partitions/{partition}/state"


def topic_config_path(topic: str) -> str:
    return f"{CONFIG_TOPICS}/{topic}"


def delete_topic_path(topic: str) -> str:
    return f"{DELETE_TOPICS}/{topic}"


def controlled_shutdown_path(broker_id: int) -> str:
    return f"{CONTROLLED_SHUTDOWN}/{broker_id}"


def _dumps(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _loads(data: bytes | None) -> dict:
    if not data:
        return {}
    obj = json.loads(data.decode())
    return obj if isinstance(obj, dict) else {}


def now_ms_str() -> str:
    return str(int(time.time() * 1000))


# -- /cluster/id ------------------------------------------------------------------------------------

def encode_cluster_id(cluster_id: str) -> bytes:
    return _dumps({"version": "1", "id": cluster_id})


def decode_cluster_id(data: bytes) -> str:
    return str(_loads(data)["id"])


# -- /controller, /controller_epoch -----------------------------------------------------------------

def encode_controller(broker_id: int) -> bytes:
    return _dumps({"version": 1, "brokerid": broker_id, "timestamp": now_ms_str()})


def decode_controller(data: bytes | None) -> int:
    """The controller's broker id, -1 when the value is absent or unreadable."""
    try:
        return int(_loads(data).get("brokerid", -1))
    except (ValueError, TypeError):
        return -1


def encode_controller_epoch(epoch: int) -> bytes:
    return str(epoch).encode()


def decode_controller_epoch(data: bytes) -> int:
    return int(data.decode().strip())


# -- /brokers/ids/<id> ------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class BrokerInfo:
    broker_id: int
    host: str
    port: int
    rack: str | None = None


def encode_broker(info: BrokerInfo) -> bytes:
    return _dumps({
        "version": 5, "host": info.host, "port": info.port, "jmx_port": -1,
        "endpoints": [f"PLAINTEXT://{info.host}:{info.port}"],
        "listener_security_protocol_map": {"PLAINTEXT": "PLAINTEXT"},
        "rack": info.rack, "features": {}, "timestamp": now_ms_str(),
    })


def decode_broker(broker_id: int, data: bytes) -> BrokerInfo:
    obj = _loads(data)
    host, port = str(obj.get("host")), int(obj.get("port") or -1)
    for ep in obj.get("endpoints") or []:  # the PLAINTEXT endpoint wins over the legacy fields
        proto, _, addr = str(ep).partition("://")
        if proto == "PLAINTEXT" and ":" in addr:
            h, _, p = addr.rpartition(":")
            host, port = h.strip("[]"), int(p)
            break
    return BrokerInfo(broker_id, host, port, obj.get("rack"))


# -- /brokers/topics/<t> ----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class TopicAssignment:
    topic_id: uuid.UUID
    partitions: dict[int, tuple[int, ...]]  # partition -> replicas, in preference order
    adding: dict[int, tuple[int, ...]] = field(default_factory=dict)
    removing: dict[int, tuple[int, ...]] = field(default_factory=dict)


def topic_id_to_base64(topic_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(topic_id.bytes).decode().rstrip("=")


def topic_id_from_base64(s: str) -> uuid.UUID:
    return uuid.UUID(bytes=base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))


def encode_assignment(a: TopicAssignment) -> bytes:
    def m(d: dict[int, tuple[int, ...]]) -> dict[str, list[int]]:
        return {str(p): list(r) for p, r in sorted(d.items())}
    return _dumps({"version": 3, "topic_id": topic_id_to_base64(a.topic_id), "partitions": m(a.partitions),
                   "adding_replicas": m(a.adding), "removing_replicas": m(a.removing)})


def decode_assignment(data: bytes) -> TopicAssignment:
    obj = _loads(data)

    def m(d: dict | None) -> dict[int, tuple[int, ...]]:
        return {int(p): tuple(int(b) for b in r) for p, r in (d or {}).items()}
    tid = obj.get("topic_id")
    return TopicAssignment(topic_id_from_base64(tid) if tid else uuid.UUID(int=0), m(obj.get("partitions")),
                           m(obj.get("adding_replicas")), m(obj.get("removing_replicas")))


# -- /brokers/topics/<t>/partitions/<p>/state -------------------------------------------------------

@dataclass(frozen=True, slots=True)
class PartitionState:
    leader: int
    leader_epoch: int
    isr: tuple[int, ...]
    controller_epoch: int


def encode_state(s: PartitionState) -> bytes:
    return _dumps({"version": 1, "controller_epoch": s.controller_epoch, "leader": s.leader,
                   "leader_epoch": s.leader_epoch, "isr": list(s.isr)})


def decode_state(data: bytes) -> PartitionState:
    obj = _loads(data)
    return PartitionState(int(obj["leader"]), int(obj["leader_epoch"]), tuple(int(b) for b in obj["isr"]),
                          int(obj.get("controller_epoch", 0)))


# -- /config/topics/<t>, /config/changes ------------------------------------------------------------

def encode_config(config: dict[str, str]) -> bytes:
    return _dumps({"version": 1, "config": dict(config)})


def decode_config(data: bytes | None) -> dict[str, str]:
    return {str(k): str(v) for k, v in (_loads(data).get("config") or {}).items()}


def encode_config_change(entity_path: str) -> bytes:
    return _dumps({"version": 2, "entity_path": entity_path})


def decode_config_change(data: bytes) -> str:
    return str(_loads(data).get("entity_path", ""))


# -- /isr_change_notification -----------------------------------------------------------------------

def encode_isr_change(partitions: list[tuple[str, int]]) -> bytes:
    return _dumps({"version": 1, "partitions": [{"topic": t, "partition": p} for t, p in partitions]})


def decode_isr_change(data: bytes) -> list[tuple[str, int]]:
    return [(str(e["topic"]), int(e["partition"])) for e in _loads(data).get("partitions", [])]


# -- /admin/controlled_shutdown/<id> ----------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ShutdownRequest:
    """A controlled shutdown request, and the controller's answer to it once given
    (``answered``: ``remaining`` lists the partitions the broker still leads)."""
    attempt: int
    answered: bool = False
    controller_epoch: int = 0
    remaining: tuple[tuple[str, int], ...] = ()


def encode_shutdown_request(attempt: int) -> bytes:
    return _dumps({"version": 1, "attempt": attempt})


def encode_shutdown_answer(attempt: int, controller_epoch: int, remaining: list[tuple[str, int]]) -> bytes:
    return _dumps({"version": 1, "attempt": attempt, "controller_epoch": controller_epoch,
                   "remaining": [{"topic": t, "partition": p} for t, p in remaining]})


def decode_shutdown(data: bytes | None) -> ShutdownRequest:
    """An empty znode (a request of an earlier kbroker) is attempt 0, unanswered."""
    obj = _loads(data)
    if "remaining" not in obj:
        return ShutdownRequest(int(obj.get("attempt", 0)))
    return ShutdownRequest(int(obj.get("attempt", 0)), True, int(obj.get("controller_epoch", 0)),
                           tuple((str(e["topic"]), int(e["partition"])) for e in obj["remaining"]))


# -- /latest_producer_id_block ----------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ProducerIdBlock:
    broker_id: int
    start: int
    end: int  # inclusive


def encode_producer_id_block(b: ProducerIdBlock) -> bytes:
    return _dumps({"version": 1, "broker": b.broker_id, "block_start": str(b.start), "block_end": str(b.end)})


def decode_producer_id_block(data: bytes | None) -> ProducerIdBlock | None:
    obj = _loads(data)
    if not obj:
        return None
    return ProducerIdBlock(int(obj["broker"]), int(obj["block_start"]), int(obj["block_end"]))
