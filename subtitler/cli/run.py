"""`subtitler run`: media files, folders, URLs, stdin and devices subtitled, with live outputs."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from subtitler.errors import UsageError
from subtitler.options import RunOptions

if TYPE_CHECKING:
    from subtitler.outputs.delivery import Receiver
    from subtitler.sources.inputs import InputFile, InputProblem

    OutputFactory = Callable[[Callable[[str], None]], Receiver]
    """A live output, made once the run's view says where its messages go."""
from subtitler.cli.arguments import add_run_options
from subtitler.cli.estimate import estimate
from subtitler.cli.session import execute, run_and_watch_settings
from subtitler.cli.writable import check_file, check_folder


def note(text: str) -> None:
    """A line on stderr that changes nothing: an option given where it does nothing."""
    print(f"subtitler: note: {text}", file=sys.stderr)


RUN_EXAMPLES = """\
examples:
  subtitler run ~/Videos -t en
      every video under ~/Videos: its speech and English
  subtitler run talk.mp4 -s en -t zh,ja
      two targets (one task each, one decode)
  subtitler run talk.mp4 -s en -t zh,ja --format srt,vtt,ass
      add ASS tracks: rendered from the journal
  subtitler run rtmp://host/live/key -t en --serve 8080
      live: terminal preview and caption page
  subtitler run lib/ -t en --json | jq .
      one JSON event per line for a pipeline

exit status: 0 done (or skipped), 1 an input failed, 2 usage error or the
service cannot be used (key refused, endpoint not there), 130 interrupted
(run again to resume)
"""


class _ExamplesKeptFormatter(argparse.HelpFormatter):
    """Descriptions reflowed as usual; the examples epilog kept as written (aligned)."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith("examples:"):
            return text
        return super()._fill_text(text, width, indent)


def _live_outputs(arguments: argparse.Namespace, options: RunOptions) -> list[OutputFactory]:
    """The live outputs asked for, checked before any work (usage errors exit 2)."""
    from subtitler.outputs.captions import BOTH, SOURCE, CaptionChoice, cea608_problem

    wanted = arguments.youtube_captions or arguments.obs_websocket or arguments.text_file
    if not wanted:
        if arguments.caption_language is not None:
            note("--caption-language has no effect without a live output (--youtube-captions, "
                 "--obs-websocket or --text-file)")  # fmt: skip
        return []
    choice = CaptionChoice.of(arguments.caption_language, options.targets)
    source = options.gummy.source_language
    if choice.language == SOURCE:
        choice = replace(choice, language=source or SOURCE)
    known = {*options.targets, BOTH, SOURCE, *([source] if source else [])}
    if choice.language not in known:
        spoken = f"the source language ({source})" if source else "source (the spoken language)"
        raise UsageError(
            "--caption-language",
            f"{choice.language}: this run does not produce it: give a target "
            f"({', '.join(options.targets)}), {spoken} or both",
        )
    for name in ("delivery_timeout", "delivery_grace", "text_clear_after"):
        if not getattr(arguments, name) > 0:
            raise UsageError(f"--{name.replace('_', '-')}", "must be more than 0 seconds")
    timeout_s = arguments.delivery_timeout
    factories: list[OutputFactory] = []
    if arguments.youtube_captions:
        from subtitler.outputs.youtube import YouTubeCaptions

        url = arguments.youtube_captions
        if urlparse(url).scheme not in ("http", "https"):
            raise UsageError("--youtube-captions", "give the stream's http(s) ingestion URL")
        offset = arguments.caption_offset
        factories.append(lambda say: YouTubeCaptions(url, choice, say, offset, timeout_s))
    if arguments.obs_websocket:
        from subtitler.outputs.obs import DEFAULT_PORT, ObsCaptions

        problem = cea608_problem(choice.language, source, options.targets[0])
        if problem is not None:
            raise UsageError("--caption-language", problem)
        parsed = urlparse(arguments.obs_websocket)
        if parsed.scheme not in ("ws", "wss") or not parsed.hostname:
            raise UsageError("--obs-websocket", "give ws://HOST[:PORT] (obs-websocket's address)")
        obs_url = arguments.obs_websocket
        if parsed.port is None:
            obs_url = parsed._replace(netloc=f"{parsed.netloc}:{DEFAULT_PORT}").geturl()
        password = os.environ.get("OBS_WEBSOCKET_PASSWORD") or None
        factories.append(lambda say: ObsCaptions(obs_url, password, choice, say, timeout_s))
    if arguments.text_file:
        from subtitler.outputs.textfile import TextFileCaptions

        path, clear_s = arguments.text_file, arguments.text_clear_after
        check_file("--text-file", path)
        factories.append(lambda say: TextFileCaptions(path, choice, say, clear_s))
    return factories


def _hls_output(
    arguments: argparse.Namespace, options: RunOptions, items: list[InputFile | InputProblem]
) -> tuple[RunOptions, OutputFactory]:
    """`--hls DIR`: the decoder's second output and the subtitle renditions' writer."""
    from subtitler.outputs.hls import HlsSubtitles
    from subtitler.sources.inputs import InputFile
    from subtitler.sources.media import HlsMedia

    inputs = [item for item in items if isinstance(item, InputFile)]
    if len(items) != 1 or len(inputs) != 1:
        raise UsageError("--hls", "one HLS package is made of one input: give exactly one")
    if not arguments.hls_segment >= 1:
        raise UsageError("--hls-segment", "must be at least 1 second")
    if arguments.hls_window is not None and arguments.hls_window < 3:
        raise UsageError("--hls-window", "must be at least 3 segments (RFC 8216 6.2.2)")
    folder: Path = arguments.hls
    check_folder("--hls", folder)
    media = HlsMedia(folder / "media" / "index.m3u8", arguments.hls_segment, arguments.hls_window)
    options = replace(options, hls=media, overwrite=True)  # the package covers the whole input
    source, targets = options.gummy.source_language, options.targets
    segment_s, window, live = arguments.hls_segment, arguments.hls_window, inputs[0].live

    def make(_say: Callable[[str], None]) -> Receiver:
        return HlsSubtitles(folder, source, targets, segment_s, window, live)

    return options, make


def _run_command(arguments: argparse.Namespace) -> int:
    from subtitler.sources.inputs import InputFile, discover, parse_device
    from subtitler.sources.shard import in_shard

    if not arguments.paths and not arguments.device:
        raise UsageError("PATH", "give media files, folders, URLs, - (stdin) or --device")
    devices = []
    for spec in arguments.device:
        try:
            devices.append(parse_device(spec))
        except ValueError as error:
            raise UsageError("--device", str(error)) from error
    if arguments.paths.count("-") > 1:
        raise UsageError("-", "stdin can be read once")
    options, shard, serve = run_and_watch_settings(arguments)
    items = [*discover(arguments.paths), *devices]
    if shard is not None:
        items = [item for item in items if not isinstance(item, InputFile) or in_shard(item, shard)]
    if arguments.estimate:
        return estimate(items, options, arguments.json, arguments.scan)
    if options.budget is not None and any(isinstance(i, InputFile) and i.live for i in items):
        raise UsageError("--budget", "a live input has no duration to estimate against it")
    outputs = _live_outputs(arguments, options)
    if arguments.hls is not None:
        options, hls = _hls_output(arguments, options, items)
        outputs.append(hls)
    return execute(
        items,
        options,
        as_json=arguments.json,
        preview=arguments.preview,
        serve=serve,
        outputs=outputs,
        delivery_grace_s=arguments.delivery_grace,
    )


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """run's arguments, and its handler."""
    run = commands.add_parser(
        "run",
        usage="%(prog)s -t LANG[,LANG] [options] [PATH ...]",  # the options: below, in groups
        help="subtitle media files and folders (bilingual SRT + VTT beside each source)",
        description="Subtitle media files and folders: one bilingual SRT and VTT per input and "
        "target language, written while the audio streams. The key comes from "
        "DASHSCOPE_API_KEY. Tracks that exist are kept; a new target, format or layout adds "
        "only what is missing.",
        epilog=RUN_EXAMPLES,
        formatter_class=_ExamplesKeptFormatter,
    )
    add_run_options(run, "run")
    run.set_defaults(handler=_run_command)
