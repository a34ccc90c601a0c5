"""What a run reports while it works: typed events, observed by views (never in the data path).

Built with keywords only: several fields of one type side by side (`begin_ms`/`end_ms`,
`latency_ms`/`write_ms`, `transcript`/`translation`) must not be swapped unseen."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from subtitler.layout.cues import Cue


class Status(Enum):
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"
    INTERRUPTED = "interrupted"
    """Stopped (Ctrl-C, SIGTERM, a closed stdout) before the end: the next run resumes it."""


@dataclass(frozen=True, kw_only=True)
class TaskMetrics:
    """The SDK's own figures for one Gummy task (one target language)."""

    target: str
    request_id: str
    first_package_delay_ms: float | None
    last_package_delay_ms: float | None


@dataclass(frozen=True, kw_only=True)
class TranslationUsage:
    """What an input's Qwen-MT targets asked of the translator (its tokens are what it bills)."""

    requests: int
    input_tokens: int
    output_tokens: int


@dataclass(frozen=True, kw_only=True)
class InputResult:
    """How one input ended."""

    path: Path
    status: Status
    reason: str = ""
    sentences: int = 0
    audio_ms: int = 0
    wall_s: float = 0.0
    tasks: tuple[TaskMetrics, ...] = ()
    tracks: tuple[Path, ...] = ()
    resumes: int = 0
    """Tasks restarted after a dropped connection or a retryable error (or throttling)."""
    streaming_s: float | None = None
    """From the first audio sent to the end (`wall_s` without the probe and the start pacing)."""
    label: str = ""
    """How the input is shown (its path as given, a URL, `-`); every event carries it."""
    resumed_at_ms: int | None = None
    """Where this run took the input up, when it continued an unfinished earlier run
    (`sentences` counts both runs')."""
    translation: TranslationUsage | None = None
    """Qwen-MT's requests and tokens, when the input had a target it translated."""
    sent_ms: int | None = None
    """Audio sent to the service by all the input's tasks (what it bills, each target's task
    counted); None without the speech gate."""
    skipped_ms: int | None = None
    """The speech gate: the input's audio decoded but not sent (non-speech); None without it."""


@dataclass(frozen=True, kw_only=True)
class InputQueued:
    """`watch`: a file waits for a free slot (found at start, new, or replaced)."""

    path: Path
    label: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class InputStarted:
    """An input's audio starts to stream (its tracks open beside it)."""

    path: Path
    label: str
    duration_ms: int | None
    tracks: tuple[Path, ...]
    resumed_at_ms: int | None = None
    """Where this run takes the input up, when it continues an unfinished earlier run."""
    audio_stream: int | None = None
    """The audio stream heard (`--audio-stream`'s numbering)."""
    audio_reason: str | None = None
    """Why that stream: `--audio-stream N`, the tag `--audio-language` found, or none found."""


@dataclass(frozen=True, kw_only=True)
class AudioProgress:
    """About once a second: how much of the input's audio has been sent."""

    path: Path
    sent_ms: int
    """The stream time the audio has reached (decoded, and sent unless it is skipped)."""
    label: str = ""
    sending: bool = True
    """False while the speech gate skips non-speech: nothing is being sent to the service."""


@dataclass(frozen=True, kw_only=True)
class PartialText:
    """The sentence being spoken, as the service recognises and translates it so far (it
    changes until the sentence is final: a `CueWritten` follows)."""

    path: Path
    target: str
    sentence_id: int
    transcript: str
    translation: str
    label: str = ""


@dataclass(frozen=True, kw_only=True)
class CueWritten:
    """A finished sentence, now durable in the input's tracks for `target`: as `cues` (a long
    sentence is split), or as a revision of the last cue (`revised`: merged with it, or the
    last cue shortened to keep its gap before this one)."""

    path: Path
    target: str
    sentence_id: int
    transcript: str
    translation: str
    cues: tuple[Cue, ...]
    revised: Cue | None = None
    tracks: tuple[Path, ...] = field(default=())
    begin_ms: int = 0
    """The sentence's speech, on the media timeline."""
    end_ms: int = 0
    latency_ms: float | None = None
    """From the moment the end of this sentence's audio was sent to its cue being on disk."""
    write_ms: float | None = None
    """From the service's final result reaching the client to the cue being on disk."""
    label: str = ""


@dataclass(frozen=True)
class InputEnded:
    """An input is over: done, failed, skipped or interrupted, as `result` says."""

    result: InputResult


Event = InputQueued | InputStarted | AudioProgress | PartialText | CueWritten | InputEnded


def label_of(event: Event) -> str:
    """The input's label as every event carries it (its path when a caller gave none)."""
    if isinstance(event, InputEnded):
        return event.result.label or str(event.result.path)
    return event.label or str(event.path)
