"""Reliability: faults injected through the local server, crashes, bad input and secrets.

Every test counts what it checks and prints the figures (faults injected, sessions resumed,
cues expected vs written, duplicated, lost, files left invalid) before asserting them.
"""

from __future__ import annotations

import io
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import time
import wave
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pysrt
import pysubs2
import pytest
import webvtt

from subtitler.emulator.server import BackgroundEmulator
from subtitler.engine import journal as resume_state
from subtitler.sources.media import ffmpeg_executable
from subtitler.tracks import imsc
from tests import harness
from tests.support import FIXTURES, TEST_KEY, Transcript, speech, transcripts

ROOT = Path(__file__).resolve().parents[2]
SPEECH = [t for t in transcripts() if t.audio_stream == 0]


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def expected_cue_text(sentence: dict[str, object]) -> str:
    text = str(sentence["text"])
    translations = sentence["translations"]
    assert isinstance(translations, dict)
    translation = translations.get("en", text)
    return squeeze(text if translation == text else text + translation)


@dataclass
class Figures:
    expected: int = 0
    written: int = 0
    duplicated: int = 0
    lost: int = 0
    invalid_files: int = 0

    def show(self, title: str, **extra: int) -> str:
        parts = {
            **extra,
            "cues expected": self.expected,
            "cues written": self.written,
            "duplicated": self.duplicated,
            "lost": self.lost,
            "files invalid": self.invalid_files,
        }
        return f"[reliability] {title}: " + ", ".join(f"{k} {v}" for k, v in parts.items())


def make_folder(folder: Path, count: int, seed: int = 0) -> dict[Path, Transcript]:
    """`count` media files, copies of the speech fixtures (names with spaces and dashes)."""
    folder.mkdir(parents=True, exist_ok=True)
    chosen: dict[Path, Transcript] = {}
    for index in range(count):
        transcript = SPEECH[(index + seed) % len(SPEECH)]
        name = f"{index:02d} -{transcript.media.stem} copy{transcript.media.suffix}"
        shutil.copy(transcript.media, folder / name)
        chosen[folder / name] = transcript
    return chosen


def invalid_after_kill(folder: Path) -> dict[str, str]:
    """Every track file a killed run left, each read by a strict parser of its format: name ->
    why it is invalid. A format not yet created when the run died (its siblings were) is not
    a broken file: the rerun creates it."""

    def srt(path: Path) -> None:
        pysrt.open(str(path), error_handling=pysrt.ERROR_RAISE)

    def ttml(path: Path) -> None:
        problems = imsc.problems(ET.parse(path).getroot())
        if problems:
            raise ValueError("; ".join(problems))

    readers = {
        ".srt": srt,
        ".vtt": lambda path: webvtt.read(str(path)),
        ".ass": lambda path: pysubs2.load(str(path)),
        ".ttml": ttml,
    }
    broken: dict[str, str] = {}
    for path in sorted(folder.iterdir()):
        reader = readers.get(path.suffix)
        if reader is None or path.name.startswith("."):
            continue
        try:
            reader(path)
        except Exception as error:
            broken[path.name] = f"{type(error).__name__}: {error}"[:300]
    return broken


def audit(files: dict[Path, Transcript], figures: Figures) -> None:
    """Compare every input's bilingual tracks with its transcript, counting what differs."""
    for media, transcript in files.items():
        wanted = [expected_cue_text(s) for s in transcript.sentences]
        figures.expected += len(wanted)
        srt_path = media.with_name(f"{media.stem}.{transcript.language}-en.srt")
        vtt_path = media.with_name(f"{media.stem}.{transcript.language}-en.vtt")
        try:
            cues = pysrt.open(str(srt_path), error_handling=pysrt.ERROR_RAISE)
            webvtt.read(str(vtt_path))
        except Exception:
            figures.invalid_files += 1
            figures.lost += len(wanted)
            continue
        got = [squeeze(c.text) for c in cues]
        figures.written += len(got)
        for text in set(got):
            figures.duplicated += max(0, got.count(text) - wanted.count(text))
        for text in set(wanted):
            figures.lost += max(0, wanted.count(text) - got.count(text))


def cli(
    *args: str | Path, env: dict[str, str] | None = None, **popen: object
) -> subprocess.Popen[str]:
    environment = harness.environment({"DASHSCOPE_API_KEY": TEST_KEY, **(env or {})})
    return harness.start(*args, env=environment, **popen)


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=600)
    return process.returncode, out, err


def test_dropped_connections_at_random_points_in_20_files_lose_and_repeat_nothing(
    make_emulator: Callable[..., BackgroundEmulator],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    client: str,
) -> None:
    server = make_emulator(drop_after_audio_ms=12_000, fault_seed=20261125, faults_max=20)
    files = make_folder(tmp_path / "media", 20)
    code, _out, err = finish(
        cli(
            "run",
            tmp_path / "media",
            "-t",
            "en",
            "--jobs",
            "4",
            "--speed",
            "max",
            "--retries",
            "10",
            "--retry-delay",
            "0.02",
            "--endpoint",
            server.url,
            "--client",
            client,
        )
    )
    figures = Figures()
    audit(files, figures)
    resumed = server.server.stats.count("started") - len(files)  # one new task per resume
    # A task that ended having received no audio: the SDK's start() race (its worker found
    # its audio "not running" and completed the task at once), which the client resumes too.
    with server.server.stats.changed:
        empty = sum(1 for bill in server.server.stats.bills if bill.audio_ms == 0)
    with capsys.disabled():
        print(
            "\n"
            + figures.show(
                f"drops ({client})",
                **{
                    "faults injected": server.server.faults_injected,
                    "sessions resumed": resumed,
                    "empty tasks": empty,
                },
            )
        )
    assert code == 0, err
    assert server.server.faults_injected == 20
    assert resumed - empty == 20
    if client == "native":
        assert empty == 0
    assert (figures.duplicated, figures.lost, figures.invalid_files) == (0, 0, 0)
    assert figures.written == figures.expected
    assert_journals_finished(tmp_path / "media")


def test_internal_errors_mid_stream_are_resumed_too(
    make_emulator: Callable[..., BackgroundEmulator],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    client: str,
) -> None:
    server = make_emulator(fail_after_audio_ms=15_000, fault_seed=5, faults_max=6)
    files = make_folder(tmp_path / "media", 6, seed=1)
    code, _, err = finish(
        cli(
            "run",
            tmp_path / "media",
            "-t",
            "en",
            "--speed",
            "max",
            "--retry-delay",
            "0.02",
            "--endpoint",
            server.url,
            "--client",
            client,
        )
    )
    figures = Figures()
    audit(files, figures)
    with capsys.disabled():
        print(
            "\n"
            + figures.show(
                f"internal errors ({client})", **{"faults injected": server.server.faults_injected}
            )
        )
    assert code == 0, err
    assert server.server.faults_injected == 6
    assert (figures.duplicated, figures.lost, figures.invalid_files) == (0, 0, 0)


def test_retries_are_bounded_then_the_file_fails_keeping_its_cues(
    make_emulator: Callable[..., BackgroundEmulator], tmp_path: Path, client: str
) -> None:
    # Every task drops after 7 s of its audio: the first keeps one sentence, the next ones
    # never reach the end of the second (11.95 s) before they drop.
    server = make_emulator(drop_after_audio_ms=7_000)
    shutil.copy(FIXTURES / "zh_news.mp4", tmp_path / "zh_news.mp4")
    code, _out, err = finish(
        cli(
            "run",
            tmp_path,
            "-t",
            "en",
            "--speed",
            "max",
            "--retries",
            "2",
            "--retry-delay",
            "0.01",
            "--endpoint",
            server.url,
            "--client",
            client,
        )
    )
    assert code == 1
    assert "connection to the service was lost (gave up after 2 retries)" in err
    cues = pysrt.open(str(tmp_path / "zh_news.zh-en.srt"), error_handling=pysrt.ERROR_RAISE)
    assert len(cues) >= 1, "every cue finished before the failures is kept"
    assert (tmp_path / ".zh_news.subtitler-state.jsonl").exists(), "kept to resume later"
    assert server.server.faults_injected == 3


def test_throttling_below_jobs_backs_off_instead_of_failing(
    make_emulator: Callable[..., BackgroundEmulator],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    client: str,
) -> None:
    # At 4x every task lasts seconds, so six inputs surely overlap a limit of two however
    # busy the machine is (at max speed the first ones could finish before the last start).
    server = make_emulator(max_concurrent_tasks=2)
    files = make_folder(tmp_path / "media", 6, seed=2)
    code, _, err = finish(
        cli(
            "run",
            tmp_path / "media",
            "-t",
            "en",
            "--jobs",
            "6",
            "--speed",
            "4",
            "--endpoint",
            server.url,
            "--client",
            client,
        )
    )
    figures = Figures()
    audit(files, figures)
    with capsys.disabled():
        print(
            "\n"
            + figures.show(f"throttling ({client})", **{"tasks throttled": server.server.throttled})
        )
    assert code == 0, err
    assert server.server.throttled > 0
    assert (figures.duplicated, figures.lost, figures.invalid_files) == (0, 0, 0)


@pytest.mark.parametrize(
    ("seed", "client"),
    [(1, "native"), (2, "native"), (3, "native"), (1, "sdk")],
)
def test_sigkill_at_a_random_point_then_rerun_finishes_the_job(
    emulator: BackgroundEmulator,
    tmp_path: Path,
    seed: int,
    capsys: pytest.CaptureFixture[str],
    client: str,
) -> None:
    files = make_folder(tmp_path / "media", 3, seed=seed)
    arguments = (
        "run",
        tmp_path / "media",
        "-t",
        "en",
        "--jobs",
        "3",
        "--speed",
        "8",
        "--endpoint",
        emulator.url,
        "--client",
        client,
        "--format",
        "srt,vtt,ass,ttml",
    )
    kill_after = random.Random(seed).randint(1, 8)
    process = cli(*arguments)
    assert process.stdout is not None
    seen = 0
    for line in process.stdout:
        if "Transcript ==>" in line:
            seen += 1
            if seen == kill_after:
                process.send_signal(signal.SIGKILL)
                break
    process.wait(timeout=60)
    broken = invalid_after_kill(tmp_path / "media")
    invalid = len(broken)
    code, _, err = finish(cli(*arguments))
    for track in (tmp_path / "media").glob("*.srt"):  # every format resumed like SRT
        cues = len(pysrt.open(str(track)))
        assert len(pysubs2.load(str(track.with_suffix(".ass"))).events) == cues
        paragraphs = ET.parse(track.with_suffix(".ttml")).getroot().iter(f"{{{imsc.TT}}}p")
        assert len(list(paragraphs)) == cues
    figures = Figures(invalid_files=invalid)
    audit(files, figures)
    with capsys.disabled():
        print("\n" + figures.show(f"SIGKILL after {kill_after} sentences, rerun ({client})"))
    assert process.returncode == -signal.SIGKILL
    assert code == 0, err
    assert broken == {}, broken
    assert (figures.duplicated, figures.lost, figures.invalid_files) == (0, 0, 0)
    assert_journals_finished(tmp_path / "media")


def test_ctrl_c_flushes_valid_tracks_and_the_rerun_resumes(
    emulator: BackgroundEmulator, tmp_path: Path, client: str
) -> None:
    files = make_folder(tmp_path / "media", 2, seed=1)
    arguments = (
        "run",
        tmp_path / "media",
        "-t",
        "en",
        "--speed",
        "4",
        "--endpoint",
        emulator.url,
        "--client",
        client,
    )
    process = cli(*arguments)
    assert process.stdout is not None
    announced = completed = 0
    for line in process.stdout:
        completed += "Translation completed" in line
        if "Transcript ==>" in line:
            announced += 1
            process.send_signal(signal.SIGINT)
            break
    # The rest through the same reader: lines it already buffered past the one that stopped
    # the loop (sentences written together once the language was named) are not on the pipe
    # any more, and `communicate()` reads the pipe (CI: 5 cues written, 4 announced).
    rest = process.stdout.read()
    _, err = process.communicate(timeout=60)
    announced += rest.count("Transcript ==>")
    completed += rest.count("Translation completed")
    assert process.returncode == 130
    assert "finishing the current sentences" in err
    written = 0
    for media in files:
        track = media.with_name(f"{media.stem}.{files[media].language}-en.srt")
        if track.exists():  # -s auto: stopped before any speech, a file has no tracks yet
            written += len(pysrt.open(str(track), error_handling=pysrt.ERROR_RAISE))
    assert written == announced, "every finished sentence is in the tracks"
    # Every input keeps its journal: an unfinished one to resume from, one that finished
    # before the stop reached it (a short file whose first cue waited for its language until
    # its end) as the record a later run renders from.
    assert completed < 2
    journals = list((tmp_path / "media").glob(".*subtitler-state.jsonl"))
    assert len(journals) == 2
    code, _, err = finish(cli(*arguments))
    figures = Figures()
    audit(files, figures)
    assert code == 0, err
    assert (figures.duplicated, figures.lost, figures.invalid_files) == (0, 0, 0)


def test_an_invalid_key_stops_the_whole_run_with_one_message(
    make_emulator: Callable[..., BackgroundEmulator], tmp_path: Path, client: str
) -> None:
    server = make_emulator(api_key=TEST_KEY)
    make_folder(tmp_path / "media", 6)
    code, out, err = finish(
        cli(
            "run",
            tmp_path / "media",
            "-t",
            "en",
            "--jobs",
            "2",
            "--endpoint",
            server.url,
            "--client",
            client,
            env={"DASHSCOPE_API_KEY": "sk-wrong"},
        )
    )
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "refused the API key" in lines[0] and "DASHSCOPE_API_KEY" in lines[0]
    assert "sk-wrong" not in out + err
    assert server.server.stats.connections <= 2, "no retries, no new inputs after the refusal"


def test_every_bad_input_fails_alone_with_one_line(
    emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    media = tmp_path / "media"
    media.mkdir()
    good = media / "-leading dash 'quoted' «ñ» 北京.mp3"
    shutil.copy(FIXTURES / "zh_podcast.mp3", good)
    for name in ("no_audio.mp4", "corrupt_truncated.mp4", "empty.mp4"):
        shutil.copy(FIXTURES / name, media / name)
    (media / "loop").mkdir()
    os.symlink(media, media / "loop" / "back")
    unreadable = media / "locked.mp4"
    shutil.copy(FIXTURES / "zh_podcast.mp3", unreadable)
    unreadable.chmod(0)
    as_root = os.geteuid() == 0  # root reads any file: then it is just another good input
    code, out, err = finish(
        cli(
            "run",
            media,
            tmp_path / "missing.mkv",
            "-t",
            "en",
            "--speed",
            "max",
            "--endpoint",
            emulator.url,
        )
    )
    failures = [line for line in err.splitlines() if line.startswith("subtitler: ")]
    expected = {
        str(tmp_path / "missing.mkv"): "no such file or folder",
        str(media / "loop" / "back"): "symbolic link loop",
        str(media / "no_audio.mp4"): "no audio stream",
        str(media / "corrupt_truncated.mp4"): "not readable media",
        str(media / "empty.mp4"): "empty file (0 bytes)",
    }
    if not as_root:
        expected[str(unreadable)] = "permission denied"
    assert code == 1
    assert len(failures) == len(expected), err
    for path, cause in expected.items():
        assert any(
            line.startswith(f"subtitler: {path}: ") and cause in line for line in failures
        ), (path, err)
    assert len(pysrt.open(str(good.with_name(f"{good.stem}.zh-en.srt")))) == 4
    assert "Translation completed" in out


def test_a_missing_audio_stream_and_an_unwritable_out_dir_fail_alone(
    emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    shutil.copy(FIXTURES / "zh_podcast.mp3", tmp_path / "a.mp3")
    code, _, err = finish(
        cli(
            "run", tmp_path / "a.mp3", "-t", "en", "--audio-stream", "3", "--endpoint", emulator.url
        )
    )
    assert code == 1 and f"subtitler: {tmp_path / 'a.mp3'}: audio stream 3 does not exist" in err
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    code, _, err = finish(
        cli("run", tmp_path / "a.mp3", "-t", "en", "--out-dir", blocker, "--endpoint", emulator.url)
    )
    assert code == 2  # an output path is checked before any work (issue 31, item 10)
    assert err.strip() == f"subtitler: error: --out-dir: {blocker}: not a folder"


def test_a_full_disk_fails_the_file_and_leaves_valid_tracks(
    emulator: BackgroundEmulator, tmp_path: Path, client: str
) -> None:
    """Files over 1.2 kB cannot be written (RLIMIT_FSIZE): the disk is 'full' mid-file."""
    shutil.copy(FIXTURES / "zh_news.mp4", tmp_path / "zh_news.mp4")

    def small_disk() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1200, 1200))

    process = cli(
        "run",
        tmp_path / "zh_news.mp4",
        "-t",
        "en",
        "--speed",
        "max",
        "--endpoint",
        emulator.url,
        "--client",
        client,
        preexec_fn=small_disk,
    )
    code, _, err = finish(process)
    assert code == 1
    assert len(err.strip().splitlines()) == 1 and "file too large" in err
    cues = pysrt.open(str(tmp_path / "zh_news.zh-en.srt"), error_handling=pysrt.ERROR_RAISE)
    webvtt.read(str(tmp_path / "zh_news.zh-en.vtt"))
    assert 0 < len(cues) < 5
    assert not list(tmp_path.glob(".*.part"))


def test_the_key_never_leaks_to_output_files_or_child_processes(
    make_emulator: Callable[..., BackgroundEmulator], tmp_path: Path
) -> None:
    server = make_emulator(api_key=TEST_KEY, drop_after_audio_ms=9000, faults_max=1)
    shutil.copy(FIXTURES / "zh_news.mp4", tmp_path / "zh_news.mp4")
    shutil.copy(FIXTURES / "empty.mp4", tmp_path / "empty.mp4")
    log = tmp_path / "ffmpeg-calls.log"
    wrapper = tmp_path / "ffmpeg"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$*" >> "{log}"\n'
        f'env >> "{log}"\n'
        f'exec "{ffmpeg_executable()}" "$@"\n'
    )
    wrapper.chmod(0o755)
    code, out, err = finish(
        cli(
            "run",
            tmp_path,
            "-t",
            "en",
            "--speed",
            "max",
            "--retry-delay",
            "0.01",
            "--endpoint",
            server.url,
            env={"SUBTITLER_FFMPEG": str(wrapper)},
        )
    )
    assert code == 1  # the empty file fails; the drop is resumed
    assert server.server.faults_injected == 1
    assert log.read_text().count("-nostdin") >= 1, "ffmpeg ran through the wrapper"
    haystacks = {
        "stdout": out,
        "stderr": err,
        "ffmpeg command lines and environment": log.read_text(),
    }
    for path in tmp_path.iterdir():
        if path.is_file() and path.suffix in (".srt", ".vtt", ".json"):
            haystacks[path.name] = path.read_text(encoding="utf-8")
    leaks = [name for name, text in haystacks.items() if TEST_KEY in text]
    assert leaks == []


def test_two_runs_at_once_over_one_folder_lose_and_repeat_nothing(
    emulator: BackgroundEmulator,
    tmp_path: Path,
    client: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A cron job overlapping the previous one: each input is worked on by one run; the other
    reports it in progress and goes on; both succeed."""
    files = make_folder(tmp_path / "media", 6, seed=3)
    arguments = ("run", tmp_path / "media", "-t", "en", "--jobs", "3", "--speed", "6",
                 "--endpoint", emulator.url, "--client", client)  # fmt: skip
    first, second = cli(*arguments), cli(*arguments)
    (code_a, out_a, err_a), (code_b, out_b, err_b) = finish(first), finish(second)
    figures = Figures()
    audit(files, figures)
    in_progress = (out_a + out_b).count("in progress in another run")
    with capsys.disabled():
        print(
            "\n"
            + figures.show(
                f"two runs at once ({client})", **{"skipped as in progress": in_progress}
            )
        )
    assert (code_a, code_b) == (0, 0), err_a + err_b
    assert in_progress > 0, "the runs overlapped (else this tests nothing)"
    assert (figures.duplicated, figures.lost, figures.invalid_files) == (0, 0, 0)
    assert figures.written == figures.expected
    assert not list((tmp_path / "media").glob(".*subtitler.lock"))  # no claim left
    assert_journals_finished(tmp_path / "media")


def test_a_live_source_that_stalls_longer_than_the_no_audio_rule_keeps_every_sentence(
    make_emulator: Callable[..., BackgroundEmulator],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A live stream (stdin) pauses mid-way longer than the service's no-audio rule: the task is
    finished cleanly before it, a new one starts when audio flows again. Both clients at once,
    each with its own stream. The service's 23 s rule and the client's 22 s stall limit are
    scaled down together (6 s and 3 s, a 9 s stall) so the test takes seconds, not a minute.
    The stream holds three short Mandarin sentences (15 s at 1x, not the podcast's 23)."""
    emulator = make_emulator(idle_timeout_s=6.0)
    podcast = next(t for t in SPEECH if t.media.name == "zh_podcast.mp3")
    cafe = next(t for t in SPEECH if t.media.name.startswith("Café"))
    spoken = speech([(podcast, 3), (podcast, 0), (cafe, 1)])
    pcm = spoken.pcm
    # A WAV stream cut in the pause between the second and third sentences (ffmpeg reads a
    # WAV on a pipe only once about 200 kB have come: two sentences are more than that).
    pause_ms = (int(spoken.sentences[1]["end_ms"]) + int(spoken.sentences[2]["begin_ms"])) // 2
    header = io.BytesIO()
    with wave.open(header, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(16000)
        writer.writeframes(pcm)
    data = header.getvalue()
    cut = len(data) - len(pcm) + pause_ms * 32
    failed_before = emulator.server.stats.count("failed")
    processes = {}
    for client in ("native", "sdk"):
        out = tmp_path / client
        process = cli("run", "-", "-t", "en", "--out-dir", out, "--endpoint", emulator.url,
                      "--client", client, "--json", "--stall-finish-after", "3",
                      stdin=subprocess.PIPE)  # fmt: skip
        assert process.stdin is not None and process.stdout is not None
        process.stdin.buffer.write(data[:cut])  # type: ignore[attr-defined]
        process.stdin.flush()
        processes[client] = process
    for process in processes.values():
        assert process.stdout is not None
        sentences = 0
        for line in process.stdout:
            sentences += '"event": "sentence"' in line
            if sentences == 2:
                break  # the first half is being heard: now the source stalls
    time.sleep(9)  # the stimulus: 9 s without audio (what is tested, not a synchronisation)
    wanted = [expected_cue_text(s) for s in spoken.sentences]
    for client, process in processes.items():
        assert process.stdin is not None and process.stdout is not None
        assert process.stderr is not None
        process.stdin.buffer.write(data[cut:])  # type: ignore[attr-defined]
        process.stdin.close()
        rest, err = process.stdout.read(), process.stderr.read()
        process.wait(timeout=300)
        (track,) = (tmp_path / client).glob("stdin-*.zh-en.srt")
        cues = pysrt.open(str(track), error_handling=pysrt.ERROR_RAISE)
        got = [squeeze(cue.text) for cue in cues]
        with capsys.disabled():
            print(
                f"\n[reliability] live stall of 9 s ({client}): sentences expected "
                f"{len(wanted)}, written {len(got)}, exit {process.returncode}"
            )
        assert process.returncode == 0, err
        assert got == wanted
        assert '"event": "finished"' in rest
    failures = emulator.server.stats.count("failed") - failed_before
    with capsys.disabled():
        print(f"[reliability] live stall of 9 s: task failures {failures}")
    assert failures == 0


def test_forty_inputs_at_once_meet_the_start_limit_without_refusals(
    make_emulator: Callable[..., BackgroundEmulator],
    tmp_path: Path,
    client: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = make_emulator(max_task_rate=10)  # the service's limit (also the default)
    files = make_folder(tmp_path / "media", 40, seed=4)
    code, _, err = finish(
        cli(  # at 4x: starts are tested, and a saturated machine would jitter the server's clock
            *("run", tmp_path / "media", "-t", "en", "--jobs", "40", "--speed", "4"),
            *("--endpoint", server.url, "--client", client),
        )
    )
    figures = Figures()
    audit(files, figures)
    with capsys.disabled():
        print(
            "\n"
            + figures.show(
                f"40 inputs at a 10/s start limit ({client})",
                **{
                    "refusals": server.server.rate_refusals,
                    "tasks started": server.server.stats.count("started"),
                },
            )
        )
    assert code == 0, err
    assert server.server.rate_refusals == 0
    assert (figures.duplicated, figures.lost, figures.invalid_files) == (0, 0, 0)


def assert_journals_finished(folder: Path) -> None:
    """Every input completed: its journal stays as the record of its cues, every target in it
    finished (a later run adds a format from it, or a target with one task)."""
    journals = list(folder.glob(".*subtitler-state.jsonl"))
    assert journals
    for journal in journals:
        state = resume_state.load(journal)
        assert state is not None and not state.unfinished, journal
