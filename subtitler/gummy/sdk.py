"""The same task through the dashscope SDK (`--client sdk`), behind `NativeTask`'s interface.

The SDK runs each task on a worker thread of its own; its callbacks only hand what they get to
the event loop (`call_soon_threadsafe`), where the raw output is read by the same
`ClientProtocol` the native client uses, so both clients pair, parse and fail alike. The SDK
reports no `task-started`, and its `stop()` blocks until the task ends: it runs on a small
executor (the reason for those threads). An end without `on_complete` (the worker died on a
result it could not parse, or its own 23 s no-audio rule ended the task) is a `TaskFailed`,
never a success. Imported only when the SDK client is chosen.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Any

from dashscope.audio.asr import TranslationRecognizerCallback, TranslationRecognizerRealtime
from dashscope.common.error import InvalidParameter

from subtitler.gummy.protocol import (
    DISCONNECTED,
    MODEL,
    SAMPLE_RATE_HZ,
    ClientEvent,
    ClientProtocol,
    GummySettings,
    State,
    TaskFinished,
)

STOP_TIMEOUT_S = 60.0


@cache
def _stopper() -> ThreadPoolExecutor:
    """`TranslationRecognizerRealtime.stop()` joins the SDK's worker thread: not on the loop.
    Made at the first stop; threads only as stops overlap, enough that one slow stop never
    queues the others behind it."""
    return ThreadPoolExecutor(max_workers=64, thread_name_prefix="sdk-stop")


class SdkTask(TranslationRecognizerCallback):
    def __init__(
        self, settings: GummySettings, target: str, sink: Callable[[ClientEvent], None]
    ) -> None:
        self.protocol = ClientProtocol(settings, target)
        self._sink = sink
        self._loop = asyncio.get_running_loop()
        self._stopped = False
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
            transcription_enabled=settings.transcription_enabled,
            translation_enabled=True,
            translation_target_languages=[target],
            **options,
        )

    @property
    def task_id(self) -> str:
        return str(self._recognizer.get_last_request_id())

    async def start(self, turn: Callable[[], Awaitable[None]]) -> None:
        await turn()  # the SDK connects and submits in one go, on its own thread
        self.protocol.run_task()
        self._recognizer.start()  # spawns the SDK's worker; it does not wait for task-started
        # The SDK queues audio until its task has started: from here the task streams.
        self._emit(self.protocol.receive(json.dumps({"header": {"event": "task-started"}})))

    async def send(self, pcm: bytes) -> bool:
        if self.protocol.state is not State.STREAMING:
            return False
        try:
            self._recognizer.send_audio_frame(self.protocol.audio(pcm))
        except InvalidParameter:
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

    def on_event(self, request_id: Any, transcription: Any, translation: Any, usage: Any) -> None:
        output: dict[str, Any] = {}
        if transcription is not None:
            output["transcription"] = transcription._raw_data
        if translation is not None:
            output["translations"] = translation._raw_data
        self._loop.call_soon_threadsafe(self._deliver_output, output)

    def on_error(self, response: Any) -> None:
        status = getattr(response, "status_code", None)
        code = str(getattr(response, "code", "") or "")
        message = str(getattr(response, "message", "") or "").strip()
        self._loop.call_soon_threadsafe(self._deliver_error, status, code, message)

    def on_complete(self) -> None:
        self._loop.call_soon_threadsafe(self._deliver_complete)

    def on_close(self) -> None:
        pass

    # --- on the loop ---------------------------------------------------------------------------

    def _deliver_output(self, output: dict[str, Any]) -> None:
        if self.protocol.state in (State.STREAMING, State.FINISHING):
            text = json.dumps(
                {"header": {"event": "result-generated"}, "payload": {"output": output}}
            )
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

    def _deliver_complete(self) -> None:
        if self.protocol.state is State.FINISHING:
            events = self.protocol.receive(json.dumps({"header": {"event": "task-finished"}}))
            self._emit([e for e in events if not isinstance(e, TaskFinished)])
            self._emit([TaskFinished(self.task_id)])
