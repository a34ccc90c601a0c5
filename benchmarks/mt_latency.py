"""What Qwen-MT adds to a cue's latency, at 1x, against the local emulator.

    python -m benchmarks.mt_latency                     # the lecture, 3 runs, no answer delay
    python -m benchmarks.mt_latency --mt-delay-s 0.5    # the translator answers 0.5 s late

`subtitler run --speed 1 --json` on the English lecture (`-s en -t es,ar,th`: one recognition
task, three Qwen-MT targets sharing the run's pacer), against the emulator's Gummy and Qwen-MT
endpoints. Per sentence and target, the time from the moment its source line is shown (the
`partial` event with no translation yet, when the recognised sentence reaches the target) to its
cue being written (`sentence`): what translation adds, the request, the pacing under the RPM and
the writes included. Prints p50, p95 and max in ms, per run and over every run, as JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from subtitler.emulator.config import EmulatorConfig
from subtitler.emulator.server import BackgroundEmulator

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "en_lecture_44k.wav"


def one_run(url: str, targets: str, rpm: int | None) -> list[float]:
    with tempfile.TemporaryDirectory() as folder:
        media = Path(folder) / FIXTURE.name
        media.write_bytes(FIXTURE.read_bytes())
        command = [sys.executable, "-m", "subtitler", "run", str(media), "-s", "en", "-t",
                   targets, "--speed", "1", "--endpoint", url, "--json"]  # fmt: skip
        if rpm is not None:
            command += ["--mt-rpm", str(rpm)]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
    shown: dict[tuple[str, int], float] = {}
    added_ms: list[float] = []
    for line in done.stdout.splitlines():
        event = json.loads(line)
        key = (event.get("target", ""), event.get("sentence_id", -1))
        if event["event"] == "partial" and not event["translation"]:
            shown.setdefault(key, event["at"])
        elif event["event"] == "sentence" and key in shown:
            added_ms.append((event["at"] - shown[key]) * 1000)
    return added_ms


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--targets", default="es,ar,th")
    parser.add_argument("--mt-delay-s", type=float, default=0.0)
    parser.add_argument("--mt-rpm", type=int, default=None, help="the run's --mt-rpm")
    arguments = parser.parse_args()
    every: list[float] = []
    runs = []
    config = EmulatorConfig(mt_delay_s=arguments.mt_delay_s)
    with BackgroundEmulator(config) as emulator:
        for _ in range(arguments.runs):
            added = one_run(emulator.url, arguments.targets, arguments.mt_rpm)
            every += added
            runs.append({"cues": len(added), "p50_ms": round(statistics.median(added), 1),
                         "p95_ms": round(percentile(added, 0.95), 1),
                         "max_ms": round(max(added), 1)})  # fmt: skip
    print(json.dumps({
        "targets": arguments.targets, "mt_delay_s": arguments.mt_delay_s,
        "mt_rpm": arguments.mt_rpm, "runs": runs,
        "all": {"cues": len(every), "p50_ms": round(statistics.median(every), 1),
                "p95_ms": round(percentile(every, 0.95), 1)},
    }, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
