"""Finished sentences of one target into durable cues: resume journal first, then every track."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from subtitler import state as resume_state
from subtitler.cues import Cue, CueLayout, LayoutUpdate, SentenceText, TimedWord
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
    ) -> None:
        self.path = path
        self.plan = plan
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
        """Stream time after the last finished sentence written."""
        return self.progress.resume_ms

    def write(
        self,
        sentence: Sentence,
        task_start_ms: int,
        latency_ms: float | None,
        received_s: float,
    ) -> None:
        """Lay the sentence out and make it durable; raises OutputError (disk full, ...)."""
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
