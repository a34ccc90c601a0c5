"""Do receivers that never answer cost the tracks anything? `write_ms` (final result to cue on
disk) and the run's wall time for `fixtures/zh_news.mp4` at --speed 4, without live receivers and
with a YouTube and an OBS receiver that accept connections and never answer, twice each.

    python -m benchmarks.silent_receivers
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from subtitler.emulator.server import BackgroundEmulator

NEWS = Path(__file__).resolve().parents[1] / "fixtures" / "zh_news.mp4"


def silent_server() -> int:
    """A port that accepts connections and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(50)
    held: list[socket.socket] = []

    def accept_forever() -> None:
        while True:
            connection, _ = listener.accept()
            held.append(connection)

    threading.Thread(target=accept_forever, daemon=True).start()
    return int(listener.getsockname()[1])


def run(folder: Path, url: str, extra: list[str]) -> str:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "subtitler", "run", str(folder), "-s", "zh", "-t", "en",
         "--speed", "4", "--json", "--overwrite", "--endpoint", url, *extra],
        capture_output=True, text=True, env={**os.environ, "DASHSCOPE_API_KEY": "local"},
    )  # fmt: skip
    wall_s = time.monotonic() - started
    writes = sorted(
        json.loads(line)["write_ms"] for line in result.stdout.splitlines() if '"sentence"' in line
    )
    p99 = writes[min(len(writes) - 1, round(0.99 * (len(writes) - 1)))]
    said = [line for line in result.stderr.splitlines() if "not delivered" in line]
    return (
        f"exit {result.returncode}, sentences {len(writes)}, write_ms p50 "
        f"{statistics.median(writes):.2f} p99 {p99:.2f}, wall {wall_s:.1f} s, {said}"
    )


def main() -> None:
    with BackgroundEmulator() as emulator, tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "media"
        folder.mkdir()
        shutil.copy(NEWS, folder / "news.mp4")
        youtube, obs = silent_server(), silent_server()
        receivers = [
            "--youtube-captions", f"http://127.0.0.1:{youtube}/closedcaption?cid=key",
            "--obs-websocket", f"ws://127.0.0.1:{obs}",
        ]  # fmt: skip
        for label, extra in [("no receivers", []), ("silent receivers", receivers)] * 2:
            print(f"{label}: {run(folder, emulator.url, extra)}")


if __name__ == "__main__":
    main()
