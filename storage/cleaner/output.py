"""Writing the cleaned segments and swapping them into the log.

Grouping: every closed segment below the end of the offset map is cleaned, oldest first, into a part
file set (``<base>.log.part.cleaned`` and its indexes); the next part joins the current group while
the group's parts plus it fit ``segment.bytes`` (and the indexes and u32 relative offsets fit), so
small cleaned segments merge even in the first pass. A group of one part that changed nothing (its
batches and its aborted-transaction entries) is dropped, not swapped.

Aborted-transaction index: each part collects the entries the transaction walk keeps while it is
written (``txn.TxnWalk.kept``: the aborted transactions whose ABORT marker in this part is kept
because they still had data), in marker order; a group's ``<base>.txnindex.cleaned`` holds its parts'
entries, and exists only if there is one (as Kafka's index file). It is renamed with the other
indexes through ``.swap``; a replaced segment's ``.txnindex`` leaves with it (``.deleted``).

Swapping a group, each step safe against a crash (``storage.recovery`` finishes or discards):

1. write ``<base>.log.cleaned`` (+ ``.index.cleaned``, ``.timeindex.cleaned`` and, with entries,
   ``.txnindex.cleaned``), fdatasync them;
2. rename the indexes ``.cleaned`` -> ``.swap``, then the log ``.cleaned`` -> ``.swap`` and fsync the
   directory: the commit point (before it the group reads as before, after it as cleaned);
3. under the log's locks: rename each replaced segment's files to ``.deleted``, the ``.swap`` indexes
   and log to their final names, open the new segment and put it in the list in place of the group;
4. fsync the directory. Retired segments keep their descriptors open for ``file.delete.delay.ms``
   (``PartitionLog.replace_segments``), so reads already handed out stay valid.

Rules: ``Pass.step`` is called after each step (``STEPS``). On an error (not on a simulated crash, a
``BaseException``) every ``.part.cleaned`` / ``.cleaned`` / uncommitted ``.swap`` file of the pass is
removed. Appends go on meanwhile: they only touch the active segment.
"""

from __future__ import annotations

import os

from wire.records import BatchHeader

from ..log import LogConfig
from ..recovery import fsync_dir
from ..segment import MAX_RELATIVE_OFFSET, Segment, file_name
from ..txn_index import TXN_INDEX_SUFFIX, AbortedTxn, TransactionIndex
from .common import Pass, read_batches
from .rewrite import EMPTY, KEEP, empty_batch, filter_batch, mergeable

__all__ = ["Output", "clean_segments"]

_INDEXES = (".index", ".timeindex", TXN_INDEX_SUFFIX)


class Output:
    """One file set being written by the cleaner (``<base>.log<suffix>`` and its indexes).
    Consecutive empty batches are merged into one while alike (``rewrite.mergeable``)."""

    def __init__(self, work: Pass, base: int, suffix: str) -> None:
        self.work = work
        self.base = base
        self.suffix = suffix
        directory = work.log.directory
        for ext in (".log", *_INDEXES):
            for leftover in (suffix, ".swap") if suffix == ".cleaned" else (suffix,):
                (directory / file_name(base, ext + leftover)).unlink(missing_ok=True)
        self.writer = Segment(directory, base, create=True, suffix=suffix)
        self.out = bytearray()
        self.batches: list[tuple[int, BatchHeader]] = []
        self.pending: list[BatchHeader] = []  # a run of empty batches not yet written
        self.txn_entries: list[AbortedTxn] = []  # aborted transactions whose markers this output keeps
        self.changed = False

    @property
    def size(self) -> int:
        return self.writer.size

    def add(
        self, kind: int, header: BatchHeader, buf: bytes, pos: int, new: bytes | None, dropped: int
    ) -> None:
        if dropped:
            self.changed = True
        if kind == EMPTY:
            if self.pending and mergeable(self.pending[0], self.pending[-1], header):
                self.pending.append(header)
                self.changed = True
            else:
                self.flush_pending()
                self.pending = [header]
                if dropped == 0 and header.compression:
                    self.changed = True  # an empty batch is written without its codec
            return
        self.flush_pending()
        if kind == KEEP:
            self.batches.append((len(self.out), header))
            self.out += memoryview(buf)[pos : pos + header.total_size]
        else:
            assert new is not None
            self.changed = True  # e.g. a delete horizon stamped, no record dropped
            self.batches.append((len(self.out), BatchHeader(new)))
            self.out += new

    def flush_pending(self) -> None:
        run = self.pending
        if not run:
            return
        self.pending = []
        new = empty_batch(run)
        if len(run) > 1:
            self.work.stats.empty_batches_merged += len(run) - 1
        self.batches.append((len(self.out), BatchHeader(new)))
        self.out += new

    def flush_chunk(self) -> None:
        if not self.out:
            return
        self.writer.append(
            self.out, self.batches, self.work.now_ms, self.work.log.config.index_interval_bytes
        )
        self.out, self.batches = bytearray(), []
        if not self.work.partial_reported:
            self.work.partial_reported = True
            self.work.step("cleaned_partial")

    def finalize(self) -> None:
        """Everything written, the last time-index entry added, all synced, files closed."""
        self.flush_pending()
        self.flush_chunk()
        self.writer.seal()
        self.writer.flush()
        self.writer.close()
        if self.txn_entries:
            index = TransactionIndex(self.work.log.directory / file_name(self.base, TXN_INDEX_SUFFIX + self.suffix), create=True)
            for txn in self.txn_entries:
                index.append(txn)
            index.flush()

    def discard(self) -> None:
        self.writer.delete()
        directory = self.work.log.directory
        (directory / file_name(self.base, TXN_INDEX_SUFFIX + self.suffix)).unlink(missing_ok=True)
        if self.suffix == ".cleaned":
            for ext in _INDEXES:
                (directory / file_name(self.base, ext + ".swap")).unlink(missing_ok=True)


def clean_segments(work: Pass, targets: list[Segment], nexts: dict[int, int]) -> None:
    """Clean ``targets`` oldest first, each into a part file (``<base>.part.cleaned``); consecutive
    parts are joined into one new segment while their actual sizes fit ``segment.bytes`` (and the
    indexes and u32 relative offsets fit), and each new segment is swapped in when complete.
    ``nexts`` maps ``id(segment)`` to the offset just past it."""
    cfg = work.log.config
    parts: list[tuple[Segment, Output]] = []
    current: Output | None = None
    try:
        for segment in targets:
            current = Output(work, segment.base_offset, ".part.cleaned")
            work.txns.kept = current.txn_entries
            _write_segment(work, current, segment)
            current.flush_pending()
            current.flush_chunk()
            if parts and not _fits(parts, current, nexts[id(segment)], cfg):
                _join_and_swap(work, parts, nexts[id(parts[-1][0])])
                parts = []
            parts.append((segment, current))
            current = None
        if parts:
            _join_and_swap(work, parts, nexts[id(parts[-1][0])])
            parts = []
    except BaseException as exc:
        if isinstance(exc, Exception):  # a simulated crash (BaseException) leaves its files
            for _, part in parts:
                part.discard()
            if current is not None:
                current.discard()
        raise


def _fits(parts: list[tuple[Segment, Output]], part: Output, next_base: int, cfg: LogConfig) -> bool:
    index_entries = sum(len(p.writer.index) + 1 for _, p in parts) + len(part.writer.index) + 1
    time_entries = sum(len(p.writer.time_index) + 1 for _, p in parts) + len(part.writer.time_index) + 1
    return (
        sum(p.size for _, p in parts) + part.size <= cfg.segment_bytes
        and next_base - 1 - parts[0][0].base_offset <= MAX_RELATIVE_OFFSET
        and index_entries * 8 <= cfg.segment_index_bytes
        and time_entries * 12 <= cfg.segment_index_bytes
    )


def _write_segment(work: Pass, out: Output, segment: Segment) -> None:
    for buf, pos, header in read_batches(segment, work.config.io_buffer_size):
        if pos == 0:
            out.flush_chunk()
            work.check(len(buf))
        kind, new, dropped = filter_batch(work, buf, pos, header)
        out.add(kind, header, buf, pos, new, dropped)
    out.flush_chunk()


def _join_and_swap(work: Pass, parts: list[tuple[Segment, Output]], next_base: int) -> None:
    group = [s for s, _ in parts]
    base = group[0].base_offset
    directory = work.log.directory
    if len(parts) == 1:
        segment, part = parts[0]
        if not part.changed and part.txn_entries == segment.txn_index.entries():
            # nothing to gain from swapping in an identical segment
            part.discard()
            work.stats.segments_before += 1
            work.stats.segments_after += 1
            return
        part.finalize()
        for ext in (".log", *_INDEXES):
            source = directory / file_name(base, ext + ".part.cleaned")
            if ext == TXN_INDEX_SUFFIX and not source.exists():
                continue
            os.replace(source, directory / file_name(base, ext + ".cleaned"))
        size = part.size
    else:
        out = Output(work, base, ".cleaned")
        try:
            for _, part in parts:
                out.txn_entries += part.txn_entries
                for buf, pos, header in read_batches(part.writer, work.config.io_buffer_size):
                    if pos == 0:
                        out.flush_chunk()
                    empty = header.record_count <= 0 and not header.is_control
                    out.add(EMPTY if empty else KEEP, header, buf, pos, None, 0)
                part.discard()
            out.finalize()
        except Exception:
            out.discard()
            raise
        size = out.size
    _swap(work, group, base, size, next_base)


def _swap(work: Pass, group: list[Segment], base: int, size: int, next_base: int) -> None:
    """Commit ``<base>.*.cleaned`` and swap it in place of ``group``."""
    log, stats = work.log, work.stats
    directory = log.directory
    stats.segments_before += len(group)
    stats.bytes_written += size
    work.step("cleaned_written")
    try:
        for ext in _INDEXES:
            source = directory / file_name(base, ext + ".cleaned")
            if ext == TXN_INDEX_SUFFIX and not source.exists():
                continue
            os.replace(source, directory / file_name(base, ext + ".swap"))
        work.step("indexes_swap")
    except Exception:
        for ext in (".log", *_INDEXES):
            for suffix in (".cleaned", ".swap"):
                (directory / file_name(base, ext + suffix)).unlink(missing_ok=True)
        raise
    os.replace(directory / file_name(base, ".log.cleaned"), directory / file_name(base, ".log.swap"))
    fsync_dir(directory)
    work.step("log_swap")

    def install() -> Segment:
        for ext in _INDEXES:
            target = directory / file_name(base, ext)
            if ext == TXN_INDEX_SUFFIX and not (directory / file_name(base, ext + ".swap")).exists():
                target.unlink(missing_ok=True)  # none: no entry of a replaced segment may stay behind
                continue
            os.replace(directory / file_name(base, ext + ".swap"), target)
        work.step("indexes_final")
        os.replace(directory / file_name(base, ".log.swap"), directory / file_name(base, ".log"))
        work.step("log_final")
        segment = Segment(directory, base, create=False)
        segment.load_inactive(next_base)
        segment.release_indexes()
        return segment

    log.replace_segments(group, install, work.now_ms, work.config.file_delete_delay_ms, work.hook)
    fsync_dir(directory)
    stats.segments_after += 1
    stats.groups.append((base, len(group)))
    work.step("swapped")
