"""Any language pair, any region, end to end: the `subtitler` command against the emulator
(its Gummy, Fun-ASR and Qwen-MT endpoints) with real ffmpeg, on both clients.

What the emulator saw is the inspection: every `run-task` (one per input, whatever the
targets) and every Qwen-MT request (one user message, the reference's language names). The
tracks are read back through the project's readers (the VTT's `<lang xx>` spans) and compared
with the fixtures' canned translations, sentence by sentence and in order.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from subtitler.emulator.config import EmulatorConfig
from subtitler.emulator.server import BackgroundEmulator
from subtitler.tracks.reading import read_subtitles
from tests import harness

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
LECTURE = json.loads((FIXTURES / "transcripts" / "en_lecture_44k.json").read_text("utf-8"))
NEWS = json.loads((FIXTURES / "transcripts" / "zh_news.json").read_text("utf-8"))
NAMES = {"es": "Spanish", "ar": "Arabic", "th": "Thai", "fr": "French", "en": "English"}


def squeezed(text: str) -> str:
    """Text as compared: no spaces, no direction marks (line breaks move, words do not)."""
    return "".join(c for c in text if not c.isspace() and unicodedata.category(c) != "Cf")


def spoken(track: Path, language: str) -> list[str]:
    """The lines of `language` in a track, cue by cue (a cue's lines joined)."""
    return [
        " ".join(text for lang, text in cue.lines if lang == language)
        for cue in read_subtitles(track).cues
    ]


def run(*args: str | Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return harness.run("run", *args, timeout=timeout)


def copy(tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    shutil.copy(FIXTURES / name, target)
    return target


def mt_bodies(emulator: BackgroundEmulator) -> list[Any]:
    return [request.body for request in emulator.server.stats.mt_requests]


def assert_well_formed(body: Any, source: str, target: str) -> None:
    """One user message, `translation_options` with the reference's names (research A4, A5)."""
    assert [m["role"] for m in body["messages"]] == ["user"], body
    options = body["translation_options"]
    assert options["target_lang"] == NAMES[target] and options["source_lang"] == NAMES[source]
    assert body["model"] == "qwen-mt-flash"


@pytest.fixture
def lecture_emulator() -> Any:
    with BackgroundEmulator(EmulatorConfig()) as running:
        yield running


def test_english_to_spanish_arabic_and_thai_is_one_recognition_and_every_cue_once(
    tmp_path: Path, lecture_emulator: BackgroundEmulator, client: str
) -> None:
    media = copy(tmp_path, "en_lecture_44k.wav")
    formats = "srt,vtt,ass,ttml,ebu-tt-d"
    done = run(media, "-s", "en", "-t", "es,ar,th", "--format", formats, "--speed", "max",
               "--endpoint", lecture_emulator.url, "--client", client)  # fmt: skip
    assert done.returncode == 0, done.stderr
    stats = lecture_emulator.server.stats
    (task,) = stats.run_task_messages  # recognition once, translating nothing
    parameters = task["payload"]["parameters"]
    assert task["payload"]["model"] == "gummy-realtime-v1"
    assert parameters.get("translation_enabled") is False
    sentences = LECTURE["sentences"]
    for target in ("es", "ar", "th"):
        for extension in ("srt", "vtt", "ass", "ttml", "ebuttd.xml"):
            assert (tmp_path / f"en_lecture_44k.en-{target}.{extension}").is_file()
        vtt = tmp_path / f"en_lecture_44k.en-{target}.vtt"
        canned = [sentence["translations"][target] for sentence in sentences]
        assert squeezed("".join(spoken(vtt, target))) == squeezed("".join(canned)), target
        english = "".join(spoken(vtt, "en"))
        assert squeezed(english) == squeezed("".join(s["text"] for s in sentences))
    bodies = mt_bodies(lecture_emulator)
    for body in bodies:
        target = next(
            t for t, n in NAMES.items() if n == body["translation_options"]["target_lang"]
        )
        assert_well_formed(body, "en", target)
    for target in ("es", "ar", "th"):
        asked = [line for b in bodies if b["translation_options"]["target_lang"] == NAMES[target]
                 for line in b["messages"][0]["content"].split("\n")]  # fmt: skip
        assert asked == [s["text"] for s in sentences], "in order, once each (batched or not)"


def test_a_gummy_pair_recognises_for_qwen_mt_and_a_target_added_later_needs_no_task(
    tmp_path: Path, lecture_emulator: BackgroundEmulator, client: str
) -> None:
    media = copy(tmp_path, "zh_news.mp4")
    common = ("-s", "zh", "--speed", "max", "--endpoint", lecture_emulator.url,
              "--client", client)  # fmt: skip
    first = run(media, "-t", "en,es", *common)
    assert first.returncode == 0, first.stderr
    stats = lecture_emulator.server.stats
    (task,) = stats.run_task_messages
    assert task["payload"]["parameters"]["transcription_enabled"] is True
    en, es = tmp_path / "zh_news.zh-en.vtt", tmp_path / "zh_news.zh-es.vtt"
    assert squeezed("".join(spoken(es, "zh"))) == squeezed("".join(spoken(en, "zh")))
    canned = "".join(sentence["translations"]["es"] for sentence in NEWS["sentences"])
    assert squeezed("".join(spoken(es, "es"))) == squeezed(canned)
    asked = len(stats.mt_requests)
    added = run(media, "-t", "en,es,fr", *common)
    assert added.returncode == 0, added.stderr
    assert len(stats.run_task_messages) == 1, "no run-task: the transcript is journaled"
    new = mt_bodies(lecture_emulator)[asked:]
    assert {b["translation_options"]["target_lang"] for b in new} == {"French"}
    french = [line for b in new for line in b["messages"][0]["content"].split("\n")]
    assert len(french) == len(NEWS["sentences"])
    fr = tmp_path / "zh_news.zh-fr.vtt"
    canned = "".join(sentence["translations"]["fr"] for sentence in NEWS["sentences"])
    assert squeezed("".join(spoken(fr, "fr"))) == squeezed(canned)


def test_singapore_recognises_with_fun_asr_and_refuses_what_it_cannot_hear(
    tmp_path: Path, lecture_emulator: BackgroundEmulator, client: str
) -> None:
    media = copy(tmp_path, "en_lecture_44k.wav")
    done = run(media, "--region", "intl", "-s", "en", "-t", "es", "--speed", "max",
               "--endpoint", lecture_emulator.url, "--client", client)  # fmt: skip
    assert done.returncode == 0, done.stderr
    (task,) = lecture_emulator.server.stats.run_task_messages
    assert task["payload"]["model"] == "fun-asr-realtime"
    assert task["payload"]["parameters"]["language_hints"] == ["en"]
    vtt = tmp_path / "en_lecture_44k.en-es.vtt"
    canned = "".join(sentence["translations"]["es"] for sentence in LECTURE["sentences"])
    assert squeezed("".join(spoken(vtt, "es"))) == squeezed(canned)
    refused = run(media, "--region", "intl", "-s", "ko", "-t", "es",
                  "--endpoint", lecture_emulator.url)  # fmt: skip
    assert refused.returncode == 2
    assert "ko" in refused.stderr and "zh, en, ja" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert len(lecture_emulator.server.stats.run_task_messages) == 1, "nothing started"


def test_translation_faults_and_a_kill_lose_nothing_and_translate_nothing_twice(
    tmp_path: Path,
) -> None:
    config = EmulatorConfig(mt_throttle_burst=3, mt_internal_errors=2, mt_slow_answers=1,
                            mt_slow_s=6.0)  # fmt: skip
    with BackgroundEmulator(config) as emulator:
        media = copy(tmp_path, "en_lecture_44k.wav")
        common = ("-s", "en", "-t", "es", "--endpoint", emulator.url, "--json")
        child = subprocess.Popen(
            harness.command("run", media, "--speed", "1", *common),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=harness.environment(), cwd=harness.ROOT,
        )  # fmt: skip
        assert child.stdout is not None
        for line in child.stdout:  # killed once the second Spanish cue is written
            event = json.loads(line)
            if (
                event["event"] == "sentence"
                and event["target"] == "es"
                and event["sentence_id"] == 2
            ):
                break
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
        stats = emulator.server.stats
        vtt = tmp_path / "en_lecture_44k.en-es.vtt"
        texts = [sentence["text"] for sentence in LECTURE["sentences"]]
        canned = {s["text"]: squeezed(s["translations"]["es"]) for s in LECTURE["sentences"]}
        kept = squeezed("".join(spoken(vtt, "es")))
        written = [text for text in texts if canned[text] in kept]
        assert 2 <= len(written) < len(texts)
        killed_at = len(stats.mt_requests)
        resumed = run(media, "--speed", "max", *common)
        assert resumed.returncode == 0, resumed.stderr

        def answered(requests: list[Any]) -> list[str]:
            return [line for r in requests if r.status == 200
                    for line in r.body["messages"][0]["content"].split("\n")]  # fmt: skip

        before, after = (
            answered(stats.mt_requests[:killed_at]),
            answered(stats.mt_requests[killed_at:]),
        )
        assert len(before) == len(set(before)), "no sentence answered twice in a run"
        assert after == [text for text in texts if text not in written], "only what was missing"
        refused = [r.code for r in stats.mt_requests if r.status != 200]
        assert sorted(refused) == sorted(["Throttling.RateQuota"] * 3 + ["InternalError"] * 2)
        vtt = tmp_path / "en_lecture_44k.en-es.vtt"
        canned = "".join(sentence["translations"]["es"] for sentence in LECTURE["sentences"])
        assert squeezed("".join(spoken(vtt, "es"))) == squeezed(canned), "every sentence once"
