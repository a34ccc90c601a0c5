"""A Qwen-MT target of one input: the input's transcript translated sentence by sentence, in
order, and written by the target's own `TargetWriter` (role `FromTranscript`).

The transcript comes from the input's `Ledger` (the recognising task's sentences as they are
heard, after the journal's when resuming); each sentence is sent once, with the last few pairs
of the same track as translation memory (`tm_list`: Qwen-MT refuses multi-turn context) and the
glossary's terms for the target. With `--mt-batch N` (1 by default, as the reference sends), when
sentences wait (a file heard faster than the account's requests a minute allow), up to N go in
one request, a line each: the account's 60 requests a minute then translate several times as
many sentences. The answer must split into as many changed lines, or the batch is asked again
sentence by sentence. The source line is shown
at once (`PartialText` with no translation yet) and the cue is written when its translation
arrives.

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
        batch_sentences: int = 1,
        batch_chars: int = 1500,
    ) -> None:
        self.target = target
        self.source_language = source_language
        self.writer = writer
        self.reader = reader
        self.translator = translator
        self.control = control
        self.label = label
        self.terms = terms
        self.batch_sentences = batch_sentences
        self.batch_chars = batch_chars
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

    @property
    def over(self) -> bool:
        return self.complete or self.error is not None

    async def run(self) -> None:
        try:
            await self._run()
        except OutputError as error:
            self.error = error
        finally:
            self.reader.close()  # the transcript no longer waits for this target

    async def _run(self) -> None:
        while not self.control.stopping:
            piece = await self.reader.next()
            if piece is None:
                self.complete = self.reader.ledger.complete and not self.control.stopping
                return
            if not piece.text.strip() or self.control.stopping:
                continue
            budget = self.batch_chars - len(piece.text)
            pieces = [piece, *self.reader.ready(self.batch_sentences - 1, budget)]
            ids = []
            for one in pieces:  # the source lines are shown at once
                self._sentence_id += 1
                ids.append(self._sentence_id)
                self._emit(
                    PartialText(
                        path=self.writer.path,
                        target=self.target,
                        sentence_id=self._sentence_id,
                        transcript=one.text,
                        translation="",
                        label=self.label,
                    )
                )
            try:
                translations = await self._translate(pieces)
            except TranslationFailed as failure:
                self._failed(failure)
                return
            for sentence_id, one, translation in zip(ids, pieces, translations, strict=True):
                arrived_s = time.perf_counter()
                sentence = self._sentence(sentence_id, one, translation)
                await self.writer.write(sentence, 0, None, arrived_s)
                self._memory.append((one.text, translation))

    async def _translate(self, pieces: list[Heard]) -> list[str]:
        """Their translations, in order: several sentences in one request when they wait (a line
        each), the answer split back by line and checked; an answer that does not split into as
        many lines, or gives a line back as it was (a model that translated only part of the
        text), is asked again sentence by sentence."""
        if len(pieces) > 1:
            text = "\n".join(" ".join(piece.text.split()) for piece in pieces)
            translated = await self._request(text)
            lines = [line.strip() for line in translated.splitlines() if line.strip()]
            unchanged = {" ".join(piece.text.split()) for piece in pieces} & set(lines)
            if len(lines) == len(pieces) and not unchanged:
                return lines  # else merged, split or untranslated lines: one request each
        return [await self._request(piece.text) for piece in pieces]

    async def _request(self, text: str) -> str:
        request = TranslationRequest(
            source=self.source_language or self.writer.layout.source_language,
            target=self.target,
            text=text,
            memory=tuple(self._memory),
            terms=self.terms,
        )
        translated = await self.translator.translate(request)
        self.requests += 1
        self.input_tokens += translated.input_tokens
        self.output_tokens += translated.output_tokens
        return translated.text

    def _sentence(self, sentence_id: int, piece: Heard, translation: str) -> Sentence:
        """The heard sentence as the writer takes it: stream times (task start 0)."""
        offset_ms = self.writer.media_offset_ms
        words = tuple(Word(w.begin_ms - offset_ms, w.end_ms - offset_ms, w.text)
                      for w in piece.words)  # fmt: skip
        begin_ms, end_ms = piece.begin_ms - offset_ms, piece.end_ms - offset_ms
        return Sentence(sentence_id, begin_ms, end_ms, piece.text, translation, words)

    def _failed(self, failure: TranslationFailed) -> None:
        reason = f"{self.target} not translated: {failure.code}: {failure.message}"
        if failure.fatal:  # a refused key or an account in arrears: no other input can go on
            self.control.fail_all(ServiceError("Qwen-MT", reason, failure.code))
        self.error = ServiceError(self.label, reason, code=failure.code)
