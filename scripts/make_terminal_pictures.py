"""The documentation's terminal pictures, made by the code: the dashboard, the preview and the
summary, recorded by rich (`Console(record=True)`) during a real run against the local emulator
(real ffmpeg, the bundled samples), saved as SVG.

    python scripts/make_terminal_pictures.py            # into docs/images/
    python scripts/make_terminal_pictures.py --out DIR
"""

from __future__ import annotations

import argparse
import asyncio
import io
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from rich.console import Console, RenderableType

from subtitler.emulator.server import EmulatorServer
from subtitler.engine.batch import run_batch
from subtitler.events import CueWritten, Event, InputResult, PartialText
from subtitler.gummy.environment import LOCAL_KEY
from subtitler.options import make_options
from subtitler.sources.inputs import discover
from subtitler.views.live import LiveView
from subtitler.views.preview import PreviewView
from subtitler.views.progress import ProgressView
from subtitler.views.summary import summary_table

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
WIDTH = 100
SPEED = 8.0
"""Fast enough to take seconds, slow enough that partial results are seen."""


def svg(renderable: RenderableType, title: str, width: int = WIDTH) -> str:
    console = Console(
        record=True, width=width, file=io.StringIO(), force_terminal=True, color_system="truecolor"
    )
    console.print(renderable)
    return console.export_svg(title=title)


async def record(
    folder: Path,
    view: LiveView,
    snapshot_when: Callable[[list[Event]], bool],
    source: str,
    jobs: int,
) -> tuple[str, list[InputResult]]:
    """Run the folder with `view` showing it; the view's rendering once `snapshot_when`."""
    server = EmulatorServer()
    url = await server.start()
    options = make_options(
        ["en"], source_language=source, api_key=LOCAL_KEY, endpoint=url, speed=SPEED, jobs=jobs
    )
    seen: list[Event] = []
    picture: list[str] = []
    try:
        with view:

            def observe(event: Event) -> None:
                view(event)  # type: ignore[operator]
                seen.append(event)
                if not picture and snapshot_when(seen):
                    picture.append(svg(view.render(), "subtitler"))

            results = await run_batch(discover([folder]), options, observe)
    finally:
        await server.stop()
    return (picture[0] if picture else svg(view.render(), "subtitler")), results


def cues(events: list[Event]) -> int:
    return sum(isinstance(event, CueWritten) for event in events)


def make(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as scratch:
        library = Path(scratch) / "library"
        library.mkdir()
        for name in ("zh_news.mp4", "zh_podcast.mp3", "Café 'déjà vu' 北京 #1.m4a"):
            shutil.copy(FIXTURES / name, library / name)
        screen = Console(file=io.StringIO(), force_terminal=True, width=WIDTH, height=30)
        dashboard, results = asyncio.run(
            record(library, ProgressView(screen, 3), lambda seen: cues(seen) >= 6, "zh", 3)
        )
        (out / "dashboard.svg").write_text(dashboard, encoding="utf-8")
        (out / "summary.svg").write_text(
            svg(summary_table(results, WIDTH), "subtitler: the summary"), encoding="utf-8"
        )
        one = Path(scratch) / "one"
        one.mkdir()
        shutil.copy(FIXTURES / "zh_news.mp4", one / "zh_news.mp4")
        screen = Console(file=io.StringIO(), force_terminal=True, width=WIDTH, height=24)

        def speaking(seen: list[Event]) -> bool:
            return cues(seen) >= 3 and isinstance(seen[-1], PartialText)

        preview, _ = asyncio.run(record(one, PreviewView(screen, ("en",)), speaking, "zh", 1))
        (out / "preview.svg").write_text(preview, encoding="utf-8")
        written += [out / "dashboard.svg", out / "summary.svg", out / "preview.svg"]
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    for path in make(parser.parse_args().out):
        print(path)


if __name__ == "__main__":
    main()
