"""Every run option declared once: its name, type, default, help, group, the commands that have it
and whether a job (serve's API) may set it. The command line's arguments, the job API's
allow-list and type checks, and the generated reference all come from this table; adding an
option is one entry here plus its behaviour (a `make_options` keyword, or what a command does
with it).

Pure: values in, values out; the argparse side is `subtitler.cli.arguments`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from subtitler.errors import UsageError
from subtitler.gummy.client import ClientKind
from subtitler.gummy.environment import parse_speed
from subtitler.layout.rules import TimingRules
from subtitler.options import DEFAULT_SPEED, DEFAULT_VAD, DEFAULTS, Layout
from subtitler.qwenmt.protocol import DEFAULT_MODEL as DEFAULT_MT_MODEL
from subtitler.qwenmt.protocol import MODELS as MT_MODELS


class Kind(Enum):
    """What a value is, on the command line (text parsed) and in a job's JSON."""

    TEXT = "text"
    INTEGER = "integer"
    NUMBER = "number"
    FLAG = "flag"
    """True or False; on the command line, present or not."""
    LIST = "list"
    """A list of strings in JSON; comma-separated on the command line."""
    PATH = "path"
    REPEATED = "repeated"
    """Given several times on the command line (a list)."""
    SWITCH = "switch"
    """--name / --no-name, unset by default."""
    OPTIONAL_VALUE = "optional value"
    """--name alone means `const`; --name VALUE gives VALUE."""


RUN, WATCH, SERVE = "run", "watch", "serve"
ALL = frozenset({RUN, WATCH, SERVE})
FILES = frozenset({RUN, WATCH})
"""Commands that subtitle media themselves (not serve's defaults for jobs)."""

INPUTS = "inputs and languages"
OUTPUT = "output"
VIEWS = "views"
LIVE = "live"
SERVICE = "service"
RULES = "subtitle rules (defaults: Netflix Timed Text Style Guide, see the README)"


@dataclass(frozen=True, kw_only=True)
class Declared:
    """One option. `keyword` is its `make_options` keyword (or, for what a command does itself,
    the name it has in the parsed arguments), and its key in a job's JSON when `job` is set."""

    keyword: str
    flags: tuple[str, ...]
    kind: Kind
    group: str
    help: str
    default: Any = None
    """As the command line gives it (text before parsing), or the value itself."""
    metavar: str | None = None
    choices: tuple[str, ...] = ()
    commands: frozenset[str] = ALL
    required_in: frozenset[str] = frozenset()
    job: bool = False
    """A job (`POST /jobs`, a webhook) may set it; else it stays serve's own."""
    to_options: bool = True
    """A `make_options` keyword; else the command acts on it itself."""
    parse: Callable[[Any], Any] | None = None
    """From the command line's text (and a job's string) to the `make_options` value."""
    serve_help: str = ""
    """Appended to the help in serve, whose options are its jobs' defaults."""
    const: Any = None
    text_on_command_line: bool = False
    """Taken as text on the command line and made a value by `parse` (speed: a number or max)."""


def _none_if_zero(value: float) -> float | None:
    """`--max-task-rate 0`: unpaced."""
    return value or None


TIMING = TimingRules()

DECLARED: tuple[Declared, ...] = (
    # -- inputs and languages
    Declared(
        keyword="paths", flags=("paths",), kind=Kind.LIST, group=INPUTS, commands=frozenset({RUN}),
        to_options=False, metavar="PATH",
        help="media files, folders (searched recursively by extension; hidden ones skipped), "
        "URLs (http(s), rtmp, srt, ...: live at 1x) or - for stdin",
    ),
    Declared(
        keyword="device", flags=("--device",), kind=Kind.REPEATED, group=INPUTS, default=(),
        commands=frozenset({RUN}), to_options=False, metavar="FORMAT:DEVICE",
        help="capture live from a device by ffmpeg input format: pulse:default, alsa:hw:0, "
        "avfoundation::0, dshow:audio=NAME (repeatable)",
    ),
    Declared(
        keyword="targets", flags=("-t", "--target"), kind=Kind.LIST, group=INPUTS, job=True,
        required_in=FILES, metavar="LANG[,LANG]",
        help="target language(s), comma-separated: any of Qwen-MT's 92 (zh-TW: Traditional "
        "Chinese); the speech is recognised once per input",
        serve_help=" (serve: the default of jobs and webhooks)",
    ),
    Declared(
        keyword="source_language", flags=("-s", "--source-language"), kind=Kind.TEXT,
        group=INPUTS, default="auto", job=True, metavar="LANG",
        help="spoken language, or auto to let the service detect it (default); with a language "
        "given, a pair the service does not document (e.g. ja to ko) is a usage error",
    ),
    Declared(
        keyword="audio_stream", flags=("--audio-stream",), kind=Kind.INTEGER, group=INPUTS,
        default=0, job=True, metavar="N",
        help="which audio stream to use, counting from 0",
    ),
    Declared(
        keyword="audio_languages", flags=("--audio-language",), kind=Kind.LIST, group=INPUTS,
        default="", job=True, metavar="LANG[,LANG]",
        help="the audio stream tagged with the first of these languages present (ja or jpn); "
        "none: --audio-stream",
    ),
    Declared(
        keyword="skip_subtitled", flags=("--skip-subtitled",), kind=Kind.FLAG, group=INPUTS,
        default=False, job=True,
        help="skip an input when every target already has subtitles (an embedded stream or a "
        "sidecar such as Movie.en.srt; forced ones do not count)",
    ),
    Declared(
        keyword="shard", flags=("--shard",), kind=Kind.TEXT, group=INPUTS, commands=FILES,
        to_options=False, metavar="I/N",
        help="take only shard I (from 0) of N: files split by a stable hash of their path "
        "(array jobs on a cluster)",
    ),
    # -- output
    Declared(
        keyword="out_dir", flags=("-o", "--out-dir"), kind=Kind.PATH, group=OUTPUT, metavar="DIR",
        help="write tracks under DIR, mirroring the input folders (default: beside each source)",
    ),
    Declared(
        keyword="formats", flags=("--format",), kind=Kind.LIST, group=OUTPUT, job=True,
        default=",".join(f.value for f in DEFAULTS.formats), metavar="LIST",
        help="track formats, comma-separated: srt, vtt, ass (a style per language), ttml "
        "(IMSC 1.1 Text Profile), ebu-tt-d (EBU Tech 3380, .ebuttd.xml), scc (CEA-608, Latin "
        "scripts only; cues fit 32 columns) (default srt,vtt)",
    ),
    Declared(
        keyword="layout", flags=("--layout",), kind=Kind.TEXT, group=OUTPUT, job=True,
        choices=tuple(layout.value for layout in Layout), default=DEFAULTS.layout.value,
        help="bilingual: one track per target, source lines over target lines (default); "
        "separate: one track per language, same cue times; both",
    ),
    Declared(
        keyword="overwrite", flags=("--overwrite",), kind=Kind.FLAG, group=OUTPUT, default=False,
        job=True, help="replace existing tracks",
    ),
    Declared(
        keyword="frame_rate", flags=("--frame-rate",), kind=Kind.TEXT, group=OUTPUT,
        default="auto", job=True, metavar="auto|RATE|off",
        help="cue times on frame boundaries, at least two frames apart: auto (default) the "
        "video's own rate, audio alone in milliseconds; RATE (25, 23.976, 29.97, 30000/1001) for "
        "any input; off: milliseconds",
    ),
    Declared(
        keyword="shot_changes", flags=("--shot-changes",), kind=Kind.OPTIONAL_VALUE,
        group=OUTPUT, const="detect", job=True, metavar="FILE",
        help="time cues to shot changes as Netflix's guide asks: detected in the video, or "
        "read from FILE (one time per line); needs a frame rate",
    ),
    Declared(
        keyword="timecode_start", flags=("--timecode-start",), kind=Kind.TEXT, group=OUTPUT,
        job=True, metavar="HH:MM:SS:FF|auto",
        help="TTML, EBU-TT-D and SCC times on a master's timecode (01:00:00:00; ;FF "
        "drop-frame); auto: the video's own tag (default: none)",
    ),
    # -- views
    Declared(
        keyword="json", flags=("--json",), kind=Kind.FLAG, group=VIEWS, default=False,
        commands=FILES, to_options=False,
        help="one JSON object per line on stdout for every event (schema: "
        "subtitler/events.schema.json); human messages go to stderr",
    ),
    Declared(
        keyword="preview", flags=("--preview",), kind=Kind.SWITCH, group=VIEWS, commands=FILES,
        to_options=False,
        help="full-terminal caption preview (default when stdout is a terminal and there is "
        "one input); --no-preview shows the per-file dashboard instead",
    ),
    # -- live
    Declared(
        keyword="serve", flags=("--serve",), kind=Kind.TEXT, group=LIVE, commands=FILES,
        to_options=False, metavar="[HOST:]PORT",
        help="serve a live caption page (/) and its event stream (/events) while the run "
        "lasts; loopback unless HOST is given",
    ),
    Declared(
        keyword="stall_finish_s", flags=("--stall-finish-after",), kind=Kind.NUMBER, group=LIVE,
        default=DEFAULTS.stall_finish_s, commands=FILES, job=True, metavar="S",
        help="finish a task cleanly when its source sends no audio for S seconds, and start a "
        f"new one when audio flows again (default {DEFAULTS.stall_finish_s:g}; the service "
        "ends a task after 23 s without audio)",
    ),
    Declared(
        keyword="caption_language", flags=("--caption-language",), kind=Kind.TEXT, group=LIVE,
        commands=frozenset({RUN}), to_options=False, metavar="LANG|both",
        help="what the live outputs carry: a target, source (the spoken language) or both "
        "(default: the first target)",
    ),
    Declared(
        keyword="youtube_captions", flags=("--youtube-captions",), kind=Kind.TEXT, group=LIVE,
        commands=frozenset({RUN}), to_options=False, metavar="URL",
        help="post captions to a YouTube Live stream's caption ingestion URL (never printed)",
    ),
    Declared(
        keyword="caption_offset", flags=("--caption-offset",), kind=Kind.NUMBER, group=LIVE,
        default=0.0, commands=frozenset({RUN}), to_options=False, metavar="S",
        help="add S seconds to the times posted to YouTube (default 0; the stream's own delay)",
    ),
    Declared(
        keyword="obs_websocket", flags=("--obs-websocket",), kind=Kind.TEXT, group=LIVE,
        commands=frozenset({RUN}), to_options=False, metavar="ws://HOST[:PORT]",
        help="send each caption to OBS over obs-websocket v5 (password from "
        "OBS_WEBSOCKET_PASSWORD), embedded as CEA-608 in its stream",
    ),
    Declared(
        keyword="text_file", flags=("--text-file",), kind=Kind.PATH, group=LIVE,
        commands=frozenset({RUN}), to_options=False, metavar="PATH",
        help="keep the latest caption in PATH, replaced atomically, for an OBS Text source's "
        "'Read from file'",
    ),
    Declared(
        keyword="text_clear_after", flags=("--text-clear-after",), kind=Kind.NUMBER, group=LIVE,
        default=5.0, commands=frozenset({RUN}), to_options=False, metavar="S",
        help="empty it after S s without a new caption (default 5)",
    ),
    Declared(
        keyword="hls", flags=("--hls",), kind=Kind.PATH, group=LIVE, commands=frozenset({RUN}),
        to_options=False, metavar="DIR",
        help="write an HLS package of one input into DIR: its media remuxed, WebVTT "
        "subtitle renditions, DIR/master.m3u8",
    ),
    Declared(
        keyword="hls_segment", flags=("--hls-segment",), kind=Kind.NUMBER, group=LIVE,
        default=4.0, commands=frozenset({RUN}), to_options=False, metavar="S",
        help="target segment length in seconds (default 4; media segments cut at keyframes)",
    ),
    Declared(
        keyword="hls_window", flags=("--hls-window",), kind=Kind.INTEGER, group=LIVE,
        commands=frozenset({RUN}), to_options=False, metavar="N",
        help="live playlists keep the last N segments (default: an EVENT playlist that keeps "
        "them all)",
    ),
    Declared(
        keyword="delivery_timeout", flags=("--delivery-timeout",), kind=Kind.NUMBER, group=LIVE,
        default=5.0, commands=frozenset({RUN}), to_options=False, metavar="S",
        help="a receiver (YouTube, OBS) that has not answered a request in S seconds is "
        "retried (default 5)",
    ),
    Declared(
        keyword="delivery_grace", flags=("--delivery-grace",), kind=Kind.NUMBER, group=LIVE,
        default=5.0, commands=frozenset({RUN}), to_options=False, metavar="S",
        help="at the end of the run, wait at most S seconds for the receivers to take what is "
        "queued (default 5); what they did not take is said in one line each",
    ),
    # -- service
    Declared(
        keyword="estimate", flags=("--estimate",), kind=Kind.FLAG, group=SERVICE, default=False,
        commands=frozenset({RUN}), to_options=False,
        help="no service call: what each input would bill, in all",
    ),
    Declared(
        keyword="scan", flags=("--scan",), kind=Kind.FLAG, group=SERVICE, default=False,
        commands=frozenset({RUN}), to_options=False,
        help="with --estimate: price only the speech, found locally",
    ),
    Declared(
        keyword="budget", flags=("--budget",), kind=Kind.NUMBER, group=SERVICE, job=True,
        metavar="AMOUNT",
        help="an input whose estimate would take the run past AMOUNT (in the prices' "
        "currency) is skipped",
        serve_help=" (serve: per job)",
    ),
    Declared(
        keyword="prices", flags=("--prices",), kind=Kind.TEXT, group=SERVICE, job=True,
        metavar="KEY=X,...",
        help="per second (Gummy, Fun-ASR), per million tokens (MODEL.input=X): "
        "docs/libraries.md",
    ),
    Declared(
        keyword="retries", flags=("--retries",), kind=Kind.INTEGER, group=SERVICE,
        default=DEFAULTS.retries, job=True, metavar="N",
        help="retryable failures tolerated per task, each resumed from the last finished "
        "sentence (default 5)",
    ),
    Declared(
        keyword="retry_delay_s", flags=("--retry-delay",), kind=Kind.NUMBER, group=SERVICE,
        default=DEFAULTS.retry_delay_s, job=True, metavar="S",
        help="first backoff (s), doubled each time (default 0.5)",
    ),
    Declared(
        keyword="rollover_after_s", flags=("--rollover-after",), kind=Kind.NUMBER,
        group=SERVICE, default=(DEFAULTS.rollover_after_ms or 0) / 1000, job=True, metavar="S",
        help="replace a task at the next pause after S seconds (the service caps tasks; "
        "default 1800)",
    ),
    Declared(
        keyword="vocabulary_id", flags=("--vocabulary-id",), kind=Kind.TEXT, group=SERVICE,
        job=True, metavar="ID", help="a DashScope hot-word vocabulary id",
    ),
    Declared(
        keyword="glossary", flags=("--glossary",), kind=Kind.PATH, group=SERVICE,
        to_options=False, metavar="FILE",
        help="a CSV (text,weight,lang,target_lang,translation): hot words, Qwen-MT terms",
    ),
    Declared(
        keyword="max_end_silence_ms", flags=("--max-end-silence",), kind=Kind.INTEGER,
        group=SERVICE, job=True, metavar="MS",
        help="silence ending a sentence, 200..6000 ms (default 700)",
    ),
    Declared(
        keyword="vad", flags=("--vad",), kind=Kind.TEXT, group=SERVICE, choices=("on", "off"),
        default="on", job=True, metavar="on|off",
        help="on (default): long non-speech is not sent",
    ),
    Declared(
        keyword="vad_threshold", flags=("--vad-threshold",), kind=Kind.NUMBER, group=SERVICE,
        default=DEFAULT_VAD.threshold, job=True, metavar="P",
        help=f"speech probability that counts as speech (default {DEFAULT_VAD.threshold:g})",
    ),
    Declared(
        keyword="vad_min_gap_ms", flags=("--vad-min-gap",), kind=Kind.INTEGER, group=SERVICE,
        default=DEFAULT_VAD.min_gap_ms, job=True, metavar="MS",
        help=f"shorter non-speech is sent anyway (default {DEFAULT_VAD.min_gap_ms})",
    ),
    Declared(
        keyword="vad_margin_ms", flags=("--vad-margin",), kind=Kind.INTEGER, group=SERVICE,
        default=DEFAULT_VAD.margin_ms, job=True, metavar="MS",
        help=f"audio kept around speech (default {DEFAULT_VAD.margin_ms})",
    ),
    Declared(
        keyword="client", flags=("--client",), kind=Kind.TEXT, group=SERVICE,
        choices=tuple(kind.value for kind in ClientKind), default=DEFAULTS.client.value,
        metavar="NAME",
        help="native (default): one event loop; sdk: the dashscope SDK (a thread per task)",
    ),
    Declared(
        keyword="region", flags=("--region",), kind=Kind.TEXT, group=SERVICE,
        choices=("cn", "intl"), metavar="NAME",
        help="cn or intl (default: $SUBTITLER_REGION, or cn)",
    ),
    Declared(
        keyword="recognizer", flags=("--recognizer",), kind=Kind.TEXT, group=SERVICE,
        choices=("gummy", "fun-asr"), metavar="NAME",
        help="gummy (cn) or fun-asr (zh, en, ja), when no Gummy target recognises",
    ),
    Declared(
        keyword="translator", flags=("--translator",), kind=Kind.TEXT, group=SERVICE, job=True,
        choices=("auto", "gummy", "qwen-mt"), default="auto", metavar="NAME",
        help="auto: Gummy for its pairs, Qwen-MT for the rest (default); gummy or qwen-mt",
    ),
    Declared(
        keyword="mt_model", flags=("--mt-model",), kind=Kind.TEXT, group=SERVICE, job=True,
        choices=MT_MODELS, default=DEFAULT_MT_MODEL, metavar="MODEL",
        help=f"{DEFAULT_MT_MODEL} (default), -plus, -lite or -turbo",
    ),
    Declared(
        keyword="mt_domains", flags=("--mt-domains",), kind=Kind.TEXT, group=SERVICE, job=True,
        metavar="TEXT", help="Qwen-MT's domain and style hint, in English",
    ),
    Declared(
        keyword="mt_context", flags=("--mt-context",), kind=Kind.INTEGER, group=SERVICE,
        job=True, default=3, metavar="N", help="pairs sent as translation memory (default 3)",
    ),
    Declared(
        keyword="mt_batch", flags=("--mt-batch",), kind=Kind.INTEGER, group=SERVICE, job=True,
        default=1, metavar="N", help="sentences per request when they wait (default 1)",
    ),
    Declared(
        keyword="mt_rpm", flags=("--mt-rpm",), kind=Kind.INTEGER, group=SERVICE, metavar="N",
        help="Qwen-MT requests a minute, for the run (default 60)",
    ),
    Declared(
        keyword="mt_tpm", flags=("--mt-tpm",), kind=Kind.INTEGER, group=SERVICE, metavar="N",
        help="Qwen-MT tokens a minute, for the run (default 35000)",
    ),
    Declared(
        keyword="mt_timeout_s", flags=("--mt-timeout",), kind=Kind.NUMBER, group=SERVICE,
        default=10.0, metavar="S", help="seconds a Qwen-MT answer may take (default 10)",
    ),
    Declared(
        keyword="max_task_rate", flags=("--max-task-rate",), kind=Kind.NUMBER, group=SERVICE,
        default=DEFAULTS.max_task_rate, parse=_none_if_zero, metavar="N",
        help="task submissions per second for the whole run (default "
        f"{DEFAULTS.max_task_rate:g}: the service's limit per account; 0: unpaced)",
    ),
    Declared(
        keyword="speed", flags=("--speed",), kind=Kind.NUMBER, group=SERVICE, job=True,
        default=str(DEFAULT_SPEED).rstrip("0").rstrip("."), parse=parse_speed, metavar="X|max",
        text_on_command_line=True,
        help="send at X times real time (default 10); max: no limit",
    ),
    Declared(
        keyword="jobs", flags=("-j", "--jobs"), kind=Kind.INTEGER, group=SERVICE,
        default=DEFAULTS.jobs, metavar="N",
        help=f"inputs processed at once, each isolated: one bad file fails alone (default "
        f"{DEFAULTS.jobs})",
    ),
    Declared(
        keyword="endpoint", flags=("--endpoint",), kind=Kind.TEXT, group=SERVICE, metavar="URL",
        help="Gummy WebSocket URL (the local emulator, a proxy, another region); "
        "default: DASHSCOPE_WEBSOCKET_BASE_URL or DashScope's",
    ),
    # -- subtitle rules (made into one CueRules by the command line; serve's own, not a job's)
    Declared(
        keyword="max_lines", flags=("--max-lines",), kind=Kind.INTEGER, group=RULES,
        to_options=False, metavar="N", help="lines per language (2)",
    ),
    Declared(
        keyword="max_chars", flags=("--max-chars",), kind=Kind.TEXT, group=RULES,
        to_options=False, metavar="N|LANG=N,...",
        help="characters per line: 42 Latin, 16 zh/ko, 13 ja",
    ),
    Declared(
        keyword="max_cps", flags=("--max-cps",), kind=Kind.TEXT, group=RULES, to_options=False,
        metavar="N|LANG=N,...", help="reading speed: en 20, other Latin 17, zh 9, ko 12, ja 4",
    ),
    Declared(
        keyword="min_duration", flags=("--min-duration",), kind=Kind.INTEGER, group=RULES,
        default=TIMING.min_duration_ms, to_options=False, metavar="MS",
        help=f"shortest cue (default {TIMING.min_duration_ms}: 5/6 s)",
    ),
    Declared(
        keyword="max_duration", flags=("--max-duration",), kind=Kind.INTEGER, group=RULES,
        default=TIMING.max_duration_ms, to_options=False, metavar="MS",
        help=f"longest cue (default {TIMING.max_duration_ms})",
    ),
    Declared(
        keyword="min_gap", flags=("--min-gap",), kind=Kind.INTEGER, group=RULES,
        default=TIMING.min_gap_ms, to_options=False, metavar="MS",
        help=f"gap between cues (default {TIMING.min_gap_ms}: 2 frames at 24 fps)",
    ),
    Declared(
        keyword="merge_gap", flags=("--merge-gap",), kind=Kind.INTEGER, group=RULES,
        default=TIMING.merge_gap_ms, to_options=False, metavar="MS",
        help="merge short sentences this close into one cue (default "
        f"{TIMING.merge_gap_ms}; 0: never)",
    ),
)  # fmt: skip

BY_KEYWORD: Mapping[str, Declared] = {option.keyword: option for option in DECLARED}
JOB_KEYWORDS = frozenset(option.keyword for option in DECLARED if option.job)
"""What a job may set: the allow-list. Anything else in a job's JSON is refused."""
SERVE_OWN = frozenset({"api_key", "rules"})
"""`make_options` keywords no option declares (the key comes from the environment, the rules
from the rule options): serve's own, never a job's."""


def declared_for(command: str) -> tuple[Declared, ...]:
    """The options a command has, in the table's order."""
    return tuple(option for option in DECLARED if command in option.commands)


def job_keywords(payload: Mapping[str, Any], extra: frozenset[str] = frozenset()) -> dict[str, Any]:
    """A job's options (its JSON object, without the keys in `extra` that the endpoint reads
    itself, such as `paths`) as `make_options` keywords, each checked against its declaration:
    a key not declared job-settable, or a value of the wrong type, is one readable UsageError
    naming the key."""
    keywords: dict[str, Any] = {}
    for key, value in payload.items():
        if key in extra:
            continue
        option = BY_KEYWORD.get(key)
        if option is None or not option.job:
            allowed = ", ".join(sorted(JOB_KEYWORDS))
            serves = option is not None or key in SERVE_OWN
            why = "set by serve's own options, not per job" if serves else "not a job option"
            raise UsageError(key, f"{why} (a job may set: {allowed})")
        keywords[key] = job_value(option, value)
    return keywords


def job_value(option: Declared, value: Any) -> Any:
    """One JSON value checked against its option's kind, as the command line would take it."""
    key = option.keyword
    if value is None:
        if option.required_in:  # what a run must be told (targets) has no "unset"
            raise UsageError(key, f"must be given, e.g. {_example(option)}")
        return None
    if option.kind is Kind.LIST:
        if not isinstance(value, list) or not all(
            isinstance(item, str) and item.strip() for item in value
        ):
            raise UsageError(key, f"must be a list of strings, e.g. {_example(option)}")
        return list(value)
    if option.kind is Kind.FLAG:
        if not isinstance(value, bool):
            raise UsageError(key, "must be true or false")
        return value
    if option.kind in (Kind.INTEGER, Kind.NUMBER):
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        if option.kind is Kind.INTEGER and not (isinstance(value, int) and numeric):
            raise UsageError(key, "must be a whole number")
        if numeric:
            return value
        if isinstance(value, str) and option.parse is not None:
            try:
                option.parse(value)  # speed: "max" (kept as given; `as_make_options` parses)
            except UsageError as error:
                raise UsageError(key, error.cause) from error
            return value
        text = f" or {option.metavar}" if option.text_on_command_line else ""
        raise UsageError(key, f"must be a number{text}")
    if not isinstance(value, str):
        raise UsageError(key, "must be a string")
    if option.choices and value not in option.choices:
        raise UsageError(key, f"must be one of {', '.join(option.choices)}")
    if option.kind is Kind.OPTIONAL_VALUE and value != option.const:
        # shot_changes: a list is a file on the server's disk; reading one a client names
        # would let it probe files outside the libraries.
        raise UsageError(key, f'a job may ask for "{option.const}"; a file is serve\'s option')
    return value


def as_make_options(keywords: Mapping[str, Any]) -> dict[str, Any]:
    """Checked job keywords as `make_options` takes them (speed "max" -> None)."""
    made = dict(keywords)
    for key, value in keywords.items():
        option = BY_KEYWORD.get(key)
        if option is not None and option.parse is not None and isinstance(value, str):
            made[key] = option.parse(value)
    return made


def _example(option: Declared) -> str:
    return {"targets": '["en", "ja"]', "formats": '["srt", "vtt"]'}.get(option.keyword, '["ja"]')
