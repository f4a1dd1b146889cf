"""A Kafka client that is a program in another language (kafkajs under Node, franz-go in Go), driven
through one small command-line protocol that compat/kafkajs/client.js and compat/franz-go/main.go
both speak:

    PROGRAM version
    PROGRAM create-topic BOOTSTRAP TOPIC PARTITIONS
    PROGRAM produce BOOTSTRAP TOPIC [CODEC]      stdin: one JSON record a line
                                                 {"k", "v": base64|null, "h": [[key, base64|null]],
                                                  "ts": ms|null, "p": partition|null}
                                                 stdout: [[partition, offset], ...] in input order
    PROGRAM consume BOOTSTRAP TOPIC GROUP ENDS   ENDS: {"partition": end offset} or null (the high
                                                 watermarks); a consumer in a fresh group reads from
                                                 the beginning; stdout: one JSON record a line
                                                 {"p", "o", "k", "v", "h", "ts"[, "tt"]}
    PROGRAM member BOOTSTRAP TOPIC GROUP CLIENT_ID SESSION_MS
                                                 a group member for compat/scenarios/groups_scenarios.py:
                                                 "V <partition> <offset> <value>" per record, commits
                                                 after printing, leaves the group on SIGTERM

Everything a program prints on stderr is its failure detail.
"""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Callable, Sequence

from compat.scenarios.common import (
    CODECS,
    STEP_TIMEOUT,
    Got,
    Rec,
    ScenarioFailed,
    ScenarioSkipped,
    compression_scenario,
    other_python_readers,
    roundtrip_scenario,
)

#: "tt" in a consumed record, as in Kafka's batch attributes (absent: the client does not say, and a
#: LogAppendTime batch would show up as a timestamp that differs from the produced one)
_TS_TYPES = {0: "create", 1: "log_append"}


def _b64(b: bytes | None) -> str | None:
    return None if b is None else base64.b64encode(b).decode()


def _unb64(s: str | None) -> bytes | None:
    return None if s is None else base64.b64decode(s)


class ProgramClient:
    """``command()`` gives the program's argv prefix, or raises ScenarioSkipped when it is not
    installed (its setup.sh has not run, or the toolchain is missing)."""

    def __init__(self, name: str, command: Callable[[], list[str]]):
        self.name = name
        self.CLIENT = name  # what the shared scenarios read from a client module
        self.command = command

    def run(self, args: Sequence[str], stdin: bytes | None = None, timeout: float = STEP_TIMEOUT) -> bytes:
        cmd = [*self.command(), *args]
        try:
            proc = subprocess.run(cmd, input=stdin, capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            err = (e.stderr or b"").decode(errors="replace").strip()[-800:]
            raise ScenarioFailed(f"{self.name} {args[0]} timed out after {timeout:.0f}s; stderr: {err}") from None
        if proc.returncode != 0:
            err = proc.stderr.decode(errors="replace").strip()[-800:]
            raise ScenarioFailed(f"{self.name} {args[0]} exited {proc.returncode}: {err}")
        return proc.stdout

    def version(self) -> str:
        try:
            return self.run(["version"], timeout=60).decode().strip()
        except ScenarioSkipped as e:
            return f"not installed ({e})"

    def create_topic(self, bootstrap: str, topic: str, partitions: int) -> None:
        self.run(["create-topic", bootstrap, topic, str(partitions)])

    def produce(self, bootstrap: str, topic: str, records: Sequence[Rec], compression: str | None = None,
                partitions: Sequence[int | None] | None = None) -> list[tuple[int, int]]:
        lines = []
        for i, r in enumerate(records):
            lines.append(json.dumps({"k": _b64(r.key), "v": _b64(r.value),
                                     "h": [[k, _b64(v)] for k, v in r.headers], "ts": r.timestamp,
                                     "p": partitions[i] if partitions else None}))
        args = ["produce", bootstrap, topic] + ([compression] if compression else [])
        out = self.run(args, stdin=("\n".join(lines) + "\n").encode())
        positions = [tuple(x) for x in json.loads(out)]
        if len(positions) != len(records):
            raise ScenarioFailed(f"{self.name} reported {len(positions)} positions for {len(records)} records")
        return positions  # type: ignore[return-value]

    def consume(self, bootstrap: str, topic: str, partitions: int, ends: dict[int, int] | None,
                group: str | None = None) -> list[Got]:
        import uuid

        group = group or f"compat-{self.name}-read-{uuid.uuid4().hex[:8]}"
        ends_arg = "null" if ends is None else json.dumps({str(p): o for p, o in ends.items()})
        out = self.run(["consume", bootstrap, topic, group, ends_arg])
        got = []
        for line in out.decode().splitlines():
            if not line.strip():
                continue
            d = json.loads(line)
            if not 0 <= d["p"] < partitions:
                raise ScenarioFailed(f"{self.name} read partition {d['p']} of a {partitions}-partition topic")
            got.append(Got(d["p"], d["o"], _unb64(d["k"]), _unb64(d["v"]),
                           tuple((k, _unb64(v) or b"") for k, v in d["h"] or ()), d["ts"],
                           _TS_TYPES.get(d.get("tt", 0), "none")))
        return got

    def member_command(self, bootstrap: str, topic: str, group: str, client_id: str, session_ms: int) -> list[str]:
        return [*self.command(), "member", bootstrap, topic, group, client_id, str(session_ms)]


def scenarios(client: ProgramClient, codecs: Sequence[str] = CODECS) -> dict[str, Callable[[str], str]]:
    """The compat scenarios of a program client (``SCENARIOS`` of its module): the shared
    roundtrip, compression (read back by the Python clients), group and group-failover."""
    from compat.scenarios.groups_scenarios import failover_scenario, group_scenario

    return {
        "roundtrip": lambda bootstrap: roundtrip_scenario(client, bootstrap),  # type: ignore[arg-type]
        "compression": lambda bootstrap: compression_scenario(
            bootstrap, client, other_python_readers(client.name), codecs=codecs),  # type: ignore[arg-type]
        "group": lambda bootstrap: group_scenario(client.name, bootstrap),
        "group-failover": lambda bootstrap: failover_scenario(client.name, bootstrap),
    }
