"""File writes that keep every file valid at every instant, and the one thread that does them.

Tracks and journals describe what to write as values (`Replace`, `Patch`, `Append`, `Seal`,
`Remove`); a `DiskWriter` performs them in the order given, on one thread per run, so no write,
rename or fsync ever runs on the event loop, and the writes of one file never overtake each
other.

Why a growing track is patched in place rather than replaced whole per cue: a rename of a
complete new file costs what the file holds (measured: a 10 h, four-format run writes about 70 GB
that way, and hour 10 costs several times hour 1); a patch costs what changed. A `Patch` writes
the changed tail (the last cue again, the new cues, the format's closing lines) at its offset
with one `pwrite`, and when the new tail is shorter than the old one, pads the difference with
line feeds (blank lines after the end are valid in every format written here) instead of
truncating, so at every system-call boundary the file is the old valid track or the new one,
never a torn one. `Seal` truncates the padding and fsyncs file and folder when a track ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from subtitler.errors import OutputError

T = TypeVar("T")


@dataclass(frozen=True)
class Replace:
    """The whole file, atomically: a hidden temporary file beside it, then `os.replace`."""

    path: Path
    data: bytes
    sync: bool = False


@dataclass(frozen=True)
class Patch:
    """`data` written at `offset` of the file (see the module docstring). The file stays open
    until its `Seal` (or a `Replace` of it): a file renamed over it meanwhile is not seen."""

    path: Path
    offset: int
    data: bytes


@dataclass(frozen=True)
class Append:
    """One record appended with one `write` (O_APPEND): a crash leaves at most a torn last line."""

    path: Path
    data: bytes


@dataclass(frozen=True)
class Seal:
    """The file ends at `size` (padding dropped), and it and its folder reach the disk."""

    path: Path
    size: int


@dataclass(frozen=True)
class Remove:
    path: Path


@dataclass(frozen=True)
class Close:
    """Done with the file for now (an interrupted input's journal): its descriptor is closed."""

    path: Path


FileOp = Replace | Patch | Append | Seal | Remove | Close


class OpenFiles:
    """Performs operations, keeping each growing file open between them: a patch is then one
    `pwrite` (each system call is also a moment the writer thread waits for the interpreter)."""

    def __init__(self) -> None:
        self._open: dict[Path, int] = {}

    def perform(self, operations: Sequence[FileOp]) -> None:
        """Do the operations in order; the first failure raises OutputError naming its file."""
        for operation in operations:
            try:
                self._perform_one(operation)
            except OSError as error:
                self._forget(operation.path)
                raise OutputError(str(operation.path), _reason(error)) from error

    def close(self) -> None:
        for path in list(self._open):
            self._forget(path)

    def _descriptor(self, path: Path, flags: int) -> int:
        descriptor = self._open.get(path)
        if descriptor is None:
            descriptor = self._open[path] = os.open(path, flags)
        return descriptor

    def _forget(self, path: Path) -> None:
        descriptor = self._open.pop(path, None)
        if descriptor is not None:
            with contextlib.suppress(OSError):
                os.close(descriptor)

    def _perform_one(self, operation: FileOp) -> None:
        if isinstance(operation, Patch):
            descriptor = self._descriptor(operation.path, os.O_WRONLY)
            os.pwrite(descriptor, operation.data, operation.offset)
        elif isinstance(operation, Append):
            os.write(self._descriptor(operation.path, os.O_WRONLY | os.O_APPEND), operation.data)
        elif isinstance(operation, Replace):
            self._forget(operation.path)  # a new file (inode) takes its name
            replace_file(operation)
        elif isinstance(operation, Seal):
            descriptor = self._descriptor(operation.path, os.O_WRONLY)
            os.ftruncate(descriptor, operation.size)
            os.fsync(descriptor)
            self._forget(operation.path)
            _fsync_folder(operation.path.parent)
        elif isinstance(operation, Remove):
            self._forget(operation.path)
            with contextlib.suppress(FileNotFoundError):
                operation.path.unlink()
        else:
            self._forget(operation.path)


def replace_file(operation: Replace) -> None:
    """The whole file at once: a hidden temporary beside it, then `os.replace`."""
    temporary = operation.path.with_name(f".{operation.path.name}.part")
    try:
        with open(temporary, "wb") as handle:
            handle.write(operation.data)
            if operation.sync:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(temporary, operation.path)
    except OSError:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        raise
    if operation.sync:
        _fsync_folder(operation.path.parent)


class DiskWriter:
    """The run's one writer thread (its reason: file writes, renames and fsyncs block, and the
    event loop every stream shares must not). Operations run in submission order."""

    def __init__(self) -> None:
        self._executor: ThreadPoolExecutor | None = None
        self._files = OpenFiles()
        """Used on the writer thread only."""

    async def run(self, operations: Sequence[FileOp]) -> float:
        """Perform the operations off the loop; raises OutputError as `OpenFiles.perform`.
        Returns when they were done (`time.perf_counter()`, read on the writer thread as the
        last one returned: the loop may see it later, when it next gets to this coroutine)."""
        if not operations:
            return time.perf_counter()
        return await self.call(self._perform_and_time, operations)

    def _perform_and_time(self, operations: Sequence[FileOp]) -> float:
        self._files.perform(operations)
        return time.perf_counter()

    async def render_and_run(self, render: Callable[[], Sequence[FileOp]]) -> None:
        """Make the operations on the writer thread too (restoring a long track renders every
        cue once: seconds of CPU that must not stall the loop), then perform them."""
        await self.call(lambda: self._files.perform(render()))

    async def call(self, function: Callable[..., T], *arguments: Any) -> T:
        """Any other blocking file work (reading a journal), in order with the writes."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="subtitler-disk")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, function, *arguments)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.submit(self._files.close)
            self._executor.shutdown(wait=True)
            self._executor = None


def _reason(error: OSError) -> str:
    return error.strerror.lower() if error.strerror else str(error)


def _fsync_folder(folder: Path) -> None:
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
