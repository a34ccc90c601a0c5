"""Finished sentences of one target into durable cues: resume journal first, then every track.

The writes go through the run's `DiskWriter` (off the loop, in order); `CueWritten` is emitted
once they are done, so `write_ms` is the time to a durable cue. With `-s auto` the tracks are not
open until the input names the language: sentences are held (`held`) and written, in order, by
`open` (called once, by the input, when the `SourceNamer` has named it).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from subtitler import state as resume_state
from subtitler.cues import Cue, CueLayout, LayoutUpdate, SentenceText, TimedWord
from subtitler.durable import DiskWriter, FileOp, Remove
from subtitler.engine.naming import SourceNamer
from subtitler.errors import OutputError
from subtitler.events import CueWritten
from subtitler.gummy.protocol import Sentence
from subtitler.tracks import TrackPlan


@dataclass(frozen=True)
class _Finished:
    """A finished sentence as received, with what its event reports."""

    sentence: Sentence
    task_start_ms: int
    latency_ms: float | None
    received_s: float


class TargetWriter:
    def __init__(
        self,
        *,
        path: Path,
        label: str,
        target: str,
        plan: TrackPlan | None,
        layout: CueLayout,
        progress: resume_state.TargetProgress,
        journal: resume_state.Journal | None,
        media_offset_ms: int,
        disk: DiskWriter,
        emit: Callable[[CueWritten], None],
        namer: SourceNamer | None = None,
    ) -> None:
        self.path = path
        self.label = label
        self.target = target
        self.plan = plan
        """None until the source language is named (`-s auto`): the tracks are not open."""
        self.namer = namer
        self.layout = layout
        self.progress = progress
        self.journal = journal
        """None for a live input: a stream cannot be resumed by seeking."""
        self.media_offset_ms = media_offset_ms
        """Where the audio stream starts on the media timeline (late audio)."""
        self.sentences = 0
        self.error: OutputError | None = None
        """The first write that failed: later writes raise it (the input fails, the journal
        keeps what was durable)."""
        self._held: list[_Finished] = []
        self._held_resume_ms = 0
        self._disk = disk
        self._emit = emit
        self._lock = asyncio.Lock()
        """One update at a time, in order (a task's results and the naming's `open`)."""

    @property
    def paths(self) -> tuple[Path, ...]:
        return self.plan.paths if self.plan is not None else ()

    @property
    def resume_ms(self) -> int:
        """Stream time after the last finished sentence written (or held to be written)."""
        return max(self.progress.resume_ms, self._held_resume_ms)

    async def open(self, plan: TrackPlan, source_language: str | None) -> None:
        """Open the planned tracks with the cues so far (restored or none), then write what was
        held while the language was unnamed. Raises OutputError."""
        async with self._lock:
            self.plan = plan
            self.layout.source_language = source_language
            cues = list(self.progress.cues)
            await self._guarded(
                self._disk.render_and_run(lambda: [track.restore(cues) for track in plan.tracks])
            )
            held, self._held = self._held, []
            for finished in held:
                await self._write(finished)

    async def write(
        self,
        sentence: Sentence,
        task_start_ms: int,
        latency_ms: float | None,
        received_s: float,
    ) -> None:
        """Lay the sentence out and make it durable; raises OutputError (disk full, ...)."""
        finished = _Finished(sentence, task_start_ms, latency_ms, received_s)
        async with self._lock:
            if self.error is not None:
                raise self.error
            if self.plan is None:
                self._held.append(finished)
                self._held_resume_ms = max(self._held_resume_ms, sentence.end_ms + task_start_ms)
                if self.namer is not None:
                    self.namer.offer(sentence.transcript)
                return
            await self._write(finished)

    async def finish(self) -> None:
        """Seal the tracks (padding dropped, synced); nothing when they were never opened. A
        track with no cue is removed: a media server would list an empty file as a track."""
        async with self._lock:
            if self.plan is None:
                return
            if self.progress.cues:
                await self._run([track.finish() for track in self.plan.tracks])
            else:
                await self._run([Remove(track.path) for track in self.plan.tracks])
                self.plan = TrackPlan(self.plan.target, ())

    async def _write(self, finished: _Finished) -> None:
        assert self.plan is not None
        sentence = finished.sentence
        media_offset = finished.task_start_ms + self.media_offset_ms
        laid_out = SentenceText(
            begin_ms=sentence.begin_ms + media_offset,
            end_ms=sentence.end_ms + media_offset,
            transcript=sentence.transcript,
            translation=sentence.translation,
            words=tuple(
                TimedWord(w.text, w.begin_ms + media_offset, w.end_ms + media_offset)
                for w in sentence.words
            ),
        )
        update = self.layout.add(laid_out)
        _apply(self.progress.cues, update)
        self.progress.resume_ms = max(
            self.progress.resume_ms, sentence.end_ms + finished.task_start_ms
        )
        if update.replaced is None and not update.added:
            return
        operations: list[FileOp | None] = []
        if self.journal is not None:  # first: a crash after it loses nothing
            operations.append(self.journal.append(self.target, self.progress, update))
        operations += [track.apply(update) for track in self.plan.tracks]
        await self._run(operations)
        self.sentences += 1
        self.progress.sentences += 1
        self._emit(
            CueWritten(
                self.path,
                self.target,
                sentence.sentence_id,
                sentence.transcript,
                sentence.translation,
                update.added,
                update.replaced,
                self.plan.paths,
                laid_out.begin_ms,
                laid_out.end_ms,
                finished.latency_ms,
                round((time.perf_counter() - finished.received_s) * 1000, 3),
                self.label,
            )
        )

    async def _run(self, operations: list[FileOp | None]) -> None:
        kept = [operation for operation in operations if operation is not None]
        await self._guarded(self._disk.run(kept))

    async def _guarded(self, writing: Coroutine[Any, Any, None]) -> None:
        """Await a write; its OutputError is kept and raised again by every later write."""
        if self.error is not None:
            writing.close()  # never started
            raise self.error
        try:
            await writing
        except OutputError as error:
            self.error = error
            raise


def _apply(cues: list[Cue], update: LayoutUpdate) -> None:
    if update.replaced is not None and cues:
        cues[-1] = update.replaced
    cues.extend(update.added)
