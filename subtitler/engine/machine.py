"""A Qwen-MT target of one input: the input's transcript translated sentence by sentence, in
order, and written by the target's own `TargetWriter` (role `FromTranscript`).

The transcript comes from the input's `Ledger` (the recognising task's sentences as they are
heard, after the journal's when resuming); each sentence is sent once, with the last few pairs
of the same track as translation memory (`tm_list`: Qwen-MT refuses multi-turn context) and the
glossary's terms for the target. The source line is shown at once (`PartialText` with no
translation yet) and the cue is written when its translation arrives.

A sentence that stays untranslated after the translator's retries stops this target where it
is: its tracks stay valid up to the last cue, the input fails with one line, and the next run
translates from that sentence on (the journal holds the transcript). A stop (Ctrl-C) ends the
target after the request in flight: what is heard and not translated waits in the journal.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

from subtitler.engine.control import RunControl
from subtitler.engine.pairing import Heard, Reader
from subtitler.engine.writer import TargetWriter
from subtitler.errors import OutputError, ServiceError, SubtitlerError
from subtitler.events import PartialText
from subtitler.gummy.protocol import Sentence, Word
from subtitler.qwenmt.client import TranslationFailed
from subtitler.qwenmt.protocol import Translated, TranslationRequest


class Translates(Protocol):
    """What a target needs of the run's translator (`qwenmt.client.QwenMt`; a fake in units)."""

    async def translate(self, request: TranslationRequest) -> Translated: ...


class MachineTarget:
    """Owns one Qwen-MT target's translation of one input, as one coroutine (`run`)."""

    def __init__(
        self,
        *,
        target: str,
        source_language: str | None,
        writer: TargetWriter,
        reader: Reader,
        translator: Translates,
        control: RunControl,
        emit: Callable[[PartialText], None],
        label: str,
        memory_pairs: int,
        terms: tuple[tuple[str, str], ...] = (),
        memory: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self.target = target
        self.source_language = source_language
        self.writer = writer
        self.reader = reader
        self.translator = translator
        self.control = control
        self.label = label
        self.terms = terms
        self._emit = emit
        self._memory: deque[tuple[str, str]] = deque(memory, maxlen=max(0, memory_pairs))
        """The last pairs of this track (a resumed target starts from its journaled cues)."""
        self._sentence_id = 0
        """Counts this target's sentences in this run (its partial and its cue share it)."""
        self.error: SubtitlerError | None = None
        self.complete = False
        """Every sentence of the whole transcript translated and written."""
        self.requests = 0
        self.input_tokens = 0
        self.output_tokens = 0
        self.added_ms: list[float] = []
        """Per sentence: from heard to its translation written (what Qwen-MT adds)."""

    @property
    def over(self) -> bool:
        return self.complete or self.error is not None

    async def run(self) -> None:
        try:
            await self._run()
        except OutputError as error:
            self.error = error

    async def _run(self) -> None:
        while not self.control.stopping:
            piece = await self.reader.next()
            if piece is None:
                self.complete = self.reader.ledger.complete and not self.control.stopping
                return
            if not piece.text.strip() or self.control.stopping:
                continue
            heard_s = time.perf_counter()
            self._sentence_id += 1
            self._emit(
                PartialText(
                    path=self.writer.path,
                    target=self.target,
                    sentence_id=self._sentence_id,
                    transcript=piece.text,
                    translation="",
                    label=self.label,
                )
            )
            request = TranslationRequest(
                source=self.source_language or self.writer.layout.source_language,
                target=self.target,
                text=piece.text,
                memory=tuple(self._memory),
                terms=self.terms,
            )
            try:
                translated = await self.translator.translate(request)
            except TranslationFailed as failure:
                self._failed(failure)
                return
            self.requests += 1
            self.input_tokens += translated.input_tokens
            self.output_tokens += translated.output_tokens
            arrived_s = time.perf_counter()
            await self.writer.write(self._sentence(piece, translated.text), 0, None, arrived_s)
            self.added_ms.append((time.perf_counter() - heard_s) * 1000)
            self._memory.append((piece.text, translated.text))

    def _sentence(self, piece: Heard, translation: str) -> Sentence:
        """The heard sentence as the writer takes it: stream times (task start 0)."""
        offset_ms = self.writer.media_offset_ms
        words = tuple(Word(w.begin_ms - offset_ms, w.end_ms - offset_ms, w.text)
                      for w in piece.words)  # fmt: skip
        begin_ms, end_ms = piece.begin_ms - offset_ms, piece.end_ms - offset_ms
        return Sentence(self._sentence_id, begin_ms, end_ms, piece.text, translation, words)

    def _failed(self, failure: TranslationFailed) -> None:
        reason = f"{self.target} not translated: {failure.code}: {failure.message}"
        if failure.fatal:  # a refused key or an account in arrears: no other input can go on
            self.control.fail_all(ServiceError("Qwen-MT", reason, failure.code))
        self.error = ServiceError(self.label, reason, code=failure.code)
