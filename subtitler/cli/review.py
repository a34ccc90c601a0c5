"""`subtitler review PATH`: the review editor for one input or a folder's inputs, served locally."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
from pathlib import Path
from typing import Any

from subtitler.cli.arguments import add_argument, rules_from_arguments
from subtitler.cli.exits import EXIT_OK
from subtitler.declarations import declared_for
from subtitler.errors import UsageError

SERVICE_OPTIONS = ("region", "endpoint", "mt_model", "mt_domains", "mt_context", "mt_timeout_s",
                   "mt_rpm", "mt_tpm", "retries", "frame_rate", "timecode_start")  # fmt: skip
"""Run's options the review uses: where Qwen-MT is and how it is asked (retranslation), the
frame grid its times snap to, the timecode TTML and EBU-TT-D tracks are rendered on."""


def _review_command(arguments: argparse.Namespace) -> int:
    from aiohttp import web

    from subtitler.options import make_options
    from subtitler.review.routes import review_application
    from subtitler.views.access import HostNames, is_loopback

    path: Path = arguments.path
    if not path.exists():
        raise UsageError("PATH", f"{path}: no such file or folder")
    if not 0 <= arguments.port <= 65535:
        raise UsageError("--port", "must be 0..65535")
    token = arguments.api_token or None
    if token is None and not is_loopback(arguments.host):
        raise UsageError("--host", f"{arguments.host} is not loopback: give --api-token too")
    keywords: dict[str, Any] = {}
    for option in declared_for("run"):
        if option.keyword in SERVICE_OPTIONS:
            value = getattr(arguments, option.keyword)
            keywords[option.keyword] = option.parse(value) if option.parse and value else value
    keywords = {key: value for key, value in keywords.items() if value is not None}
    options = make_options(("en",), rules=rules_from_arguments(arguments), **keywords)
    glossary = None
    if arguments.glossary is not None:
        from subtitler.gummy.glossary import read_glossary

        glossary = read_glossary(arguments.glossary)
    out_dir: Path | None = arguments.out_dir
    if out_dir is not None and not out_dir.is_dir():
        raise UsageError("--out-dir", f"{out_dir}: no such folder")
    hosts = HostNames.of(arguments.host, arguments.allowed_host)
    app = review_application(roots=(path,), options=options, token=token, glossary=glossary,
                             relative=True, out_dir=out_dir, hosts=hosts)  # fmt: skip

    async def main() -> None:
        loop = asyncio.get_running_loop()
        served = asyncio.current_task()
        assert served is not None
        for signal_number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signal_number, served.cancel)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, arguments.host, arguments.port)
        try:
            await site.start()
            port = runner.addresses[0][1]  # the one chosen for --port 0
            host = f"[{arguments.host}]" if ":" in arguments.host else arguments.host
            url = f"http://{host}:{port}/"
            if arguments.json:
                print(json.dumps({"event": "review", "url": url}), flush=True)
            else:
                print(f"review: {url}", flush=True)
            if arguments.open:
                import webbrowser

                webbrowser.open(url)
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
    return EXIT_OK


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """review's arguments, and its handler."""
    review = commands.add_parser(
        "review",
        help="review and correct an input's subtitles in the browser; every track follows",
        description="Serve the review editor for PATH (a media file subtitler has run on, or a "
        "folder: a list of its inputs) and print its address. Edits are journaled beside the "
        "input (.<stem>.subtitler-review.jsonl; what the service heard is never changed) and "
        "every existing track of every format is rendered again after each save; a later "
        "`subtitler run` keeps them. Edited source lines are translated again by Qwen-MT (key "
        "from DASHSCOPE_API_KEY). Loopback only unless --host is given with --api-token.",
    )
    review.add_argument("path", type=Path, metavar="PATH", help="a media file or a folder")
    review.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    review.add_argument("--port", type=int, default=0, help="port (default 0: any free one)")
    review.add_argument(
        "--allowed-host", action="append", default=[], metavar="NAME",
        help="another name browsers reach it by (a DNS name; others get 421)",
    )  # fmt: skip
    review.add_argument("--open", action="store_true", help="open the page in a browser")
    review.add_argument(
        "--api-token",
        default=os.environ.get("SUBTITLER_API_TOKEN"),
        metavar="TOKEN",
        help="require this token (default: SUBTITLER_API_TOKEN, else none; needed off loopback)",
    )
    review.add_argument("--json", action="store_true", help="print the address as a JSON line")
    review.add_argument(
        "-o",
        "--out-dir",
        type=Path,
        metavar="DIR",
        help="the tracks and journals are under DIR, as `run -o DIR` wrote them (default: "
        "beside each input)",
    )
    review.add_argument(
        "--glossary",
        type=Path,
        metavar="CSV",
        help="the glossary whose terms retranslations keep (as run's --glossary)",
    )
    group = review.add_argument_group("service and timing (as run's)")
    rules = review.add_argument_group("subtitle rules shown per cue (as run's)")
    for option in declared_for("run"):
        if option.keyword in SERVICE_OPTIONS:
            add_argument(group, option, "run")
        elif option.group.startswith("subtitle rules"):
            add_argument(rules, option, "run")
    review.set_defaults(handler=_review_command)
