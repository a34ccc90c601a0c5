"""One Gummy realtime translation task through the dashscope SDK, as typed events.

Hides the SDK's callbacks and threads: frames go in with `send`, and `Partial` / `Sentence` /
`TaskEnded` events come out through a sink callable (called on the SDK's worker thread, so
the sink must only hand them on). A sentence's final transcription and its final
translation may arrive in different events; they are paired here by `sentence_id` and a
`Sentence` is emitted once both are final.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dashscope.audio.asr import TranslationRecognizerCallback, TranslationRecognizerRealtime
from dashscope.common.error import InvalidParameter

from subtitler.errors import ServiceError

MODEL = "gummy-realtime-v1"
SAMPLE_RATE_HZ = 16000

# The SDK logs every failure with a traceback at ERROR level; the tool reports errors itself.
logging.getLogger("dashscope").setLevel(logging.CRITICAL)

RETRYABLE_CODES = frozenset({"InternalError", "SERVER_ERROR", "MODEL_ERROR", "Unknown"})
INVALID_KEY_STATUSES = frozenset({401, 403})


@dataclass(frozen=True)
class GummySettings:
    """What every task of a run shares. The key is never printed (`repr=False`)."""

    api_key: str = field(repr=False)
    endpoint: str | None = None
    """WebSocket URL; None leaves it to DASHSCOPE_WEBSOCKET_BASE_URL or the SDK default."""
    source_language: str | None = None
    vocabulary_id: str | None = None
    max_end_silence_ms: int | None = None


@dataclass(frozen=True)
class Word:
    begin_ms: int
    end_ms: int
    text: str
    punctuation: str


@dataclass(frozen=True)
class Partial:
    """The sentence being spoken, as recognised so far (may still change)."""

    generation: int
    target: str
    sentence_id: int
    begin_ms: int
    current_ms: int
    transcript: str
    translation: str


@dataclass(frozen=True)
class Sentence:
    """A sentence-final result: transcript and translation, times in ms of the input's stream."""

    generation: int
    target: str
    sentence_id: int
    begin_ms: int
    end_ms: int
    transcript: str
    translation: str
    words: tuple[Word, ...]
    received_s: float = 0.0
    """time.monotonic() when the SDK delivered the final result (for the write latency)."""


@dataclass(frozen=True)
class TaskEnded:
    """The task is over: `error` is None when the service finished it normally."""

    generation: int
    target: str
    error: ServiceError | None
    request_id: str
    first_package_delay_ms: float | None
    last_package_delay_ms: float | None


GummyEvent = Partial | Sentence | TaskEnded


def _service_error(response: Any, subject: str) -> ServiceError:
    status = getattr(response, "status_code", None)
    code = str(getattr(response, "code", "") or "")
    message = str(getattr(response, "message", "") or "").strip()
    if status in INVALID_KEY_STATUSES:
        return ServiceError(subject, "the API key was refused (invalid key)", code="InvalidApiKey")
    if status == -1:
        if code == "ClientConnectorError":
            return ServiceError(subject, f"cannot connect ({message})", code=code, retryable=True)
        return ServiceError(
            subject, "connection to the service was lost", code="Disconnected", retryable=True
        )
    retryable = code in RETRYABLE_CODES or code.startswith("Throttling")
    first_line = message.splitlines()[0] if message else "no message"
    return ServiceError(
        subject, f"service error {code}: {first_line}", code=code, retryable=retryable
    )


class _Pairing:
    """Final transcriptions and translations waiting for their other half."""

    def __init__(self) -> None:
        self.transcripts: dict[int, tuple[int, int, str, tuple[Word, ...]]] = {}
        self.translations: dict[int, str] = {}


class GummyTask(TranslationRecognizerCallback):
    """One task for one target language. Not reusable: make a new one to retry."""

    def __init__(
        self,
        settings: GummySettings,
        target: str,
        sink: Callable[[GummyEvent], None],
        subject: str = "",
        time_offset_ms: int = 0,
        generation: int = 0,
    ) -> None:
        self.settings = settings
        self.target = target
        self.time_offset_ms = time_offset_ms
        self.generation = generation
        """Which of an input's successive tasks for this target this is (resumes, rollovers)."""
        """Added to every time the service reports: where this task's audio starts in the
        input's stream (not 0 after a resume)."""
        self._sink = sink
        self._subject = subject or target
        self._pairing = _Pairing()
        self._error: ServiceError | None = None
        self._ended = threading.Event()
        self._ended_reported = False
        self._results_seen = False
        self._completed = False
        self._lock = threading.Lock()
        options: dict[str, Any] = {
            "api_key": settings.api_key,
            "source_language": settings.source_language,  # None: detected by the service
        }
        if settings.endpoint:
            options["base_address"] = settings.endpoint
        if settings.vocabulary_id:
            options["vocabulary_id"] = settings.vocabulary_id
        if settings.max_end_silence_ms is not None:
            options["max_end_silence"] = settings.max_end_silence_ms
        self._recognizer = TranslationRecognizerRealtime(
            model=MODEL,
            callback=self,
            format="pcm",
            sample_rate=SAMPLE_RATE_HZ,
            transcription_enabled=True,
            translation_enabled=True,
            translation_target_languages=[target],
            **options,
        )

    @property
    def failed(self) -> bool:
        return self._error is not None

    @property
    def error(self) -> ServiceError | None:
        return self._error

    # --- driving the task -------------------------------------------------------------

    def start(self) -> None:
        self._recognizer.start()

    def send(self, frame: bytes) -> bool:
        """Queue a frame; False once the task has failed (its TaskEnded says why)."""
        if self._error is not None:
            return False
        try:
            self._recognizer.send_audio_frame(frame)
        except InvalidParameter:
            return False
        return True

    def finish(self) -> None:
        """End of audio: wait for every result and `task-finished` (or the failure)."""
        try:
            self._recognizer.stop()  # returns after on_close
        except InvalidParameter:
            # Already ended: by a failure (the worker calls on_error, then on_close), or by
            # the SDK's own 23 s no-audio rule (no on_close at all).
            if not self._ended.wait(timeout=10) and self._error is None:
                self._error = ServiceError(
                    self._subject,
                    "the task ended early (no audio for 23 s)",
                    code="Ended",
                    retryable=True,
                )
        self._report_end()

    def abort(self) -> None:
        """Stop now without waiting for remaining results (Ctrl-C, a batch-wide failure)."""
        if self._error is None:
            self._error = ServiceError(self._subject, "stopped before the end", code="Aborted")
        with contextlib.suppress(InvalidParameter):
            self._recognizer.stop()
        self._report_end()

    # --- SDK callbacks (worker thread) ---------------------------------------------------

    def on_open(self) -> None:
        pass

    def on_event(self, request_id: Any, transcription: Any, translation: Any, usage: Any) -> None:
        self._results_seen = True
        item = None
        if translation is not None:
            item = translation.get_translation(self.target)
            languages = translation.get_language_list() or []
            if item is None and languages:  # the service may spell the language differently
                item = translation.get_translation(languages[0])
        if transcription is not None and not transcription.is_sentence_end:
            self._sink(
                Partial(
                    generation=self.generation,
                    target=self.target,
                    sentence_id=int(transcription.sentence_id),
                    begin_ms=int(transcription.begin_time or 0) + self.time_offset_ms,
                    current_ms=int(transcription.end_time or transcription.begin_time or 0)
                    + self.time_offset_ms,
                    transcript=str(transcription.text or ""),
                    translation=str(item.text or "") if item is not None else "",
                )
            )
        if transcription is not None and transcription.is_sentence_end:
            words = tuple(
                Word(
                    begin_ms=int(word.begin_time) + self.time_offset_ms,
                    end_ms=int(word.end_time) + self.time_offset_ms,
                    text=str(word.text),
                    punctuation=str((word._raw_data or {}).get("punctuation", "")),
                )
                for word in transcription.words
            )
            self._pairing.transcripts[int(transcription.sentence_id)] = (
                int(transcription.begin_time) + self.time_offset_ms,
                int(transcription.end_time) + self.time_offset_ms,
                str(transcription.text or ""),
                words,
            )
            self._emit_paired(int(transcription.sentence_id))
        if item is not None and item.is_sentence_end:
            self._pairing.translations[int(item.sentence_id)] = str(item.text or "")
            self._emit_paired(int(item.sentence_id))

    def on_error(self, response: Any) -> None:
        self._error = _service_error(response, self._subject)

    def on_complete(self) -> None:
        self._completed = True

    def on_close(self) -> None:
        self._ended.set()

    # --- internals -------------------------------------------------------------------------

    def _emit_paired(self, sentence_id: int) -> None:
        if sentence_id not in self._pairing.transcripts:
            return
        if sentence_id not in self._pairing.translations:
            return
        begin_ms, end_ms, transcript, words = self._pairing.transcripts.pop(sentence_id)
        translation = self._pairing.translations.pop(sentence_id)
        self._sink(self._sentence(sentence_id, begin_ms, end_ms, transcript, translation, words))

    def _sentence(
        self,
        sentence_id: int,
        begin_ms: int,
        end_ms: int,
        transcript: str,
        translation: str,
        words: tuple[Word, ...],
    ) -> Sentence:
        return Sentence(
            self.generation,
            self.target,
            sentence_id,
            begin_ms,
            end_ms,
            transcript,
            translation,
            words,
            time.monotonic(),
        )

    def _report_end(self) -> None:
        with self._lock:
            if self._ended_reported:
                return
            self._ended_reported = True
        # A transcription whose translation never came is still a sentence (text only).
        for sentence_id in sorted(self._pairing.transcripts):
            begin_ms, end_ms, transcript, words = self._pairing.transcripts.pop(sentence_id)
            self._sink(self._sentence(sentence_id, begin_ms, end_ms, transcript, "", words))
        self._sink(
            TaskEnded(
                generation=self.generation,
                target=self.target,
                error=self._error,
                request_id=str(self._recognizer.get_last_request_id()),
                first_package_delay_ms=_delay(self._recognizer.get_first_package_delay())
                if self._results_seen
                else None,
                last_package_delay_ms=_delay(self._recognizer.get_last_package_delay())
                if self._completed
                else None,
            )
        )


def _delay(value: Any) -> float | None:
    """The SDK's delay figures, or None when one of its two timestamps was never taken
    (it subtracts its -1 placeholder then, giving a huge or negative number)."""
    if value is None:
        return None
    delay = float(value)
    return delay if 0 <= delay < 1e9 else None
