"""`subtitler demo`: the bundled samples through the local emulator, no key needed."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from subtitler.gummy.environment import parse_speed
from subtitler.options import make_options

if TYPE_CHECKING:
    from subtitler.outputs.delivery import Receiver

    OutputFactory = Callable[[Callable[[str], None]], Receiver]
    """A live output, made once the run's view says where its messages go."""
from subtitler.cli.session import execute


def _demo_command(arguments: argparse.Namespace) -> int:
    from importlib import resources

    from rich.console import Console

    from subtitler.emulator.server import BackgroundEmulator
    from subtitler.gummy.environment import LOCAL_KEY
    from subtitler.languages import Recognizer, choose_translators, parse_targets
    from subtitler.sources.inputs import discover

    targets = parse_targets(arguments.target)
    choose_translators(  # a language neither Gummy nor Qwen-MT knows is refused now
        source_language=None, targets=targets, recognizer=Recognizer.GUMMY, forced=None
    )
    if arguments.folder is not None:
        items = discover([arguments.folder])
    else:
        samples = Path(str(resources.files("subtitler") / "samples"))
        items = discover([samples / name for name in DEMO_SAMPLES])
    speed = parse_speed(arguments.speed)
    with BackgroundEmulator() as emulator:  # the native client keeps loopback off proxies
        banner = (
            f"subtitler demo: the results below come from the LOCAL GUMMY EMULATOR at "
            f"{emulator.url} (no key, no network), not from DashScope. It times speech from the "
            "audio and knows the bundled samples' sentences; other audio gets placeholder text."
        )
        Console(stderr=True).print(banner, style="bold yellow", highlight=False)
        options = make_options(
            targets,
            api_key=LOCAL_KEY,
            endpoint=emulator.url,
            speed=speed,
            out_dir=arguments.out_dir,
            overwrite=True,
            jobs=max(1, arguments.jobs),
        )
        status = execute(items, options)
    Console(stderr=True).print(f"Tracks written under {arguments.out_dir}/", highlight=False)
    return status


DEMO_SAMPLES = ("zh_news.mp4", "zh_podcast.mp3", "Café 'déjà vu' 北京 #1.m4a")


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """demo's arguments, and its handler."""
    demo = commands.add_parser(
        "demo",
        help="see it work with no key: the bundled samples through the local emulator",
        description="Start the local Gummy emulator in-process and subtitle the bundled "
        "Mandarin samples (or FOLDER) at 1x speed into ./subtitler-demo/.",
    )
    demo.add_argument("folder", nargs="?", type=Path, help="media to use instead of the samples")
    demo.add_argument("-t", "--target", default="en", help="target language(s) (default: en)")
    demo.add_argument("--speed", default="1", help="multiple of real time, or max (default: 1)")
    demo.add_argument(
        "--out-dir",
        type=Path,
        default=Path("subtitler-demo"),
        help="where the tracks go (default: ./subtitler-demo)",
    )
    demo.add_argument("--jobs", type=int, default=4, help="inputs at once (default: 4)")
    demo.set_defaults(handler=_demo_command)
