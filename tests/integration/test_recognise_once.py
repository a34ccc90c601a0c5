"""Recognition once per input, on the wire and on both clients: with two targets exactly one
task per input recognises, the other only translates, both tracks carry the whole transcript,
and the emulator bills recognition once. Through a mid-stream failure, rollovers at pauses, and
a Ctrl-C and rerun, the pairing holds: nothing lost, nothing doubled."""

from __future__ import annotations

import json
import math
import shutil
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from subtitler.emulator.server import BackgroundEmulator
from tests import harness
from tests.integration.test_run import ROOT, run_cli
from tests.support import H264_AAC, save_speech, speech, transcripts

NEWS = next(t for t in transcripts() if t.media.name == "zh_news.mp4")
TT = "{http://www.w3.org/ns/ttml}"
LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def spoken(track: Path, language: str) -> list[str]:
    """Each cue's text in `language` (TTML keeps each language in its own span)."""
    root = ElementTree.parse(track).getroot()
    texts = []
    for paragraph in root.iter(f"{TT}p"):
        spans = [s for s in paragraph.iter(f"{TT}span") if s.get(LANG) == language]
        texts.append("".join("".join(span.itertext()) for span in spans))
    return texts


def assert_whole_transcript(folder: Path, sentences: list[dict[str, Any]] = NEWS.sentences) -> None:
    said = "".join(sentence["text"] for sentence in sentences)
    for target in ("en", "ja"):
        track = folder / f"news.zh-{target}.ttml"
        source = spoken(track, "zh")
        assert "".join(source) == said, (target, source)  # in order, once each
        translated = spoken(track, target)
        assert all(translated), (target, translated)
        starts = [p.get("begin") for p in ElementTree.parse(track).getroot().iter(f"{TT}p")]
        assert starts == sorted(set(starts))


def test_one_task_recognises_through_a_failure_and_rollovers(
    make_emulator: Callable[..., BackgroundEmulator], tmp_path: Path, client: str
) -> None:
    server = make_emulator(fail_after_audio_ms=6_000, faults_max=1)
    shutil.copy(NEWS.media, tmp_path / "news.mp4")
    result = run_cli(
        "run", tmp_path / "news.mp4", "-t", "en,ja", "-s", "zh", "--format", "ttml,srt",
        "--speed", "max", "--rollover-after", "8", "--retry-delay", "0.05",
        "--endpoint", server.url, "--client", client,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert_whole_transcript(tmp_path)
    stats = server.server.stats
    asked = [m["payload"]["parameters"] for m in stats.run_task_messages]
    by_target: dict[str, list[bool]] = {"en": [], "ja": []}
    for parameters in asked:
        (target,) = parameters["translation_target_languages"]
        by_target[target].append(parameters["transcription_enabled"])
    assert len(by_target["en"]) >= 2 and len(by_target["ja"]) >= 2  # rollovers, a resume
    assert set(by_target["en"]) == {True} and set(by_target["ja"]) == {False}
    assert stats.count("failed") == 1
    # Billed as the service bills: recognition only for the recognising target's tasks.
    tasks = {m["header"]["task_id"]: m["payload"]["parameters"] for m in stats.run_task_messages}
    for bill in stats.bills:
        recognising = tasks[bill.task_id]["transcription_enabled"]
        assert bill.recognition_s == (math.ceil(bill.audio_ms / 1000) if recognising else 0)
        assert bill.translation_s == math.ceil(bill.audio_ms / 1000)
    audio_s = NEWS.sentences[-1]["end_ms"] / 1000
    assert stats.recognition_s < 1.6 * audio_s + 8  # once (plus a resumed stretch, rounding)
    assert stats.translation_s > 2 * audio_s - 1


def test_ctrl_c_then_a_rerun_keeps_the_pairing(
    make_emulator: Callable[..., BackgroundEmulator], tmp_path: Path, client: str
) -> None:
    server = make_emulator()
    news = speech([(NEWS, 0), (NEWS, 2), (NEWS, 4)])  # three of its sentences: 18 s, not 32
    save_speech(news, tmp_path / "news.mp4", *H264_AAC, video=True)
    arguments = ["run", str(tmp_path / "news.mp4"), "-t", "en,ja", "-s", "zh", "--format",
                 "ttml", "--speed", "6", "--endpoint", server.url, "--client", client]  # fmt: skip
    process = subprocess.Popen(
        harness.command(*arguments),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    assert process.stdout is not None
    for line in process.stdout:
        if "Transcript ==>" in line:
            process.send_signal(signal.SIGINT)
            break
    process.communicate(timeout=60)
    assert process.returncode == 130
    assert list(tmp_path.glob(".news.subtitler-state.jsonl"))
    rerun = run_cli(*arguments)
    assert rerun.returncode == 0, rerun.stderr
    assert_whole_transcript(tmp_path, news.sentences)


def test_a_target_added_later_is_a_fresh_start_not_a_resume(
    make_emulator: Callable[..., BackgroundEmulator], tmp_path: Path, client: str
) -> None:
    """`-t en` finished, then `-t en,ja`: ja starts at the beginning of a finished input, which
    continues no interrupted run (it was reported "resumed at 0:00")."""
    server = make_emulator()
    shutil.copy(NEWS.media, tmp_path / "news.mp4")
    common = ["-s", "zh", "--format", "srt", "--speed", "max", "--endpoint", server.url,
              "--client", client]  # fmt: skip
    first = run_cli("run", tmp_path / "news.mp4", "-t", "en", *common)
    assert first.returncode == 0, first.stderr
    added = run_cli("run", tmp_path / "news.mp4", "-t", "en,ja", "--json", *common)
    assert added.returncode == 0, added.stderr
    assert (tmp_path / "news.zh-ja.srt").exists()
    events = [json.loads(line) for line in added.stdout.splitlines()]
    (started,) = [event for event in events if event["event"] == "started"]
    (finished,) = [event for event in events if event["event"] == "finished"]
    assert started["resumed_at_ms"] is None
    assert finished["resumed_at_ms"] is None
    assert "resumed at" not in added.stderr
