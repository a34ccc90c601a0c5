"""What every live output shares: captions queued by the observer (never blocking the run),
delivered in order by one task on the run's loop, and an account of what could not be."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable
from typing import Protocol

from subtitler.events import CueWritten, Event
from subtitler.outputs.captions import Caption, CaptionChoice

MAX_BACKOFF_S = 30.0


class Receiver(Protocol):
    """What the command line runs beside the tracks: started before the work, given every
    event, closed after it (a bounded wait; one line on what could not be done)."""

    async def start(self) -> None: ...

    def __call__(self, event: Event) -> None: ...

    async def close(self, grace_s: float) -> str | None: ...


class LiveOutput:
    """Subclasses deliver `self.pending[0]` and call `self.delivered_one()` (in order)."""

    name = "output"

    def __init__(self, choice: CaptionChoice, say: Callable[[str], None]) -> None:
        self.choice = choice
        self.say = say
        """One line for a person (stderr, or above a terminal view)."""
        self.pending: deque[Caption] = deque()
        self.queued = 0
        self.delivered = 0
        self.last_error = ""
        self.healthy = True
        """Its latest attempt worked (or none failed yet): worth waiting for at the end."""
        self._reported: set[str] = set()
        self._arrived = asyncio.Event()
        self._progress = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def __call__(self, event: Event) -> None:
        if isinstance(event, CueWritten):
            for caption in self.choice.captions(event):
                self.pending.append(self.placed(caption))
                self.queued += 1
            self._arrived.set()

    def placed(self, caption: Caption) -> Caption:
        """The caption as this output queues it (YouTube puts it on its stream's timeline)."""
        return caption

    async def start(self) -> None:
        self._task = asyncio.create_task(self._deliver_forever())

    async def close(self, grace_s: float) -> str | None:
        """Let what is queued go out for up to `grace_s` (not waited for: a receiver that has
        taken nothing all run and is failing); then one line on what was not delivered."""
        if self._task is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(grace_s):
                    while self.pending and not self._task.done() and not self._dead:
                        await self._wait_delivered()
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self.finish()
        missing = self.queued - self.delivered
        if missing <= 0:
            return None
        why = f" ({self.last_error})" if self.last_error else ""
        return f"{self.name}: {missing} of {self.queued} captions not delivered{why}"

    async def finish(self) -> None:
        """What the output does once the run is over (clear a text file)."""

    async def next_caption(self) -> Caption:
        """The oldest caption not delivered yet (it stays pending until `delivered_one`)."""
        while not self.pending:
            self._arrived.clear()
            await self._arrived.wait()
        return self.pending[0]

    @property
    def _dead(self) -> bool:
        return self.delivered == 0 and not self.healthy

    def delivered_one(self) -> None:
        self.pending.popleft()
        self.delivered += 1
        self.healthy = True
        self._progress.set()

    def failed(self, kind: str, message: str) -> None:
        """A failure, reported once per kind (then retried quietly)."""
        self.last_error = message
        self.healthy = False
        self._progress.set()  # a closing run stops waiting for it
        if kind not in self._reported:
            self._reported.add(kind)
            self.say(f"subtitler: {self.name}: {message}; retrying")

    async def _deliver_forever(self) -> None:
        raise NotImplementedError

    async def _wait_delivered(self) -> None:
        progress = self._progress
        progress.clear()
        task = self._task
        assert task is not None
        waiter = asyncio.ensure_future(progress.wait())
        await asyncio.wait([waiter, task], return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()


def backoff(attempt: int, first_s: float = 0.5) -> float:
    return float(min(MAX_BACKOFF_S, first_s * 2.0**attempt))
