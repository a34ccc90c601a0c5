"""Choosing a client: the native one (default) or the dashscope SDK, behind one interface."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import Enum
from typing import Protocol

from subtitler.gummy.protocol import ClientEvent, GummySettings


class ClientKind(Enum):
    NATIVE = "native"
    SDK = "sdk"


class GummyTask(Protocol):
    """One task: `start()`, `send()` audio, `finish()`, `close()`; events go to the sink."""

    @property
    def task_id(self) -> str: ...

    async def start(self, turn: Callable[[], Awaitable[None]]) -> None:
        """Connect and submit the task once `turn()` returns (the run's start pacing)."""

    async def send(self, pcm: bytes) -> bool: ...

    async def finish(self) -> None: ...

    async def close(self) -> None: ...


def new_task(
    kind: ClientKind,
    settings: GummySettings,
    target: str,
    sink: Callable[[ClientEvent], None],
) -> GummyTask:
    if kind is ClientKind.SDK:
        from subtitler.gummy.sdk import SdkTask  # the SDK is imported only when chosen

        return SdkTask(settings, target, sink)
    from subtitler.gummy.connection import NativeTask

    return NativeTask(settings, target, sink)
