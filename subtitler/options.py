"""Run options, built in one place: the CLI takes its defaults from here and calls `make_options`,
the constructor the Python API uses too. Every check a user can fail is a `UsageError`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, TypeGuard, TypeVar

from subtitler.errors import UsageError
from subtitler.gummy.client import ClientKind
from subtitler.gummy.cost import Prices
from subtitler.gummy.environment import (
    REGIONS,
    Region,
    resolve_endpoint,
    resolve_key,
    resolve_region,
)
from subtitler.gummy.protocol import FUN_ASR_MODEL, GummySettings
from subtitler.languages import (
    Recognizer,
    Translator,
    check_mt_targets,
    check_recognizer,
    choose_recognizer,
    choose_translators,
    language_of_tag,
    parse_targets,
)
from subtitler.layout.frames import TIMECODE, FrameRate, parse_frame_rate
from subtitler.layout.rules import CAPTION_COLUMNS, CAPTION_ROWS, CueRules
from subtitler.layout.scripts import cea608_refusal
from subtitler.qwenmt.protocol import DEFAULT_MODEL as DEFAULT_MT_MODEL
from subtitler.qwenmt.protocol import MODELS as MT_MODELS
from subtitler.qwenmt.protocol import MtSettings

if TYPE_CHECKING:
    from subtitler.sources.media import HlsMedia

DEFAULT_SPEED = 10.0


class Layout(Enum):
    """Which tracks each target gets (see `tracks.plan_tracks`)."""

    BILINGUAL = "bilingual"
    SEPARATE = "separate"
    BOTH = "both"


class TrackFormat(Enum):
    """A subtitle file format every track is written in (see `subtitler.tracks`)."""

    SRT = "srt"
    VTT = "vtt"
    ASS = "ass"
    TTML = "ttml"
    EBU_TT_D = "ebu-tt-d"
    SCC = "scc"


def parse_formats(
    spec: str | TrackFormat | tuple[TrackFormat | str, ...] | list[str],
) -> tuple[TrackFormat, ...]:
    """`srt,vtt,ass` (or a sequence) as formats, in order, each once."""
    parts = (
        spec.split(",")
        if isinstance(spec, str)
        else [spec]
        if isinstance(spec, TrackFormat)
        else list(spec)
    )
    chosen: list[TrackFormat] = []
    for part in parts:
        name = part.value if isinstance(part, TrackFormat) else part.strip().lower()
        if not name:
            continue
        try:
            format_ = TrackFormat(name)
        except ValueError as error:
            known = ", ".join(f.value for f in TrackFormat)
            raise UsageError("--format", f"{name!r} is not a format (known: {known})") from error
        if format_ not in chosen:
            chosen.append(format_)
    if not chosen:
        raise UsageError("--format", "give at least one format")
    return tuple(chosen)


@dataclass(frozen=True, kw_only=True)
class VadSettings:
    """`--vad on`: the speech gate's thresholds (`engine/gate.py`): non-speech is not sent."""

    threshold: float = 0.5
    """Speech probability from which a window is speech."""
    min_gap_ms: int = 2000
    """Non-speech shorter than this is sent anyway."""
    margin_ms: int = 500
    """Real audio kept on each side of speech (after it, at least the service's end silence).
    The defaults are `sources.speech.GateSettings`' (measured there; not imported, so that
    `--help` loads no numpy)."""
    probe_every: int = 12
    """Inside speech the detector decides windows in groups of this many (its model then runs
    on a quarter of them); a live input's are decided one by one (no wait)."""


DEFAULT_VAD = VadSettings()


@dataclass(frozen=True)
class RunOptions:
    """Everything a run needs besides its inputs."""

    targets: tuple[str, ...]
    gummy: GummySettings
    client: ClientKind = ClientKind.NATIVE
    speed: float | None = DEFAULT_SPEED
    """Multiple of real time the audio is sent at; None sends as fast as it decodes."""
    audio_stream: int = 0
    out_dir: Path | None = None
    overwrite: bool = False
    jobs: int = 4
    layout: Layout = Layout.BILINGUAL
    formats: tuple[TrackFormat, ...] = (TrackFormat.SRT, TrackFormat.VTT)
    rules: CueRules = field(default_factory=CueRules)
    retries: int = 5
    """Counted failures (drops, internal errors) tolerated per target before the input fails."""
    retry_delay_s: float = 0.5
    """First backoff; doubled after each failure (capped at 30 s), with jitter."""
    rollover_after_ms: int | None = 30 * 60 * 1000
    """A task that has streamed this long is replaced by a new one (live inputs run for hours)."""
    max_task_rate: float | None = 10.0
    """Task submissions per second for the whole run (the service's limit is per account)."""
    stall_finish_s: float = 15.0
    """A task that gets no audio this long is finished cleanly (the service ends it at 23 s);
    a new one starts when audio flows again."""
    skip_subtitled: bool = False
    """Skip an input when every target already has subtitles (embedded or a sidecar)."""
    audio_languages: tuple[str, ...] = ()
    """Pick the audio stream by its language tag, in this order of preference."""
    hls: HlsMedia | None = None
    """`--hls`: the decoding ffmpeg also remuxes the input into HLS segments."""
    budget: float | None = None
    """`--budget`: inputs whose estimate would take the run past it are not started."""
    prices: Prices = field(default_factory=Prices)
    frame_rate: FrameRate | str = "auto"
    """`--frame-rate`: cue times on frame boundaries: "auto" (the video's own rate; audio
    alone: milliseconds), a `FrameRate` (any input), or "off" (milliseconds)."""
    timecode_start: str | None = None
    """`--timecode-start`: TTML and EBU-TT-D times on the master's timecode (`HH:MM:SS:FF`, or
    "auto": the video's own tag)."""
    shot_changes: Path | str | None = None
    """`--shot-changes`: "detect" (ffmpeg's scdet on the video) or a file listing them; cues
    are timed to them on the frame grid."""
    translators: Mapping[str, Translator] = field(default_factory=dict)
    """Per target, who translates it (`languages.choose_translators`); absent: Gummy."""
    recognizer: Recognizer = Recognizer.GUMMY
    """Who recognises when no Gummy target's task does (Fun-ASR outside Beijing)."""
    region: Region = REGIONS["cn"]
    """Where every endpoint is (the key is region-bound)."""
    mt: MtSettings | None = None
    """Qwen-MT's settings (used when a target is translated by it)."""
    glossary_terms: Mapping[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    """Per Qwen-MT target, the glossary's terms (`translation_options.terms`)."""

    forced_translator: Translator | None = None
    """`--translator gummy|qwen-mt`; None: auto."""
    vad: VadSettings | None = None
    """The speech gate (`--vad on`, `make_options`' default); None sends every second."""

    def for_targets(self, targets: tuple[str, ...], source_language: str | None) -> RunOptions:
        """These options for other targets and source (serve's requests): translators chosen
        again, as `make_options` chooses them (a UsageError for what cannot be done)."""
        chosen = parse_targets(",".join(targets))
        translators = choose_translators(source_language=source_language, targets=chosen,
                                         recognizer=self.recognizer,
                                         forced=self.forced_translator)  # fmt: skip
        machine = {t: who for t, who in translators.items() if who is Translator.QWEN_MT}
        model = self.mt.model if self.mt is not None else DEFAULT_MT_MODEL
        check_mt_targets(tuple(machine), model)
        gummy = replace(self.gummy, source_language=source_language)
        return replace(self, targets=chosen, translators=machine, gummy=gummy)

    def translator_of(self, target: str) -> Translator:
        return self.translators.get(target, Translator.GUMMY)

    def terms_of(self, target: str) -> tuple[tuple[str, str], ...]:
        return tuple(self.glossary_terms.get(target, ()))

    def recognition_only(self, live: bool) -> RunOptions:
        """The options of a recognition-only task (every running target is Qwen-MT's): Gummy
        without translation, or Fun-ASR (its heartbeat on for a live source's pauses)."""
        model = FUN_ASR_MODEL if self.recognizer is Recognizer.FUN_ASR else self.gummy.model
        gummy = replace(self.gummy, translation_enabled=False, model=model, heartbeat=live)
        return replace(self, gummy=gummy)


DEFAULTS = RunOptions(targets=("en",), gummy=GummySettings(api_key=""))


def make_options(
    targets: tuple[str, ...] | list[str] = ("en",),
    *,
    source_language: str | None = None,
    api_key: str | None = None,
    endpoint: str | None = None,
    client: ClientKind | str = DEFAULTS.client,
    speed: float | None = DEFAULTS.speed,
    jobs: int = DEFAULTS.jobs,
    out_dir: Path | str | None = None,
    layout: Layout | str = DEFAULTS.layout,
    formats: str | tuple[TrackFormat | str, ...] | list[str] = DEFAULTS.formats,
    overwrite: bool = False,
    audio_stream: int = 0,
    rules: CueRules | None = None,
    vocabulary_id: str | None = None,
    max_end_silence_ms: int | None = None,
    retries: int = DEFAULTS.retries,
    retry_delay_s: float = DEFAULTS.retry_delay_s,
    rollover_after_s: float | None = 1800.0,
    max_task_rate: float | None = DEFAULTS.max_task_rate,
    stall_finish_s: float = DEFAULTS.stall_finish_s,
    skip_subtitled: bool = False,
    audio_languages: tuple[str, ...] | list[str] | str = (),
    budget: float | None = None,
    prices: Prices | str | None = None,
    frame_rate: FrameRate | str = "auto",
    timecode_start: str | None = None,
    shot_changes: Path | str | None = None,
    translator: Translator | str = "auto",
    recognizer: Recognizer | str | None = None,
    region: str | None = None,
    mt_model: str = DEFAULT_MT_MODEL,
    mt_domains: str | None = None,
    mt_rpm: int | None = None,
    mt_tpm: int | None = None,
    mt_context: int = 3,
    mt_timeout_s: float = 10.0,
    mt_batch: int = 1,
    vad: str | bool = "on",
    vad_threshold: float = DEFAULT_VAD.threshold,
    vad_min_gap_ms: int = DEFAULT_VAD.min_gap_ms,
    vad_margin_ms: int = DEFAULT_VAD.margin_ms,
) -> RunOptions:
    """Checked RunOptions. The key and endpoint default to the environment (DASHSCOPE_API_KEY,
    DASHSCOPE_WEBSOCKET_BASE_URL); a local endpoint needs no key."""
    chosen = tuple(t.strip().lower() for t in targets if t.strip())
    if not chosen:
        raise UsageError("--target", "give at least one target language")
    source = source_language.lower() if source_language else None
    if source == "auto":
        source = None
    chosen = parse_targets(",".join(chosen))
    url = resolve_endpoint(endpoint)
    where = resolve_region(region, url)
    chosen_recognizer = None
    if recognizer not in (None, "auto"):
        chosen_recognizer = _enum(Recognizer, recognizer, "--recognizer")
    heard_by = choose_recognizer(has_gummy=where.has_gummy, forced=chosen_recognizer)
    check_recognizer(source, heard_by)
    forced = None if translator in ("auto", None) else _enum(Translator, translator, "--translator")
    translators = choose_translators(
        source_language=source, targets=chosen, recognizer=heard_by, forced=forced
    )
    if mt_model not in MT_MODELS:
        known = ", ".join(MT_MODELS)
        raise UsageError("--mt-model", f"{mt_model!r} is not a Qwen-MT model ({known})")
    check_mt_targets(tuple(t for t, who in translators.items() if who is Translator.QWEN_MT),
                     mt_model)  # fmt: skip
    if mt_batch < 1:
        raise UsageError("--mt-batch", "must be at least 1")
    if mt_context < 0 or mt_timeout_s <= 0:
        raise UsageError("--mt-context/--mt-timeout", "must be 0 or more / more than 0")
    if (mt_rpm is not None and mt_rpm < 1) or (mt_tpm is not None and mt_tpm < 1):
        raise UsageError("--mt-rpm/--mt-tpm", "must be at least 1")
    if jobs < 1:
        raise UsageError("--jobs", "must be at least 1")
    if audio_stream < 0:
        raise UsageError("--audio-stream", "must be 0 or more")
    if rollover_after_s is not None and not rollover_after_s >= 1:
        raise UsageError("--rollover-after", "must be at least 1 second")
    if retries < 0 or not retry_delay_s >= 0:
        raise UsageError("--retries/--retry-delay", "must be 0 or more")
    if max_end_silence_ms is not None and not 200 <= max_end_silence_ms <= 6000:
        raise UsageError("--max-end-silence", "must be 200..6000 ms")
    if max_task_rate is not None and not max_task_rate > 0:
        raise UsageError("--max-task-rate", "must be more than 0")
    if not 1 <= stall_finish_s <= 22:
        raise UsageError("--stall-finish-after", "must be 1..22 s (the service ends a task at 23)")
    if speed is not None and not speed > 0:
        raise UsageError("--speed", "must be more than 0")
    gate = _vad(vad, vad_threshold, vad_min_gap_ms, vad_margin_ms)
    try:
        kind = ClientKind(client)
        chosen_layout = Layout(layout)
    except ValueError as error:
        raise UsageError("--client/--layout", str(error)) from error
    if isinstance(audio_languages, str):
        audio_languages = audio_languages.split(",")
    wanted_audio = tuple(code.strip().lower() for code in audio_languages if code.strip())
    unknown = [code for code in wanted_audio if language_of_tag(code) is None]
    if unknown:
        raise UsageError("--audio-language", f"{', '.join(unknown)}: not a language code")
    if budget is not None and not budget >= 0:
        raise UsageError("--budget", "must be 0 or more")
    chosen_prices = prices if isinstance(prices, Prices) else Prices.parse(prices)
    frames: FrameRate | str = frame_rate
    if isinstance(frame_rate, str) and frame_rate.strip().lower() in ("auto", "off"):
        frames = frame_rate.strip().lower()
    elif isinstance(frame_rate, str):
        frames = parse_frame_rate(frame_rate)
    start = timecode_start.strip() if timecode_start else None
    if start is not None and start != "auto" and not TIMECODE.fullmatch(start):
        raise UsageError(
            "--timecode-start", f"{start!r}: give HH:MM:SS:FF (;FF drop-frame) or auto"
        )
    chosen_formats = parse_formats(formats)
    chosen_rules = rules or CueRules()
    if TrackFormat.SCC in chosen_formats:
        chosen_rules = _rules_for_scc(source, chosen, chosen_layout, chosen_rules)
    key = api_key or resolve_key(url)
    mt = MtSettings(
        api_key=key,
        compatible_url=where.compatible_url,
        http_url=where.http_url,
        model=mt_model,
        domains=mt_domains.strip() if mt_domains and mt_domains.strip() else None,
        timeout_s=mt_timeout_s,
        retries=retries,
        rpm=mt_rpm,
        tpm=mt_tpm,
        context_pairs=mt_context,
        batch_sentences=mt_batch,
    )
    return RunOptions(
        targets=chosen,
        translators={t: who for t, who in translators.items() if who is Translator.QWEN_MT},
        recognizer=heard_by,
        region=where,
        mt=mt,
        forced_translator=forced,
        gummy=GummySettings(
            api_key=key,
            endpoint=url if url is not None or where.name == "cn" else where.websocket_url,
            source_language=source,
            vocabulary_id=vocabulary_id,
            max_end_silence_ms=max_end_silence_ms,
        ),
        client=kind,
        speed=speed,
        audio_stream=audio_stream,
        out_dir=Path(out_dir) if out_dir is not None else None,
        overwrite=overwrite,
        jobs=jobs,
        layout=chosen_layout,
        formats=chosen_formats,
        rules=chosen_rules,
        retries=retries,
        retry_delay_s=retry_delay_s,
        rollover_after_ms=round(rollover_after_s * 1000) if rollover_after_s else None,
        max_task_rate=max_task_rate,
        stall_finish_s=stall_finish_s,
        skip_subtitled=skip_subtitled,
        audio_languages=wanted_audio,
        budget=budget,
        prices=chosen_prices,
        frame_rate=frames,
        timecode_start=start,
        shot_changes=_shot_changes(shot_changes, frames),
        vad=gate,
    )


def _vad(vad: str | bool, threshold: float, min_gap_ms: int, margin_ms: int) -> VadSettings | None:
    """`--vad on|off` and its thresholds, checked."""
    state = {"on": True, "off": False}.get(str(vad).lower()) if isinstance(vad, str) else vad
    if state is None:
        raise UsageError("--vad", f"{vad!r}: give on or off")
    if not 0 < threshold < 1:
        raise UsageError("--vad-threshold", "must be between 0 and 1")
    if not 0 <= margin_ms <= 5000:
        raise UsageError("--vad-margin", "must be 0..5000 ms")
    if not min_gap_ms >= 2 * margin_ms or min_gap_ms > 600_000:
        raise UsageError(
            "--vad-min-gap", "must be at least twice --vad-margin (and 600000 ms at most)"
        )
    if not state:
        return None
    return VadSettings(threshold=threshold, min_gap_ms=min_gap_ms, margin_ms=margin_ms)


E = TypeVar("E", bound=Enum)


def _enum(kind: type[E], given: E | str, flag: str) -> E:
    if isinstance(given, kind):
        return given
    try:
        return kind(str(given).strip().lower())
    except ValueError as error:
        known = ", ".join(str(member.value) for member in kind)
        raise UsageError(flag, f"{given!r} is not one of {known}") from error


def _rules_for_scc(
    source: str | None, targets: tuple[str, ...], layout: Layout, rules: CueRules
) -> CueRules:
    """SCC carries Latin-script text in 32 columns and 4 rows: at least one track must be in
    such languages (else a usage error naming the language), and their cues are laid out to
    fit (one cue stream feeds every format, so the other formats' cues fit too)."""
    latin = [language for language in (source, *targets) if _carried(language)]
    bilingual = layout in (Layout.BILINGUAL, Layout.BOTH)
    paired = bilingual and _carried(source) and any(_carried(t) for t in targets)
    alone = layout in (Layout.SEPARATE, Layout.BOTH) and bool(latin)
    if not (paired or alone):
        if layout is Layout.SEPARATE:
            named = ", ".join(language for language in (source, *targets) if language)
            raise UsageError("--format", f"scc: SCC carries Latin-script text only, and no "
                             f"track here is in a Latin-script language ({named})")  # fmt: skip
        if source is None:
            raise UsageError("--format", "scc: SCC carries Latin-script text only, and the "
                             "source language is detected (-s auto): name it with -s, or give "
                             "--layout separate for SCC tracks of the translations")  # fmt: skip
        other = next(x for x in (source, *targets) if not _carried(x))
        pair = f"{source}-{'/'.join(targets)}"
        advice = (
            f"give --layout separate for {', '.join(latin)}-only SCC tracks"
            if latin else "no language here is Latin-script"
        )  # fmt: skip
        raise UsageError("--format", f"scc: SCC carries Latin-script text only, and the "
                         f"bilingual {pair} track has {other} lines: {advice}")  # fmt: skip
    rows_per_language = CAPTION_ROWS // 2 if bilingual else CAPTION_ROWS
    languages = dict(rules.languages)
    for language in latin:
        base = rules.for_language(language)
        languages[language] = replace(
            base,
            max_line_chars=min(base.max_line_chars, CAPTION_COLUMNS),
            max_lines=min(base.max_lines, rows_per_language),
        )
    return replace(rules, languages=languages)


def _carried(language: str | None) -> TypeGuard[str]:
    """CEA-608 has every letter of its alphabet (`layout.scripts`: not Polish, Czech, ...)."""
    return language is not None and cea608_refusal(language) is None


def _shot_changes(given: Path | str | None, frames: FrameRate | str) -> Path | str | None:
    """`detect`, or a readable file; either needs a frame grid (not `--frame-rate off`)."""
    if given is None or given == "":
        return None
    if frames == "off":
        raise UsageError(
            "--shot-changes", "cues are timed to shots on frames: not with --frame-rate off"
        )
    if given == "detect":
        return "detect"
    path = Path(given)
    if not path.is_file():
        raise UsageError("--shot-changes", f"{path}: no such file")
    return path
