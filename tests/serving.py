"""`subtitler serve` as a child process, as users run it: its URL from its first stderr line,
stopped with SIGTERM (a clean stop exits 0)."""

from __future__ import annotations

import asyncio
import re
import subprocess
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path

from subtitler.emulator.server import BackgroundEmulator
from tests import harness

ROOT = Path(__file__).resolve().parents[1]
SECRET = "sk-serve-secret-0123456789"


class Server:
    def __init__(
        self, emulator: BackgroundEmulator, *extra: str, environment: dict[str, str] | None = None
    ) -> None:
        env = harness.environment(SUBTITLER_API_TOKEN=None)  # unless `environment` sets one
        env.update({"DASHSCOPE_API_KEY": SECRET, **(environment or {})})
        self.process = subprocess.Popen(
            harness.command("serve", "--port", "0", "--endpoint",
             emulator.url, "--speed", "max", *extra),
            stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
        )  # fmt: skip
        assert self.process.stderr is not None
        line = self.process.stderr.readline()
        found = re.search(r"serving on (http://\S+/)", line)
        assert found, line + self.process.stderr.read()
        self.url = found.group(1).rstrip("/")

    def stop(self) -> str:
        """SIGTERM; the rest of its log."""
        self.process.terminate()
        _, rest = self.process.communicate(timeout=60)
        assert self.process.returncode == 0, rest
        return rest


class Background:
    """An asyncio server on a thread of its own (the CLI under test is a child process)."""

    def __init__(self, start: Callable[[], Awaitable[Callable[[], Awaitable[None]]]]) -> None:
        self._start = start
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: Callable[[], Awaitable[None]] | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Background:
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def __exit__(self, *_: object) -> None:
        async def stop() -> None:
            if self._stop is not None:
                await self._stop()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def begin() -> None:
            self._stop = await self._start()
            self._ready.set()

        self.loop.run_until_complete(begin())
        self.loop.run_forever()
