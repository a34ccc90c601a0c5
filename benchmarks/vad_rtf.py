"""What the speech detector costs: CPU seconds per second of audio, per stream, per kind of audio.

    python -m benchmarks.vad_rtf                          # every kind, with and without the floor
    python -m benchmarks.vad_rtf --streams 32 --seconds 10   # also N streams paced at 1x

1. rtf: subtitler.sources.speech.SpeechDetector over each gating fixture (decoded once, then
   pushed in 100 ms frames as the engine pushes them), with the level floor (the defaults: a
   file's, speech decided in groups), as for a live input (every window at once), and without
   the floor (floor -inf: every window goes to Silero). CPU is user+system of this process
   (rusage), so the figure does not depend on how busy the machine is, only on its speed.
   `neural` is the share of windows the model ran on.
2. the cost of 128 streams at 1x: 128 x rtf CPU seconds per second, and that as a share of this
   machine's cores (over 100%: the machine cannot keep up).
3. with --streams N: N detectors in this one thread (as on one event loop), each pushed a 100 ms
   frame of the composite (each from its own offset) every 100 ms of wall time for --seconds;
   prints the CPU share and the worst lag (how late a tick's work finished after its deadline).

Prints one JSON object; the machine's load average is in it (other users' load slows part 3,
not parts 1 and 2).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import sys
import time
from pathlib import Path

from benchmarks.vad_eval import decode
from subtitler.sources.speech import WINDOW_MS, GateSettings, SpeechDetector

ROOT = Path(__file__).resolve().parents[1]
GATING = ROOT / "fixtures" / "gating"
FRAME_BYTES = 3200  # 100 ms of 16 kHz mono s16le, the engine's frame
BYTES_PER_S = 32000
STREAMS = 128


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def by_kind() -> dict[str, bytes]:
    """Each kind's fixtures decoded and joined (the composite kept apart: a film-like mix)."""
    kinds: dict[str, bytearray] = {}
    for path in sorted(GATING.glob("*.json")):
        truth = json.loads(path.read_text(encoding="utf-8"))
        kind = "composite" if truth["kind"] == "composite" else truth["kind"]
        kinds.setdefault(kind, bytearray()).extend(decode(GATING / truth["media"], 0))
    return {kind: bytes(pcm) for kind, pcm in kinds.items()}


def measure(pcm: bytes, settings: GateSettings, rounds: int) -> dict[str, float]:
    spent = 0.0
    neural = windows = 0
    for _ in range(rounds):
        detector = SpeechDetector(settings)
        before = cpu_s()
        for at in range(0, len(pcm), FRAME_BYTES):
            detector.push(pcm[at : at + FRAME_BYTES])
        detector.flush()
        spent += cpu_s() - before
        neural, windows = detector.neural_windows, detector.windows
    audio_s = len(pcm) / BYTES_PER_S * rounds
    rtf = spent / audio_s
    cores = os.cpu_count() or 1
    return {
        "audio_s": round(audio_s, 1),
        "rtf": round(rtf, 5),
        "neural": round(neural / windows, 3) if windows else 0.0,
        f"cpu_s_per_s_{STREAMS}_streams": round(STREAMS * rtf, 2),
        f"machine_share_{STREAMS}_streams": round(STREAMS * rtf / cores, 3),
    }


def paced(pcm: bytes, streams: int, seconds: float) -> dict[str, float]:
    """N detectors on one thread at 1x: CPU share and the worst lag behind the clock."""
    live = GateSettings(probe_every=1)  # live inputs decide every window as it comes
    detectors = [SpeechDetector(live) for _ in range(streams)]
    offsets = [
        (index * len(pcm) // max(1, streams)) // FRAME_BYTES * FRAME_BYTES
        for index in range(streams)
    ]
    ticks = int(seconds * 10)
    worst_lag_s = 0.0
    start_wall, start_cpu = time.monotonic(), cpu_s()
    for tick in range(ticks):
        deadline = start_wall + (tick + 1) * 0.1
        for detector, offset in zip(detectors, offsets, strict=True):
            at = (offset + tick * FRAME_BYTES) % (len(pcm) - FRAME_BYTES)
            detector.push(pcm[at : at + FRAME_BYTES])
        now = time.monotonic()
        worst_lag_s = max(worst_lag_s, now - deadline)
        if now < deadline:
            time.sleep(deadline - now)  # the pace of live audio, not synchronisation
    wall = time.monotonic() - start_wall
    cores = os.cpu_count() or 1
    return {
        "streams": streams,
        "seconds": seconds,
        "cpu_share_of_one_core": round((cpu_s() - start_cpu) / wall, 3),
        "machine_share": round((cpu_s() - start_cpu) / wall / cores, 3),
        "worst_lag_s": round(max(0.0, worst_lag_s), 3),
        "kept_real_time": worst_lag_s <= 1.0,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=1, help="passes over each kind's audio")
    parser.add_argument("--streams", type=int, default=0, help="also run N streams paced at 1x")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long the paced run lasts")
    parser.add_argument("--kinds", default="", help="comma-separated kinds (default: all)")
    arguments = parser.parse_args()
    kinds = by_kind()
    if arguments.kinds:
        kinds = {k: v for k, v in kinds.items() if k in arguments.kinds.split(",")}
    result: dict[str, object] = {
        "window_ms": WINDOW_MS,
        "cores": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "with_floor": {},
        "with_floor_live": {},
        "without_floor": {},
    }
    warm = SpeechDetector(GateSettings(floor_db=-math.inf))  # once per process: imports, weights
    warm.push(next(iter(kinds.values()))[:BYTES_PER_S])
    for kind, pcm in kinds.items():
        result["with_floor"][kind] = measure(pcm, GateSettings(), arguments.rounds)  # type: ignore[index]
        result["with_floor_live"][kind] = measure(  # type: ignore[index]
            pcm, GateSettings(probe_every=1), arguments.rounds
        )
        result["without_floor"][kind] = measure(  # type: ignore[index]
            pcm, GateSettings(floor_db=-math.inf), arguments.rounds
        )
    if arguments.streams:
        composite = kinds.get("composite") or next(iter(kinds.values()))
        result["paced"] = paced(composite, arguments.streams, arguments.seconds)
    result["load_average_1m_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
