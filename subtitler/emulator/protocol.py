"""The Gummy realtime protocol, server side, with no sockets (sans-I/O).

A `ConnectionProtocol` takes the frames one WebSocket connection receives and returns the
actions the I/O layer must take (send a JSON event, drop the socket, close it). It follows
DashScope's Gummy WebSocket API reference (its run-task, result-generated and
finish-task events) field for field: `run-task` -> `task-started`, binary
PCM, `result-generated` with `transcription` / `translations` / `usage`, `finish-task` ->
flush -> `task-finished`, and `task-failed` with `error_code` / `error_message`.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from subtitler.emulator.scripts import PREFIX_FRAMES, KnownSentence, ScriptLibrary, Word
from subtitler.emulator.vad import (
    SAMPLE_RATE_HZ,
    SegmentClosed,
    SegmentGrew,
    SegmentOpened,
    VadOptions,
    VoiceActivityDetector,
)

MODEL = "gummy-realtime-v1"
CJK_LANGUAGES = frozenset({"zh", "ja", "yue", "ko"})

# Error codes and messages in the platform's style (the Model Studio error-code page and the
# Gummy reference); the SDK passes them through as `code` / `message` with status 44.
INVALID_PARAMETER = "InvalidParameter"
MODEL_NOT_FOUND = "ModelNotFound"
THROTTLING = "Throttling.RateQuota"
INTERNAL_ERROR = "InternalError"
CLIENT_ERROR = "CLIENT_ERROR"
THROTTLING_MESSAGE = "Requests rate limit exceeded, please try again later."
INTERNAL_ERROR_MESSAGE = (
    "An internal error has occured, please try again later or contact service support."
)


@dataclass(frozen=True)
class EmulatorConfig:
    """How the emulator behaves; the fault modes are off by default."""

    api_key: str | None = None
    """When set, a handshake with any other bearer key is refused (HTTP 401, invalid key)."""
    max_concurrent_tasks: int | None = None
    """More running tasks than this -> `task-failed` with a throttling code."""
    latency_ms: int = 0
    """Delay before every result (and the `task-finished` after them) is sent."""
    drop_after_audio_ms: int | None = None
    """Abort the TCP connection once a task has received this much audio."""
    fail_after_audio_ms: int | None = None
    """Send `task-failed` (internal error) once a task has received this much audio."""
    faults_max: int | None = None
    """How many drop/fail faults to inject in all (None: every task that gets that far)."""
    fault_seed: int | None = None
    """When set, each task draws its own fault point between 500 ms and the *_after_audio_ms
    value (a seeded random point), instead of all tasks faulting at the same one."""
    split_final_translation: bool = False
    """Send a sentence's final transcription and its final translations in two events."""
    partial_interval_ms: int = 200
    """Audio between two partial results of a growing sentence."""
    max_task_audio_ms: int | None = None
    """A cap on a task's length: more audio than this fails the task (clients must roll over
    to a new task before it)."""
    idle_timeout_s: float = 23.0
    """No audio for this long fails the task, as the service does after 23 s (0: never)."""
    max_task_rate: float | None = 10.0
    """Task submissions accepted per second (sliding one-second window), as the service's
    per-account limit; more are refused with a throttling `task-failed` (None: no limit)."""
    result_shape: str = "split"
    """How result sentences are shaped: one of RESULT_SHAPES (the service's own vary)."""
    handshake_status: int | None = None
    """Refuse handshakes with this HTTP status (429, 503, ...) ..."""
    handshake_refusals: int | None = None
    """... this many times (None: every time)."""
    vad: VadOptions = field(default_factory=VadOptions)


RESULT_SHAPES = (
    "split",  # word text without punctuation, punctuation in its own field (the default)
    "leading-space",  # word text with a leading space, as the service sends for some languages
    "inline-punctuation",  # punctuation inside the word's text, the field empty
    "no-punctuation-field",  # punctuation inside the word's text, no such field
    "no-words",  # sentences without a word list
    "partial-without-words",  # only partials lack their word list (the SDK cannot parse them)
    "extra-fields",  # fields a client may not know: stash, speaker_id, vad_pre_end, ...
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


class TaskState(Enum):
    IDLE = "idle"  # no task yet, or the last one finished: a run-task may come
    STREAMING = "streaming"
    FAILED = "failed"  # terminal: the connection is closed after task-failed


@dataclass(frozen=True)
class SendEvent:
    """Send `message` as a text frame; `delayed` ones wait `latency_ms` (results)."""

    message: dict[str, Any]
    delayed: bool = False


@dataclass(frozen=True)
class CloseConnection:
    """Close the connection with a normal close handshake (after task-failed)."""


@dataclass(frozen=True)
class DropConnection:
    """Abort the transport without a close frame: the network fault the SDK sees as -1."""


Action = SendEvent | CloseConnection | DropConnection


class FaultBudget:
    """Shared count of injected faults so `faults_max` holds across all connections, and the
    seeded source of per-task fault points."""

    def __init__(self, limit: int | None, seed: int | None = None) -> None:
        self.limit = limit
        self.injected = 0
        self._random = random.Random(seed) if seed is not None else None

    def point_ms(self, bound_ms: int | None) -> int | None:
        """Where a new task faults: the bound itself, or a seeded point up to it."""
        if bound_ms is None or self._random is None:
            return bound_ms
        return self._random.randint(min(500, bound_ms), bound_ms)

    def take(self) -> bool:
        if self.limit is not None and self.injected >= self.limit:
            return False
        self.injected += 1
        return True


class Admission:
    """Counts running tasks against `max_concurrent_tasks`, and task submissions in the last
    second against `max_task_rate`."""

    def __init__(
        self,
        limit: int | None,
        rate_per_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.rate_per_s = rate_per_s
        self.running = 0
        self.throttled = 0
        self.rate_refusals = 0
        self._clock = clock
        self._submissions: deque[float] = deque()

    def acquire(self) -> bool:
        now = self._clock()
        while self._submissions and self._submissions[0] <= now - 1.0:
            self._submissions.popleft()
        if self.rate_per_s is not None and len(self._submissions) >= self.rate_per_s:
            self.throttled += 1
            self.rate_refusals += 1
            return False
        self._submissions.append(now)  # a refused submission still counts as a request
        if self.limit is not None and self.running >= self.limit:
            self.throttled += 1
            return False
        self.running += 1
        return True

    def release(self) -> None:
        self.running = max(0, self.running - 1)


class ProtocolError(Exception):
    """A client message the service would refuse: becomes `task-failed`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def event(task_id: str, name: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"header": {"task_id": task_id, "event": name, "attributes": {}}}
    if payload is not None:
        message["payload"] = payload
    return message


def failed_event(task_id: str, code: str, message: str) -> dict[str, Any]:
    return {
        "header": {
            "task_id": task_id,
            "event": "task-failed",
            "error_code": code,
            "error_message": message,
            "attributes": {},
        },
        "payload": {},
    }


@dataclass(frozen=True)
class TaskParameters:
    """The `run-task` parameters the emulator acts on."""

    task_id: str
    source_language: str | None
    target_languages: tuple[str, ...]
    transcription_enabled: bool
    translation_enabled: bool
    max_end_silence_ms: int


def parse_run_task(message: dict[str, Any]) -> TaskParameters:
    """Validate a `run-task` as the service would; raise ProtocolError otherwise."""
    header = message.get("header")
    payload = message.get("payload")
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise ProtocolError(INVALID_PARAMETER, "Message must have a header and a payload.")
    task_id = header.get("task_id")
    if not isinstance(task_id, str) or not task_id:
        raise ProtocolError(INVALID_PARAMETER, "header.task_id is required.")
    model = payload.get("model")
    if model != MODEL:
        raise ProtocolError(MODEL_NOT_FOUND, f"Model not found ({model})!")
    parameters = payload.get("parameters")
    if not isinstance(parameters, dict):
        raise ProtocolError(INVALID_PARAMETER, "payload.parameters is required.")
    audio_format = parameters.get("format")
    if audio_format != "pcm":
        raise ProtocolError(
            INVALID_PARAMETER,
            f"Unsupported audio format: {audio_format!r} (this emulator accepts pcm only).",
        )
    sample_rate = parameters.get("sample_rate")
    if sample_rate != SAMPLE_RATE_HZ:
        raise ProtocolError(
            INVALID_PARAMETER,
            f"Unsupported sample_rate: {sample_rate!r} (this emulator accepts 16000 only).",
        )
    translation_enabled = parameters.get("translation_enabled") is True
    targets = parameters.get("translation_target_languages") or []
    if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
        raise ProtocolError(INVALID_PARAMETER, "translation_target_languages must be a list.")
    if translation_enabled and not targets:
        raise ProtocolError(
            INVALID_PARAMETER, "translation_target_languages is required for translation."
        )
    silence = parameters.get("max_end_silence", 700)
    if not isinstance(silence, int) or isinstance(silence, bool) or not 200 <= silence <= 6000:
        raise ProtocolError(INVALID_PARAMETER, "max_end_silence must be an integer 200..6000 ms.")
    source = parameters.get("source_language")
    return TaskParameters(
        task_id=task_id,
        source_language=source if isinstance(source, str) else None,
        target_languages=tuple(targets) if translation_enabled else (),
        transcription_enabled=parameters.get("transcription_enabled", True) is not False,
        translation_enabled=translation_enabled,
        max_end_silence_ms=silence,
    )


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
        self, parameters: TaskParameters, library: ScriptLibrary, config: EmulatorConfig
    ) -> None:
        self.parameters = parameters
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
                return known.translations[language]
            if language == known.language:
                return known.text
        return placeholder_translation(language, sentence_id + 1)

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


class ConnectionProtocol:
    """One WebSocket connection: any number of tasks one after another, as the service allows."""

    def __init__(
        self,
        config: EmulatorConfig,
        library: ScriptLibrary,
        admission: Admission,
        faults: FaultBudget,
        on_task_event: Callable[[str, str], None] | None = None,
    ) -> None:
        self.config = config
        self.library = library
        self.admission = admission
        self.faults = faults
        self.state = TaskState.IDLE
        self.task: StreamingTask | None = None
        self.drop_at_ms: int | None = None
        self.fail_at_ms: int | None = None
        self.last_task_id = ""
        self._on_task_event = on_task_event or (lambda _name, _task_id: None)

    def receive_text(self, text: str) -> list[Action]:
        if self.state is TaskState.FAILED:
            return []
        try:
            message = json.loads(text)
        except ValueError:
            return self._fail(INVALID_PARAMETER, "Message is not valid JSON.")
        if not isinstance(message, dict) or not isinstance(message.get("header"), dict):
            return self._fail(INVALID_PARAMETER, "Message must be a JSON object with a header.")
        action = message["header"].get("action")
        if action == "run-task":
            return self._run_task(message)
        if action == "finish-task":
            return self._finish_task(message)
        if action == "continue-task":
            return self._fail(INVALID_PARAMETER, "continue-task carries no audio for this model.")
        return self._fail(INVALID_PARAMETER, f"Unknown action: {action!r}.")

    def receive_binary(self, data: bytes) -> list[Action]:
        if self.state is TaskState.FAILED:
            return []
        if self.task is None:
            return self._fail(INVALID_PARAMETER, "Audio received before run-task.")
        results = self.task.feed(data)
        actions: list[Action] = [SendEvent(result, delayed=True) for result in results]
        received_ms = self.task.received_ms
        drop_at = self.drop_at_ms
        fail_at = self.fail_at_ms
        if drop_at is not None and received_ms >= drop_at and self.faults.take():
            self._end_task("dropped")
            self.state = TaskState.FAILED
            actions.append(DropConnection())
        elif fail_at is not None and received_ms >= fail_at and self.faults.take():
            actions.extend(self._fail(INTERNAL_ERROR, INTERNAL_ERROR_MESSAGE))
        elif (
            self.config.max_task_audio_ms is not None
            and received_ms > self.config.max_task_audio_ms
        ):
            cap_s = self.config.max_task_audio_ms / 1000
            actions.extend(
                self._fail(INVALID_PARAMETER, f"Task audio exceeds the maximum of {cap_s:g} s.")
            )
        return actions

    def idle_timeout(self) -> list[Action]:
        """No audio for `idle_timeout_s` while a task streams."""
        if self.task is None or self.state is not TaskState.STREAMING:
            return []
        seconds = round(self.config.idle_timeout_s)
        return self._fail(CLIENT_ERROR, f"request timeout after {seconds} seconds.")

    def connection_lost(self) -> None:
        if self.task is not None:
            self._end_task("disconnected")

    def _run_task(self, message: dict[str, Any]) -> list[Action]:
        if self.task is not None:
            return self._fail(INVALID_PARAMETER, "A task is already running on this connection.")
        try:
            parameters = parse_run_task(message)
        except ProtocolError as error:
            task_id = message["header"].get("task_id")
            return self._fail(
                error.code, error.message, task_id if isinstance(task_id, str) else ""
            )
        self.last_task_id = parameters.task_id
        if not self.admission.acquire():
            return self._fail(THROTTLING, THROTTLING_MESSAGE, parameters.task_id)
        self.task = StreamingTask(parameters, self.library, self.config)
        self.drop_at_ms = self.faults.point_ms(self.config.drop_after_audio_ms)
        self.fail_at_ms = self.faults.point_ms(self.config.fail_after_audio_ms)
        self.state = TaskState.STREAMING
        self._on_task_event("started", parameters.task_id)
        return [SendEvent(event(parameters.task_id, "task-started", {}))]

    def _finish_task(self, message: dict[str, Any]) -> list[Action]:
        if self.task is None:
            return self._fail(INVALID_PARAMETER, "finish-task received before run-task.")
        task_id = self.task.parameters.task_id
        if message["header"].get("task_id") not in (None, task_id):
            return self._fail(INVALID_PARAMETER, "finish-task names another task.")
        actions: list[Action] = [SendEvent(r, delayed=True) for r in self.task.flush()]
        actions.append(SendEvent(event(task_id, "task-finished", {"output": {}}), delayed=True))
        self._end_task("finished")
        self.state = TaskState.IDLE
        return actions

    def _fail(self, code: str, message: str, task_id: str | None = None) -> list[Action]:
        if task_id is None:
            task_id = self.task.parameters.task_id if self.task else self.last_task_id
        if self.task is not None:
            self._end_task("failed")
        else:
            self._on_task_event("failed", task_id)
        self.state = TaskState.FAILED
        return [SendEvent(failed_event(task_id, code, message), delayed=True), CloseConnection()]

    def _end_task(self, outcome: str) -> None:
        if self.task is None:
            return
        self._on_task_event(outcome, self.task.parameters.task_id)
        self.task = None
        self.admission.release()
