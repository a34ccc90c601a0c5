"""A text file an OBS "Text" source reads ("Read from file"): the latest caption, replaced
atomically at each caption (a reader never sees half of one) and emptied after a silence."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path

from subtitler.outputs.captions import CaptionChoice
from subtitler.outputs.delivery import LiveOutput
from subtitler.tracks.durable import Replace, replace_file


class TextFileCaptions(LiveOutput):
    name = "text file"

    def __init__(
        self,
        path: Path,
        choice: CaptionChoice,
        say: Callable[[str], None],
        clear_after_s: float = 5.0,
    ) -> None:
        super().__init__(choice, say)
        self.path = path
        self.clear_after_s = clear_after_s
        self.shown = ""

    async def start(self) -> None:
        await self._write("")  # a stale caption from an earlier run must not show
        await super().start()

    async def finish(self) -> None:
        with contextlib.suppress(OSError):
            await self._write("")

    async def _deliver_forever(self) -> None:
        while True:
            try:
                async with asyncio.timeout(self.clear_after_s if self.shown else None):
                    await self.next_caption()
            except TimeoutError:
                await self._write("")  # silence: the caption goes away
                continue
            latest = self.pending[-1]  # only the newest is worth showing
            try:
                await self._write("\n".join(latest.lines) + "\n")
            except OSError as error:
                self.failed("write", f"cannot write {self.path} ({error.strerror or error})")
                await asyncio.sleep(1.0)
                continue
            while self.pending:
                self.delivered_one()

    async def _write(self, text: str) -> None:
        # off the loop: a file replace can block on a slow or network disk
        await asyncio.to_thread(replace_file, Replace(self.path, text.encode("utf-8")))
        self.shown = text
