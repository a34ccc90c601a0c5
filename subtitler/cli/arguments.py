"""The options run, watch and serve share, as argparse arguments, and the run options built
from them (through `make_options`, the constructor the Python API uses)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from subtitler.errors import UsageError
from subtitler.gummy.client import ClientKind
from subtitler.gummy.environment import parse_speed
from subtitler.layout.rules import CueRules, TimingRules, parse_language_limits
from subtitler.options import DEFAULT_SPEED, DEFAULTS, Layout, RunOptions, make_options

if TYPE_CHECKING:
    from subtitler.outputs.delivery import Receiver

    OutputFactory = Callable[[Callable[[str], None]], Receiver]
    """A live output, made once the run's view says where its messages go."""


def add_rule_options(parser: argparse.ArgumentParser, merging: bool = True) -> None:
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


def add_run_options(parser: argparse.ArgumentParser, mode: str) -> None:
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
        add_output_options(parser, serving)
        service = parser.add_argument_group("service")
        add_retry_options(service, serving)
        return
    inputs.add_argument(
        "--shard",
        metavar="I/N",
        help="take only shard I (from 0) of N: files split by a stable hash of their path "
        "under the PATH argument (for array jobs; with the per-input locks, overlapping "
        "shards are harmless)",
    )
    add_output_options(parser, serving)
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
        add_live_output_options(live)
    service = parser.add_argument_group("service")
    if not watching:
        service.add_argument(
            "--estimate",
            action="store_true",
            help="no service call: per input its audio and what subtitling it would bill "
            "(recognition and translation seconds, cost), and the total; what exists is not "
            "counted, a resume counts what remains",
        )
    add_retry_options(service, serving)


def add_output_options(parser: argparse.ArgumentParser, serving: bool) -> None:
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


def add_retry_options(service: argparse._ActionsContainer, serving: bool) -> None:
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
    add_service_options(service)


def add_live_output_options(live: argparse._ActionsContainer) -> None:
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


def add_service_options(parser: argparse._ActionsContainer) -> None:
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
