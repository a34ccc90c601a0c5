"""`--shard I/N`: split a run's files into N disjoint shards for array jobs on a cluster.

A file's shard is a stable hash (SHA-256) of its path relative to the PATH argument it was found
under (a file given directly: its name; a live input: its URL or device), so every job of an
array computes the same split whatever the listing order, and files added later never move
others. Index I counts from 0, like Kubernetes Indexed Jobs' `JOB_COMPLETION_INDEX` (Slurm's
`SLURM_ARRAY_TASK_ID` may start where the array starts). With the per-input locks, overlapping
or repeated shards are harmless: a file is never subtitled twice at once, nor redone.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from subtitler.errors import UsageError
from subtitler.sources.inputs import InputFile


@dataclass(frozen=True)
class Shard:
    index: int
    count: int


def parse_shard(spec: str) -> Shard:
    """`2/8` -> Shard(2, 8); index from 0 to count - 1."""
    index_text, separator, count_text = spec.strip().partition("/")
    if not separator or not index_text.isdigit() or not count_text.isdigit():
        raise UsageError("--shard", f"{spec!r} is not I/N (e.g. 0/4)")
    index, count = int(index_text), int(count_text)
    if count < 1 or index >= count:
        raise UsageError("--shard", f"{spec!r}: the index must be 0..N-1 and N at least 1")
    return Shard(index, count)


def shard_key(item: InputFile) -> str:
    """What the hash is taken of: the path under its PATH argument, `/`-separated."""
    if item.live:
        return item.label
    return (item.relative_dir / item.path.name).as_posix()


def shard_of(item: InputFile, count: int) -> int:
    digest = hashlib.sha256(shard_key(item).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count


def in_shard(item: InputFile, shard: Shard) -> bool:
    return shard_of(item, shard.count) == shard.index
