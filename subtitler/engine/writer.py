"""Finished sentences of one target into durable cues: resume journal first, then every track.

The writes go through the run's `DiskWriter` (off the loop, in order); `CueWritten` is emitted
once they are done, and its `write_ms` is the time from the final result's arrival to the moment
the writer thread finished writing the cue (journal and every track). With `-s auto` the tracks
are not open until the input names the language: sentences are held (`held`) and written, in
order, by `open` (called once, by the input, when the `SourceNamer` has named it).

Each writer has one `Role`, given when it is made: `Alone` (the input's one running target);
with several targets one `Recognising` (its sentences go to the input's transcript `Ledger`)
and the others `Translating` only: their sentences wait, in order, for the transcript of their
time and are written with it (`engine/pairing.py`); a Qwen-MT target's writer is
`FromTranscript`: its sentences are the transcript's, translated. The recognising writer (`Alone`
or `Recognising`) journals each sentence it hears (`heard` lines): a target added later, or a
Qwen-MT target resumed, translates them without recognising the speech again.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from subtitler.engine import journal as resume_state
from subtitler.engine.naming import SourceNamer
from subtitler.engine.pairing import Cursor, Heard, Ledger, Reader, transcript_of
from subtitler.engine.plan import TrackPlan
from subtitler.errors import OutputError
from subtitler.events import CueWritten
from subtitler.gummy.protocol import Sentence, Word
from subtitler.layout.cues import Cue, CueLayout, LayoutUpdate, SentenceText, TimedWord
from subtitler.tracks.durable import DiskWriter, FileOp, Remove

T = TypeVar("T")


@dataclass(frozen=True)
class Alone:
    """The input's one running target: its task recognises and translates for itself."""


@dataclass(frozen=True)
class Recognising:
    """Its task recognises for the input: its sentences are the transcript, published here."""

    ledger: Ledger


@dataclass(frozen=True)
class Translating:
    """Its task translates only: its cues take the transcript of their time from here."""

    transcripts: Cursor


@dataclass(frozen=True)
class FromTranscript:
    """Its sentences are the input's transcript translated by Qwen-MT (`engine/machine.py`):
    they come with their translation, and their transcript is already journaled."""

    reader: Reader


Role = Alone | Recognising | Translating | FromTranscript


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
        role: Role,
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
        self.role = role
        self._publish = role.ledger if isinstance(role, Recognising) else None
        self._transcripts = role.transcripts if isinstance(role, Translating) else None
        self._held: list[_Finished] = []
        self._held_resume_ms = 0
        self._unpaired: deque[_Finished] = deque()
        self._pairing: asyncio.Task[None] | None = None
        self._disk = disk
        self._emit = emit
        self._lock = asyncio.Lock()
        """One update at a time, in order (a task's results and the naming's `open`)."""

    @property
    def translates_only(self) -> bool:
        """Its task needs no recognition: another target's, or the journal, says the source."""
        return isinstance(self.role, Translating)

    def fail(self, error: OutputError) -> None:
        """A write for this input failed elsewhere (its tracks' opening): later writes raise the
        first such error."""
        self.error = self.error or error

    @property
    def paths(self) -> tuple[Path, ...]:
        return self.plan.paths if self.plan is not None else ()

    @property
    def resume_ms(self) -> int:
        """Stream time after the last finished sentence written (or held to be written)."""
        return max(self.progress.resume_ms, self._held_resume_ms)

    async def open(
        self, plan: TrackPlan, source_language: str | None, kept: tuple[str, ...]
    ) -> None:
        """Journal that the target's tracks open now (`kept`: the names of planned tracks left
        as they were, which a resume leaves alone too), open them with the cues so far (restored
        or none), then write what was held while the language was unnamed. Raises OutputError."""
        async with self._lock:
            if self.journal is not None:
                self.progress.kept = kept
                await self._run([self.journal.started(self.target, kept)])
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
        offset_ms = task_start_ms + self.media_offset_ms
        if self._publish is not None:
            words = tuple(TimedWord(w.text, w.begin_ms + offset_ms, w.end_ms + offset_ms)
                          for w in sentence.words)  # fmt: skip
            self._publish.add(Heard(sentence.begin_ms + offset_ms, sentence.end_ms + offset_ms,
                                   sentence.transcript, words))  # fmt: skip
        if self._transcripts is not None:
            if self.error is not None:
                raise self.error
            self._unpaired.append(finished)
            self._held_resume_ms = max(self._held_resume_ms, sentence.end_ms + task_start_ms)
            if self._pairing is None:
                self._pairing = asyncio.create_task(self._pair_in_order())
            return
        await self._accept(finished)

    async def _pair_in_order(self) -> None:
        """Each translation, in order, once the transcript of its time is known, with it."""
        assert self._transcripts is not None
        try:
            while self._unpaired:
                first = self._unpaired[0]
                offset_ms = first.task_start_ms + self.media_offset_ms
                end_ms = first.sentence.end_ms + offset_ms
                if not await self._transcripts.ledger.settled_past(end_ms):
                    self._unpaired.clear()  # never heard in this run: the next run pairs them
                    return
                self._unpaired.popleft()
                text, words = transcript_of(self._transcripts.take(end_ms))
                own = tuple(Word(w.begin_ms - offset_ms, w.end_ms - offset_ms, w.text)
                            for w in words)  # fmt: skip
                sentence = dataclasses.replace(first.sentence, transcript=text, words=own)
                await self._accept(dataclasses.replace(first, sentence=sentence))
        except OutputError:
            self._unpaired.clear()  # kept in `error`: the task's next write raises it
        finally:
            self._pairing = None

    async def _accept(self, finished: _Finished) -> None:
        sentence = finished.sentence
        async with self._lock:
            if self.error is not None:
                raise self.error
            if self.plan is None:
                self._held.append(finished)
                resumes_at_ms = sentence.end_ms + finished.task_start_ms
                self._held_resume_ms = max(self._held_resume_ms, resumes_at_ms)
                if self.namer is not None:
                    self.namer.offer(sentence.transcript)
                return
            await self._write(finished)

    async def finish(self) -> None:
        """Seal the tracks (padding dropped, synced); nothing when they were never opened. A
        track with no cue is removed: a media server would list an empty file as a track."""
        if self._pairing is not None:
            await asyncio.shield(self._pairing)  # the ledger is closed: it drains
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
        resume_ms = sentence.end_ms + finished.task_start_ms
        self.progress.resume_ms = max(self.progress.resume_ms, resume_ms)
        operations: list[FileOp | None] = []
        if self.journal is not None and isinstance(self.role, Alone | Recognising):
            heard = Heard(laid_out.begin_ms, laid_out.end_ms, sentence.transcript, laid_out.words)
            operations.append(self.journal.heard(heard, resume_ms))  # the transcript first
        if update.replaced is None and not update.added:
            if operations:
                await self._run(operations)
            return
        if self.journal is not None:  # before the tracks: a crash after it loses nothing
            operations.append(self.journal.append(self.target, self.progress, update))
        operations += [track.apply(update) for track in self.plan.tracks]
        written_s = await self._run(operations)
        self.sentences += 1
        self.progress.sentences += 1
        self._emit(
            CueWritten(
                path=self.path,
                target=self.target,
                sentence_id=sentence.sentence_id,
                transcript=sentence.transcript,
                translation=sentence.translation,
                cues=update.added,
                revised=update.replaced,
                tracks=self.plan.paths,
                begin_ms=laid_out.begin_ms,
                end_ms=laid_out.end_ms,
                latency_ms=finished.latency_ms,
                write_ms=round((written_s - finished.received_s) * 1000, 3),
                label=self.label,
            )
        )

    async def _run(self, operations: list[FileOp | None]) -> float:
        """Write them; when they were written (`DiskWriter.run`)."""
        kept = [operation for operation in operations if operation is not None]
        return await self._guarded(self._disk.run(kept))

    async def _guarded(self, writing: Coroutine[Any, Any, T]) -> T:
        """Await a write; its OutputError is kept and raised again by every later write."""
        if self.error is not None:
            writing.close()  # never started
            raise self.error
        try:
            return await writing
        except OutputError as error:
            self.error = error
            raise


def _apply(cues: list[Cue], update: LayoutUpdate) -> None:
    if update.replaced is not None and cues:
        cues[-1] = update.replaced
    cues.extend(update.added)
