"""Finished sentences of one target into durable cues: resume journal first, then every track.

With `-s auto`, sentences are held until the input's `SourceNamer` names the language; then
the tracks are planned under that name and opened, and the held sentences written in order."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from subtitler import state as resume_state
from subtitler.cues import Cue, CueLayout, LayoutUpdate, SentenceText, TimedWord
from subtitler.engine.naming import SourceNamer
from subtitler.events import CueWritten
from subtitler.gummy.protocol import Sentence
from subtitler.tracks import TrackPlan


class TargetWriter:
    def __init__(
        self,
        path: Path,
        plan: TrackPlan,
        layout: CueLayout,
        progress: resume_state.TargetProgress,
        journal: resume_state.Journal | None,
        media_offset_ms: int,
        emit: Callable[[CueWritten], None],
        namer: SourceNamer | None = None,
        replan: Callable[[str], TrackPlan] | None = None,
    ) -> None:
        self.path = path
        self.plan = plan
        self.namer = namer
        """Set while the source language is still to be named (its tracks not yet open)."""
        self._replan = replan
        self._held: list[tuple[Sentence, int, float | None, float]] = []
        self._held_resume_ms = 0
        self.layout = layout
        self.progress = progress
        self.journal = journal
        """None for a live input: a stream cannot be resumed by seeking."""
        self.media_offset_ms = media_offset_ms
        """Where the audio stream starts on the media timeline (late audio)."""
        self.sentences = 0
        self._emit = emit

    @property
    def resume_ms(self) -> int:
        """Stream time after the last finished sentence written (or held to be written)."""
        return max(self.progress.resume_ms, self._held_resume_ms)

    def named(self, language: str) -> None:
        """The source language is known: plan and open the tracks, write what was held."""
        if self._replan is not None:
            self.plan = self._replan(language)
        self.layout.source_language = None if language == "und" else language
        for track in self.plan.tracks:
            track.restore(self.progress.cues)
        held, self._held = self._held, []
        self.namer = None
        for item in held:
            self.write(*item)

    def write(
        self,
        sentence: Sentence,
        task_start_ms: int,
        latency_ms: float | None,
        received_s: float,
    ) -> None:
        """Lay the sentence out and make it durable; raises OutputError (disk full, ...)."""
        if self.namer is not None and not self.namer.decided:
            self._held.append((sentence, task_start_ms, latency_ms, received_s))
            self._held_resume_ms = max(self._held_resume_ms, sentence.end_ms + task_start_ms)
            self.namer.offer(sentence.transcript)  # may name it: then `named` writes these
            return
        stream_offset = task_start_ms
        media_offset = task_start_ms + self.media_offset_ms
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
        self.progress.resume_ms = max(self.progress.resume_ms, sentence.end_ms + stream_offset)
        if update.replaced is None and not update.added:
            return
        if self.journal is not None:
            self.journal.append(self.plan.target, self.progress, update.replaced, update.added)
        for track in self.plan.tracks:
            track.apply(update)
        self.sentences += 1
        self._emit(
            CueWritten(
                self.path,
                self.plan.target,
                sentence.sentence_id,
                sentence.transcript,
                sentence.translation,
                update.added,
                update.replaced,
                self.plan.paths,
                laid_out.begin_ms,
                laid_out.end_ms,
                latency_ms,
                round((time.perf_counter() - received_s) * 1000, 3),
            )
        )


def _apply(cues: list[Cue], update: LayoutUpdate) -> None:
    if update.replaced is not None and cues:
        cues[-1] = update.replaced
    cues.extend(update.added)
