"""The SDK client's adapter: how the dashscope SDK's own ways of failing become the protocol's
failures (the SDK itself is never faked in integration tests; here only its `start` is)."""

from __future__ import annotations

import asyncio

from dashscope.common.error import InvalidTask

from subtitler.gummy.protocol import DISCONNECTED, ClientEvent, GummySettings, TaskFailed
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
