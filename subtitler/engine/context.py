"""What every input of a run shares, built once per `run`, `watch` or `serve`."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from subtitler.engine.audio import Gating, speech_gating
from subtitler.engine.control import RunControl
from subtitler.engine.machine import Translates
from subtitler.engine.pacing import StartPacer
from subtitler.events import Event
from subtitler.gummy.client import GummyTask, new_task
from subtitler.gummy.cost import Budget
from subtitler.options import RunOptions, VadSettings
from subtitler.qwenmt.client import QwenMt
from subtitler.qwenmt.protocol import MtSettings
from subtitler.sources.media import AsyncPcmDecoder
from subtitler.tracks.durable import DiskWriter


@dataclass(frozen=True)
class Transports:
    """Where an input's audio comes from and where it is sent: ffmpeg, the chosen Gummy
    client, the Qwen-MT translator. The engine's one seam for a fake decoder and a fake service
    (in-process tests)."""

    decoder: Callable[..., AsyncPcmDecoder] = AsyncPcmDecoder
    new_client: Callable[..., GummyTask] = new_task
    new_translator: Callable[[MtSettings], Translates] = QwenMt
    gating: Callable[[VadSettings, int | None, str], Gating] = speech_gating
    """`--vad on`: the input's speech detector (`sources.speech`)."""


class Translators:
    """The run's translators, one per settings (model, key, endpoint), each made when a Qwen-MT
    target first needs it and shared by every input after: the service's rate limits are per
    account and model, so one pacer must see every request."""

    def __init__(self, make: Callable[[MtSettings], Translates]) -> None:
        self._make = make
        self._made: dict[MtSettings, Translates] = {}

    def get(self, settings: MtSettings) -> Translates:
        made = self._made.get(settings)
        if made is None:
            made = self._made[settings] = self._make(settings)
        return made

    async def aclose(self) -> None:
        made, self._made = list(self._made.values()), {}
        for translator in made:
            close = getattr(translator, "aclose", None)
            if close is not None:
                await close()


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
    translators: Translators = dataclasses.field(
        default_factory=lambda: Translators(DEFAULT_TRANSPORTS.new_translator)
    )

    @classmethod
    def create(
        cls,
        options: RunOptions,
        emit: Callable[[Event], None],
        control: RunControl | None = None,
        transports: Transports | None = None,
    ) -> RunContext:
        margin = options.client.traits.submit_margin_share
        return cls(
            options,
            emit,
            control or RunControl(),
            StartPacer(options.max_task_rate, margin),
            asyncio.Semaphore(options.jobs),
            DiskWriter(),
            Budget(options.budget) if options.budget is not None else None,
            transports or DEFAULT_TRANSPORTS,
            Translators((transports or DEFAULT_TRANSPORTS).new_translator),
        )

    def with_request(
        self, options: RunOptions, emit: Callable[[Event], None] | None = None
    ) -> RunContext:
        """The same pacer, slots, control and writer for one request's own options (serve)."""
        return dataclasses.replace(self, options=options, emit=emit or self.emit)

    def translator(self) -> Translates:
        """The run's translator for this context's Qwen-MT settings."""
        assert self.options.mt is not None, "a Qwen-MT target without Qwen-MT settings"
        return self.translators.get(self.options.mt)

    def close(self) -> None:
        self.disk.close()

    async def aclose(self) -> None:
        """The translators' connections, then the writer thread."""
        try:
            await self.translators.aclose()
        finally:
            self.disk.close()
