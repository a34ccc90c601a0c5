"""The wire, server side: the events the emulator sends, the actions its I/O layer takes, and
`run-task` checked as the service checks it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from subtitler.emulator.config import (
    FUN_ASR_LANGUAGES,
    FUN_ASR_MODELS,
    INVALID_PARAMETER,
    MODEL,
    MODEL_NOT_FOUND,
)
from subtitler.emulator.vad import (
    SAMPLE_RATE_HZ,
)


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
    vocabulary_id: str | None = None
    model: str = MODEL
    heartbeat: bool = False
    """Fun-ASR: keep the task alive while silent audio flows (heartbeat results)."""

    @property
    def fun_asr(self) -> bool:
        return self.model in FUN_ASR_MODELS


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
    if model != MODEL and model not in FUN_ASR_MODELS:
        raise ProtocolError(MODEL_NOT_FOUND, f"Model not found ({model})!")
    parameters = payload.get("parameters")
    if not isinstance(parameters, dict):
        raise ProtocolError(INVALID_PARAMETER, "payload.parameters is required.")
    _check_audio(parameters)
    vocabulary_id = parameters.get("vocabulary_id")
    if vocabulary_id is not None and not isinstance(vocabulary_id, str):
        raise ProtocolError(INVALID_PARAMETER, "vocabulary_id must be a string.")
    if model in FUN_ASR_MODELS:
        return _fun_asr_parameters(task_id, model, parameters, vocabulary_id or None)
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
    transcription_enabled = parameters.get("transcription_enabled", True) is not False
    if not transcription_enabled and not translation_enabled:
        raise ProtocolError(
            INVALID_PARAMETER,
            "transcription_enabled and translation_enabled cannot both be false.",
        )
    return TaskParameters(
        task_id=task_id,
        source_language=source if isinstance(source, str) else None,
        target_languages=tuple(targets) if translation_enabled else (),
        transcription_enabled=transcription_enabled,
        translation_enabled=translation_enabled,
        max_end_silence_ms=silence,
        vocabulary_id=vocabulary_id or None,
    )


def _check_audio(parameters: dict[str, Any]) -> None:
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


def _fun_asr_parameters(
    task_id: str, model: str, parameters: dict[str, Any], vocabulary_id: str | None
) -> TaskParameters:
    """A Fun-ASR run-task: `language_hints` (only the first is used), `heartbeat`,
    `semantic_punctuation_enabled`, `max_sentence_silence` (200-6000 ms; the service's default
    is 1300, but the emulator's energy detector segments at Gummy's 700 when it is not given,
    as the fixtures' pauses are cut for it)."""
    hints = parameters.get("language_hints")
    if hints is not None and (
        not isinstance(hints, list) or not all(isinstance(h, str) for h in hints)
    ):
        raise ProtocolError(INVALID_PARAMETER, "language_hints must be a list of strings.")
    hint = hints[0] if hints else None
    if hint is not None and hint not in FUN_ASR_LANGUAGES:
        raise ProtocolError(
            INVALID_PARAMETER,
            f"language_hints: {hint!r} is not supported by {model} "
            f"({', '.join(FUN_ASR_LANGUAGES)}).",
        )
    for flag in ("heartbeat", "semantic_punctuation_enabled", "multi_threshold_mode_enabled"):
        if not isinstance(parameters.get(flag, False), bool):
            raise ProtocolError(INVALID_PARAMETER, f"{flag} must be a boolean.")
    silence = parameters.get("max_sentence_silence", 700)
    if not isinstance(silence, int) or isinstance(silence, bool) or not 200 <= silence <= 6000:
        raise ProtocolError(
            INVALID_PARAMETER, "max_sentence_silence must be an integer 200..6000 ms."
        )
    return TaskParameters(
        task_id=task_id,
        source_language=hint,
        target_languages=(),
        transcription_enabled=True,
        translation_enabled=False,
        max_end_silence_ms=silence,
        vocabulary_id=vocabulary_id,
        model=model,
        heartbeat=parameters.get("heartbeat", False),
    )
