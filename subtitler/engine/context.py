"""What every input of a run shares, built once per `run`, `watch` or `serve`."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from subtitler.engine.control import RunControl
from subtitler.engine.pacing import StartPacer
from subtitler.events import Event
from subtitler.gummy.client import GummyTask, new_task
from subtitler.gummy.cost import Budget
from subtitler.options import RunOptions
from subtitler.sources.media import AsyncPcmDecoder
from subtitler.tracks.durable import DiskWriter


@dataclass(frozen=True)
class Transports:
    """Where an input's audio comes from and where it is sent: ffmpeg and the chosen Gummy
    client. The engine's one seam for a fake decoder and a fake service (in-process tests)."""

    decoder: Callable[..., AsyncPcmDecoder] = AsyncPcmDecoder
    new_client: Callable[..., GummyTask] = new_task


DEFAULT_TRANSPORTS = Transports()
"""What `RunContext.create` uses when given none."""


@dataclass(frozen=True)
class RunContext:
    options: RunOptions
    emit: Callable[[Event], None]
    """Events reach it on the loop's thread, in order."""
    control: RunControl
    pacer: StartPacer
    """One for the whole run: the service's start limit is per account."""
    slots: asyncio.Semaphore
    """At most `options.jobs` inputs at once."""
    disk: DiskWriter
    """The run's one writer thread: every track and journal write, in order."""
    budget: Budget | None = None
    """`--budget`: what the run may still spend."""
    transports: Transports = DEFAULT_TRANSPORTS

    @classmethod
    def create(
        cls,
        options: RunOptions,
        emit: Callable[[Event], None],
        control: RunControl | None = None,
        transports: Transports | None = None,
    ) -> RunContext:
        margin = options.client.traits.submit_margin_s
        return cls(
            options,
            emit,
            control or RunControl(),
            StartPacer(options.max_task_rate, margin),
            asyncio.Semaphore(options.jobs),
            DiskWriter(),
            Budget(options.budget) if options.budget is not None else None,
            transports or DEFAULT_TRANSPORTS,
        )

    def with_request(
        self, options: RunOptions, emit: Callable[[Event], None] | None = None
    ) -> RunContext:
        """The same pacer, slots, control and writer for one request's own options (serve)."""
        return dataclasses.replace(self, options=options, emit=emit or self.emit)

    def close(self) -> None:
        self.disk.close()
