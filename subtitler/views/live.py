"""The shared part of the terminal views: a rich Live that redraws from the view's state."""

from __future__ import annotations

from types import TracebackType
from typing import Any, TypeVar

from rich.console import Console, RenderableType
from rich.live import Live

View = TypeVar("View", bound="LiveView")


class LiveView:
    """A context manager around `rich.live.Live` calling `render()` on every refresh; events
    only change the state `render()` reads, so the redraw rate is bounded whatever comes in."""

    def __init__(self, console: Console, refresh_per_second: float, **live_options: Any) -> None:
        self.console = console
        self._live = Live(
            console=console,
            refresh_per_second=refresh_per_second,
            get_renderable=self.render,
            **live_options,
        )

    def render(self) -> RenderableType:
        raise NotImplementedError

    def __enter__(self: View) -> View:
        self._live.__enter__()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._live.__exit__(kind, value, traceback)
