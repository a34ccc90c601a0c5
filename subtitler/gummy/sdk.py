"""The same tasks through the dashscope SDK (`--client sdk`), behind `NativeTask`'s interface:
Gummy's (translating or recognition only) through `TranslationRecognizerRealtime`, Fun-ASR's
through `Recognition` (`new_sdk_task` chooses by the settings' model).

The SDK runs each task on a worker thread of its own; its callbacks only hand what they get to
the event loop (`call_soon_threadsafe`), where the raw output is read by the same
`ClientProtocol` the native client uses, so both clients pair, parse and fail alike. The SDK
reports no `task-started`, and its `stop()` blocks until the task ends: it runs on a small
executor (the reason for those threads). An end without `on_complete` (the worker died on a
result it could not parse) is a `TaskFailed`, never a success; so is an `on_complete` that came
before we asked for the end, or with audio we gave it still unsent (the SDK ended the task by
itself: its 23 s no-audio rule, or its worker reaching the audio before `start()` marked it
running). Imported only when the SDK client is chosen.

Fun-ASR through `Recognition`: its callback gets a `RecognitionResult` whose `output` holds the
raw `sentence` (the SDK already drops heartbeats); the protocol reads `sentence_end` itself,
never the SDK's `is_sentence_end()`, which only asks whether `end_time` is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Any

from dashscope.audio.asr import (
    Recognition,
    RecognitionCallback,
    TranslationRecognizerCallback,
    TranslationRecognizerRealtime,
)
from dashscope.common.error import InvalidParameter, InvalidTask

from subtitler.gummy.protocol import (
    DISCONNECTED,
    SAMPLE_RATE_HZ,
    ClientEvent,
    ClientProtocol,
    GummySettings,
    State,
    TaskFinished,
    TaskKind,
    fun_asr_parameters,
)

STOP_TIMEOUT_S = 60.0


@cache
def _stopper() -> ThreadPoolExecutor:
    """`TranslationRecognizerRealtime.stop()` joins the SDK's worker thread: not on the loop.
    Made at the first stop; threads only as stops overlap, enough that one slow stop never
    queues the others behind it."""
    return ThreadPoolExecutor(max_workers=64, thread_name_prefix="sdk-stop")


def new_sdk_task(
    settings: GummySettings, target: str, sink: Callable[[ClientEvent], None]
) -> SdkTask | SdkRecognitionTask:
    if settings.kind is TaskKind.FUN_ASR:
        return SdkRecognitionTask(settings, target, sink)
    return SdkTask(settings, target, sink)


class _SdkTaskBase:
    """What both SDK tasks share: the protocol, the hand-over to the loop, start and stop.
    `_recognizer` is the SDK object (`start`, `send_audio_frame`, `stop`)."""

    _recognizer: Any

    def __init__(
        self, settings: GummySettings, target: str, sink: Callable[[ClientEvent], None]
    ) -> None:
        self.protocol = ClientProtocol(settings, target)
        self._sink = sink
        self._loop = asyncio.get_running_loop()
        self._stopped = False
        self._stop_asked = False
        """`stop()` was called: an `on_complete` before it is the SDK ending the task itself."""

    @staticmethod
    def _common_options(settings: GummySettings) -> dict[str, Any]:
        options: dict[str, Any] = {"api_key": settings.api_key}
        if settings.endpoint:
            options["base_address"] = settings.endpoint
        return options

    @property
    def task_id(self) -> str:
        return str(self._recognizer.get_last_request_id())

    async def start(self, turn: Callable[[], Awaitable[None]]) -> None:
        await turn()  # the SDK connects and submits in one go, on its own thread
        self.protocol.run_task()
        try:
            self._recognizer.start()  # spawns the SDK's worker; it does not wait for task-started
        except InvalidTask:
            # Its worker had already ended: the connection dropped at once. What it reported
            # first (a refusal's code) was queued on the loop before it ended: heard first.
            await asyncio.sleep(0)
            self._emit(self.protocol.connection_lost("the connection ended as the task started"))
            return
        # The SDK queues audio until its task has started: from here the task streams.
        self._emit(self.protocol.receive(json.dumps({"header": {"event": "task-started"}})))

    async def send(self, pcm: bytes) -> bool:
        if self.protocol.state is not State.STREAMING:
            return False
        try:
            self._recognizer.send_audio_frame(self.protocol.audio(pcm))
        except InvalidParameter:
            # The SDK's worker stopped the task: what it reported before stopping (the last
            # sentences, then the lost connection) is queued on the loop. Heard first, in
            # order: else those sentences were dropped behind a failure of the wrong kind.
            await asyncio.sleep(0)
            self._emit(self.protocol.ended_without_finish("the SDK ended the task early"))
            return False
        return True

    async def finish(self) -> None:
        if self.protocol.state is not State.STREAMING:
            return
        self.protocol.finish_task()
        await self._stop()

    async def close(self) -> None:
        if self.protocol.state in (State.STREAMING, State.FINISHING):
            await self._stop()
        # After an error the SDK leaves its 23 s no-audio timer running (a non-daemon thread that
        # would hold the process open for 23 s at exit); `stop()` cancels it only while running.
        timer = getattr(self._recognizer, "_silence_timer", None)
        if timer is not None:
            timer.cancel()
        self._emit(self.protocol.connection_lost("closed by the client before task-finished"))

    async def _stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._stop_asked = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                self._loop.run_in_executor(_stopper(), self._stop_recognizer), STOP_TIMEOUT_S
            )
        # Every callback the worker made was queued on the loop before stop() returned.
        await asyncio.sleep(0)
        self._emit(self.protocol.ended_without_finish("the task ended without task-finished"))

    def _stop_recognizer(self) -> None:
        # InvalidParameter: already ended, by an error (reported) or the SDK's 23 s rule (not).
        with contextlib.suppress(InvalidParameter):
            self._recognizer.stop()

    def _emit(self, events: list[ClientEvent]) -> None:
        for event in events:
            self._sink(event)

    # --- SDK callbacks: on the SDK's worker thread, handed to the loop -----------------------

    def on_open(self) -> None:
        pass

    def on_error(self, response: Any) -> None:
        status = getattr(response, "status_code", None)
        code = str(getattr(response, "code", "") or "")
        message = str(getattr(response, "message", "") or "").strip()
        self._loop.call_soon_threadsafe(self._deliver_error, status, code, message)

    def on_complete(self) -> None:
        # Read here, on the SDK's thread, when the task ended: whether we had asked it to, and
        # whether audio we gave it is still queued (its worker sent the end without it).
        queued = getattr(self._recognizer, "_stream_data", None)
        unsent = queued is not None and not queued.empty()
        self._loop.call_soon_threadsafe(self._deliver_complete, self._stop_asked and not unsent)

    def on_close(self) -> None:
        pass

    # --- on the loop ---------------------------------------------------------------------------

    def _deliver_output(self, output: dict[str, Any], usage: Any = None) -> None:
        if self.protocol.state in (State.STREAMING, State.FINISHING):
            payload: dict[str, Any] = {"output": output}
            if isinstance(usage, dict):
                payload["usage"] = usage
            text = json.dumps({"header": {"event": "result-generated"}, "payload": payload})
            self._emit(self.protocol.receive(text))

    def _deliver_error(self, status: int | None, code: str, message: str) -> None:
        if status is not None and 400 <= status < 600:
            self._emit(self.protocol.handshake_refused(status, message))
        elif status == -1 and code == "ClientConnectorError":
            self._emit(self.protocol.unreachable(f"cannot connect ({message})"))
        elif status == -1:
            self._emit(self.protocol.connection_lost("connection to the service was lost"))
        else:
            failed = {"header": {"event": "task-failed", "error_code": code or DISCONNECTED}}
            failed["header"]["error_message"] = message
            self._emit(self.protocol.receive(json.dumps(failed)))

    def _deliver_complete(self, asked: bool) -> None:
        if not asked:
            # The SDK ended the task by itself: its audio generator saw it not running (its
            # `start()` sets that flag only after the worker thread runs: under load the worker
            # can reach the audio first and finish the task with none), or its 23 s rule; or it
            # ended as we asked but with our audio still in its queue (the same race, its end
            # heard only after our `finish()`). Audio not heard: a failure to resume, never a
            # success.
            self._emit(self.protocol.ended_without_finish("the SDK ended the task by itself"))
            return
        if self.protocol.state is State.FINISHING:
            events = self.protocol.receive(json.dumps({"header": {"event": "task-finished"}}))
            self._emit([e for e in events if not isinstance(e, TaskFinished)])
            self._emit([TaskFinished(self.task_id, self.protocol.billed_s)])


class SdkTask(_SdkTaskBase, TranslationRecognizerCallback):
    """A Gummy task: into one target, or recognition only (`translation_enabled` False)."""

    def __init__(
        self, settings: GummySettings, target: str, sink: Callable[[ClientEvent], None]
    ) -> None:
        super().__init__(settings, target, sink)
        options = self._common_options(settings)
        options["source_language"] = settings.source_language  # None: detected by the service
        if settings.kind is TaskKind.TRANSLATE:
            options["translation_target_languages"] = [target]
        if settings.vocabulary_id:
            options["vocabulary_id"] = settings.vocabulary_id
        if settings.max_end_silence_ms is not None:
            options["max_end_silence"] = settings.max_end_silence_ms
        self._recognizer = TranslationRecognizerRealtime(
            model=settings.model,
            callback=self,
            format="pcm",
            sample_rate=SAMPLE_RATE_HZ,
            transcription_enabled=settings.transcription_enabled,
            translation_enabled=settings.kind is TaskKind.TRANSLATE,
            **options,
        )

    def on_event(self, request_id: Any, transcription: Any, translation: Any, usage: Any) -> None:
        output: dict[str, Any] = {}
        if transcription is not None:
            output["transcription"] = transcription._raw_data
        if translation is not None:
            output["translations"] = translation._raw_data
        self._loop.call_soon_threadsafe(self._deliver_output, output, usage)


class SdkRecognitionTask(_SdkTaskBase, RecognitionCallback):
    """A Fun-ASR realtime task through the SDK's `Recognition`, with the run-task parameters
    the native client sends (`language_hints`, `vocabulary_id`, `max_sentence_silence`,
    `heartbeat`)."""

    def __init__(
        self, settings: GummySettings, target: str, sink: Callable[[ClientEvent], None]
    ) -> None:
        super().__init__(settings, target, sink)
        parameters = fun_asr_parameters(settings)
        del parameters["format"], parameters["sample_rate"]  # the SDK's own arguments
        self._recognizer = Recognition(
            model=settings.model,
            callback=self,
            format="pcm",
            sample_rate=SAMPLE_RATE_HZ,
            **self._common_options(settings),
            **parameters,
        )

    def on_event(self, result: Any) -> None:
        output = getattr(result, "output", None)
        output = dict(output) if isinstance(output, dict) else {}
        usage = getattr(result, "usage", None)
        self._loop.call_soon_threadsafe(self._deliver_output, output, usage)
