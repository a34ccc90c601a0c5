"""The wire, server side: the events the emulator sends, the actions its I/O layer takes, and
`run-task` checked as the service checks it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from subtitler.emulator.config import INVALID_PARAMETER, MODEL, MODEL_NOT_FOUND
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
    vocabulary_id = parameters.get("vocabulary_id")
    if vocabulary_id is not None and not isinstance(vocabulary_id, str):
        raise ProtocolError(INVALID_PARAMETER, "vocabulary_id must be a string.")
    return TaskParameters(
        task_id=task_id,
        source_language=source if isinstance(source, str) else None,
        target_languages=tuple(targets) if translation_enabled else (),
        transcription_enabled=parameters.get("transcription_enabled", True) is not False,
        translation_enabled=translation_enabled,
        max_end_silence_ms=silence,
        vocabulary_id=vocabulary_id or None,
    )
