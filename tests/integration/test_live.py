"""Watching and driving a run: the terminal preview and dashboard (in a real pseudo-terminal),
`--json` lines, the Python API, live inputs at 1x (stdin, HTTP), Ctrl-C, task rollover."""

from __future__ import annotations

import functools
import http.server
import json
import re
import shutil
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path

import jsonschema
import pexpect
import pysrt
import pytest

from subtitler.emulator.server import BackgroundEmulator
from tests import harness
from tests.support import (
    FIXTURES,
    H264_AAC,
    MP3_22K,
    TEST_KEY,
    TOLERANCE_MS,
    WAV_44K,
    save_speech,
    speech,
    transcripts,
)

ROOT = Path(__file__).resolve().parents[2]
PODCAST = next(t for t in transcripts() if t.media.name == "zh_podcast.mp3")
NEWS = next(t for t in transcripts() if t.media.name == "zh_news.mp4")


def environment(**extra: str) -> dict[str, str]:
    return harness.environment({"DASHSCOPE_API_KEY": TEST_KEY, **extra})


def spawn(*args: str | Path, rows: int = 40, columns: int = 140) -> pexpect.spawn:
    """The real command on a pseudo-terminal, so stdout is a terminal."""
    return harness.spawn(*args, env=environment(), rows=rows, columns=columns)


def test_preview_shows_the_partial_then_the_final_bilingual_cue(
    emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    # The news' first and last sentences (11 s, not 32: the preview is watched at 2x).
    news = speech([(NEWS, 0), (NEWS, 4)])
    save_speech(news, tmp_path / "zh_news.mp4", *H264_AAC, video=True)
    child = spawn(
        "run", tmp_path / "zh_news.mp4", "-t", "en", "--speed", "2", "--endpoint", emulator.url
    )
    child.expect("zh_news.mp4 → en")
    child.expect("⋯ 欢迎")  # the sentence being spoken, dimmed, before it is final
    child.expect("Welcome to today's technology news.")  # then the finished bilingual cue
    child.expect("欢迎收看今天的科技新闻。")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert len(pysrt.open(str(tmp_path / "zh_news.zh-en.srt"))) == len(news.sentences)


def test_dashboard_shows_a_row_per_running_file(
    emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    # Each fixture's first and last sentences, encoded as it is (10-11 s each, not 17-32).
    encodings = {"zh_news.mp4": H264_AAC, "zh_podcast.mp3": MP3_22K, "en_lecture_44k.wav": WAV_44K}
    names = list(encodings)
    for transcript in transcripts():
        if transcript.media.name in encodings:
            picks = [(transcript, 0), (transcript, len(transcript.sentences) - 1)]
            encoding = encodings[transcript.media.name]
            video = transcript.media.suffix == ".mp4"
            save_speech(speech(picks), tmp_path / transcript.media.name, *encoding, video=video)
    child = spawn("run", tmp_path, "-t", "en", "--speed", "4", "--endpoint", emulator.url)
    child.expect("running 3  queued 0")
    screen = child.before + child.after
    for _ in range(3):
        child.expect("sentences")
        screen += child.before + child.after
    assert all(name in screen for name in names)
    assert "eta " in screen  # 140 columns: the rows have room for it
    child.expect("subtitler summary")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_json_lines_follow_the_schema_and_stdout_holds_nothing_else(
    emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    for name in ("zh_podcast.mp3", "empty.mp4", "Café 'déjà vu' 北京 #1.m4a"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    result = subprocess.run(
        harness.command(
            "run",
            str(tmp_path),
            "-t",
            "en",
            "--json",
            "--speed",
            "max",
            "--endpoint",
            emulator.url,
        ),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=environment(),
        timeout=300,
    )
    assert result.returncode == 1  # the empty file fails
    schema = json.loads((resources.files("subtitler") / "events.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    lines = result.stdout.splitlines()
    kinds = []
    for line in lines:
        obj = json.loads(line)  # every line is one JSON object: nothing else on stdout
        validator.validate(obj)
        kinds.append(obj["event"])
    assert {
        "started",
        "progress",
        "partial",
        "sentence",
        "cue",
        "finished",
        "failed",
        "summary",
    } <= set(kinds)
    assert kinds[-1] == "summary"
    sentences = [json.loads(line) for line in lines if '"sentence"' in line]
    podcast = [s for s in sentences if s["input"].endswith("zh_podcast.mp3")]
    assert [s["transcript"] for s in podcast] == [s["text"] for s in PODCAST.sentences]
    failed = next(json.loads(line) for line in lines if '"failed"' in line)
    assert "empty file (0 bytes)" in failed["reason"]
    assert "subtitler summary" in result.stderr and "subtitler: " in result.stderr


def test_the_documented_python_example_runs(
    emulator: BackgroundEmulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    page = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    code = re.search(r"<!-- example: python-api -->\s*```python\n(.*?)```", page, re.S)
    assert code is not None, "the API page's Python example is marked"
    media = tmp_path / "talk.mp4"
    shutil.copy(FIXTURES / "zh_news.mp4", media)
    monkeypatch.setenv("DASHSCOPE_WEBSOCKET_BASE_URL", emulator.url)
    monkeypatch.setenv("DASHSCOPE_API_KEY", TEST_KEY)
    monkeypatch.chdir(tmp_path)
    exec(compile(code.group(1), "docs/api.md", "exec"), {"__name__": "__main__"})
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 5
    assert (
        "欢迎收看今天的科技新闻。" in printed[0]
        and "Welcome to today's technology news." in printed[0]
    )
    assert (tmp_path / "talk.zh-en.srt").exists()


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[str]:
    """`tmp_path / "served"` over HTTP on a free local port (a live source ffmpeg can read)."""
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def cue_texts_and_times(path: Path) -> list[tuple[str, int, int]]:
    return [(c.text, c.start.ordinal, c.end.ordinal) for c in pysrt.open(str(path))]


def test_stdin_and_http_at_1x_give_the_same_cues_as_the_file(
    emulator: BackgroundEmulator, tmp_path: Path, http_server: str
) -> None:
    # The podcast's first and last sentences as the same MP3 (10 s at 1x, not 23).
    media = tmp_path / "served" / "zh_podcast.mp3"
    save_speech(speech([(PODCAST, 0), (PODCAST, 3)]), media, *MP3_22K)
    common = ["-t", "en", "--endpoint", emulator.url]
    file_run = subprocess.run(
        harness.command(
            "run",
            str(media),
            "--out-dir",
            str(tmp_path / "file"),
            "--speed",
            "max",
            *common,
        ),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=environment(),
    )
    assert file_run.returncode == 0, file_run.stderr
    with open(media, "rb") as stdin:
        from_stdin = subprocess.Popen(
            harness.command(
                "run",
                "-",
                "--out-dir",
                str(tmp_path / "stdin"),
                *common,
            ),
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=environment(),
        )
        from_http = subprocess.Popen(
            harness.command(
                "run",
                f"{http_server}/zh_podcast.mp3",
                "--out-dir",
                str(tmp_path / "http"),
                *common,
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=environment(),
        )
        outputs = [process.communicate(timeout=180) for process in (from_stdin, from_http)]
    assert from_stdin.returncode == 0 and from_http.returncode == 0, outputs
    reference = cue_texts_and_times(tmp_path / "file" / "zh_podcast.zh-en.srt")
    for folder, stem in (("stdin", "stdin-"), ("http", "zh_podcast-")):
        (track,) = (tmp_path / folder).glob(f"{stem}*.zh-en.srt")
        live = cue_texts_and_times(track)
        assert [text for text, _, _ in live] == [text for text, _, _ in reference]
        for (_, begin, end), (_, ref_begin, ref_end) in zip(live, reference, strict=True):
            assert abs(begin - ref_begin) <= TOLERANCE_MS and abs(end - ref_end) <= TOLERANCE_MS
        assert "Translation completed" in outputs[0 if folder == "stdin" else 1][0]


def test_ctrl_c_ends_a_live_input_with_every_finished_cue(
    emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    # The podcast's two shortest sentences first, so two are finished sooner; the rest keeps
    # the input live when Ctrl-C comes.
    media = tmp_path / "zh_podcast.mp3"
    picks = [(PODCAST, 3), (PODCAST, 0), (PODCAST, 1), (PODCAST, 2)]
    save_speech(speech(picks), media, *MP3_22K)
    with open(media, "rb") as stdin:
        process = subprocess.Popen(
            harness.command(
                "run",
                "-",
                "-t",
                "en",
                "--out-dir",
                str(tmp_path),
                "--endpoint",
                emulator.url,
            ),
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=environment(),
        )
        assert process.stdout is not None
        announced = 0
        for line in process.stdout:
            if "Transcript ==>" in line:
                announced += 1
                if announced == 2:
                    process.send_signal(signal.SIGINT)
                    break
        rest, _ = process.communicate(timeout=60)
    announced += rest.count("Transcript ==>")
    assert process.returncode == 0, "Ctrl-C is how a live input ends"
    (track,) = tmp_path.glob("stdin-*.zh-en.srt")
    cues = pysrt.open(str(track), error_handling=pysrt.ERROR_RAISE)
    assert len(cues) == announced >= 2
    assert "Translation completed" in rest


def test_a_long_task_rolls_over_before_the_service_cap_without_shifting_cues(
    make_emulator: Callable[..., BackgroundEmulator], tmp_path: Path
) -> None:
    server = make_emulator(max_task_audio_ms=12_000)
    news = next(t for t in transcripts() if t.media.name == "zh_news.mp4")
    shutil.copy(news.media, tmp_path / "zh_news.mp4")
    base = harness.command(
        "run",
        str(tmp_path / "zh_news.mp4"),
        "-t",
        "en",
        "--speed",
        "max",
        "--endpoint",
        server.url,
    )
    capped = subprocess.run(
        [*base, "--out-dir", str(tmp_path / "no-rollover")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=environment(),
    )
    assert capped.returncode == 1 and "maximum of 12 s" in capped.stderr
    rolled = subprocess.run(
        [*base, "--rollover-after", "8", "--out-dir", str(tmp_path / "ok")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=environment(),
    )
    assert rolled.returncode == 0, rolled.stderr
    cues = pysrt.open(str(tmp_path / "ok" / "zh_news.zh-en.srt"))
    assert len(cues) == len(news.sentences)
    for cue, truth in zip(cues, news.sentences, strict=True):
        assert cue.text.split("\n")[0].startswith(str(truth["text"])[:4])
        assert abs(cue.start.ordinal - truth["begin_ms"]) <= TOLERANCE_MS
        assert abs(cue.end.ordinal - truth["end_ms"]) <= TOLERANCE_MS
    assert server.server.stats.count("started") >= 4  # the first task and its rollovers
