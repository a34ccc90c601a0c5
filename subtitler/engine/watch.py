"""`subtitler watch`: subtitle what the folders hold, then each new or replaced media file once
it has stopped changing, until stopped.

Files are found and skipped or resumed exactly as `run` does (same claims, journal and skip
rules), so a restart after a kill resumes the unfinished file and skips finished ones, and
watchers on several machines over one shared folder never subtitle a file twice at once (the
per-input lock). A file is taken once it has settled: no change event and the same size and
modification time for `settle_s` (the stat comparison also catches shares that send no events).
A file that changes while it is subtitled is settled and redone afterwards; a file whose tracks
are older than it was replaced and is redone (`overwrite`).

Change notifications come from watchfiles (Rust `notify`): its `awatch` waits for the OS in one
worker thread (anyio's), the one exception to "one loop" this command makes, because the Rust
core blocks; `poll_s` makes it poll instead, for network shares where notifications do not
arrive.
"""

from __future__ import annotations

import asyncio
import fnmatch
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from subtitler.engine.context import RunContext
from subtitler.engine.control import RunControl
from subtitler.engine.plan import plan_tracks
from subtitler.engine.runner import run_input
from subtitler.events import Event, InputEnded, InputQueued, InputResult, Status
from subtitler.options import RunOptions
from subtitler.sources.inputs import InputFile, InputProblem, discover, is_media
from subtitler.sources.shard import Shard, in_shard

PARTIAL_DOWNLOADS = ("*.part", "*.!qB", "*.crdownload", "*.tmp", "*.partial")
"""Names browsers, torrent clients and copy tools give a file still being written."""


@dataclass(frozen=True)
class WatchOptions:
    settle_s: float = 10.0
    poll_s: float | None = None
    """Poll every `poll_s` seconds instead of waiting for change notifications."""
    ignore: tuple[str, ...] = ()
    """Name patterns (globs) to leave alone, besides hidden files and partial downloads."""


def wanted(path: Path, root: Path, ignore: tuple[str, ...]) -> bool:
    """A media file under `root` that is not hidden (nor in a hidden folder), not a partial
    download and not ignored. Tracks, journals and locks are never media."""
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        return False
    if not parts or any(part.startswith(".") for part in parts):
        return False
    name = parts[-1]
    patterns = PARTIAL_DOWNLOADS + ignore
    if any(fnmatch.fnmatch(name, pattern) for pattern in patterns):
        return False
    return is_media(path)


def _signature(path: Path) -> tuple[int, int] | None:
    try:
        status = path.stat()
    except OSError:
        return None
    return (status.st_size, status.st_mtime_ns)


class FolderWatcher:
    def __init__(
        self,
        roots: list[Path],
        options: RunOptions,
        watch: WatchOptions,
        observe: Callable[[Event], None],
        control: RunControl,
        shard: Shard | None = None,
        ready: Callable[[], None] | None = None,
    ) -> None:
        self.roots = [root.absolute() for root in roots]
        self.shard = shard
        self._ready = ready
        """Called once the folders' files are queued and watching starts."""
        self._known: set[Path] = set()
        self.options = options
        self.watch = watch
        self.observe = observe
        self.control = control
        self.context = RunContext.create(options, observe, control)
        self._changed_at: dict[Path, float] = {}
        self._settling: dict[Path, asyncio.Task[None]] = {}
        self._queued: set[Path] = set()
        self._running: set[Path] = set()
        self._dirty: set[Path] = set()
        self._redo: set[Path] = set()
        self._work: set[asyncio.Task[None]] = set()
        self.results: list[InputResult] = []
        """The last pass: what ended since the watcher was last idle (nothing queued or
        running), one result per file (its latest)."""

    async def run(self) -> list[InputResult]:
        """Until `control` stops: then running files finish their current sentences."""
        for found in discover(list(self.roots), empty_is_problem=False):
            if isinstance(found, InputProblem):
                reason = f"{found.path}: {found.reason}"
                failed = InputResult(
                    path=found.path, status=Status.FAILED, reason=reason, label=str(found.path)
                )
                self._ended(failed)
            elif wanted(found.path, self._root(found.path), self.watch.ignore):
                self._known.add(found.path)
                self._submit(found.path, "found at start", replaced=False)
        stop = asyncio.Event()
        stopper = asyncio.create_task(self._stop_when_stopping(stop))
        rescan = asyncio.create_task(self._rescan_once())
        if self._ready is not None:
            self._ready()
        try:
            await self._follow_changes(stop)
        finally:
            stopper.cancel()
            rescan.cancel()
            for task in list(self._settling.values()):
                task.cancel()
            while self._work:
                await asyncio.gather(*list(self._work), return_exceptions=True)
            await self.context.aclose()
        return self.results

    async def _rescan_once(self) -> None:
        """Files that arrived between the first listing and the watcher's start would send no
        event: look once more, a little later, and settle any file not seen at start."""
        await self.control.wait_stopping(max(1.0, self.watch.poll_s or 0.0) * 2)
        if self.control.stopping:
            return
        for found in discover(list(self.roots), empty_is_problem=False):
            if (
                isinstance(found, InputFile)
                and found.path not in self._known
                and wanted(found.path, self._root(found.path), self.watch.ignore)
            ):
                self._touch(found.path)

    async def _stop_when_stopping(self, stop: asyncio.Event) -> None:
        await self.control.wait_stopping(None)
        stop.set()

    async def _follow_changes(self, stop: asyncio.Event) -> None:
        from watchfiles import Change, awatch

        poll_s = self.watch.poll_s
        changes = awatch(
            *self.roots,
            stop_event=stop,
            watch_filter=None,
            force_polling=poll_s is not None,
            poll_delay_ms=round((poll_s or 0.3) * 1000),
            debounce=200,
            step=50,
            recursive=True,
            ignore_permission_denied=True,
        )
        async for batch in changes:
            for change, raw in batch:
                path = Path(raw)
                root = next((r for r in self.roots if path.is_relative_to(r)), None)
                if change is Change.deleted or root is None:
                    continue
                if wanted(path, root, self.watch.ignore):
                    self._touch(path)

    # -- settling

    def _touch(self, path: Path) -> None:
        self._known.add(path)
        self._changed_at[path] = asyncio.get_running_loop().time()
        if path in self._running:
            self._dirty.add(path)  # redone once it settles, after the current pass
        elif path not in self._settling and path not in self._queued:
            self._settling[path] = asyncio.create_task(self._settle(path))

    async def _settle(self, path: Path) -> None:
        loop = asyncio.get_running_loop()
        try:
            signature = _signature(path)
            while True:
                quiet_s = loop.time() - self._changed_at.get(path, loop.time())
                await self.control.wait_stopping(max(0.0, self.watch.settle_s - quiet_s))
                if self.control.stopping:
                    return
                if loop.time() - self._changed_at.get(path, 0.0) < self.watch.settle_s:
                    continue  # changed again meanwhile
                now = _signature(path)
                if now is None:
                    return  # gone: renamed away or deleted
                if now != signature:  # grew with no event (a share): wait again
                    signature = now
                    self._changed_at[path] = loop.time()
                    continue
                break
        finally:
            self._settling.pop(path, None)
        self._submit(path, "settled", replaced=True)

    # -- subtitling

    def _root(self, path: Path) -> Path:
        return next(r for r in self.roots if path.is_relative_to(r))

    def _item(self, path: Path) -> InputFile:
        return InputFile(path=path, relative_dir=path.parent.relative_to(self._root(path)))

    def _replaced(self, item: InputFile) -> bool:
        """Its tracks exist but are older than it: the media was replaced since."""
        plans = plan_tracks(item, self.options, self.options.gummy.source_language)
        media = _signature(item.path)
        tracks = [_signature(path) for plan in plans for path in plan.paths]
        written = [signature[1] for signature in tracks if signature is not None]
        return media is not None and bool(written) and media[1] > min(written)

    def _submit(self, path: Path, reason: str, replaced: bool) -> None:
        if path in self._queued or path in self._running:
            return
        item = self._item(path)
        if self.shard is not None and not in_shard(item, self.shard):
            return
        options = self.options
        if path in self._redo:
            self._redo.discard(path)
            options = replace(options, overwrite=True)
            reason = "changed while it was subtitled"
        elif replaced and self._replaced(item):
            options = replace(options, overwrite=True)
            reason = "replaced"
        if not self._queued and not self._running:
            self.results = []  # idle until now: a new pass begins
        self._queued.add(path)
        self.observe(InputQueued(path=path, label=item.label, reason=reason))
        task = asyncio.create_task(self._subtitle(item, options))
        self._work.add(task)
        task.add_done_callback(self._work.discard)

    async def _subtitle(self, item: InputFile, options: RunOptions) -> None:
        async def starting() -> None:
            self._queued.discard(item.path)
            self._running.add(item.path)

        try:
            result = await run_input(item, self.context.with_request(options), starting)
        finally:
            self._queued.discard(item.path)
            self._running.discard(item.path)
        self._ended(result)
        if item.path in self._dirty and not self.control.stopping:
            self._dirty.discard(item.path)
            self._redo.add(item.path)
            self._touch(item.path)  # changed while subtitled: settle, then redo

    def _ended(self, result: InputResult) -> None:
        self.results = [kept for kept in self.results if kept.path != result.path]
        self.results.append(result)
        self.observe(InputEnded(result))


def roots_problem(roots: list[Path]) -> str | None:
    """Why these folders cannot be watched, or None."""
    for root in roots:
        if not root.is_dir():
            return f"{root}: not a folder"
        if not os.access(root, os.R_OK | os.X_OK):
            return f"{root}: folder not readable (permission denied)"
    return None
