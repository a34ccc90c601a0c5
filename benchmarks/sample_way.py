"""The public sample's way, written afresh: one process per file from a pool, each reading
3200-byte PCM frames and sending one every 10 ms through the SDK, collecting final sentences.

The sample reads 16 kHz WAV; here each worker decodes its file with ffmpeg into a pipe first, so
both ways start from the same media. Prints one JSON line per file:
{"file", "finals", "first_package_delay_ms", "last_package_delay_ms"}.

Usage: python -m benchmarks.sample_way --endpoint URL --jobs N FILE...
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from multiprocessing import Pool
from typing import Any

FRAME_BYTES = 3200
FRAME_INTERVAL_S = 0.01


def translate_file(job: tuple[str, str, str]) -> dict[str, Any]:
    path, endpoint, ffmpeg = job
    from dashscope.audio.asr import (
        TranslationRecognizerCallback,
        TranslationRecognizerRealtime,
    )

    finals: list[str] = []
    closed = threading.Event()

    class Callback(TranslationRecognizerCallback):  # type: ignore[misc]
        def on_event(
            self, request_id: Any, transcription: Any, translation: Any, usage: Any
        ) -> None:
            if transcription is not None and transcription.is_sentence_end:
                finals.append(transcription.text)

        def on_close(self) -> None:
            closed.set()

    recognizer = TranslationRecognizerRealtime(
        model="gummy-realtime-v1",
        callback=Callback(),
        format="pcm",
        sample_rate=16000,
        transcription_enabled=True,
        translation_enabled=True,
        translation_target_languages=["en"],
        api_key="benchmark",
        base_address=endpoint,
    )
    decoder = subprocess.Popen(
        [
            ffmpeg,
            "-v",
            "error",
            "-nostdin",
            "-i",
            f"file:{path}",
            "-ac",
            "1",
            "-ar",
            "16000",
            "-f",
            "s16le",
            "pipe:",
        ],
        stdout=subprocess.PIPE,
    )
    assert decoder.stdout is not None
    recognizer.start()
    while True:
        frame = decoder.stdout.read(FRAME_BYTES)
        if not frame:
            break
        recognizer.send_audio_frame(frame)
        time.sleep(FRAME_INTERVAL_S)
    decoder.wait()
    recognizer.stop()
    closed.wait(timeout=60)
    return {
        "file": path,
        "finals": len(finals),
        "first_package_delay_ms": recognizer.get_first_package_delay(),
        "last_package_delay_ms": recognizer.get_last_package_delay(),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--ffmpeg", default="ffmpeg")
    parser.add_argument("files", nargs="+")
    arguments = parser.parse_args()
    jobs = [(path, arguments.endpoint, arguments.ffmpeg) for path in arguments.files]
    with Pool(processes=arguments.jobs) as pool:
        for result in pool.imap_unordered(translate_file, jobs):
            print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
