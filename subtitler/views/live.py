"""The shared part of the terminal views: a rich Live redrawn by a task on the run's event loop.

Events change the view's state on the loop, and the redraw runs on the same loop (rich's own
refresh thread is off), so a render never sees state another thread is changing, and the
redraw rate is bounded whatever comes in.
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType
from typing import Any, TypeVar

from rich.console import Console, RenderableType
from rich.live import Live

View = TypeVar("View", bound="LiveView")


class LiveView:
    def __init__(self, console: Console, refresh_per_second: float, **live_options: Any) -> None:
        self.console = console
        self._interval_s = 1 / refresh_per_second
        self._refresher: asyncio.Task[None] | None = None
        self._live = Live(
            console=console,
            auto_refresh=False,
            get_renderable=self.render,
            **live_options,
        )

    def render(self) -> RenderableType:
        raise NotImplementedError

    def refresh(self) -> None:
        self._live.refresh()

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)  # the redraw rate, not a synchronisation
            self._live.refresh()

    def __enter__(self: View) -> View:
        self._live.__enter__()
        with contextlib.suppress(RuntimeError):  # no running loop: refreshed by the caller
            self._refresher = asyncio.get_running_loop().create_task(self._refresh_forever())
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
        self._live.__exit__(kind, value, traceback)
