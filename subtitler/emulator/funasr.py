"""One running Fun-ASR realtime task: the same audio and sentence recognition as a Gummy task,
its results in Fun-ASR's shape (research any-pair.md, B2).

`output.sentence` instead of `transcription`, no translations; sentence ids from 1; interim
results carry an `end_time` (only `sentence_end` tells a final, the trap the SDK falls into),
a sentence's first interim comes with `sentence_begin: true` and empty text; finals carry
words with `punctuation` and `usage.duration`, the task's billable audio so far in seconds.
With `heartbeat`, silent audio gets heartbeat results (`sentence_id` 0); without it, a long
run of silent audio fails the task. Audio in a language Fun-ASR does not recognise (not zh,
en or ja) gives no sentences.
"""

from __future__ import annotations

import math
from typing import Any

from subtitler.emulator.config import CLIENT_ERROR, FUN_ASR_LANGUAGES
from subtitler.emulator.messages import event
from subtitler.emulator.scripts import KnownSentence, Word
from subtitler.emulator.task import (
    StreamingTask,
    _Sentence,
    join_words,
    placeholder_words,
    timed_words,
)
from subtitler.emulator.vad import SegmentClosed, SegmentGrew

HEARTBEAT_INTERVAL_MS = 1000
"""Silent audio between two heartbeat results (the service's interval is not documented)."""
SILENCE_CUT_OFF_CODE = CLIENT_ERROR


class FunAsrTask(StreamingTask):
    """A Fun-ASR task: PCM in, `output.sentence` result events out."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.silent_ms = 0
        """Continuous silent audio received (no speech heard in it)."""
        self._next_heartbeat_ms = HEARTBEAT_INTERVAL_MS
        self._ids: dict[int, int] = {}
        """Segment number -> the sentence id reported for it."""

    def feed(self, pcm: bytes) -> list[dict[str, Any]]:
        before_ms = self.received_ms
        results = super().feed(pcm)
        if self.detector.in_segment or results:
            self.silent_ms = 0
            self._next_heartbeat_ms = HEARTBEAT_INTERVAL_MS
            return results
        self.silent_ms += self.received_ms - before_ms
        if self.parameters.heartbeat and self.silent_ms >= self._next_heartbeat_ms:
            self._next_heartbeat_ms += HEARTBEAT_INTERVAL_MS
            results.append(self._heartbeat())
        return results

    def silence_cut_off(self, limit_s: float) -> bool:
        """Without heartbeat, `limit_s` of continuous silent audio ends the task (0: never)."""
        return not self.parameters.heartbeat and 0 < limit_s * 1000 <= self.silent_ms

    def finished_payload(self) -> dict[str, Any]:
        return {"output": {}, "usage": self._usage()}

    def _fun_asr_id(self, sentence: _Sentence) -> int:
        """Fun-ASR numbers from 1 the sentences it reports (not the unrecognised ones)."""
        if sentence.sentence_id not in self._ids:
            self._ids[sentence.sentence_id] = len(self._ids) + 1
        return self._ids[sentence.sentence_id]

    def _results(self, vad_events: list[Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for vad_event in vad_events:
            if isinstance(vad_event, SegmentGrew) and self.current is not None:
                out.extend(self._interims(self.current, vad_event))
            elif isinstance(vad_event, SegmentClosed) and self.current is not None:
                out.extend(self._fun_asr_final(self.current, vad_event))
                self.current = None
            else:
                out.extend(super()._results([vad_event]))
        return out

    def _interims(self, sentence: _Sentence, grew: SegmentGrew) -> list[dict[str, Any]]:
        interval = self.config.partial_interval_ms
        if len(grew.envelope_db) < 30 or grew.current_ms - sentence.last_partial_ms < interval:
            return []
        sentence.last_partial_ms = grew.current_ms
        if len(grew.envelope_db) >= sentence.identify_at_frames:
            sentence.guess = self.library.identify(grew.envelope_db, complete=False)
            sentence.identify_at_frames *= 2
        known = sentence.guess
        if not _recognisable(known):
            return []
        elapsed_ms = grew.current_ms - grew.begin_ms
        if known is not None:
            fraction = min(elapsed_ms / max(1, len(known.fingerprint_db) * 10), 0.95)
            words = known.words[: max(1, math.ceil(len(known.words) * fraction))]
            language: str | None = known.language
        else:
            all_words = placeholder_words(sentence.sentence_id + 1)
            words = all_words[: max(1, math.ceil(len(all_words) * min(0.9, elapsed_ms / 3000)))]
            language = None
        first = sentence.sentence_id not in self._ids
        sentence_id = self._fun_asr_id(sentence)
        out = []
        if first:
            out.append(
                self._sentence_event(
                    {
                        "sentence_id": sentence_id,
                        "begin_time": sentence.begin_ms,
                        "end_time": None,
                        "text": "",
                        "words": [],
                        "heartbeat": False,
                        "sentence_begin": True,
                        "sentence_end": False,
                    }
                )
            )
        text = join_words(words, language)
        out.append(
            self._sentence_event(
                {
                    "sentence_id": sentence_id,
                    "begin_time": sentence.begin_ms,
                    "end_time": grew.current_ms,  # set on interims too: not the end of a sentence
                    "text": text,
                    "words": _words(words, sentence.begin_ms, grew.current_ms),
                    "heartbeat": False,
                    "sentence_end": False,
                }
            )
        )
        return out

    def _fun_asr_final(self, sentence: _Sentence, closed: SegmentClosed) -> list[dict[str, Any]]:
        known = self.library.identify(closed.envelope_db, complete=True)
        if not _recognisable(known):
            return []
        if known is not None:
            words, text = known.words, known.text
        else:
            words = placeholder_words(sentence.sentence_id + 1)
            text = join_words(words, None)
        final = {
            "sentence_id": self._fun_asr_id(sentence),
            "begin_time": closed.begin_ms,
            "end_time": closed.end_ms,
            "text": text,
            "words": _words(words, closed.begin_ms, closed.end_ms),
            "heartbeat": False,
            "sentence_end": True,
        }
        return [self._sentence_event(final, usage=True)]

    def _heartbeat(self) -> dict[str, Any]:
        now_ms = self.received_ms
        return self._sentence_event(
            {
                "sentence_id": 0,
                "begin_time": now_ms,
                "end_time": now_ms,
                "text": "",
                "words": [],
                "heartbeat": True,
                "sentence_end": False,
            }
        )

    def _sentence_event(self, sentence: dict[str, Any], usage: bool = False) -> dict[str, Any]:
        payload: dict[str, Any] = {"output": {"sentence": sentence}}
        if usage:
            payload["usage"] = self._usage()
        return event(self.parameters.task_id, "result-generated", payload)

    def _usage(self) -> dict[str, Any]:
        return {"duration": math.ceil(self.received_ms / 1000)}


def _recognisable(known: KnownSentence | None) -> bool:
    """Fun-ASR recognises zh, en and ja: other speech gives nothing (unknown audio still gets
    the placeholder text, as Gummy's emulation does)."""
    return known is None or known.language in FUN_ASR_LANGUAGES


def _words(words: tuple[Word, ...], begin_ms: int, end_ms: int) -> list[dict[str, Any]]:
    return [
        {key: value for key, value in word.items() if key != "fixed"}
        for word in timed_words(words, begin_ms, end_ms, fixed=True)
    ]
