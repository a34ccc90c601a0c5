"""The dashboard and the preview under a burst of events from many fast inputs, rendered on the
run's own event loop (after every event, and by their refresh task), with real ffmpeg and the
local server: never a render from half-changed state, every input accounted for."""

from __future__ import annotations

import asyncio
import io
import json
import os
import shutil
import subprocess
from pathlib import Path

from rich.console import Console

from subtitler.emulator.server import BackgroundEmulator, EmulatorServer
from subtitler.engine.batch import run_batch
from subtitler.events import CueWritten, Event, InputEnded, Status
from subtitler.options import make_options
from subtitler.sources.inputs import discover
from subtitler.views.live import LiveView
from subtitler.views.preview import PreviewView
from subtitler.views.progress import ProgressView
from tests import harness
from tests.support import FIXTURES

INPUTS = 16
CLIP = FIXTURES / "Café 'déjà vu' 北京 #1.m4a"
"""9.5 s, two Chinese sentences: a burst of sixteen inputs without minutes of audio."""


def run_with_view(
    folder: Path, make_view: type[LiveView], *args: object
) -> tuple[str, list[Event]]:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=140, height=60)
    seen: list[Event] = []

    async def main() -> None:
        server = EmulatorServer()
        url = await server.start()
        options = make_options(["en"], endpoint=url, speed=None, jobs=INPUTS, overwrite=True)
        with make_view(console, *args) as view:  # type: ignore[call-arg]

            def observe(event: Event) -> None:
                view(event)  # type: ignore[operator]
                seen.append(event)
                view.refresh()  # a render after every event, on the loop that changes state

            await run_batch(discover([folder]), options, observe)
        await server.stop()

    asyncio.run(main())
    return screen.getvalue(), seen


def media(tmp_path: Path) -> Path:
    folder = tmp_path / "media"
    folder.mkdir()
    for index in range(INPUTS):
        shutil.copy(CLIP, folder / f"clip{index:02d}.m4a")
    return folder


def test_the_dashboard_keeps_up_with_sixteen_fast_inputs(tmp_path: Path) -> None:
    screen, seen = run_with_view(media(tmp_path), ProgressView, INPUTS)
    ended = [e for e in seen if isinstance(e, InputEnded)]
    assert len(ended) == INPUTS and all(e.result.status is Status.DONE for e in ended)
    assert sum(isinstance(e, CueWritten) for e in seen) == 2 * INPUTS
    assert "clip" in screen and " sentences" in screen and "eta " in screen


def test_the_preview_keeps_up_with_a_fast_input(tmp_path: Path) -> None:
    folder = tmp_path / "one"
    folder.mkdir()
    shutil.copy(FIXTURES / "zh_news.mp4", folder / "zh_news.mp4")
    screen, seen = run_with_view(folder, PreviewView, ("en",))
    assert sum(isinstance(e, CueWritten) for e in seen) == 5
    assert "Thank you for watching" in screen


def test_json_piped_to_head_1_says_one_line_on_stderr(
    tmp_path: Path, emulator: BackgroundEmulator
) -> None:
    """`subtitler run news.mp4 -t en --json | head -1`: the one line docs/reliability.md
    promises on stderr, not the summary table after it."""
    media = tmp_path / "news.mp4"
    shutil.copy(FIXTURES / "zh_news.mp4", media)
    read_end, write_end = os.pipe()
    environment = {**os.environ}
    environment.pop("DASHSCOPE_WEBSOCKET_BASE_URL", None)
    process = subprocess.Popen(
        harness.command("run", str(media), "-s", "zh", "-t", "en",
         "--speed", "1", "--json", "--endpoint", emulator.url),
        stdout=write_end, stderr=subprocess.PIPE, text=True, env=environment, cwd=tmp_path,
    )  # fmt: skip
    os.close(write_end)
    with os.fdopen(read_end, encoding="utf-8") as reader:  # `head -1`
        assert json.loads(reader.readline())["event"] == "started"
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert err.splitlines() == [
        "subtitler: standard output was closed: stopping (finishing the current sentences; "
        "run again to resume)"
    ]
