"""The log cleaner: compaction of a partition log's closed segments, keeping the latest record of
every key. Pure storage work (files and the GIL-free parts of zlib/lz4/zstd/crc32c); the server runs
``clean`` on a worker thread. The record codec is ``wire.records``'s; nothing here knows the batch
layout beyond its public fields and primitives.

One pass (``clean``), a module per stage, Kafka's seams:

1. ``plan``: where the dirty section starts (``cleaner-offset-checkpoint``, whose on-disk format it
   describes) and whether a pass is due (``inspect``: dirty ratio, max compaction lag, tombstones
   whose delete horizon has come);
2. ``offset_map``: key -> offset of its latest record over the dirty section, within the dedupe
   buffer's budget; the end of the mapped range is the new first dirty offset;
3. ``rewrite``: each batch of every closed segment below that offset, filtered against the map
   (superseded records, keyless records, tombstones past their delete horizon), stamped with a delete
   horizon when it first keeps a tombstone, and empty batches merged; offsets never change;
4. ``output``: the filtered segments written as ``.cleaned`` files, grouped up to ``segment.bytes``,
   and swapped into the log through ``.swap`` files, each step safe against a crash;
5. ``run``: the pass itself, ending with the checkpoint. ``common`` holds what they share.

``hook(step)`` is called after each step (``STEPS``) so tests can stop a pass anywhere. A pass is
abandoned, its ``.cleaned`` files removed, if ``should_stop()`` turns true or the log closes.
Appends go on meanwhile (they only touch the active segment); ``maintenance`` keeps retention out.
"""

from .common import STEPS, CleanerAborted, CleanerConfig, CleanerStats
from .plan import CHECKPOINT_FILE, Cleanable, inspect, read_checkpoint
from .run import clean

__all__ = [
    "CHECKPOINT_FILE",
    "STEPS",
    "CleanerConfig",
    "Cleanable",
    "CleanerStats",
    "CleanerAborted",
    "inspect",
    "clean",
    "read_checkpoint",
]
