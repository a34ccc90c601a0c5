"""The SDK client's adapter: how the dashscope SDK's own ways of failing become the protocol's
failures (the SDK itself is never faked in integration tests; here only its `start` is)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from dashscope.common.error import InvalidTask

from subtitler.gummy.protocol import (
    DISCONNECTED,
    UNFINISHED,
    ClientEvent,
    GummySettings,
    TaskFailed,
    TaskFinished,
)
from subtitler.gummy.sdk import SdkTask


def test_a_task_whose_connection_ends_as_it_starts_fails_as_a_dropped_connection() -> None:
    """The SDK raises InvalidTask from `start()` when its worker has already ended (seen under
    load with connections dropped at random): a disconnection the engine retries, not an
    internal error that failed the input."""

    async def scenario() -> list[ClientEvent]:
        events: list[ClientEvent] = []
        task = SdkTask(GummySettings(api_key="sk-test", source_language="en"), "zh", events.append)

        def start() -> None:
            raise InvalidTask("Invalid task, task create failed.")

        task._recognizer.start = start

        async def turn() -> None:
            return None

        await task.start(turn)
        return events

    events = asyncio.run(scenario())
    assert [type(event) for event in events] == [TaskFailed]
    failed = events[0]
    assert isinstance(failed, TaskFailed)
    assert failed.code == DISCONNECTED


def _with_stand_in_recognizer(task: SdkTask, on_stop: Callable[[], None]) -> None:
    """The SDK's network side replaced (this is a unit test of the adapter): start and frames
    do nothing, stop runs `on_stop` on the thread that calls it, as the SDK's callbacks do."""
    task._recognizer.start = lambda: None
    task._recognizer.send_audio_frame = lambda pcm: None
    task._recognizer.stop = on_stop


async def _turn() -> None:
    return None


def test_an_end_the_sdk_made_by_itself_is_a_failure_even_once_we_finish() -> None:
    """The SDK's `start()` marks itself running only after its worker thread runs: under load
    the worker reached the audio first, found none, and completed the task with nothing heard.
    Its `on_complete` reached the loop after our `finish()`: it was taken as task-finished and
    the input ended done with no cue (CI, `test_the_sdk_client_never_reports_done...`)."""

    async def scenario() -> list[ClientEvent]:
        events: list[ClientEvent] = []
        task = SdkTask(GummySettings(api_key="sk-test", source_language="zh"), "en", events.append)
        _with_stand_in_recognizer(task, lambda: None)
        await task.start(_turn)
        worker = threading.Thread(target=task.on_complete)  # the SDK's thread, before any audio
        worker.start()
        worker.join()
        await task.send(b"\0" * 3200)
        await task.finish()
        await task.close()
        return events

    events = asyncio.run(scenario())
    assert not any(isinstance(event, TaskFinished) for event in events), events
    failures = [event for event in events if isinstance(event, TaskFailed)]
    assert failures and failures[0].code == UNFINISHED


def _events_of_an_asked_end(audio_reaches_the_sdk_worker: bool) -> list[ClientEvent]:
    """One frame sent, then `finish()`, whose end the stand-in SDK reports at once; without
    `audio_reaches_the_sdk_worker`, the frame stays in the SDK's queue (its start race)."""

    async def scenario() -> list[ClientEvent]:
        events: list[ClientEvent] = []
        task = SdkTask(GummySettings(api_key="sk-test", source_language="zh"), "en", events.append)
        _with_stand_in_recognizer(task, lambda: task.on_complete())
        if not audio_reaches_the_sdk_worker:
            task._recognizer.send_audio_frame = task._recognizer._stream_data.put  # never sent
        await task.start(_turn)
        await task.send(b"\0" * 3200)
        await task.finish()
        await task.close()
        return events

    return asyncio.run(scenario())


def test_an_end_we_asked_for_is_task_finished() -> None:
    events = _events_of_an_asked_end(audio_reaches_the_sdk_worker=True)
    assert any(isinstance(event, TaskFinished) for event in events), events
    assert not any(isinstance(event, TaskFailed) for event in events), events


def test_an_end_with_our_audio_still_unsent_is_a_failure_even_when_asked_for() -> None:
    """The same start race, its end heard only after our `finish()`: the SDK's worker had sent
    the end with none of our audio (still in its queue when it completed). CI: the input ended
    done with no cue (`test_the_sdk_client_never_reports_done...[partial-without-words]`)."""
    events = _events_of_an_asked_end(audio_reaches_the_sdk_worker=False)
    assert not any(isinstance(event, TaskFinished) for event in events), events
    failures = [event for event in events if isinstance(event, TaskFailed)]
    assert failures and failures[0].code == UNFINISHED
