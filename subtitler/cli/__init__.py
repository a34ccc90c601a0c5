"""The command line: parse options, hand them to the library, turn errors into exit codes.

The only module that prints usage or exits. Exit status: 0 all good, 1 some input failed,
2 usage error (bad options or environment, reported before any work starts).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import logging
import os
import resource
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from subtitler import __version__
from subtitler.errors import SubtitlerError, UsageError
from subtitler.gummy.client import ClientKind
from subtitler.gummy.environment import LOCAL_HOSTS, parse_speed
from subtitler.layout.rules import CueRules, TimingRules, parse_language_limits
from subtitler.options import DEFAULT_SPEED, DEFAULTS, Layout, RunOptions, make_options

if TYPE_CHECKING:
    from rich.console import Console

    from subtitler.engine.control import RunControl
    from subtitler.events import Event, InputResult
    from subtitler.outputs.delivery import Receiver
    from subtitler.sources.inputs import InputFile, InputProblem
    from subtitler.sources.shard import Shard

    OutputFactory = Callable[[Callable[[str], None]], Receiver]
    """A live output, made once the run's view says where its messages go."""

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


RUN_EXAMPLES = """\
examples:
  subtitler run ~/Videos -t en                  every video under ~/Videos: its speech + English
  subtitler run talk.mp4 -s en -t zh,ja         two targets (one task each, one decode)
  subtitler run talk.mp4 -s en -t zh,ja --format srt,vtt,ass
                                                add ASS tracks: rendered from the journal
  subtitler run rtmp://host/live/key -t en --serve 8080
                                                live: terminal preview + caption page
  subtitler run lib/ -t en --json | jq .        one JSON event per line for a pipeline

exit status: 0 done (or skipped), 1 an input failed, 2 usage error or the service cannot
be used (key refused, endpoint not there), 130 interrupted (run again to resume)
"""


class _ExamplesKeptFormatter(argparse.HelpFormatter):
    """Descriptions reflowed as usual; the examples epilog kept as written (aligned)."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith("examples:"):
            return text
        return super()._fill_text(text, width, indent)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="subtitler",
        description="Live bilingual subtitles (SRT + VTT) through DashScope Gummy.",
    )
    parser.add_argument("--version", action="version", version=f"subtitler {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    from subtitler.emulator import command as emulator_command  # argparse only: light

    emulator = commands.add_parser(
        "emulator",
        help="run the Gummy-compatible local server (no key, no network)",
        description="Run the Gummy-compatible local server. Prints its WebSocket URL on one "
        "line when ready; point clients at it with DASHSCOPE_WEBSOCKET_BASE_URL=URL.",
    )
    emulator_command.add_arguments(emulator)
    emulator.set_defaults(handler=emulator_command.run)

    run = commands.add_parser(
        "run",
        help="subtitle media files and folders (bilingual SRT + VTT beside each source)",
        description="Subtitle media files and folders: one bilingual SRT and VTT per input and "
        "target language, written while the audio streams. The key comes from "
        "DASHSCOPE_API_KEY. Tracks that exist are kept; a new target, format or layout adds "
        "only what is missing.",
        epilog=RUN_EXAMPLES,
        formatter_class=_ExamplesKeptFormatter,
    )
    _add_run_options(run, "run")
    _add_rule_options(run)
    run.set_defaults(handler=_run_command)

    watch = commands.add_parser(
        "watch",
        help="keep folders subtitled: what is there, then each new or replaced media file",
        description="Subtitle the folders as run would (same skip and resume rules), then "
        "each new or replaced media file once it has stopped changing for --settle seconds, "
        "until SIGINT or SIGTERM (cues in progress finish; exit 0). Hidden files, tracks and "
        "partial downloads (.part, .!qB, .crdownload, .tmp, .partial) are left alone.",
    )
    watch.add_argument("folders", nargs="+", type=Path, metavar="DIR", help="folders to watch")
    watching = watch.add_argument_group("watching")
    watching.add_argument(
        "--settle",
        type=float,
        default=10.0,
        metavar="S",
        help="a file is taken once it has not changed for S seconds (default 10)",
    )
    watching.add_argument(
        "--poll",
        type=float,
        metavar="S",
        help="look for changes every S seconds instead of waiting for the system's "
        "notifications (network shares: NFS, SMB, FUSE)",
    )
    watching.add_argument(
        "--ignore",
        action="append",
        default=[],
        metavar="GLOB",
        help="leave files whose name matches GLOB alone (repeatable)",
    )
    _add_run_options(watch, "watch")
    _add_rule_options(watch)
    watch.set_defaults(handler=_watch_command, device=[], paths=[])

    serve = commands.add_parser(
        "serve",
        help="an HTTP service compatible with whisper-asr-webservice (Bazarr's Whisper "
        "provider) and subgen's media-server webhooks, with a job queue for library folders",
        description="Serve POST /asr and POST /detect-language as whisper-asr-webservice does "
        "(Bazarr's Whisper provider works unchanged), POST /subtitles for bilingual tracks, "
        "and with --library a job queue (POST /jobs, GET /jobs/ID, DELETE /jobs/ID) and "
        "subgen's webhooks (POST /jellyfin, /emby, /plex, /tautulli). The run options below "
        "are the defaults of jobs and webhooks. Loopback only unless --host is given; "
        "--api-token (or SUBTITLER_API_TOKEN) makes clients send Authorization: Bearer TOKEN "
        "(webhooks may send ?token=TOKEN instead: media servers cannot set headers).",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=int, default=9000, help="port (9000; 0: any free one)")
    serve.add_argument(
        "--api-token",
        default=os.environ.get("SUBTITLER_API_TOKEN"),
        metavar="TOKEN",
        help="require this bearer token (default: SUBTITLER_API_TOKEN, else none)",
    )
    serve.add_argument(
        "--max-upload-mb",
        type=float,
        default=8192,
        metavar="MB",
        help="largest upload accepted (default 8192: 70 h of raw 16 kHz PCM)",
    )
    _add_library_options(serve.add_argument_group("library: jobs and webhooks"))
    _add_run_options(serve, "serve")
    _add_rule_options(serve)
    serve.set_defaults(handler=_serve_command)

    check = commands.add_parser(
        "check",
        help="lint SRT, VTT, ASS, TTML and SCC files against the subtitle rules",
        description="Check SRT, VTT, ASS/SSA, TTML and SCC files (subtitler's or anyone's) against "
        "the cue rules (and TTML against IMSC 1.1 Text Profile): one line per violation "
        "(FILE:LINE: time: cue N: rule, measured value, limit), one line per file that cannot "
        "be read, and a count. Exit 1 when any rule is broken or any file unreadable.",
    )
    check.add_argument(
        "files", nargs="+", type=Path, metavar="FILE", help="subtitle files (by extension)"
    )
    check.add_argument("--json", action="store_true", help="one JSON document on stdout")
    check.add_argument(
        "--frame-rate",
        metavar="RATE",
        help="judge frames too: every time on a frame boundary at RATE (25, 23.976, 29.97), "
        "cues at least two frames apart (instead of --min-gap)",
    )
    check.add_argument(
        "--shot-changes",
        type=Path,
        metavar="FILE",
        help="judge cues against these shot changes (one time per line; needs --frame-rate): "
        "shot-in, shot-out",
    )
    _add_rule_options(check, merging=False)
    check.set_defaults(handler=_check_command, merge_gap=TimingRules().merge_gap_ms)

    from subtitler.cli import vocabulary as vocabulary_command  # argparse only: light

    vocabulary = commands.add_parser(
        "vocabulary",
        help="the account's hot-word vocabularies: list, show, create from a glossary, delete",
        description="Manage DashScope hot-word vocabularies (the customization API) with run's "
        "service options; the key comes from DASHSCOPE_API_KEY. `create` takes a glossary CSV "
        "(text,weight,lang,target_lang,translation) and reuses a vocabulary with the same "
        "content; `show` prints one as such a CSV.",
    )
    vocabulary_command.add_arguments(vocabulary)
    vocabulary.set_defaults(handler=vocabulary_command.run)

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
    return parser


def _add_rule_options(parser: argparse.ArgumentParser, merging: bool = True) -> None:
    """The cue rules; `merging` (how cues are made, not checked) for the commands that make."""
    timing = TimingRules()
    rules = parser.add_argument_group(
        "subtitle rules (defaults: Netflix Timed Text Style Guide, see the README)"
    )
    rules.add_argument("--max-lines", type=int, metavar="N", help="lines per language (2)")
    rules.add_argument(
        "--max-chars", metavar="N|LANG=N,...", help="characters per line: 42 Latin, 16 zh/ko, 13 ja"
    )
    rules.add_argument(
        "--max-cps",
        metavar="N|LANG=N,...",
        help="reading speed: en 20, other Latin 17, zh 9, ko 12, ja 4",
    )
    rules.add_argument(
        "--min-duration",
        type=int,
        default=timing.min_duration_ms,
        metavar="MS",
        help=f"shortest cue (default {timing.min_duration_ms}: 5/6 s)",
    )
    rules.add_argument(
        "--max-duration",
        type=int,
        default=timing.max_duration_ms,
        metavar="MS",
        help=f"longest cue (default {timing.max_duration_ms})",
    )
    rules.add_argument(
        "--min-gap",
        type=int,
        default=timing.min_gap_ms,
        metavar="MS",
        help=f"gap between cues (default {timing.min_gap_ms}: 2 frames at 24 fps)",
    )
    if merging:
        rules.add_argument(
            "--merge-gap",
            type=int,
            default=timing.merge_gap_ms,
            metavar="MS",
            help="merge short sentences this close into one cue (default "
            f"{timing.merge_gap_ms}; 0: never)",
        )


def rules_from_arguments(arguments: argparse.Namespace) -> CueRules:
    for name in ("min_duration", "max_duration", "min_gap", "merge_gap"):
        if getattr(arguments, name) < 0:
            raise UsageError(f"--{name.replace('_', '-')}", "must be 0 or more")
    if arguments.max_duration <= arguments.min_duration:
        raise UsageError("--max-duration", "must be longer than --min-duration")
    rules = CueRules(
        timing=TimingRules(
            min_duration_ms=arguments.min_duration,
            max_duration_ms=arguments.max_duration,
            min_gap_ms=arguments.min_gap,
            merge_gap_ms=arguments.merge_gap,
        )
    )
    if arguments.max_chars:
        rules = parse_language_limits(arguments.max_chars, rules, "max_line_chars")
    if arguments.max_cps:
        rules = parse_language_limits(arguments.max_cps, rules, "max_cps")
    if arguments.max_lines is not None:
        if arguments.max_lines < 1:
            raise UsageError("--max-lines", "must be at least 1")
        rules = replace(
            rules,
            languages={
                key: replace(value, max_lines=arguments.max_lines)
                for key, value in rules.languages.items()
            },
        )
    return rules


def _check_command(arguments: argparse.Namespace) -> int:
    import json

    from subtitler.check.lint import check_file

    rules = rules_from_arguments(arguments)
    if arguments.frame_rate:
        from subtitler.layout.frames import parse_frame_rate

        frames = parse_frame_rate(arguments.frame_rate)
        shots = None
        if arguments.shot_changes is not None:
            from subtitler.layout.shots import ShotRules, read_list

            try:
                shots = ShotRules(frames, read_list(arguments.shot_changes, frames))
            except (OSError, ValueError) as error:
                raise UsageError("--shot-changes", str(error)) from error
        timing = dataclasses.replace(rules.timing, frames=frames, shots=shots)
        rules = dataclasses.replace(rules, timing=timing)
    elif arguments.shot_changes is not None:
        raise UsageError("--shot-changes", "give --frame-rate too: shot changes are frames")
    reports = [check_file(path, rules) for path in arguments.files]
    violations = [v for report in reports for v in report.violations]
    errors = [report for report in reports if report.error]
    if arguments.json:
        document = {
            "files": [
                {"file": r.file, "cues": r.cues, "violations": len(r.violations), "error": r.error}
                for r in reports
            ],
            "violations": [v.as_dict() for v in violations],
            "total": len(violations),
        }
        print(json.dumps(document, ensure_ascii=False, indent=1))
    else:
        for report in reports:
            if report.error:
                print(f"{report.file}: {report.error}", file=sys.stderr)
            for violation in report.violations:
                print(violation.line())
        cues = sum(r.cues for r in reports)
        unreadable = f"; {len(errors)} not readable" if errors else ""
        print(
            f"{len(violations)} violations in {len(reports)} files ({cues} cues checked)"
            f"{unreadable}"
        )
    return EXIT_FAILED if violations or errors else EXIT_OK


def _add_library_options(library: argparse._ActionsContainer) -> None:
    """serve's library folders, media servers and job queue."""
    from subtitler.serve.fence import default_queue_file

    library.add_argument(
        "--library",
        action="append",
        default=[],
        type=Path,
        metavar="DIR",
        help="a folder jobs and webhooks may subtitle in (repeatable); paths outside every "
        "--library are refused (403); without one, jobs and webhooks are off",
    )
    library.add_argument(
        "--path-map",
        action="append",
        default=[],
        metavar="FROM=TO",
        help="a path under FROM (as a media server or client names it) is under TO here "
        "(repeatable; the longest FROM wins; D:\\Movies=/srv/movies for a Windows server)",
    )
    for kind, name in (("jellyfin", "Jellyfin"), ("emby", "Emby"), ("plex", "Plex")):
        library.add_argument(
            f"--{kind}",
            metavar="URL",
            help=f"{name}'s address, to look items up and refresh them after their tracks "
            f"are written (token from {kind.upper()}_TOKEN)",
        )
    library.add_argument(
        "--webhook-events",
        default="added",
        metavar="added[,played]",
        help="what webhooks act on: items added (default), and with played, playback starts",
    )
    library.add_argument(
        "--queue-file",
        type=Path,
        default=default_queue_file(),
        metavar="FILE",
        help="the job queue's journal: jobs survive a restart (default "
        "$XDG_STATE_HOME/subtitler/jobs.jsonl)",
    )
    library.add_argument(
        "--keep-jobs",
        type=int,
        default=1000,
        metavar="N",
        help="finished jobs kept in the journal and in GET /jobs (default 1000)",
    )


def _add_run_options(parser: argparse.ArgumentParser, mode: str) -> None:
    """The options run, watch and serve share (`mode`), in groups by what they are about;
    serve's are the defaults of its jobs and webhooks."""
    watching, serving = mode == "watch", mode == "serve"
    inputs = parser.add_argument_group("inputs and languages")
    if mode == "run":
        inputs.add_argument(
            "paths",
            nargs="*",
            metavar="PATH",
            help="media files, folders searched recursively by extension (hidden files and "
            "folders skipped, the same file never twice, symlink loops reported), URLs (http(s), "
            "rtmp, srt, ... read live at 1x) or - for a stream on stdin",
        )
        inputs.add_argument(
            "--device",
            action="append",
            default=[],
            metavar="FORMAT:DEVICE",
            help="capture live from a device by ffmpeg input format: pulse:default, alsa:hw:0, "
            "avfoundation::0, dshow:audio=NAME (repeatable)",
        )
    inputs.add_argument(
        "-t",
        "--target",
        required=not serving,
        metavar="LANG[,LANG]",
        help="target language(s), comma-separated; one Gummy task per target"
        + (" (serve: the default of jobs and webhooks)" if serving else ""),
    )
    inputs.add_argument(
        "-s",
        "--source-language",
        default="auto",
        metavar="LANG",
        help="spoken language, or auto to let the service detect it (default); with a language "
        "given, a pair the service does not document (e.g. ja to ko) is a usage error",
    )
    inputs.add_argument(
        "--audio-stream",
        type=int,
        default=0,
        metavar="N",
        help="which audio stream to use, counting audio streams from 0",
    )
    inputs.add_argument(
        "--audio-language",
        default="",
        metavar="LANG[,LANG]",
        help="use the first audio stream tagged with the first of these languages present "
        "(ISO 639-1 or -2: ja or jpn), else the next; none tagged so: --audio-stream, with a "
        "note; with -s auto a tag Gummy hears names the source language",
    )
    inputs.add_argument(
        "--skip-subtitled",
        action="store_true",
        help="skip an input when every target already has subtitles: an embedded stream tagged "
        "with its language (not forced) or a sidecar (Movie.en.srt, Movie.eng.srt, "
        "Movie.English.srt, Movie.en.sdh.srt, .ass, .vtt, .ttml; .forced. ones do not count)",
    )
    if serving:
        _add_output_options(parser, serving)
        service = parser.add_argument_group("service")
        _add_retry_options(service, serving)
        return
    inputs.add_argument(
        "--shard",
        metavar="I/N",
        help="take only shard I (from 0) of N: files split by a stable hash of their path "
        "under the PATH argument (for array jobs; with the per-input locks, overlapping "
        "shards are harmless)",
    )
    _add_output_options(parser, serving)
    views = parser.add_argument_group("views")
    views.add_argument(
        "--json",
        action="store_true",
        help="one JSON object per line on stdout for every event (schema: "
        "subtitler/events.schema.json); human messages go to stderr",
    )
    views.add_argument(
        "--preview",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="full-terminal caption preview (default when stdout is a terminal and there is "
        "one input); --no-preview shows the per-file dashboard instead",
    )
    live = parser.add_argument_group("live")
    live.add_argument(
        "--serve",
        metavar="[HOST:]PORT",
        help="serve a live caption page (/, for OBS's browser source or a browser) and its "
        "event stream (/events, Server-Sent Events of the --json objects) while the run "
        "lasts; loopback only unless HOST is given (0.0.0.0: every interface)",
    )
    live.add_argument(
        "--stall-finish-after",
        type=float,
        default=DEFAULTS.stall_finish_s,
        metavar="S",
        help="finish a task cleanly when its source sends no audio for S seconds, and start a "
        f"new one when audio flows again (default {DEFAULTS.stall_finish_s:g}; the service "
        "ends a task after 23 s without audio)",
    )
    if not watching:
        _add_live_output_options(live)
    service = parser.add_argument_group("service")
    if not watching:
        service.add_argument(
            "--estimate",
            action="store_true",
            help="no service call: per input its audio and what subtitling it would bill "
            "(recognition and translation seconds, cost), and the total; what exists is not "
            "counted, a resume counts what remains",
        )
    _add_retry_options(service, serving)


def _add_output_options(parser: argparse.ArgumentParser, serving: bool) -> None:
    """Where tracks go and what they are."""
    output = parser.add_argument_group("output")
    output.add_argument(
        "-o",
        "--out-dir",
        type=Path,
        metavar="DIR",
        help="write tracks under DIR, mirroring the input folders (default: beside each source)",
    )
    output.add_argument(
        "--format",
        default=",".join(f.value for f in DEFAULTS.formats),
        metavar="LIST",
        help="track formats, comma-separated: srt, vtt, ass (a style per language), ttml "
        "(IMSC 1.1 Text Profile), ebu-tt-d (EBU Tech 3380, .ebuttd.xml), scc (CEA-608, Latin "
        "scripts only; cues fit 32 columns) (default srt,vtt)",
    )
    output.add_argument(
        "--layout",
        choices=[layout.value for layout in Layout],
        default=DEFAULTS.layout.value,
        help="bilingual: one track per target, source lines over target lines (default); "
        "separate: one track per language, same cue times; both",
    )
    output.add_argument("--overwrite", action="store_true", help="replace existing tracks")
    output.add_argument(
        "--frame-rate",
        default="auto",
        metavar="auto|RATE|off",
        help="cue times on frame boundaries, at least two frames apart: auto (default) the "
        "video's own rate, audio alone in milliseconds; RATE (25, 23.976, 29.97, 30000/1001) for "
        "any input; off: milliseconds",
    )
    output.add_argument(
        "--shot-changes",
        nargs="?",
        const="detect",
        metavar="FILE",
        help="time cues to shot changes as Netflix's guide asks (in-times on a change within "
        "half a second, out-times two frames before one, never crossing one by a few frames): "
        "detected in the video by ffmpeg (scdet), or read from FILE (one time per line: 12.5, "
        "00:00:12.500 or 00:00:12:12); needs a frame rate",
    )
    output.add_argument(
        "--timecode-start",
        metavar="HH:MM:SS:FF|auto",
        help="TTML and EBU-TT-D times on a master's timecode (01:00:00:00; ;FF drop-frame), "
        "counted on the input's frame rate; auto: the video's own timecode tag; SRT, VTT and "
        "ASS stay on the media timeline (default: none)",
    )


def _add_retry_options(service: argparse._ActionsContainer, serving: bool) -> None:
    """Cost limits, retries and task length; serve: the defaults of its jobs."""
    service.add_argument(
        "--budget",
        type=float,
        metavar="AMOUNT",
        help="an input whose estimate would take the run past AMOUNT (in the prices' currency) "
        "is not started: skipped with that reason" + (" (serve: per job)" if serving else ""),
    )
    service.add_argument(
        "--prices",
        metavar="recognition=X,translation=Y,currency=C",
        help="prices per second of audio (default: gummy-realtime-v1's list prices, 0.00015 "
        "CNY each; one task per input recognises, each target's task translates)",
    )
    service.add_argument(
        "--retries",
        type=int,
        default=DEFAULTS.retries,
        metavar="N",
        help="retryable failures (dropped connection, internal error) tolerated per "
        "task; each resumes from the last finished sentence (default 5)",
    )
    service.add_argument(
        "--retry-delay",
        type=float,
        default=DEFAULTS.retry_delay_s,
        metavar="S",
        help="first backoff in seconds, doubled each time, with jitter (default 0.5)",
    )
    service.add_argument(
        "--rollover-after",
        type=float,
        default=(DEFAULTS.rollover_after_ms or 0) / 1000,
        metavar="S",
        help="replace a task that has streamed S seconds by a new one at the next pause "
        "between sentences (the service caps task length; default 1800)",
    )
    _add_service_options(service)


def _add_live_output_options(live: argparse._ActionsContainer) -> None:
    """Captions delivered where viewers are, beside the tracks."""
    live.add_argument(
        "--caption-language",
        metavar="LANG|both",
        help="what the live outputs (YouTube, OBS, text file) carry: a target language, the "
        "source language, or both (the source line, then the translation) (default: the first "
        "target)",
    )
    live.add_argument(
        "--youtube-captions",
        metavar="URL",
        help="post captions to a YouTube Live stream's caption ingestion URL "
        "(http://upload.youtube.com/closedcaption?cid=...; it holds the stream key and is never "
        "printed)",
    )
    live.add_argument(
        "--caption-offset",
        type=float,
        default=0.0,
        metavar="S",
        help="add S seconds to the times posted to YouTube (default 0; the stream's own delay)",
    )
    live.add_argument(
        "--obs-websocket",
        metavar="ws://HOST[:PORT]",
        help="send each caption to OBS over obs-websocket v5 (port 4455 when none is given; "
        "password from OBS_WEBSOCKET_PASSWORD); OBS embeds it as CEA-608 in its stream "
        "(Latin script, 32 columns)",
    )
    live.add_argument(
        "--text-file",
        type=Path,
        metavar="PATH",
        help="keep the latest caption in PATH, replaced atomically, for an OBS Text source's "
        "'Read from file'",
    )
    live.add_argument(
        "--text-clear-after",
        type=float,
        default=5.0,
        metavar="S",
        help="empty the text file after S seconds without a new caption (default 5)",
    )
    live.add_argument(
        "--hls",
        type=Path,
        metavar="DIR",
        help="write an HLS package of one input into DIR: its video and audio remuxed (not "
        "re-encoded) by the decoding ffmpeg into DIR/media/, WebVTT subtitle renditions (one per "
        "language, one bilingual per target) in DIR/subs/, all tied by DIR/master.m3u8; the input "
        "is subtitled from its start",
    )
    live.add_argument(
        "--hls-segment",
        type=float,
        default=4.0,
        metavar="S",
        help="target segment length in seconds (default 4; media segments cut at keyframes)",
    )
    live.add_argument(
        "--hls-window",
        type=int,
        metavar="N",
        help="live playlists keep the last N segments (default: an EVENT playlist that keeps "
        "them all)",
    )
    live.add_argument(
        "--delivery-timeout",
        type=float,
        default=5.0,
        metavar="S",
        help="a receiver (YouTube, OBS) that has not answered a request in S seconds is "
        "retried (default 5)",
    )
    live.add_argument(
        "--delivery-grace",
        type=float,
        default=5.0,
        metavar="S",
        help="at the end of the run, wait at most S seconds for the receivers to take what is "
        "queued (default 5); what they did not take is said in one line each",
    )


def _live_outputs(arguments: argparse.Namespace, options: RunOptions) -> list[OutputFactory]:
    """The live outputs asked for, checked before any work (usage errors exit 2)."""
    from subtitler.languages import SOURCE_LANGUAGES
    from subtitler.outputs.captions import BOTH, CaptionChoice, cea608_problem

    wanted = arguments.youtube_captions or arguments.obs_websocket or arguments.text_file
    if not wanted:
        return []
    choice = CaptionChoice.of(arguments.caption_language, options.targets)
    source = options.gummy.source_language
    known = {*options.targets, BOTH, *([source] if source else SOURCE_LANGUAGES)}
    if choice.language not in known:
        raise UsageError(
            "--caption-language",
            f"{choice.language}: not a target ({', '.join(options.targets)}), the source "
            f"language or both",
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

        problem = cea608_problem(choice.language, source)
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
        factories.append(lambda say: TextFileCaptions(path, choice, say, clear_s))
    return factories


def _estimate(items: list[InputFile | InputProblem], options: RunOptions, as_json: bool) -> int:
    """`run --estimate`: durations and what they would bill, with no service call."""
    import json
    import time

    from rich.console import Console
    from rich.table import Table

    from subtitler.engine.estimate import estimate_inputs

    found = asyncio.run(estimate_inputs(items, options))
    known = [entry.estimate for entry in found if entry.estimate is not None]
    prices = options.prices
    totals: dict[str, object] = {
        "audio_ms": sum(e.audio_ms for e in known),
        "recognition_s": round(sum(e.recognition_s for e in known), 3),
        "translation_s": round(sum(e.translation_s for e in known), 3),
        "cost": round(sum(e.cost for e in known), 6),
        "currency": prices.currency,
    }
    problems = [entry for entry in found if entry.problem and entry.estimate is None]
    if as_json:
        for entry in found:
            base = {"at": round(time.time(), 3), "input": entry.label}
            if entry.estimate is None:
                print(json.dumps({"event": "skipped", **base, "reason": entry.problem}))
                continue
            e = entry.estimate
            print(json.dumps({"event": "estimate", **base, "audio_ms": e.audio_ms,
                              "recognition_s": round(e.recognition_s, 3),
                              "translation_s": round(e.translation_s, 3),
                              "cost": round(e.cost, 6), "currency": prices.currency},
                             ensure_ascii=False))  # fmt: skip
        print(json.dumps({"event": "summary", "at": round(time.time(), 3), "done": 0,
                          "failed": 0, "skipped": len(problems), **totals,
                          "version": 1}))  # fmt: skip
        return EXIT_OK
    table = Table(title="subtitler estimate (no service call)")
    for column in ("file", "audio", "tasks", "recognition s", "translation s", "cost"):
        table.add_column(column, justify="left" if column == "file" else "right")
    for entry in found:
        one = entry.estimate
        if one is None:
            table.add_row(entry.label, "", "", "", "", entry.problem)
            continue
        table.add_row(entry.label, f"{one.audio_ms / 1000:.1f}s", str(one.tasks),
                      f"{one.recognition_s:.1f}", f"{one.translation_s:.1f}",
                      f"{one.cost:.4f} {prices.currency}")  # fmt: skip
    audio_s = sum(e.audio_ms for e in known) / 1000
    table.add_row("total", f"{audio_s:.1f}s", "", f"{totals['recognition_s']:.1f}",
                  f"{totals['translation_s']:.1f}", f"{totals['cost']:.4f} {prices.currency}",
                  style="bold")  # fmt: skip
    Console(width=160 if not sys.stdout.isatty() else None).print(table)
    return EXIT_OK


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
    media = HlsMedia(folder / "media" / "index.m3u8", arguments.hls_segment, arguments.hls_window)
    options = replace(options, hls=media, overwrite=True)  # the package covers the whole input
    source, targets = options.gummy.source_language, options.targets
    segment_s, window, live = arguments.hls_segment, arguments.hls_window, inputs[0].live

    def make(_say: Callable[[str], None]) -> Receiver:
        return HlsSubtitles(folder, source, targets, segment_s, window, live)

    return options, make


def _add_service_options(parser: argparse._ActionsContainer) -> None:
    """How audio reaches the service: shared by run, watch and serve."""
    parser.add_argument("--vocabulary-id", metavar="ID", help="a DashScope hot-word vocabulary id")
    parser.add_argument(
        "--glossary",
        type=Path,
        metavar="FILE",
        help="a CSV of terms (text,weight,lang,target_lang,translation): checked against the "
        "service's limits, made a hot-word vocabulary (the same content reuses the same one) "
        "whose id every task carries; pinned translations are kept",
    )
    parser.add_argument(
        "--max-end-silence",
        type=int,
        metavar="MS",
        help="silence that ends a sentence, 200..6000 ms (service default 700)",
    )
    parser.add_argument(
        "--client",
        choices=[kind.value for kind in ClientKind],
        default=DEFAULTS.client.value,
        help="native: this project's Gummy client on one event loop (default); sdk: the "
        "dashscope SDK (a thread per task)",
    )
    parser.add_argument(
        "--max-task-rate",
        type=float,
        default=DEFAULTS.max_task_rate,
        metavar="N",
        help="task submissions per second for the whole run, retries and resumes included "
        f"(default {DEFAULTS.max_task_rate:g}: the service's limit per account; split it "
        "between runs sharing a key; 0: unpaced)",
    )
    parser.add_argument(
        "--speed",
        default=str(DEFAULT_SPEED).rstrip("0").rstrip("."),
        metavar="X|max",
        help="send audio at X times real time (default 10), or max: no limit",
    )
    parser.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=DEFAULTS.jobs,
        metavar="N",
        help=f"inputs processed at once, each isolated: one bad file fails alone (default "
        f"{DEFAULTS.jobs})",
    )
    parser.add_argument(
        "--endpoint",
        metavar="URL",
        help="Gummy WebSocket URL (the local emulator, a proxy, another region); "
        "default: DASHSCOPE_WEBSOCKET_BASE_URL or DashScope's",
    )


def options_from_arguments(arguments: argparse.Namespace) -> RunOptions:
    """The run options through the constructor the Python API uses."""
    from subtitler.languages import parse_targets

    return make_options(parse_targets(arguments.target), **option_keywords(arguments))


def option_keywords(arguments: argparse.Namespace) -> dict[str, Any]:
    """`make_options` keywords from run's, watch's or serve's arguments (serve's are the
    defaults its jobs' own keywords go over); what a command lacks keeps its default."""
    estimating = getattr(arguments, "estimate", False)
    return dict(
        source_language=arguments.source_language,
        api_key="unused: --estimate makes no service call" if estimating else None,
        endpoint=arguments.endpoint,
        client=arguments.client,
        speed=parse_speed(arguments.speed),
        jobs=arguments.jobs,
        out_dir=arguments.out_dir,
        layout=arguments.layout,
        formats=arguments.format,
        overwrite=arguments.overwrite,
        audio_stream=arguments.audio_stream,
        rules=rules_from_arguments(arguments),
        vocabulary_id=arguments.vocabulary_id,
        max_end_silence_ms=arguments.max_end_silence,
        retries=arguments.retries,
        retry_delay_s=arguments.retry_delay,
        rollover_after_s=arguments.rollover_after,
        max_task_rate=arguments.max_task_rate or None,
        stall_finish_s=getattr(arguments, "stall_finish_after", DEFAULTS.stall_finish_s),
        skip_subtitled=arguments.skip_subtitled,
        audio_languages=arguments.audio_language,
        budget=arguments.budget,
        prices=arguments.prices,
        frame_rate=arguments.frame_rate,
        timecode_start=arguments.timecode_start,
        shot_changes=arguments.shot_changes,
    )


def _run_and_watch_settings(
    arguments: argparse.Namespace,
) -> tuple[RunOptions, Shard | None, tuple[str, int] | None]:
    """What run and watch read alike: the options, the shard, the caption page's address."""
    from subtitler.sources.shard import parse_shard

    options = options_from_arguments(arguments)
    shard = parse_shard(arguments.shard) if arguments.shard is not None else None
    serve = None
    if arguments.serve is not None:
        from subtitler.views.web import parse_address  # aiohttp: only with --serve

        serve = parse_address(arguments.serve)
    if options.client is ClientKind.SDK:
        keep_local_off_proxies(options.gummy.endpoint)  # the SDK's aiohttp honours proxies
    if arguments.glossary is not None:
        from subtitler.cli.vocabulary import with_glossary

        options = with_glossary(options, arguments.glossary, getattr(arguments, "estimate", False))
    return options, shard, serve


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
    options, shard, serve = _run_and_watch_settings(arguments)
    items = [*discover(arguments.paths), *devices]
    if shard is not None:
        items = [item for item in items if not isinstance(item, InputFile) or in_shard(item, shard)]
    if arguments.estimate:
        return _estimate(items, options, arguments.json)
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


def _watch_command(arguments: argparse.Namespace) -> int:
    from subtitler.engine.watch import FolderWatcher, WatchOptions, roots_problem

    problem = roots_problem(arguments.folders)
    if problem is not None:
        raise UsageError("DIR", problem)
    if not arguments.settle >= 0 or (arguments.poll is not None and not arguments.poll > 0):
        raise UsageError("--settle/--poll", "must be 0 or more / more than 0 seconds")
    options, shard, serve = _run_and_watch_settings(arguments)
    watch_options = WatchOptions(arguments.settle, arguments.poll, tuple(arguments.ignore))

    how = f"polling every {arguments.poll:g} s" if arguments.poll else "change notifications"
    folders = ", ".join(str(folder) for folder in arguments.folders)

    def work(
        observe: Callable[[Event], None], control: RunControl, say: Callable[[str], None]
    ) -> Awaitable[list[InputResult]]:
        def ready() -> None:
            say(f"subtitler: watching {folders} ({how}); Ctrl-C or SIGTERM stops")

        watcher = FolderWatcher(
            arguments.folders, options, watch_options, observe, control, shard, ready
        )
        return watcher.run()

    return asyncio.run(
        _execute([], options, arguments.json, False, serve, work=work, watching=True)
    )


def _serve_command(arguments: argparse.Namespace) -> int:
    from subtitler.languages import parse_targets
    from subtitler.serve.app import AsrService, LibrarySettings, serve_forever
    from subtitler.serve.fence import Libraries, parse_path_map
    from subtitler.serve.mediaservers import EVENTS, SERVERS, servers_from

    if not 0 <= arguments.port <= 65535:
        raise UsageError("--port", "must be 0..65535")
    if not arguments.max_upload_mb > 0:
        raise UsageError("--max-upload-mb", "must be more than 0")
    if arguments.keep_jobs < 0:
        raise UsageError("--keep-jobs", "must be 0 or more")
    events = tuple(e.strip() for e in arguments.webhook_events.split(",") if e.strip())
    if not events or any(event not in EVENTS["tautulli"] for event in events):
        raise UsageError("--webhook-events", "expected added, played or added,played")
    keywords = option_keywords(arguments)
    targets = parse_targets(arguments.target) if arguments.target else None
    options = make_options(targets or ("en",), **keywords)  # checks the defaults now
    if options.client is ClientKind.SDK:
        keep_local_off_proxies(options.gummy.endpoint)
    if arguments.glossary is not None:
        from subtitler.cli.vocabulary import with_glossary

        options = with_glossary(options, arguments.glossary)
    keywords["vocabulary_id"] = options.gummy.vocabulary_id  # jobs carry it too
    token = arguments.api_token or None
    loopback = arguments.host in ("127.0.0.1", "::1", "localhost")
    library = LibrarySettings(
        libraries=Libraries.of(arguments.library),
        path_maps=tuple(parse_path_map(spec) for spec in arguments.path_map),
        servers=servers_from({kind: getattr(arguments, kind) for kind in SERVERS}),
        webhook_events=events,
        queue_file=arguments.queue_file,
        keep_jobs=arguments.keep_jobs,
        job_defaults={**keywords, "targets": list(targets) if targets else None},
    )
    max_upload_bytes = int(arguments.max_upload_mb * 1024 * 1024)
    service = AsrService(options, token, max_upload_bytes, library=library)

    def announce(url: str) -> None:
        served = "POST /asr, /detect-language, /subtitles"
        if arguments.library:
            served += "; /jobs; webhooks /jellyfin, /emby, /plex, /tautulli"
        print(f"subtitler: serving on {url} ({served})", file=sys.stderr, flush=True)
        if token is None and not loopback:
            print("subtitler: warning: no --api-token: anyone who reaches this address can "
                  "use your DashScope key", file=sys.stderr, flush=True)  # fmt: skip

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = asyncio.current_task()
        assert server is not None
        for signal_number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signal_number, server.cancel)
        _watch_children_without_threads(loop)
        with contextlib.suppress(asyncio.CancelledError):
            await serve_forever(service, arguments.host, arguments.port, announce)

    asyncio.run(main())
    return EXIT_OK


def execute(
    items: list[InputFile | InputProblem],
    options: RunOptions,
    as_json: bool = False,
    preview: bool | None = None,
    serve: tuple[str, int] | None = None,
    outputs: Sequence[OutputFactory] = (),
    delivery_grace_s: float = 5.0,
) -> int:
    """Run a batch with the view that suits stdout; print the summary; the exit status.
    `serve`: (host, port) of the caption page and its event stream, for the run's length.

    The first Ctrl-C stops sending audio, lets every running task finish its current sentence
    and flushes the tracks (a few seconds); a second one exits at once. Either way every track
    is a valid file and the run resumes where it stopped when started again.
    """
    return asyncio.run(
        _execute(
            items,
            options,
            as_json,
            preview,
            serve,
            outputs=outputs,
            delivery_grace_s=delivery_grace_s,
        )
    )


async def _execute(
    items: list[InputFile | InputProblem],
    options: RunOptions,
    as_json: bool,
    preview: bool | None,
    serve: tuple[str, int] | None = None,
    work: Callable[
        [Callable[[Event], None], RunControl, Callable[[str], None]], Awaitable[list[InputResult]]
    ]
    | None = None,
    watching: bool = False,
    outputs: Sequence[OutputFactory] = (),
    delivery_grace_s: float = 5.0,
) -> int:
    """`work` replaces the batch of `items` (`watch`); `watching` also stops on SIGTERM and
    makes a stop a normal end (exit 0)."""
    from rich.console import Console

    from subtitler.engine.batch import run_batch
    from subtitler.engine.control import RunControl
    from subtitler.engine.policy import INVALID_KEY
    from subtitler.events import InputEnded, Status
    from subtitler.sources.inputs import InputFile
    from subtitler.views.jsonlines import JsonLinesView
    from subtitler.views.output import to_null
    from subtitler.views.summary import print_summary

    control = RunControl()
    interactive = sys.stdout.isatty() and not as_json
    if as_json:
        console = Console(stderr=True, width=160)  # stdout holds JSON lines only
    elif interactive:
        console = Console(stderr=False)
    else:
        console = Console(width=160, no_color=True)
    errors = Console(stderr=True, highlight=False, soft_wrap=True)
    # Messages: on stderr, or through a terminal view's own console (above its live area), so
    # that nothing is written into the middle of a redraw.
    say: list[Callable[[str], None]] = [lambda text: errors.print(text, markup=False)]

    def on_interrupt() -> None:
        if control.stop_requested:
            os._exit(EXIT_INTERRUPTED)
        control.request_stop()
        say[0]("subtitler: stopping: finishing the current sentences (Ctrl-C again to quit now)")

    def on_output_closed() -> None:
        """The reader of stdout left (`| head`): stop as on Ctrl-C (journals kept, locks
        released), saying so on stderr."""
        if not control.stop_requested:
            control.request_stop()
            errors.print(
                "subtitler: standard output was closed: stopping (finishing the current "
                "sentences; run again to resume)",
                markup=False,
            )

    def report_failure(event: Event) -> None:
        if control.fatal_error is not None:
            return  # one message for the whole run, below
        if isinstance(event, InputEnded) and event.result.status is Status.FAILED:
            errors.print(f"subtitler: {event.result.reason}", markup=False)

    loop = asyncio.get_running_loop()
    _watch_children_without_threads(loop)
    async with contextlib.AsyncExitStack() as stack:
        observers: list[Callable[[Event], None]] = []
        server = None
        if serve is not None:
            from subtitler.views.web import CaptionServer

            server = CaptionServer(*serve)
            await server.start()
            stack.push_async_callback(server.stop)
            observers.append(server)
            errors.print(f"subtitler: caption page: {server.url}", markup=False)
        for stop_signal in (signal.SIGINT, signal.SIGTERM) if watching else (signal.SIGINT,):
            loop.add_signal_handler(stop_signal, on_interrupt)
            stack.callback(loop.remove_signal_handler, stop_signal)
        single = preview if preview is not None else len(items) == 1
        with _main_view(
            console, options, as_json, interactive, single, len(items), on_output_closed
        ) as view:
            message = getattr(view, "message", None)
            if message is not None:  # a terminal view: it reports the failures itself
                say[0] = message
            else:
                observers.insert(0, report_failure)
            receivers = []
            for make in outputs:
                receiver = make(lambda text: say[0](text))
                await receiver.start()  # a wrong OBS password: a usage error, before any work
                stack.push_async_callback(receiver.close, 0.0)  # if the run itself fails
                receivers.append(receiver)
            observe = _fan_out(view, *observers, *receivers)
            if work is not None:
                results = await work(observe, control, say[0])
            else:
                results = await run_batch(items, options, observe, control)
            # what is queued goes out, for one bounded time shared by every receiver
            closed = await asyncio.gather(*(r.close(delivery_grace_s) for r in receivers))
            for undelivered in closed:
                if undelivered is not None:
                    say[0](f"subtitler: {undelivered}")
        try:
            print_summary(console, results)
        except BrokenPipeError:  # stdout's reader left before the summary
            to_null(sys.stdout)
        counts = {
            "done": sum(r.status is Status.DONE for r in results),
            "failed": sum(r.status is Status.FAILED for r in results),
            "skipped": sum(r.status is Status.SKIPPED for r in results),
            "interrupted": sum(r.status is Status.INTERRUPTED for r in results),
        }
        if isinstance(view, JsonLinesView):
            view.summary(**counts)
        if server is not None:
            server.summary(**counts)
    fatal = control.fatal_error
    if fatal is not None and fatal.code == INVALID_KEY:
        errors.print(
            "subtitler: error: the service refused the API key (invalid key): check "
            "DASHSCOPE_API_KEY. Nothing more was sent; run again to resume.",
            markup=False,
        )
    elif fatal is not None:
        errors.print(f"subtitler: error: {fatal}", markup=False)
    return exit_status(
        failed=counts["failed"] > 0,
        key_refused=fatal is not None,
        stopped=control.stop_requested,
        resumable=any(isinstance(item, InputFile) and not item.live for item in items),
        watching=watching,
    )


def exit_status(
    *, failed: bool, key_refused: bool, stopped: bool, resumable: bool, watching: bool
) -> int:
    """The run's exit code: 2 for a refused key or an endpoint that is not there (nothing more
    can work: `key_refused` stands for both); a stop ends `watch`
    normally (0: `systemctl stop` is no failure) and interrupts a run of files that can be
    resumed (130); else 1 when any input failed."""
    if key_refused:
        return EXIT_USAGE
    if stopped and watching:
        return EXIT_OK
    if stopped and resumable:
        return EXIT_INTERRUPTED
    return EXIT_FAILED if failed else EXIT_OK


def _main_view(
    console: Console,
    options: RunOptions,
    as_json: bool,
    interactive: bool,
    single: bool,
    inputs: int,
    on_output_closed: Callable[[], None],
) -> contextlib.AbstractContextManager[Callable[[Event], None]]:
    """What shows the run: JSON lines, the preview (one input on a terminal), the dashboard
    (several), or plain lines (a pipe)."""
    if as_json:
        from subtitler.views.jsonlines import JsonLinesView

        return contextlib.nullcontext(JsonLinesView(sys.stdout, on_output_closed))
    if interactive and single:
        from subtitler.views.preview import PreviewView

        return PreviewView(console, options.targets)
    if interactive:
        from subtitler.views.progress import ProgressView

        return ProgressView(console, inputs)
    from subtitler.views.lines import LinesView

    return contextlib.nullcontext(LinesView(sys.stdout, options.targets, on_output_closed))


def _watch_children_without_threads(loop: asyncio.AbstractEventLoop) -> None:
    """Python 3.11 waits for each asyncio subprocess (every ffmpeg) on a thread of its own;
    a pidfd watcher waits on the loop instead (3.12 does this by itself). Process-wide, so
    set here and nowhere in the library."""
    if sys.version_info < (3, 12) and hasattr(os, "pidfd_open"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            watcher = asyncio.PidfdChildWatcher()
            watcher.attach_loop(loop)
            asyncio.set_child_watcher(watcher)


def _fan_out(*observers: Callable[[Event], None]) -> Callable[[Event], None]:
    """One observer that hands each event to every one given, in order."""

    def observe(event: Event) -> None:
        for observer in observers:
            observer(event)

    return observe


def _demo_command(arguments: argparse.Namespace) -> int:
    from importlib import resources

    from rich.console import Console

    from subtitler.emulator.server import BackgroundEmulator
    from subtitler.gummy.environment import LOCAL_KEY
    from subtitler.languages import check_pairs, parse_targets
    from subtitler.sources.inputs import discover

    targets = parse_targets(arguments.target)
    check_pairs(None, targets)
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


def keep_local_off_proxies(endpoint: str | None) -> None:
    """The SDK honours proxy variables; a loopback endpoint must never go through a proxy (the
    command line owns its process's environment; the library never changes it)."""
    if endpoint is None or urlparse(endpoint).hostname not in LOCAL_HOSTS:
        return
    for name in ("NO_PROXY", "no_proxy"):
        current = os.environ.get(name, "")
        if "127.0.0.1" not in current.split(","):
            os.environ[name] = ",".join(filter(None, [current, "127.0.0.1", "localhost", "::1"]))


def _settle_process() -> None:
    """What the command line (which owns its process, unlike the library) sets for it: the soft
    limit of open files up to the hard one (at most 65536). Each running input keeps its tracks,
    journal, connection and ffmpeg pipes open, and 1024 (a common default) is reached at about
    100 inputs at once."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 65536 if hard == resource.RLIM_INFINITY else min(hard, 65536)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def main(argv: Sequence[str] | None = None) -> int:
    # The SDK (--client sdk) logs every failure with a traceback; the tool reports errors itself.
    logging.getLogger("dashscope").setLevel(logging.CRITICAL)
    _settle_process()
    parser = build_parser()
    arguments = parser.parse_args(argv)
    try:
        status: int = arguments.handler(arguments)
    except UsageError as error:
        for line in str(error).splitlines():  # a glossary's problems: one line each
            print(f"subtitler: error: {line}", file=sys.stderr)
        return EXIT_USAGE
    except SubtitlerError as error:
        print(f"subtitler: {error}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    return status
