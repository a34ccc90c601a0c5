"""How the emulator behaves, and the service's names and error codes it answers with."""

from __future__ import annotations

from dataclasses import dataclass, field

from subtitler.emulator.vad import (
    VadOptions,
)

MODEL = "gummy-realtime-v1"
FUN_ASR_MODELS = frozenset({"fun-asr-realtime", "fun-asr-realtime-2025-11-07"})
"""Fun-ASR realtime, on the same WebSocket endpoint: the run-task's model decides."""
FUN_ASR_LANGUAGES = ("zh", "en", "ja")
CJK_LANGUAGES = frozenset({"zh", "ja", "yue", "ko"})

# Error codes and messages in the platform's style (the Model Studio error-code page and the
# Gummy reference); the SDK passes them through as `code` / `message` with status 44.
INVALID_PARAMETER = "InvalidParameter"
MODEL_NOT_FOUND = "ModelNotFound"
THROTTLING = "Throttling.RateQuota"
INTERNAL_ERROR = "InternalError"
CLIENT_ERROR = "CLIENT_ERROR"
THROTTLING_MESSAGE = "Requests rate limit exceeded, please try again later."
INTERNAL_ERROR_MESSAGE = (
    "An internal error has occured, please try again later or contact service support."
)


@dataclass(frozen=True)
class EmulatorConfig:
    """How the emulator behaves; the fault modes are off by default."""

    api_key: str | None = None
    """When set, a handshake with any other bearer key is refused (HTTP 401, invalid key)."""
    max_concurrent_tasks: int | None = None
    """More running tasks than this -> `task-failed` with a throttling code."""
    latency_ms: int = 0
    """Delay before every result (and the `task-finished` after them) is sent."""
    drop_after_audio_ms: int | None = None
    """Abort the TCP connection once a task has received this much audio."""
    fail_after_audio_ms: int | None = None
    """Send `task-failed` (internal error) once a task has received this much audio."""
    faults_max: int | None = None
    """How many drop/fail faults to inject in all (None: every task that gets that far)."""
    fault_seed: int | None = None
    """When set, each task draws its own fault point between 500 ms and the *_after_audio_ms
    value (a seeded random point), instead of all tasks faulting at the same one."""
    split_final_translation: bool = False
    """Send a sentence's final transcription and its final translations in two events."""
    partial_interval_ms: int = 200
    """Audio between two partial results of a growing sentence."""
    max_task_audio_ms: int | None = None
    """A cap on a task's length: more audio than this fails the task (clients must roll over
    to a new task before it)."""
    idle_timeout_s: float = 23.0
    """No audio for this long fails the task, as the service does after 23 s (0: never)."""
    max_task_rate: float | None = 10.0
    """Task submissions accepted per second (sliding one-second window), as the service's
    per-account limit; more are refused with a throttling `task-failed` (None: no limit)."""
    result_shape: str = "split"
    """How result sentences are shaped: one of RESULT_SHAPES (the service's own vary)."""
    handshake_status: int | None = None
    """Refuse handshakes with this HTTP status (429, 503, ...) ..."""
    handshake_refusals: int | None = None
    """... this many times (None: every time)."""
    vad: VadOptions = field(default_factory=VadOptions)
    funasr_silence_cutoff_s: float = 60.0
    """Fun-ASR without `heartbeat`: this much continuous silent audio fails the task (the
    service's 60 s is from one source; 0: never)."""
    mt_rpm: int | None = None
    """Qwen-MT requests per model and key in a sliding minute; more get HTTP 429
    `Throttling.RateQuota` (None: no limit; the reference gives 60 for qwen-mt-turbo)."""
    mt_tpm: int | None = None
    """Qwen-MT tokens (prompt and answer) per model and key in a sliding minute; more get
    HTTP 429 `Throttling.AllocationQuota` (None: no limit)."""
    mt_delay_s: float = 0.0
    """Qwen-MT: seconds before every answer."""
    mt_throttle_burst: int = 0
    """Qwen-MT: the next N well-formed requests get HTTP 429 `Throttling.RateQuota`."""
    mt_internal_errors: int = 0
    """Qwen-MT: then the next N get HTTP 500 `InternalError`."""
    mt_slow_answers: int = 0
    """Qwen-MT: then the next N are answered `mt_slow_s` late."""
    mt_slow_s: float = 6.0
    mt_accept_codes: bool = False
    """Qwen-MT: accept language codes (`es`) besides English names (`Spanish`); the guide says
    it does, the API reference names only the English names."""

    def __post_init__(self) -> None:
        # 0 would refuse every task, silently: the command line's `--max-task-rate 0` means
        # no limit, which is None here
        if self.max_task_rate is not None and not self.max_task_rate > 0:
            raise ValueError("max_task_rate must be more than 0 (None: no limit)")


RESULT_SHAPES = (
    "split",  # word text without punctuation, punctuation in its own field (the default)
    "leading-space",  # word text with a leading space, as the service sends for some languages
    "inline-punctuation",  # punctuation inside the word's text, the field empty
    "no-punctuation-field",  # punctuation inside the word's text, no such field
    "no-words",  # sentences without a word list
    "partial-without-words",  # only partials lack their word list (the SDK cannot parse them)
    "extra-fields",  # fields a client may not know: stash, speaker_id, vad_pre_end, ...
)
