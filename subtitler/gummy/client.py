"""Choosing a client: the native one (default) or the dashscope SDK, behind one interface."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from subtitler.gummy.protocol import ClientEvent, GummySettings


@dataclass(frozen=True, kw_only=True)
class ClientTraits:
    """What the engine must know of a client, so that it never asks which client it has: a new
    transport states its own traits and slots in without a branch above it."""

    submit_margin_share: float
    """How far apart the run's task starts are spaced beyond the service's rate, as a share of
    its interval: room for the jitter between our clock and the service's count of a second
    (a loaded machine's loop, the network; 0.1 left one refusal in a CI run of 40 starts). A
    client that connects and submits on its own thread after its turn jitters by its connect
    time as well."""
    reports_own_start: bool
    """Its `TaskStarted` comes from the client itself, before it connected, so it is no sign
    that the service was reached."""
    reads_results_idle: bool
    """It reads results while no audio is sent, so decoding may wait for them (flow control);
    a client that reads only while sending would stall if audio were held back."""


NATIVE_TRAITS = ClientTraits(
    submit_margin_share=0.25, reports_own_start=False, reads_results_idle=True
)
SDK_TRAITS = ClientTraits(submit_margin_share=0.5, reports_own_start=True, reads_results_idle=False)


class ClientKind(Enum):
    NATIVE = "native"
    SDK = "sdk"

    @property
    def traits(self) -> ClientTraits:
        return SDK_TRAITS if self is ClientKind.SDK else NATIVE_TRAITS


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
    """One task of the kind the settings say (`GummySettings.kind`: Gummy translating, Gummy
    recognising only, Fun-ASR), on the chosen client."""
    if kind is ClientKind.SDK:
        from subtitler.gummy.sdk import new_sdk_task  # the SDK is imported only when chosen

        return new_sdk_task(settings, target, sink)
    from subtitler.gummy.connection import NativeTask

    return NativeTask(settings, target, sink)
