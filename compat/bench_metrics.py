"""The cost the metrics add to one request, measured alone: ``python -m compat.bench_metrics``.

What the listener and the handlers do per request for metrics, on one-partition Produce and Fetch
responses: two clock reads, the traffic counters, the request counter, the latency bucket and the
error-code walk of the response.  Prints the best of 5 repeats, in microseconds per request; the
throughput runs (``compat.bench``) are far too noisy on a shared machine to show a cost this size.
"""

from __future__ import annotations

import argparse
import timeit
from time import perf_counter

from kbroker.metrics.counters import Metrics
from wire.messages.fetch import FetchResponse
from wire.messages.fetch import _FetchResponse_FetchableTopicResponse as FetchTopic
from wire.messages.fetch import _FetchResponse_PartitionData as FetchPart
from wire.messages.produce import ProduceResponse
from wire.messages.produce import _ProduceResponse_PartitionProduceResponse as ProducePart
from wire.messages.produce import _ProduceResponse_TopicProduceResponse as ProduceTopic


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--number", type=int, default=200_000, help="requests per repeat")
    args = ap.parse_args()
    m = Metrics()
    produced = ProduceResponse(responses=[ProduceTopic(name="t", partition_responses=[ProducePart(index=0)])])
    fetched = FetchResponse(responses=[FetchTopic(topic="t", partitions=[FetchPart(partition_index=0)])])

    def produce() -> None:
        started = perf_counter()
        m.traffic.record_in("t", 1000, 1_000_000)
        m.requests.observe(0, (perf_counter() - started) * 1000, produced)

    def fetch() -> None:
        started = perf_counter()
        m.traffic.record_out("t", 1_000_000)
        m.requests.observe(1, (perf_counter() - started) * 1000, fetched)

    for name, fn in (("Produce", produce), ("Fetch", fetch)):
        best = min(timeit.repeat(fn, number=args.number, repeat=5))
        print(f"{name:8} {best / args.number * 1e6:.2f} us per request")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
