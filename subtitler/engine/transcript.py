"""The input's transcript when no target's task recognises it: a recognition-only task (Gummy
without translation, or Fun-ASR) feeds this writer, which journals each sentence heard and
hands it to the Qwen-MT targets through the input's `Ledger`. It writes no track of its own.
"""

from __future__ import annotations

from pathlib import Path

from subtitler.engine import journal as resume_state
from subtitler.engine.pairing import Heard, Ledger
from subtitler.errors import OutputError
from subtitler.gummy.protocol import Sentence
from subtitler.layout.cues import TimedWord
from subtitler.tracks.durable import DiskWriter


class TranscriptWriter:
    """The sentence sink of a recognition-only task (the `TargetTask` writer interface)."""

    def __init__(
        self,
        *,
        path: Path,
        state: resume_state.InputState,
        journal: resume_state.Journal | None,
        ledger: Ledger,
        media_offset_ms: int,
        disk: DiskWriter,
    ) -> None:
        self.path = path
        self.state = state
        self.journal = journal
        """None for a live input: nothing is resumed."""
        self.ledger = ledger
        self.media_offset_ms = media_offset_ms
        self.error: OutputError | None = None
        self._disk = disk

    @property
    def resume_ms(self) -> int:
        """Stream time after the last sentence heard."""
        return self.state.heard_resume_ms

    async def write(
        self,
        sentence: Sentence,
        task_start_ms: int,
        latency_ms: float | None,
        received_s: float,
    ) -> None:
        """Journal the sentence, then hand it on (a crash after the journal loses nothing)."""
        if self.error is not None:
            raise self.error
        offset_ms = task_start_ms + self.media_offset_ms
        words = tuple(TimedWord(w.text, w.begin_ms + offset_ms, w.end_ms + offset_ms)
                      for w in sentence.words)  # fmt: skip
        heard = Heard(sentence.begin_ms + offset_ms, sentence.end_ms + offset_ms,
                      sentence.transcript, words)  # fmt: skip
        resume_ms = sentence.end_ms + task_start_ms
        if self.journal is not None:
            try:
                await self._disk.run([self.journal.heard(heard, resume_ms)])
            except OutputError as error:
                self.error = error
                raise
        self.state.heard_resume_ms = max(self.state.heard_resume_ms, resume_ms)
        if sentence.transcript.strip():
            self.ledger.add(heard)
