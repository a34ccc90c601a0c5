"""The Gummy realtime protocol, client side, with no sockets (sans-I/O).

The mirror of `subtitler/emulator/protocol.py`: `ClientProtocol` builds the frames a task sends
(`run-task`, binary PCM, `finish-task`) and turns the text frames it receives (`task-started`,
`result-generated`, `task-finished`, `task-failed`) into typed events, checking every step
against an explicit `State`. It follows DashScope's Gummy WebSocket API reference field for field.

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


DEFAULT_ENDPOINT = "wss://dashscope.aliyuncs.com/api-ws/v1/inference"


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
    parameters: dict[str, Any] = {
        "sample_rate": SAMPLE_RATE_HZ,
        "format": "pcm",
        "source_language": settings.source_language,
        "transcription_enabled": settings.transcription_enabled,
        "translation_enabled": True,
        "translation_target_languages": [target],
    }
    if settings.vocabulary_id:
        parameters["vocabulary_id"] = settings.vocabulary_id
    if settings.max_end_silence_ms is not None:
        parameters["max_end_silence"] = settings.max_end_silence_ms
    return {
        "header": {"streaming": "duplex", "task_id": task_id, "action": "run-task"},
        "payload": {
            "model": MODEL,
            "parameters": parameters,
            "input": {},
            "task": "asr",
            "task_group": "audio",
            "function": "recognition",
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
    """One task for one target language: frames out, events in. Not reusable."""

    def __init__(self, settings: GummySettings, target: str, task_id: str | None = None) -> None:
        self.settings = settings
        self.target = target
        self.task_id = task_id or uuid.uuid4().hex
        self.state = State.IDLE
        self.failure: TaskFailed | None = None
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
        if name == "result-generated":
            output = (message.get("payload") or {}).get("output")
            try:
                return self.results(output)
            except BadResult as error:
                return self._fail(BAD_RESULT, f"unreadable result ({error})")
        if name == "task-finished":
            if self.state is State.STARTING:
                return self._fail(UNFINISHED, "task-finished before task-started")
            events = self._flush_pending()
            self.state = State.FINISHED
            return [*events, TaskFinished(self.task_id)]
        if name == "task-failed":
            code = str(header.get("error_code") or "Unknown")
            return self._fail(code, str(header.get("error_message") or "no message").strip())
        return []  # an event this client does not know: ignored, like unknown fields

    def results(self, output: Any) -> list[ClientEvent]:
        """The events of one `result-generated` output (also fed by the SDK client)."""
        if not isinstance(output, dict):
            raise BadResult("output is not an object")
        events: list[ClientEvent] = []
        transcription = output.get("transcription")
        translations = output.get("translations")
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
            if transcription.get("sentence_end") is True:
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
