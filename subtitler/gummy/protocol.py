"""The realtime recognition protocol, client side, with no sockets (sans-I/O).

The mirror of `subtitler/emulator/protocol.py`: `ClientProtocol` builds the frames a task sends
(`run-task`, binary PCM, `finish-task`) and turns the text frames it receives (`task-started`,
`result-generated`, `task-finished`, `task-failed`) into typed events, checking every step
against an explicit `State`. It follows DashScope's WebSocket API references field for field.

One duplex protocol, three kinds of task (`TaskKind`): a Gummy task that translates into one
target (and transcribes, unless another task of the input does), a Gummy task that only
recognises (`translation_enabled: false`), and a Fun-ASR realtime task (`fun-asr-realtime`,
offered outside Beijing too), which only recognises and answers in `output.sentence`. Both
recognition-only kinds give their `Sentence`s with `translation=""` as soon as the transcript
is final; their translations come from Qwen-MT. Fun-ASR's heartbeat results (silence kept
alive) never become events, and its sentences end on `sentence_end`, not on an `end_time`.

Results are read tolerantly: the cue text is the sentence's `text`; words carry timing only and
may come with leading spaces, with punctuation in `text`, without `punctuation`, or not at all;
fields this client does not know (`stash`, `speaker_id`, `vad_pre_end`, ...) are ignored. A
result it still cannot read fails the task (`BadResult`) instead of being dropped: the owner of
the task resumes from the last finished sentence. Only `task-finished` ends a task well.

Final transcriptions and translations of one sentence may come in different events; they are
paired by `sentence_id`, and a `Sentence` is given once both are final.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

MODEL = "gummy-realtime-v1"
FUN_ASR_MODEL = "fun-asr-realtime"
SAMPLE_RATE_HZ = 16000
SDK_VERSION = "2.0.2"
"""The dashscope SDK release the protocol was read off; the native client identifies as it
speaks (`x-dashscope-sdk-client`), so the service sees the same request either way."""

BAD_RESULT = "BadResult"
DISCONNECTED = "Disconnected"
UNFINISHED = "Unfinished"
HANDSHAKE = "Handshake"
UNREACHABLE = "Unreachable"
"""No connection could be made (refused, no such host, timed out)."""


@dataclass(frozen=True)
class GummySettings:
    """What every task of a run shares. The key is never printed (`repr=False`)."""

    api_key: str = field(repr=False)
    endpoint: str | None = None
    """WebSocket URL; None means DashScope's (Beijing) endpoint."""
    source_language: str | None = None
    vocabulary_id: str | None = None
    max_end_silence_ms: int | None = None
    transcription_enabled: bool = True
    """False for an input's second and later targets: one task recognises (recognition is
    billed per task), the others translate only and their cues take its transcript."""
    model: str = MODEL
    """The task's model: Gummy's, or Fun-ASR realtime's (`FUN_ASR_MODEL`, or a snapshot)."""
    translation_enabled: bool = True
    """False: a Gummy task that only recognises (no target is Gummy's). Fun-ASR never
    translates, whatever this says."""
    heartbeat: bool = False
    """Fun-ASR only: keep the task alive through long silence (set for live inputs)."""

    @property
    def kind(self) -> TaskKind:
        if is_fun_asr(self.model):
            return TaskKind.FUN_ASR
        return TaskKind.TRANSLATE if self.translation_enabled else TaskKind.RECOGNISE


DEFAULT_ENDPOINT = "wss://dashscope.aliyuncs.com/api-ws/v1/inference"


class TaskKind(Enum):
    TRANSLATE = "translate"  # Gummy: into one target, transcribing too unless told not to
    RECOGNISE = "recognise"  # Gummy, recognition only
    FUN_ASR = "fun-asr"  # Fun-ASR realtime: recognition only, `output.sentence`


def is_fun_asr(model: str) -> bool:
    """`fun-asr-realtime` and its dated snapshots."""
    return model.startswith("fun-asr")


class State(Enum):
    IDLE = "idle"  # nothing sent yet
    STARTING = "starting"  # run-task sent, waiting for task-started
    STREAMING = "streaming"  # audio may be sent
    FINISHING = "finishing"  # finish-task sent, results still coming
    FINISHED = "finished"  # task-finished arrived: every result is in
    FAILED = "failed"  # task-failed, a refused handshake, a lost connection, a bad result


@dataclass(frozen=True)
class Word:
    begin_ms: int
    end_ms: int
    text: str


@dataclass(frozen=True)
class TaskStarted:
    task_id: str


@dataclass(frozen=True)
class Partial:
    """The sentence being spoken, as recognised so far (may still change)."""

    sentence_id: int
    begin_ms: int
    current_ms: int
    transcript: str
    translation: str


@dataclass(frozen=True)
class Sentence:
    """A finished sentence: its text, its translation and word timings, in ms of the task."""

    sentence_id: int
    begin_ms: int
    end_ms: int
    transcript: str
    translation: str
    words: tuple[Word, ...]


@dataclass(frozen=True)
class TaskFinished:
    task_id: str
    billed_s: float | None = field(default=None, compare=False)
    """The task's billable audio (`usage.duration`, cumulative), when the service said it;
    not part of what the event is (the same end, however it was billed)."""


@dataclass(frozen=True)
class TaskFailed:
    """How a task ended other than with `task-finished`. `status` is the HTTP status of a
    refused handshake; `code` is the service's `error_code` or one of this module's."""

    code: str
    message: str
    status: int | None = None


ClientEvent = TaskStarted | Partial | Sentence | TaskFinished | TaskFailed


class ProtocolViolation(Exception):
    """This client was asked to send something its state does not allow (a bug)."""


def handshake_headers(session_id: str) -> dict[str, str]:
    """What the SDK sends besides the key and the WebSocket handshake itself."""
    return {
        "x-dashscope-sdk-client": f"python-sdk/{SDK_VERSION}/audio",
        "x-dashscope-sdk-session-id": session_id,
        "accept": "*/*",
        "accept-encoding": "gzip, deflate",
    }


def run_task_message(settings: GummySettings, target: str, task_id: str) -> dict[str, Any]:
    if settings.kind is TaskKind.FUN_ASR:
        return fun_asr_run_task(settings, task_id)
    parameters: dict[str, Any] = {
        "sample_rate": SAMPLE_RATE_HZ,
        "format": "pcm",
        "source_language": settings.source_language,
        "transcription_enabled": settings.transcription_enabled,
        "translation_enabled": settings.translation_enabled,
    }
    if settings.translation_enabled:
        parameters["translation_target_languages"] = [target]
    if settings.vocabulary_id:
        parameters["vocabulary_id"] = settings.vocabulary_id
    if settings.max_end_silence_ms is not None:
        parameters["max_end_silence"] = settings.max_end_silence_ms
    return {
        "header": {"streaming": "duplex", "task_id": task_id, "action": "run-task"},
        "payload": {
            "model": settings.model,
            "parameters": parameters,
            "input": {},
            "task": "asr",
            "task_group": "audio",
            "function": "recognition",
        },
    }


def fun_asr_parameters(settings: GummySettings) -> dict[str, Any]:
    """Fun-ASR's run-task parameters: `language_hints` holds the spoken language when it is
    given (only its first value counts; none: detected), `max_sentence_silence` is its VAD
    silence (Gummy's `max_end_silence`), `heartbeat` only when asked for."""
    parameters: dict[str, Any] = {"format": "pcm", "sample_rate": SAMPLE_RATE_HZ}
    if settings.source_language:
        parameters["language_hints"] = [settings.source_language]
    if settings.vocabulary_id:
        parameters["vocabulary_id"] = settings.vocabulary_id
    if settings.max_end_silence_ms is not None:
        parameters["max_sentence_silence"] = settings.max_end_silence_ms
    if settings.heartbeat:
        parameters["heartbeat"] = True
    return parameters


def fun_asr_run_task(settings: GummySettings, task_id: str) -> dict[str, Any]:
    """A Fun-ASR realtime run-task, as its client-events reference gives it."""
    return {
        "header": {"action": "run-task", "task_id": task_id, "streaming": "duplex"},
        "payload": {
            "task_group": "audio",
            "task": "asr",
            "function": "recognition",
            "model": settings.model,
            "parameters": fun_asr_parameters(settings),
            "input": {},
        },
    }


class BadResult(ValueError):
    """A result this client cannot read."""


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadResult(f"{name} is {value!r}, not a number")
    return int(value)


def _words(raw: Any) -> tuple[Word, ...]:
    """Words with times; a word without usable times is left out (timing only)."""
    if not isinstance(raw, list):
        return ()
    words = []
    for item in raw:
        if not isinstance(item, dict):
            continue
        begin, end = item.get("begin_time"), item.get("end_time")
        if not isinstance(begin, int | float) or not isinstance(end, int | float):
            continue
        text = str(item.get("text") or "") + str(item.get("punctuation") or "")
        words.append(Word(int(begin), int(end), text))
    return tuple(words)


@dataclass
class _Pending:
    transcript: dict[int, tuple[int, int, str, tuple[Word, ...]]] = field(default_factory=dict)
    translation: dict[int, str] = field(default_factory=dict)
    partial_transcript: dict[int, tuple[int, int, str]] = field(default_factory=dict)
    partial_translation: dict[int, str] = field(default_factory=dict)


class ClientProtocol:
    """One task (for one target language, or recognition only): frames out, events in. Not
    reusable."""

    def __init__(self, settings: GummySettings, target: str, task_id: str | None = None) -> None:
        if settings.kind is TaskKind.RECOGNISE and not settings.transcription_enabled:
            raise ProtocolViolation("a task that neither transcribes nor translates")
        self.settings = settings
        self.kind = settings.kind
        self.target = target
        self.task_id = task_id or uuid.uuid4().hex
        self.state = State.IDLE
        self.failure: TaskFailed | None = None
        self.billed_s: float | None = None
        """The latest `usage.duration` the service reported (cumulative billable seconds)."""
        self._pending = _Pending()

    # --- out -------------------------------------------------------------------------------

    def run_task(self) -> str:
        self._expect(State.IDLE, "run-task")
        self.state = State.STARTING
        return json.dumps(run_task_message(self.settings, self.target, self.task_id))

    def audio(self, pcm: bytes) -> bytes:
        self._expect(State.STREAMING, "audio")
        return pcm

    def finish_task(self) -> str:
        self._expect(State.STREAMING, "finish-task")
        self.state = State.FINISHING
        header = {"streaming": "duplex", "task_id": self.task_id, "action": "finish-task"}
        return json.dumps({"header": header, "payload": {"input": {}}})

    # --- in --------------------------------------------------------------------------------

    def receive(self, text: str) -> list[ClientEvent]:
        if self.state in (State.FINISHED, State.FAILED):
            return []
        try:
            message = json.loads(text)
            header = message["header"]
            name = header["event"]
        except (ValueError, KeyError, TypeError):
            return self._fail(BAD_RESULT, f"unreadable message: {text[:120]!r}")
        if name == "task-started":
            if self.state is State.STARTING:
                self.state = State.STREAMING
                return [TaskStarted(self.task_id)]
            return []
        payload = message.get("payload")
        self._note_usage(payload)
        if name == "result-generated":
            output = payload.get("output") if isinstance(payload, dict) else None
            try:
                return self.results(output)
            except BadResult as error:
                return self._fail(BAD_RESULT, f"unreadable result ({error})")
        if name == "task-finished":
            if self.state is State.STARTING:
                return self._fail(UNFINISHED, "task-finished before task-started")
            events = self._flush_pending()
            self.state = State.FINISHED
            return [*events, TaskFinished(self.task_id, self.billed_s)]
        if name == "task-failed":
            code = str(header.get("error_code") or "Unknown")
            return self._fail(code, str(header.get("error_message") or "no message").strip())
        return []  # an event this client does not know: ignored, like unknown fields

    def results(self, output: Any) -> list[ClientEvent]:
        """The events of one `result-generated` output (also fed by the SDK client)."""
        if not isinstance(output, dict):
            raise BadResult("output is not an object")
        if self.kind is TaskKind.FUN_ASR:
            return self._sentence_result(output.get("sentence"))
        events: list[ClientEvent] = []
        transcription = output.get("transcription")
        translations = output.get("translations")
        if self.kind is TaskKind.RECOGNISE:
            translations = None  # nothing was asked for: a stray translation is ignored
        if translations is not None:
            item = self._our_translation(translations)
            if item is not None:
                sentence_id = _int(item.get("sentence_id"), "translation sentence_id")
                text = str(item.get("text") or "")
                if not self.settings.transcription_enabled:  # translate only: no pairing
                    events.append(self._translated(item, sentence_id, text))
                elif item.get("sentence_end") is True:
                    self._pending.translation[sentence_id] = text
                    self._pending.partial_translation.pop(sentence_id, None)
                    events += self._pair(sentence_id)
                else:
                    self._pending.partial_translation[sentence_id] = text
                    known = self._pending.partial_transcript.get(sentence_id)
                    if known is not None and transcription is None:
                        events.append(Partial(sentence_id, *known, text))
        if transcription is not None:
            if not isinstance(transcription, dict):
                raise BadResult("transcription is not an object")
            sentence_id = _int(transcription.get("sentence_id"), "sentence_id")
            begin_ms = _int(transcription.get("begin_time") or 0, "begin_time")
            text = str(transcription.get("text") or "")
            end = transcription.get("end_time")
            if end is None:
                end = transcription.get("current_time", begin_ms)
            end_ms = max(begin_ms, _int(end if end is not None else begin_ms, "end_time"))
            if transcription.get("sentence_end") is True and self.kind is TaskKind.RECOGNISE:
                words = _words(transcription.get("words"))
                events.append(Sentence(sentence_id, begin_ms, end_ms, text, "", words))
            elif transcription.get("sentence_end") is True:
                words = _words(transcription.get("words"))
                self._pending.transcript[sentence_id] = (begin_ms, end_ms, text, words)
                self._pending.partial_transcript.pop(sentence_id, None)
                events += self._pair(sentence_id)
            else:
                self._pending.partial_transcript[sentence_id] = (begin_ms, end_ms, text)
                translation = self._pending.partial_translation.get(sentence_id, "")
                events.append(Partial(sentence_id, begin_ms, end_ms, text, translation))
        return events

    def handshake_refused(self, status: int, body: str) -> list[ClientEvent]:
        return self._fail(HANDSHAKE, body.strip().splitlines()[0] if body.strip() else "", status)

    def connection_lost(self, reason: str = "") -> list[ClientEvent]:
        """The socket closed. Before `task-finished` that is a failure: results may be missing."""
        if self.state in (State.FINISHED, State.FAILED):
            return []
        return self._fail(DISCONNECTED, reason or "the connection closed before task-finished")

    def unreachable(self, reason: str) -> list[ClientEvent]:
        """No connection could be made at all."""
        if self.state in (State.FINISHED, State.FAILED):
            return []
        return self._fail(UNREACHABLE, reason)

    def ended_without_finish(self, reason: str) -> list[ClientEvent]:
        """The SDK client's end with no `task-finished` (or no `on_complete`)."""
        if self.state in (State.FINISHED, State.FAILED):
            return []
        return self._fail(UNFINISHED, reason)

    # --- internals -------------------------------------------------------------------------

    def _sentence_result(self, sentence: Any) -> list[ClientEvent]:
        """Fun-ASR's `output.sentence`: a heartbeat is skipped; `sentence_end` (not an
        `end_time`, which interim results may carry too) makes a finished `Sentence`."""
        if sentence is None:
            return []  # a result with no sentence (usage only)
        if not isinstance(sentence, dict):
            raise BadResult("sentence is not an object")
        if sentence.get("heartbeat") is True:
            return []
        sentence_id = _int(sentence.get("sentence_id"), "sentence_id")
        begin_ms = _int(sentence.get("begin_time") or 0, "begin_time")
        text = str(sentence.get("text") or "")
        end = sentence.get("end_time")
        if end is None:
            end = sentence.get("current_time")
        words = _words(sentence.get("words"))
        if end is None and words:
            end = words[-1].end_ms
        end_ms = max(begin_ms, _int(end if end is not None else begin_ms, "end_time"))
        if sentence.get("sentence_end") is True:
            return [Sentence(sentence_id, begin_ms, end_ms, text, "", words)]
        return [Partial(sentence_id, begin_ms, end_ms, text, "")]

    def _note_usage(self, payload: Any) -> None:
        usage = payload.get("usage") if isinstance(payload, dict) else None
        duration = usage.get("duration") if isinstance(usage, dict) else None
        if isinstance(duration, int | float) and not isinstance(duration, bool):
            self.billed_s = max(self.billed_s or 0.0, float(duration))

    def _our_translation(self, translations: Any) -> dict[str, Any] | None:
        if not isinstance(translations, list):
            raise BadResult("translations is not a list")
        items = [item for item in translations if isinstance(item, dict)]
        for item in items:
            if item.get("lang") == self.target:
                return item
        # The service may spell the language differently ("zh-CN"): one item is ours.
        return items[0] if len(items) == 1 else None

    def _translated(self, item: dict[str, Any], sentence_id: int, text: str) -> ClientEvent:
        """A translate-only task's result: the translation's own times, no transcript (the
        input's recognising task has it)."""
        begin_ms = _int(item.get("begin_time") or 0, "translation begin_time")
        end = item.get("end_time")
        if end is None:
            end = item.get("current_time", begin_ms)
        end_ms = max(begin_ms, _int(end if end is not None else begin_ms, "translation end_time"))
        if item.get("sentence_end") is True:
            return Sentence(sentence_id, begin_ms, end_ms, "", text, ())
        return Partial(sentence_id, begin_ms, end_ms, "", text)

    def _pair(self, sentence_id: int) -> list[ClientEvent]:
        pending = self._pending
        if sentence_id not in pending.transcript or sentence_id not in pending.translation:
            return []
        begin_ms, end_ms, transcript, words = pending.transcript.pop(sentence_id)
        translation = pending.translation.pop(sentence_id)
        return [Sentence(sentence_id, begin_ms, end_ms, transcript, translation, words)]

    def _flush_pending(self) -> list[ClientEvent]:
        """At task-finished: a transcription whose translation never came is still a sentence."""
        events: list[ClientEvent] = []
        for sentence_id in sorted(self._pending.transcript):
            begin_ms, end_ms, transcript, words = self._pending.transcript[sentence_id]
            events.append(Sentence(sentence_id, begin_ms, end_ms, transcript, "", words))
        self._pending = _Pending()
        return events

    def _fail(self, code: str, message: str, status: int | None = None) -> list[ClientEvent]:
        self.state = State.FAILED
        self.failure = TaskFailed(code, message, status)
        return [self.failure]

    def _expect(self, state: State, what: str) -> None:
        if self.state is not state:
            raise ProtocolViolation(f"cannot send {what} in state {self.state.value}")
