"""`subtitler serve` as a child process, as users run it: its URL from its first stderr line,
stopped with SIGTERM (a clean stop exits 0)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from subtitler.emulator.server import BackgroundEmulator

ROOT = Path(__file__).resolve().parents[1]
SECRET = "sk-serve-secret-0123456789"


class Server:
    def __init__(
        self, emulator: BackgroundEmulator, *extra: str, environment: dict[str, str] | None = None
    ) -> None:
        env = {k: v for k, v in os.environ.items() if k != "SUBTITLER_API_TOKEN"}
        env["DASHSCOPE_API_KEY"] = SECRET
        env.update(environment or {})
        self.process = subprocess.Popen(
            [sys.executable, "-m", "subtitler", "serve", "--port", "0", "--endpoint",
             emulator.url, "--speed", "max", *extra],
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
