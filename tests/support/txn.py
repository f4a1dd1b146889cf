"""Reading a topic back as a read_committed consumer sees it (the transactions tests)."""

from __future__ import annotations

from tests.support.waiting import wait_for


def committed_values(bootstrap: str, topic: str, expect: int, group: str) -> list[bytes]:
    """The first ``expect`` values a read_committed confluent-kafka consumer reads from the start.
    The tests end with a committed transaction, so a record that should be invisible (aborted) lies
    before the last committed one and would be among these."""
    import confluent_kafka

    cons = confluent_kafka.Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                                     "isolation.level": "read_committed", "auto.offset.reset": "earliest",
                                     "enable.auto.commit": False})
    cons.subscribe([topic])
    got: list[bytes] = []
    try:
        def poll() -> bool:
            m = cons.poll(0.5)
            if m is not None and m.error() is None:
                got.append(m.value())
            return len(got) >= expect

        wait_for(poll, interval=0, what=f"{expect} committed records")
    finally:
        cons.close()
    return got
