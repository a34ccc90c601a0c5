"""One running task: PCM in, result events out (recognised fixture sentences, or placeholders),
in the result shape chosen."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from subtitler.emulator.config import CJK_LANGUAGES, EmulatorConfig
from subtitler.emulator.messages import TaskParameters, event
from subtitler.emulator.scripts import PREFIX_FRAMES, KnownSentence, ScriptLibrary, Word
from subtitler.emulator.vad import (
    SAMPLE_RATE_HZ,
    SegmentClosed,
    SegmentGrew,
    SegmentOpened,
    VadOptions,
    VoiceActivityDetector,
)


def shape_sentence(sentence: dict[str, Any], shape: str, language: str | None) -> dict[str, Any]:
    """One transcription object in the chosen `result_shape`."""
    if shape == "split":
        return sentence
    shaped = dict(sentence)
    words = [dict(word) for word in sentence.get("words", [])]
    final = bool(sentence.get("sentence_end"))
    if shape == "no-words" or (shape == "partial-without-words" and not final):
        shaped.pop("words", None)
        return shaped
    if shape == "leading-space" and language not in CJK_LANGUAGES:
        for word in words:
            word["text"] = " " + word["text"]
    if shape in ("inline-punctuation", "no-punctuation-field"):
        for word in words:
            word["text"] += word.pop("punctuation", "")
            if shape == "inline-punctuation":
                word["punctuation"] = ""
    if shape == "extra-fields":
        for word in words:
            word["speaker_id"] = 0
        shaped["vad_pre_end"] = False
        shaped["pre_end_failed"] = False
        shaped["stash"] = {
            "sentence_id": int(sentence.get("sentence_id", 0)) + 1,
            "text": "",
            "begin_time": sentence.get("end_time") or 0,
            "end_time": None,
            "words": [],
        }
    shaped["words"] = words
    return shaped


def join_words(words: tuple[Word, ...], language: str | None) -> str:
    glue = "" if language in CJK_LANGUAGES else " "
    return glue.join(word.text + word.punctuation for word in words)


def placeholder_words(sentence_number: int) -> tuple[Word, ...]:
    text = f"Emulated sentence {sentence_number} (unknown audio)"
    tokens = text.split()
    return tuple(Word(token, "." if i == len(tokens) - 1 else "") for i, token in enumerate(tokens))


def placeholder_translation(language: str, sentence_number: int) -> str:
    return f"[{language}] emulated translation of sentence {sentence_number}."


def timed_words(
    words: tuple[Word, ...], begin_ms: int, end_ms: int, fixed: bool
) -> list[dict[str, Any]]:
    """Spread the words over the segment in proportion to their length."""
    weights = [len(word.text) + 1 for word in words]
    total = sum(weights) or 1
    span = max(0, end_ms - begin_ms)
    result = []
    cursor = 0
    for word, weight in zip(words, weights, strict=True):
        start = begin_ms + span * cursor // total
        cursor += weight
        stop = begin_ms + span * cursor // total
        result.append(
            {
                "begin_time": start,
                "end_time": stop,
                "text": word.text,
                "punctuation": word.punctuation,
                "fixed": fixed,
            }
        )
    return result


def prefix(text: str, fraction: float, language: str | None) -> str:
    """The first `fraction` of a text, cut at a word for spaced languages."""
    if fraction >= 1.0:
        return text
    count = max(1, math.ceil(len(text) * fraction))
    if language in CJK_LANGUAGES or " " not in text:
        return text[:count]
    cut = text.rfind(" ", 0, count + 1)
    return text[: cut if cut > 0 else count]


@dataclass
class _Sentence:
    sentence_id: int
    begin_ms: int
    last_partial_ms: int
    guess: KnownSentence | None = None
    identify_at_frames: int = PREFIX_FRAMES
    """The partial guess is refreshed when the segment reaches 0.3 s, 0.6 s, 1.2 s, ..."""


class StreamingTask:
    """One running task: PCM in, result events out."""

    def __init__(
        self,
        parameters: TaskParameters,
        library: ScriptLibrary,
        config: EmulatorConfig,
        pinned: dict[str, dict[str, str]] | None = None,
    ) -> None:
        self.parameters = parameters
        self.pinned = pinned or {}
        """Per target: term -> the translation its vocabulary pins."""
        self.library = library
        self.config = config
        vad = VadOptions(
            threshold_db=config.vad.threshold_db,
            min_speech_ms=config.vad.min_speech_ms,
            max_end_silence_ms=parameters.max_end_silence_ms,
            max_segment_ms=config.vad.max_segment_ms,
        )
        self.detector = VoiceActivityDetector(vad)
        self.received_bytes = 0
        self.next_sentence_id = 0
        self.current: _Sentence | None = None

    @property
    def received_ms(self) -> int:
        return self.received_bytes * 1000 // (SAMPLE_RATE_HZ * 2)

    def feed(self, pcm: bytes) -> list[dict[str, Any]]:
        self.received_bytes += len(pcm)
        return self._results(self.detector.feed(pcm))

    def flush(self) -> list[dict[str, Any]]:
        return self._results(self.detector.flush())

    def _results(self, vad_events: list[Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for vad_event in vad_events:
            if isinstance(vad_event, SegmentOpened):
                self.current = _Sentence(
                    self.next_sentence_id, vad_event.begin_ms, vad_event.begin_ms
                )
                self.next_sentence_id += 1
            elif isinstance(vad_event, SegmentGrew) and self.current is not None:
                interval = self.config.partial_interval_ms
                heard_enough = len(vad_event.envelope_db) >= PREFIX_FRAMES  # to guess the words
                if heard_enough and vad_event.current_ms - self.current.last_partial_ms >= interval:
                    self.current.last_partial_ms = vad_event.current_ms
                    out.append(self._partial(self.current, vad_event))
            elif isinstance(vad_event, SegmentClosed) and self.current is not None:
                out.extend(self._final(self.current, vad_event))
                self.current = None
        return out

    def _partial(self, sentence: _Sentence, grew: SegmentGrew) -> dict[str, Any]:
        if len(grew.envelope_db) >= sentence.identify_at_frames:
            sentence.guess = self.library.identify(grew.envelope_db, complete=False)
            sentence.identify_at_frames *= 2
        known = sentence.guess
        elapsed_ms = grew.current_ms - grew.begin_ms
        if known is not None:
            fraction = elapsed_ms / max(1, len(known.fingerprint_db) * 10)
            language = known.language
            words = known.words[: max(1, math.ceil(len(known.words) * min(fraction, 0.95)))]
        else:
            fraction = min(0.9, elapsed_ms / 3000)
            language = None
            all_words = placeholder_words(sentence.sentence_id + 1)
            words = all_words[: max(1, math.ceil(len(all_words) * fraction))]
        transcription = {
            "sentence_id": sentence.sentence_id,
            "begin_time": sentence.begin_ms,
            "end_time": None,
            "current_time": grew.current_ms,
            "text": join_words(words, language),
            "words": timed_words(words, sentence.begin_ms, grew.current_ms, fixed=False),
            "sentence_end": False,
        }
        translations: list[dict[str, Any]] = [
            {
                "sentence_id": sentence.sentence_id,
                "lang": lang,
                "begin_time": sentence.begin_ms,
                "end_time": None,
                "current_time": grew.current_ms,
                "text": prefix(
                    self._translation(known, lang, sentence.sentence_id), fraction * 0.9, lang
                ),
                "words": [],
                "sentence_end": False,
            }
            for lang in self.parameters.target_languages
        ]
        return self._result(transcription, translations, None)

    def _final(self, sentence: _Sentence, closed: SegmentClosed) -> list[dict[str, Any]]:
        known = self.library.identify(closed.envelope_db, complete=True)
        if known is not None:
            words = known.words
            text = known.text
        else:
            words = placeholder_words(sentence.sentence_id + 1)
            text = join_words(words, None)
        transcription = {
            "sentence_id": sentence.sentence_id,
            "begin_time": closed.begin_ms,
            "end_time": closed.end_ms,
            "text": text,
            "words": timed_words(words, closed.begin_ms, closed.end_ms, fixed=True),
            "sentence_end": True,
        }
        translations = [
            {
                "sentence_id": sentence.sentence_id,
                "lang": lang,
                "begin_time": closed.begin_ms,
                "end_time": closed.end_ms,
                "text": self._translation(known, lang, sentence.sentence_id),
                "words": [],
                "sentence_end": True,
            }
            for lang in self.parameters.target_languages
        ]
        usage = {"duration": max(1, math.ceil((closed.end_ms - closed.begin_ms) / 1000))}
        if self.config.split_final_translation and translations:
            return [
                self._result(transcription, [], usage),
                self._result(None, translations, None),
            ]
        return [self._result(transcription, translations, usage)]

    def _translation(self, known: KnownSentence | None, language: str, sentence_id: int) -> str:
        if known is not None:
            if language in known.translations:
                return self._with_pinned_terms(known, language)
            if language == known.language:
                return known.text
        return placeholder_translation(language, sentence_id + 1)

    def _with_pinned_terms(self, known: KnownSentence, language: str) -> str:
        """The canned translation with each term the transcript says and the vocabulary pins
        rendered as pinned (the script marks which words render which term)."""
        text = known.translations[language]
        for term, pinned in self.pinned.get(language, {}).items():
            rendered = known.terms.get(term, {}).get(language)
            if term in known.text and rendered:
                text = text.replace(rendered, pinned)
        return text

    def _result(
        self,
        transcription: dict[str, Any] | None,
        translations: list[dict[str, Any]],
        usage: dict[str, Any] | None,
    ) -> dict[str, Any]:
        output: dict[str, Any] = {}
        if transcription is not None and self.parameters.transcription_enabled:
            language = self.parameters.source_language
            output["transcription"] = shape_sentence(
                transcription, self.config.result_shape, language
            )
        if translations:
            output["translations"] = translations
        payload: dict[str, Any] = {"output": output}
        if usage is not None:
            payload["usage"] = usage
        return event(self.parameters.task_id, "result-generated", payload)
