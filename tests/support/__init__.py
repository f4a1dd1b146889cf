"""What the tests of every layer share (this package holds no tests): ``brokerproc`` (a broker
process), ``rawclient`` (the protocol over a raw socket), ``faultproxy`` (a proxy that loses
responses), ``readback`` (a topic read back and checked), ``groups`` (consumer-group set-ups and polls),
``tools`` (external tools, and the CI rule that nothing may skip), ``cli`` (the ``kbroker`` client
commands as subprocesses, and the checks of each, run against kbroker and Apache Kafka), ``waiting`` (bounded waits),
``logs`` (a partition log read directly), ``policies`` (storage policies at Kafka's defaults, for
the tests that build logs directly), ``inproc`` (a broker and its handlers in the test's process),
``container`` (the Docker images and compose files of docker/) and
``console`` (the web console as a process).

Each of these exists once, here; a test module never defines its own copy."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
"""The repository's root folder."""
