"""The engine against the local server with real ffmpeg, on both Gummy clients: conformance with
the SDK, result shapes, refused handshakes, piped MP4s, threads, start-up imports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pysrt
import pytest

from subtitler.emulator.config import RESULT_SHAPES
from subtitler.emulator.server import BackgroundEmulator
from subtitler.sources.media import ffmpeg_executable
from tests import harness
from tests.support import FIXTURES, H264_AAC, TEST_KEY, save_speech, speech, transcripts

ROOT = Path(__file__).resolve().parents[2]
NEWS = next(t for t in transcripts() if t.media.name == "zh_news.mp4")
CLIENTS = ("native", "sdk")


def subtitler(*args: str | Path, stdin: object = None) -> subprocess.CompletedProcess[str]:
    environment = harness.environment(DASHSCOPE_API_KEY=TEST_KEY)
    return harness.run(*args, env=environment, stdin=stdin, timeout=300)


def news_in(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(NEWS.media, folder / NEWS.media.name))


def cue_texts(srt: Path) -> list[str]:
    cues = pysrt.open(str(srt), error_handling=pysrt.ERROR_RAISE)
    return ["".join(cue.text.split()) for cue in cues]


def expected_news() -> list[str]:
    return [
        "".join((s["text"] + s["translations"]["en"]).split())  # type: ignore[operator]
        for s in NEWS.sentences
    ]


def test_the_native_client_sends_what_the_sdk_sends(
    make_emulator: Callable[..., BackgroundEmulator], tmp_path: Path
) -> None:
    """Handshake headers, run-task and finish-task, for the same settings, task id and the
    user-agent value aside (and the per-process session id, random in both)."""
    recorded = {}
    for client in CLIENTS:
        server = make_emulator()
        created = {"action": "create_vocabulary", "target_model": "gummy-realtime-v1",
                   "prefix": "x", "vocabulary": [{"text": "新闻", "weight": 4}]}  # fmt: skip
        _, answer = server.server.vocabularies.answer({"model": "speech-biasing", "input": created})
        vocabulary_id = answer["output"]["vocabulary_id"]
        media = news_in(tmp_path / client)
        result = subtitler(
            "run", media, "-t", "en", "-s", "zh", "--vocabulary-id", vocabulary_id,
            "--max-end-silence", "800", "--speed", "max", "--endpoint", server.url,
            "--client", client,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        stats = server.server.stats
        (headers,) = stats.handshake_headers
        (run_task,) = stats.run_task_messages
        (finish_task,) = stats.finish_task_messages
        assert run_task["payload"]["parameters"].pop("vocabulary_id") == vocabulary_id
        recorded[client] = (headers, run_task, finish_task)
    (sdk_headers, sdk_run, sdk_finish), (own_headers, own_run, own_finish) = (
        recorded["sdk"],
        recorded["native"],
    )
    transport = {"host", "sec-websocket-key", "user-agent", "x-dashscope-sdk-session-id"}
    assert set(own_headers) == set(sdk_headers)
    for name in set(sdk_headers) - transport:
        assert own_headers[name] == sdk_headers[name], name
    for message in (sdk_run, own_run, sdk_finish, own_finish):
        assert len(message["header"].pop("task_id")) == 32
    assert own_run == sdk_run
    assert own_finish == sdk_finish


@pytest.mark.parametrize("shape", RESULT_SHAPES)
def test_every_result_shape_gives_every_cue_on_the_native_client(
    make_emulator: Callable[..., BackgroundEmulator], tmp_path: Path, shape: str
) -> None:
    server = make_emulator(result_shape=shape)
    media = news_in(tmp_path)
    result = subtitler("run", media, "-t", "en", "--speed", "max", "--endpoint", server.url)
    assert result.returncode == 0, result.stderr
    assert cue_texts(tmp_path / "zh_news.zh-en.srt") == expected_news()


@pytest.mark.parametrize(
    "shape", ["extra-fields", "leading-space", "no-words", "partial-without-words"]
)
def test_the_sdk_client_never_reports_done_with_cues_missing(
    make_emulator: Callable[..., BackgroundEmulator], tmp_path: Path, shape: str
) -> None:
    """Shapes the SDK cannot parse kill its worker thread silently: the task then ends without
    task-finished, which resumes it and in the end fails the input loudly."""
    server = make_emulator(result_shape=shape)
    media = news_in(tmp_path)
    result = subtitler(
        "run", media, "-t", "en", "--speed", "max", "--endpoint", server.url,
        "--client", "sdk", "--retries", "2", "--retry-delay", "0.01",
    )  # fmt: skip
    tracks = list(tmp_path.glob("zh_news.*-en.srt"))  # none if it failed before any speech
    texts = cue_texts(tracks[0]) if tracks else []
    if result.returncode == 0:
        assert texts == expected_news()
    else:
        assert result.returncode == 1
        # The SDK's dying worker threads print tracebacks on stderr at the same moment: find
        # our one line wherever their writes put it.
        (line,) = re.findall(r"subtitler: [^\n]*gave up[^\n]*", result.stderr)
        assert "zh_news.mp4" in line and "gave up after 2 retries" in line
        assert texts == expected_news()[: len(texts)], "what was written is right and in order"


@pytest.mark.parametrize("status", [429, 503])
def test_refused_handshakes_429_and_5xx_are_retried(
    make_emulator: Callable[..., BackgroundEmulator], tmp_path: Path, client: str, status: int
) -> None:
    server = make_emulator(handshake_status=status, handshake_refusals=2)
    media = news_in(tmp_path)
    result = subtitler(
        "run", media, "-t", "en", "--speed", "max", "--endpoint", server.url,
        "--client", client, "--retry-delay", "0.01",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert cue_texts(tmp_path / "zh_news.zh-en.srt") == expected_news()


def test_another_handshake_status_fails_the_input_with_the_status(
    make_emulator: Callable[..., BackgroundEmulator], tmp_path: Path, client: str
) -> None:
    server = make_emulator(handshake_status=400)
    media = news_in(tmp_path)
    result = subtitler("run", media, "-t", "en", "--endpoint", server.url, "--client", client)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.startswith("subtitler:")]
    assert len(lines) == 1 and "zh_news.mp4" in lines[0] and "400" in lines[0], lines


def test_a_piped_mp4_with_its_index_at_the_end_is_explained(
    emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    tail_index = tmp_path / "tail.mp4"
    subprocess.run(
        [ffmpeg_executable(), "-v", "error", "-i", str(NEWS.media), "-c", "copy", str(tail_index)],
        check=True,
    )
    with open(tail_index, "rb") as stdin:
        result = subtitler("run", "-", "-t", "en", "--out-dir", tmp_path, "--endpoint",
                           emulator.url, stdin=stdin)  # fmt: skip
    assert result.returncode == 1
    assert "cannot be read from a pipe" in result.stderr and "MPEG-TS" in result.stderr


def test_threads_do_not_grow_with_inputs(emulator: BackgroundEmulator, tmp_path: Path) -> None:
    """24 inputs at once on the native client: the process's threads, read from /proc at each
    event it prints, stay those of a single input."""
    folder = tmp_path / "media"
    folder.mkdir()
    # Three of the news' sentences, 17 s (not 32): at 4x each input still runs for longer than
    # the 2.4 s the start limit (10/s) takes to start all 24, so all run at once.
    spoken = speech([(NEWS, 0), (NEWS, 1), (NEWS, 4)])
    news = save_speech(spoken, tmp_path / "news.mp4", *H264_AAC, video=True)
    for index in range(24):
        shutil.copy(news, folder / f"{index:02d}.mp4")
    process = harness.start(
        "run", folder, "-t", "en", "--jobs", "24", "--speed", "4", "--json",
        "--endpoint", emulator.url, env=harness.environment(DASHSCOPE_API_KEY=TEST_KEY),
    )  # fmt: skip
    assert process.stdout is not None
    most, started = 0, 0
    for line in process.stdout:
        started += json.loads(line)["event"] == "started"
        status = Path(f"/proc/{process.pid}/status").read_text()
        threads = int(next(s for s in status.splitlines() if s.startswith("Threads:")).split()[1])
        most = max(most, threads)
    assert process.wait(timeout=300) == 0
    assert started == 24
    assert most <= 3, f"{most} threads"


def test_start_up_imports_only_what_each_command_uses(tmp_path: Path) -> None:
    probe = (
        "import sys, contextlib, io\n"
        "from subtitler.cli import main\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(sys.argv[1:])\n"
        "print(','.join(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    srt = tmp_path / "a.srt"
    srt.write_text("1\n00:00:01,000 --> 00:00:02,000\nHello.\n", encoding="utf-8")
    heavy = {"dashscope", "aiohttp", "numpy", "websockets", "pysrt", "webvtt", "ffmpeg", "rich"}
    for argv, allowed in (
        (["--help"], set()),
        (["check", str(srt)], {"pysrt", "webvtt"}),
    ):
        result = subprocess.run(
            [sys.executable, "-c", probe, *argv], capture_output=True, text=True, check=False
        )
        modules = set(result.stdout.strip().splitlines()[-1].split(","))
        assert modules & heavy <= allowed, (argv, modules & heavy)


def test_auto_detected_speech_names_its_tracks_and_spans(
    emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    """`-s auto`: the identified language names the tracks and the VTT `<lang>` spans from
    the first write; `und` only without speech; a rerun finds the named tracks and skips."""
    from tests.integration.test_run import run_cli

    for name in ("zh_news.mp4", "en_late_audio.mp4", "silent.mp4"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    result = run_cli("run", tmp_path, "-t", "ja", "--speed", "max", "--endpoint", emulator.url)
    assert result.returncode == 0, result.stderr
    made = sorted(p.name for p in tmp_path.iterdir() if p.suffix in (".srt", ".vtt"))
    assert made == [
        "en_late_audio.en-ja.srt",
        "en_late_audio.en-ja.vtt",
        "zh_news.zh-ja.srt",
        "zh_news.zh-ja.vtt",
    ]  # fmt: skip (silent.mp4: no speech, no empty track)
    vtt = (tmp_path / "zh_news.zh-ja.vtt").read_text(encoding="utf-8")
    assert "NOTE Languages: zh, ja" in vtt and "<lang zh>欢迎收看" in vtt
    again = run_cli("run", tmp_path, "-t", "ja", "--speed", "max", "--endpoint", emulator.url)
    assert "Skipped: tracks exist (zh_news.zh-ja.srt)" in again.stdout, again.stdout
    assert again.stdout.count("Skipped") == 3
