"""What every input of a run shares besides task pacing: the stop (Ctrl-C) and a fatal error."""

from __future__ import annotations

import asyncio
import contextlib

from subtitler.errors import ServiceError


class RunControl:
    """Lives on the run's event loop; `request_stop` may be called from a signal handler
    installed with `loop.add_signal_handler` (it runs on the loop)."""

    def __init__(self) -> None:
        self.stop_requested = False
        self.fatal_error: ServiceError | None = None
        """What stopped the whole run (a refused key, an endpoint that is not there); its
        `code` is the policy's."""
        self.service_reached = False
        """A task of this run has started: a connection failure after that is the network's."""
        self._stopping = asyncio.Event()

    @property
    def stopping(self) -> bool:
        """Stop sending audio: by request, or because the key was refused."""
        return self._stopping.is_set()

    def request_stop(self) -> None:
        self.stop_requested = True
        self._stopping.set()

    def fail_all(self, error: ServiceError) -> None:
        if self.fatal_error is None:
            self.fatal_error = error
        self._stopping.set()

    async def wait_stopping(self, timeout_s: float | None = None) -> None:
        """Sleep `timeout_s`, or less if the run starts stopping."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                await self._stopping.wait()
