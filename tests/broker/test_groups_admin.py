"""Group administration through real admin clients (confluent-kafka AdminClient,
kafka-python KafkaAdminClient) and through ``kbroker groups list|describe``."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.brokerproc import ROOT, BrokerProcess
from tests.support.groups import GROUP_OVERRIDES, assignments, confluent_conf, create_topic, produce
from tests.support.waiting import wait_for

confluent_kafka = pytest.importorskip("confluent_kafka")
from confluent_kafka import ConsumerGroupState, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient  # noqa: E402


@pytest.fixture(scope="module")
def ab(tmp_path_factory):
    b = BrokerProcess(tmp_path_factory.mktemp("groups-admin") / "data", overrides=GROUP_OVERRIDES).start()
    create_topic(b.bootstrap, "adm", 2)
    produce(b.bootstrap, "adm", range(100), partitions=2)
    yield b
    b.stop()


@pytest.fixture
def member(ab):
    """A confluent consumer holding both partitions of "adm" in group "live", with a commit."""
    c = confluent_kafka.Consumer(confluent_conf(ab.bootstrap, "live", **{"group.instance.id": "live-1"}))
    c.subscribe(["adm"])
    wait_for(lambda: assignments([c])[0] == {0, 1}, lambda: c.poll(0.1), what="assignment")
    c.commit(offsets=[TopicPartition("adm", 0, 30), TopicPartition("adm", 1, 50)], asynchronous=False)
    yield c
    c.close()


def test_confluent_admin(ab, member):
    admin = AdminClient({"bootstrap.servers": ab.bootstrap})
    dummy = confluent_kafka.Consumer(confluent_conf(ab.bootstrap, "parked"))
    dummy.commit(offsets=[TopicPartition("adm", 0, 7)], asynchronous=False)  # a standalone commit
    dummy.close()
    listed = admin.list_consumer_groups(request_timeout=30).result()
    states = {g.group_id: g.state for g in listed.valid}
    assert states["live"] == ConsumerGroupState.STABLE and states["parked"] == ConsumerGroupState.EMPTY
    only_stable = admin.list_consumer_groups(states={ConsumerGroupState.STABLE}).result()
    assert "live" in {g.group_id for g in only_stable.valid}
    assert "parked" not in {g.group_id for g in only_stable.valid}
    desc = admin.describe_consumer_groups(["live"])["live"].result()
    assert desc.state == ConsumerGroupState.STABLE and desc.partition_assignor == "range"
    (m,) = desc.members
    assert m.group_instance_id == "live-1"
    assert {tp.partition for tp in m.assignment.topic_partitions} == {0, 1}
    from confluent_kafka import ConsumerGroupTopicPartitions

    got = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions("live")])["live"].result()
    assert {tp.partition: tp.offset for tp in got.topic_partitions} == {0: 30, 1: 50}
    admin.alter_consumer_group_offsets([ConsumerGroupTopicPartitions(
        "parked", [TopicPartition("adm", 1, 9)])])["parked"].result()
    got = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions("parked")])["parked"].result()
    assert {tp.partition: tp.offset for tp in got.topic_partitions} == {0: 7, 1: 9}
    with pytest.raises(confluent_kafka.KafkaException):
        admin.delete_consumer_groups(["live"])["live"].result()  # NON_EMPTY_GROUP
    admin.delete_consumer_groups(["parked"])["parked"].result()
    assert "parked" not in {g.group_id for g in admin.list_consumer_groups().result().valid}


def test_kafka_python_admin(ab, member):
    from kafka.admin import KafkaAdminClient, MemberToRemove
    from kafka.errors import NoError
    from kafka.structs import OffsetAndMetadata
    from kafka.structs import TopicPartition as KTP

    admin = KafkaAdminClient(bootstrap_servers=ab.bootstrap)
    try:
        groups = {g["group_id"]: g for g in admin.list_groups()}
        assert (groups["live"]["protocol_type"], groups["live"]["group_state"]) == ("consumer", "Stable")
        live = admin.describe_groups(["live"])["live"]
        assert live["group_state"] == "Stable" and live["protocol_data"] == "range"
        assert [m["group_instance_id"] for m in live["members"]] == ["live-1"]
        offsets = admin.list_group_offsets({"live": None})["live"]
        assert {tp.partition: om.offset for tp, om in offsets.items()} == {0: 30, 1: 50}
        tp0 = KTP("adm", 0)
        assert admin.alter_group_offsets("kp-admin", {tp0: OffsetAndMetadata(11, "", -1)}) == {tp0: NoError}
        assert admin.list_group_offsets({"kp-admin": None})["kp-admin"][tp0].offset == 11
        assert admin.delete_group_offsets("kp-admin", [tp0]) == {tp0: NoError}
        assert admin.list_group_offsets({"kp-admin": None})["kp-admin"] == {}
        assert admin.delete_groups(["kp-admin", "nope"]) == {"kp-admin": "OK", "nope": "GroupIdNotFoundError"}
        # a static member removed by its instance id alone
        removed = admin.remove_group_members("live", [MemberToRemove(group_instance_id="live-1")])
        assert list(removed.values()) == [NoError]
        assert admin.describe_groups(["live"])["live"]["members"] == []
    finally:
        admin.close()


def test_cli_list_and_describe(ab, member):
    def cli(*args: str) -> str:
        r = subprocess.run([sys.executable, "-m", "kbroker", "groups", *args, "--bootstrap-server", ab.bootstrap],
                           capture_output=True, text=True, timeout=60, cwd=str(ROOT))
        assert r.returncode == 0, r.stderr
        return r.stdout

    listing = cli("list")
    assert any(ln.split() == ["live", "consumer", "Stable"] for ln in listing.splitlines())
    assert "live" in cli("list", "--state", "Stable") and "live" not in cli("list", "--state", "Empty")
    out = cli("describe", "live")
    assert "state Stable" in out and "consumer/range" in out and "live-1" in out and "adm:0,1" in out
    rows = {tuple(ln.split()[:5]) for ln in out.splitlines() if ln.startswith("adm ")}
    assert ("adm", "0", "30", "50", "20") in rows and ("adm", "1", "50", "50", "0") in rows
    r = subprocess.run([sys.executable, "-m", "kbroker", "groups", "list", "--bootstrap-server", "127.0.0.1:1"],
                       capture_output=True, text=True, timeout=60, cwd=str(ROOT))
    assert r.returncode == 1 and "cannot connect" in r.stderr
