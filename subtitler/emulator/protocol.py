"""The Gummy realtime protocol, server side, with no sockets (sans-I/O).

A `ConnectionProtocol` takes the frames one WebSocket connection receives and returns the
actions the I/O layer must take (send a JSON event, drop the socket, close it). It follows
DashScope's Gummy WebSocket API reference (its run-task, result-generated and
finish-task events) field for field: `run-task` -> `task-started`, binary
PCM, `result-generated` with `transcription` / `translations` / `usage`, `finish-task` ->
flush -> `task-finished`, and `task-failed` with `error_code` / `error_message`.

The other concerns live beside it: `config` (how it behaves, the service's codes), `admission`
(limits and injected faults), `messages` (the events on the wire, `run-task` checked) and
`task` (one running task's results).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from subtitler.emulator.admission import Admission, FaultBudget
from subtitler.emulator.config import (
    CLIENT_ERROR,
    INTERNAL_ERROR,
    INTERNAL_ERROR_MESSAGE,
    INVALID_PARAMETER,
    THROTTLING,
    THROTTLING_MESSAGE,
    EmulatorConfig,
)
from subtitler.emulator.funasr import FunAsrTask
from subtitler.emulator.messages import (
    Action,
    CloseConnection,
    DropConnection,
    ProtocolError,
    SendEvent,
    TaskState,
    event,
    failed_event,
    parse_run_task,
)
from subtitler.emulator.scripts import ScriptLibrary
from subtitler.emulator.task import StreamingTask
from subtitler.emulator.vocabulary import VocabularyStore


@dataclass(frozen=True)
class Bill:
    """What one task is billed, as the service bills it: the audio it received, in whole
    seconds rounded up, once for recognition when transcription was enabled and once for
    translation when translation was."""

    task_id: str
    audio_ms: int
    recognition_s: int
    translation_s: int


def bill_of(task: StreamingTask) -> Bill:
    seconds = math.ceil(task.received_ms / 1000)
    parameters = task.parameters
    return Bill(
        parameters.task_id,
        task.received_ms,
        seconds if parameters.transcription_enabled else 0,
        seconds if parameters.translation_enabled else 0,
    )


class ConnectionProtocol:
    """One WebSocket connection: any number of tasks one after another, as the service allows."""

    def __init__(
        self,
        config: EmulatorConfig,
        library: ScriptLibrary,
        admission: Admission,
        faults: FaultBudget,
        on_task_event: Callable[[str, str], None] | None = None,
        on_billed: Callable[[Bill], None] | None = None,
        vocabularies: VocabularyStore | None = None,
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
        self._on_billed = on_billed or (lambda _bill: None)
        self.vocabularies = vocabularies or VocabularyStore()
        """The account's hot-word vocabularies, which a `run-task` may name."""

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
        elif isinstance(self.task, FunAsrTask) and self.task.silence_cut_off(
            self.config.funasr_silence_cutoff_s
        ):
            seconds = round(self.config.funasr_silence_cutoff_s)
            actions.extend(self._fail(CLIENT_ERROR, f"request timeout after {seconds} seconds."))
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
        pinned: dict[str, dict[str, str]] = {}
        if parameters.vocabulary_id is not None:
            for target in parameters.target_languages or ("",):
                terms = self.vocabularies.pinned(parameters.vocabulary_id, target, parameters.model)
                if terms is None:
                    missing = f"vocabulary_id {parameters.vocabulary_id!r} does not exist."
                    return self._fail(INVALID_PARAMETER, missing, parameters.task_id)
                pinned[target] = terms
        if not self.admission.acquire():
            return self._fail(THROTTLING, THROTTLING_MESSAGE, parameters.task_id)
        kind = FunAsrTask if parameters.fun_asr else StreamingTask
        self.task = kind(parameters, self.library, self.config, pinned)
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
        finished = (
            self.task.finished_payload() if isinstance(self.task, FunAsrTask) else {"output": {}}
        )
        actions.append(SendEvent(event(task_id, "task-finished", finished), delayed=True))
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
        self._on_billed(bill_of(self.task))
        self.task = None
        self.admission.release()
