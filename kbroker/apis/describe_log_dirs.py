"""DescribeLogDirs (key 35), v1-4.

Behaviour: kbroker has one log directory (the first of ``log.dirs``), reported by its absolute
path with every partition stored in it: its size in bytes (all segments), offset lag 0 (there is
no future replica moving between directories) and is_future_key false.  ``topics`` null means
every partition; otherwise only the named partitions that exist (an unknown topic or partition is
left out, as Kafka does).  Topics are listed by name, partitions by index.
Version notes: v1 same as v0 (v0 is not in Kafka 4.1.1's range) · v2 flexible · v3 top-level
error_code · v4 total_bytes / usable_bytes from statvfs of the directory.
Not implemented: several log directories; a failed directory's KAFKA_STORAGE_ERROR.
"""

from __future__ import annotations

import os

from kbroker.context import RequestContext
from kbroker.registry import handler
from wire.messages.describe_log_dirs import DescribeLogDirsRequest, DescribeLogDirsResponse
from wire.messages.describe_log_dirs import _DescribeLogDirsResponse_DescribeLogDirsPartition as Partition
from wire.messages.describe_log_dirs import _DescribeLogDirsResponse_DescribeLogDirsResult as Result
from wire.messages.describe_log_dirs import _DescribeLogDirsResponse_DescribeLogDirsTopic as Topic


@handler(DescribeLogDirsRequest, versions=(1, 4))
async def describe_log_dirs(ctx: RequestContext, req: DescribeLogDirsRequest) -> DescribeLogDirsResponse:
    wanted: dict[str, set[int]] | None = None
    if req.topics is not None:
        wanted = {}
        for t in req.topics:
            wanted.setdefault(t.topic, set()).update(t.partitions or [])
    by_topic: dict[str, list[Partition]] = {}
    for part in sorted(ctx.topics.partitions(), key=lambda p: (p.topic, p.index)):
        if wanted is not None and part.index not in wanted.get(part.topic, ()):
            continue
        by_topic.setdefault(part.topic, []).append(Partition(partition_index=part.index, partition_size=part.log.size_bytes,
                                                             offset_lag=0, is_future_key=False))
    path = os.path.abspath(ctx.config.data_dir)
    total = usable = -1
    try:
        st = os.statvfs(path)
        total, usable = st.f_blocks * st.f_frsize, st.f_bavail * st.f_frsize
    except OSError:
        pass
    result = Result(error_code=0, log_dir=path, total_bytes=total, usable_bytes=usable,
                    topics=[Topic(name=name, partitions=parts) for name, parts in by_topic.items()])
    return DescribeLogDirsResponse(throttle_time_ms=0, error_code=0, results=[result])
