"""`subtitler run` end to end: real ffmpeg, the real SDK, the local emulator, real files."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pysrt
import pytest
import webvtt

from subtitler.emulator.server import BackgroundEmulator
from subtitler.engine.batch import run_batch
from subtitler.events import CueWritten, Event, InputEnded, Status
from subtitler.options import make_options
from subtitler.sources.inputs import discover
from subtitler.sources.media import ffmpeg_executable
from tests import harness
from tests.support import (
    FIXTURES,
    H264_AAC,
    TOLERANCE_MS,
    Transcript,
    save_speech,
    speech,
    transcripts,
)

ROOT = Path(__file__).resolve().parents[2]
MEDIA = [p for p in FIXTURES.iterdir() if p.is_file() and p.suffix not in (".py", ".json")]
SPEECH = transcripts()
FIRST_STREAM_SPEECH = [t for t in SPEECH if t.audio_stream == 0]  # the folder run's default


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


def run_cli(*args: str | Path, env: dict[str, str] | None = None) -> Run:
    """The real command in a child process, stdout not a terminal (line output)."""
    keep_key = not env or "DASHSCOPE_API_KEY" in env
    environment = harness.environment(env, **({} if keep_key else {"DASHSCOPE_API_KEY": None}))
    result = harness.run(*args, env=environment)
    return Run(result.returncode, result.stdout, result.stderr)


@pytest.fixture(scope="module")
def media_folder(tmp_path_factory: pytest.TempPathFactory, client: str) -> Path:
    """A copy of every fixture (good and bad), so tracks land beside the sources."""
    folder = tmp_path_factory.mktemp(f"media-{client}")
    for path in MEDIA:
        shutil.copy(path, folder / path.name)
    return folder


@pytest.fixture(scope="module")
def first_run(media_folder: Path, emulator: BackgroundEmulator, client: str) -> Run:
    return run_cli(
        "run",
        media_folder,
        "-t",
        "en",
        "--jobs",
        "3",
        "--speed",
        "max",
        "--endpoint",
        emulator.url,
        "--client",
        client,
    )


def tracks_of(folder: Path, transcript: Transcript, target: str = "en") -> tuple[Path, Path]:
    stem = Path(transcript.media.name).stem
    language = transcript.language
    return folder / f"{stem}.{language}-{target}.srt", folder / f"{stem}.{language}-{target}.vtt"


def expected_text(sentence: dict[str, object], target: str) -> str:
    """What a bilingual cue of this sentence shows, whitespace (line breaks) removed."""
    text = str(sentence["text"])
    translations = sentence["translations"]
    assert isinstance(translations, dict)
    translation = translations.get(target, text)
    return squeeze(text if translation == text else text + translation)


def vtt_languages(path: Path) -> dict[str, str]:
    """All text of each `<lang xx>` span in a VTT track, in order, whitespace removed."""
    found: dict[str, str] = {}
    for caption in webvtt.read(str(path)):
        for language, text in re.findall(r"<lang ([\w-]+)>(.*?)</lang>", caption.raw_text):
            found[language] = found.get(language, "") + squeeze(text)
    return found


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.mark.parametrize(
    "transcript", FIRST_STREAM_SPEECH, ids=[t.media.name for t in FIRST_STREAM_SPEECH]
)
def test_each_speech_input_gets_valid_tracks_with_true_text_and_times(
    first_run: Run, media_folder: Path, transcript: Transcript
) -> None:
    srt_path, vtt_path = tracks_of(media_folder, transcript)
    srt = pysrt.open(str(srt_path), encoding="utf-8", error_handling=pysrt.ERROR_RAISE)
    vtt = webvtt.read(str(vtt_path))
    assert len(srt) == len(vtt) == len(transcript.sentences)
    for srt_cue, vtt_cue, truth in zip(srt, vtt, transcript.sentences, strict=True):
        assert squeeze(srt_cue.text) == expected_text(truth, "en")
        assert squeeze(vtt_cue.text) == expected_text(truth, "en")
        assert all(len(line) <= 42 or line[0] >= "\u4e00" for line in srt_cue.text.split("\n"))
        assert abs(srt_cue.start.ordinal - truth["begin_ms"]) <= TOLERANCE_MS
        assert abs(srt_cue.end.ordinal - truth["end_ms"]) <= TOLERANCE_MS
        assert vtt_cue.start_time.in_milliseconds() == srt_cue.start.ordinal
        assert vtt_cue.end_time.in_milliseconds() == srt_cue.end.ordinal
    for path, fmt in ((srt_path, "srt"), (vtt_path, "webvtt")):
        demuxed = subprocess.run(
            [ffmpeg_executable(), "-v", "error", "-i", f"file:{path}", "-f", fmt, "-"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert demuxed.returncode == 0 and demuxed.stderr == "", demuxed.stderr
        assert demuxed.stdout.count("-->") == len(transcript.sentences)


def test_bad_inputs_fail_alone_with_one_line_each(first_run: Run, media_folder: Path) -> None:
    assert first_run.returncode == 1
    failures = [line for line in first_run.stderr.splitlines() if line.startswith("subtitler: ")]
    expected = {
        "no_audio.mp4": "no audio stream",
        "corrupt_truncated.mp4": "not readable media",
        "empty.mp4": "empty file (0 bytes)",
    }
    assert len(failures) == len(expected)
    for name, cause in expected.items():
        assert any(f"{media_folder / name}: " in line and cause in line for line in failures)
        assert not list(media_folder.glob(f"{Path(name).stem}.*.srt"))
    completed = first_run.stdout.count("Translation completed")
    assert completed == len(FIRST_STREAM_SPEECH), "the MKV's first stream, music, has no speech"
    assert "[silent.mp4] Skipped: no speech" in first_run.stdout


def test_line_output_is_greppable_like_the_sample(first_run: Run) -> None:
    lines = first_run.stdout.splitlines()
    assert any(
        line.startswith("[zh_news.mp4] Transcript ==> 欢迎收看今天的科技新闻。") for line in lines
    )
    assert any(
        line.startswith("[zh_news.mp4] Translate ==> Welcome to today's technology news.")
        for line in lines
    )
    metrics = [line for line in lines if line.startswith("[Metric] requestId: ")]
    assert len(metrics) == len(SPEECH) + 1
    assert all("first package delay ms: " in m and "last package delay ms: " in m for m in metrics)
    assert "subtitler summary" in first_run.stdout


def test_silent_clip_gets_no_empty_track(first_run: Run, media_folder: Path) -> None:
    """A media server would list an empty file as a subtitle track: none is left."""
    assert not list(media_folder.glob("silent.*.*t"))


def test_a_rerun_without_overwrite_skips_and_with_it_rewrites(
    first_run: Run, media_folder: Path, emulator: BackgroundEmulator
) -> None:
    news = media_folder / "zh_news.mp4"
    before = (media_folder / "zh_news.zh-en.srt").stat().st_mtime_ns
    again = run_cli("run", news, "-t", "en", "--speed", "max", "--endpoint", emulator.url)
    assert again.returncode == 0
    assert "[zh_news.mp4] Skipped: tracks exist (zh_news.zh-en.srt)" in again.stdout
    assert (media_folder / "zh_news.zh-en.srt").stat().st_mtime_ns == before
    forced = run_cli(
        "run", news, "-t", "en", "--speed", "max", "--overwrite", "--endpoint", emulator.url
    )
    assert forced.returncode == 0 and "Translation completed" in forced.stdout
    assert len(pysrt.open(str(media_folder / "zh_news.zh-en.srt"))) == 5


def test_a_track_read_mid_run_is_valid_and_holds_the_cues_so_far(
    emulator: BackgroundEmulator, tmp_path: Path, client: str
) -> None:
    news = next(t for t in SPEECH if t.media.name == "zh_news.mp4")
    spoken = speech([(news, 0), (news, 4)])  # its first and last sentences: 11 s, not 32
    save_speech(spoken, tmp_path / "zh_news.mp4", *H264_AAC, video=True)
    count = len(spoken.sentences)
    options = make_options(["en"], api_key="k", endpoint=emulator.url, speed=4.0, client=client)
    seen: list[tuple[int, int, int, bool]] = []
    ended = False

    def observe(event: Event) -> None:
        nonlocal ended
        if isinstance(event, InputEnded):
            ended = True
        if isinstance(event, CueWritten):
            srt = pysrt.open(str(event.tracks[0]), error_handling=pysrt.ERROR_RAISE)
            vtt = webvtt.read(str(event.tracks[1]))
            written = sum(1 for _ in seen) + 1
            seen.append((written, len(srt), len(vtt), ended))

    results = asyncio.run(run_batch(discover([tmp_path]), options, observe))
    assert results[0].status is Status.DONE
    assert len(seen) == count
    for written, in_srt, in_vtt, was_ended in seen:
        assert in_srt >= written and in_vtt >= written
        assert not was_ended, "the session was still running when the track was read"
    assert seen[0][1] < count, "the first read happened before the last sentence was spoken"


def test_translation_in_a_later_event_still_gives_complete_cues(
    make_emulator: Callable[..., BackgroundEmulator], tmp_path: Path, client: str
) -> None:
    server = make_emulator(split_final_translation=True)
    shutil.copy(FIXTURES / "zh_podcast.mp3", tmp_path / "zh_podcast.mp3")
    result = run_cli(
        "run", tmp_path, "-t", "en", "--speed", "max", "--endpoint", server.url, "--client", client
    )
    assert result.returncode == 0, result.stderr
    cues = pysrt.open(str(tmp_path / "zh_podcast.zh-en.srt"))
    transcript = next(t for t in SPEECH if t.media.name == "zh_podcast.mp3")
    assert [squeeze(c.text) for c in cues] == [expected_text(s, "en") for s in transcript.sentences]


def test_several_targets_decode_once_and_write_one_pair_each(
    emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    shutil.copy(FIXTURES / "zh_news.mp4", tmp_path / "zh_news.mp4")
    result = run_cli(
        "run",
        tmp_path / "zh_news.mp4",
        "-t",
        "en,ja",
        "-s",
        "zh",
        "--speed",
        "max",
        "--endpoint",
        emulator.url,
    )
    assert result.returncode == 0, result.stderr
    transcript = next(t for t in SPEECH if t.media.name == "zh_news.mp4")
    for target in ("en", "ja"):
        spoken = vtt_languages(tmp_path / f"zh_news.zh-{target}.vtt")
        assert spoken["zh"] == squeeze("".join(s["text"] for s in transcript.sentences))
        assert spoken[target] == squeeze(
            "".join(s["translations"][target] for s in transcript.sentences)
        )
        assert len(pysrt.open(str(tmp_path / f"zh_news.zh-{target}.srt"))) >= 5
    assert "[zh_news.mp4 ja] Translate ==> " in result.stdout


def test_out_dir_mirrors_the_input_folders(emulator: BackgroundEmulator, tmp_path: Path) -> None:
    source = tmp_path / "in"
    (source / "season 1" / "disc 2").mkdir(parents=True)
    (source / ".hidden").mkdir()
    shutil.copy(FIXTURES / "zh_podcast.mp3", source / "season 1" / "disc 2" / "ep.mp3")
    shutil.copy(FIXTURES / "zh_podcast.mp3", source / ".hidden" / "skip.mp3")
    shutil.copy(FIXTURES / "zh_podcast.mp3", source / ".dotfile.mp3")
    (source / "notes.txt").write_text("not media")
    out = tmp_path / "out"
    result = run_cli(
        "run",
        source,
        source / "season 1",
        "-t",
        "en",
        "--speed",
        "max",
        "--out-dir",
        out,
        "--endpoint",
        emulator.url,
    )
    assert result.returncode == 0, result.stderr
    made = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert made == [
        "season 1/disc 2/.ep.subtitler-state.jsonl",  # hidden: the record of the cues
        "season 1/disc 2/ep.zh-en.srt",
        "season 1/disc 2/ep.zh-en.vtt",
    ]
    assert result.stdout.count("Translation completed") == 1, "the same file never twice"
    assert not list(source.rglob("*.srt"))


def test_audio_stream_option_picks_the_dialogue_track(
    emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    shutil.copy(FIXTURES / "en_station_two_tracks.mkv", tmp_path / "two.mkv")
    result = run_cli(
        "run",
        tmp_path / "two.mkv",
        "-t",
        "zh",
        "--audio-stream",
        "1",
        "--speed",
        "max",
        "--endpoint",
        emulator.url,
    )
    assert result.returncode == 0, result.stderr
    cues = pysrt.open(str(tmp_path / "two.en-zh.srt"))
    assert cues[0].text.split("\n") == [
        "The train to the airport",
        "leaves every fifteen minutes.",
        "去机场的火车每十五分钟发一班。",
    ]
    missing = run_cli(
        "run",
        tmp_path / "two.mkv",
        "-t",
        "zh",
        "--audio-stream",
        "5",
        "--overwrite",
        "--endpoint",
        emulator.url,
    )
    assert missing.returncode == 1
    assert "audio stream 5 does not exist" in missing.stderr


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [
        (["--speed", "0"], "--speed"),
        (["--speed", "fast"], "--speed"),
        (["-t", "xx"], "not a language Qwen-MT translates into"),
        (["-t", "es", "-s", "en", "--translator", "gummy"], "does not translate en to es"),
        (["-t", "es", "-s", "ko", "--region", "intl"], "not a language Fun-ASR recognises"),
        (["-s", "tlh"], "not a Gummy source language"),
        (["--jobs", "0"], "--jobs"),
        (["--endpoint", "http://example.com"], "ws://"),
        (["--max-end-silence", "50"], "--max-end-silence"),
    ],
)
def test_usage_errors_exit_2_before_any_work(
    tmp_path: Path, arguments: list[str], fragment: str
) -> None:
    shutil.copy(FIXTURES / "zh_podcast.mp3", tmp_path / "a.mp3")
    options = {"-t": "en", "--endpoint": "ws://127.0.0.1:9/api-ws/v1/inference"}
    for flag, value in zip(arguments[::2], arguments[1::2], strict=True):
        options[flag] = value
    flat = [part for pair in options.items() for part in pair]
    result = run_cli("run", tmp_path, *flat, env={"DASHSCOPE_API_KEY": "sk-x"})
    assert result.returncode == 2
    assert fragment in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mp3"]


def test_no_key_for_a_remote_endpoint_names_the_variable(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "zh_podcast.mp3", tmp_path / "a.mp3")
    result = run_cli("run", tmp_path, "-t", "en", env={"HOME": str(tmp_path)})
    assert result.returncode == 2
    assert "DASHSCOPE_API_KEY" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mp3"]


def test_a_missing_path_fails_alone(emulator: BackgroundEmulator, tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "zh_podcast.mp3", tmp_path / "a.mp3")
    result = run_cli(
        "run",
        tmp_path / "nope.mp4",
        tmp_path / "a.mp3",
        "-t",
        "en",
        "--speed",
        "max",
        "--endpoint",
        emulator.url,
    )
    assert result.returncode == 1
    assert f"subtitler: {tmp_path / 'nope.mp4'}: no such file or folder" in result.stderr
    assert (tmp_path / "a.zh-en.srt").exists()


def test_demo_runs_with_no_key_and_says_it_is_emulated(tmp_path: Path) -> None:
    result = run_cli(
        "demo", "--speed", "max", "--out-dir", tmp_path / "demo", env={"HOME": str(tmp_path)}
    )
    assert result.returncode == 0, result.stderr
    assert "LOCAL GUMMY EMULATOR" in result.stderr.splitlines()[0]
    made = sorted(p.name for p in (tmp_path / "demo").iterdir() if not p.name.startswith("."))
    assert "zh_news.zh-en.srt" in made and "zh_news.zh-en.vtt" in made
    assert len(made) == 6


def test_every_track_written_on_the_fixtures_passes_check(
    first_run: Run, media_folder: Path
) -> None:
    tracks = sorted(p for p in media_folder.iterdir() if p.suffix in (".srt", ".vtt"))
    assert len(tracks) == 2 * len(FIRST_STREAM_SPEECH)  # the MKV's music, silent.mp4: none
    result = run_cli("check", *tracks)
    assert result.returncode == 0, result.stdout
    assert result.stdout.startswith(f"0 violations in {len(tracks)} files")


def test_layout_both_writes_monolingual_tracks_with_the_same_times(
    emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    shutil.copy(FIXTURES / "zh_news.mp4", tmp_path / "zh_news.mp4")
    result = run_cli(
        "run",
        tmp_path / "zh_news.mp4",
        "-s",
        "zh",
        "-t",
        "en",
        "--layout",
        "both",
        "--speed",
        "max",
        "--endpoint",
        emulator.url,
    )
    assert result.returncode == 0, result.stderr
    made = sorted(p.name for p in tmp_path.iterdir() if p.suffix in (".srt", ".vtt"))
    assert made == [
        "zh_news.en.srt",
        "zh_news.en.vtt",
        "zh_news.zh-en.srt",
        "zh_news.zh-en.vtt",
        "zh_news.zh.srt",
        "zh_news.zh.vtt",
    ]
    bilingual = pysrt.open(str(tmp_path / "zh_news.zh-en.srt"))
    chinese = pysrt.open(str(tmp_path / "zh_news.zh.srt"))
    english = pysrt.open(str(tmp_path / "zh_news.en.srt"))
    times = [(c.start.ordinal, c.end.ordinal) for c in bilingual]
    assert [(c.start.ordinal, c.end.ordinal) for c in chinese] == times
    assert [(c.start.ordinal, c.end.ordinal) for c in english] == times
    assert all(re.fullmatch(r"[^A-Za-z]+", c.text) for c in chinese)
    assert all(not re.search(r"[\u4e00-\u9fff]", c.text) for c in english)
    assert vtt_languages(tmp_path / "zh_news.zh.vtt").keys() == {"zh"}
    vtt_text = (tmp_path / "zh_news.zh-en.vtt").read_text(encoding="utf-8")
    assert "NOTE Source: zh_news.mp4" in vtt_text and "NOTE Languages: zh, en" in vtt_text
    checked = run_cli("check", *sorted(tmp_path.glob("zh_news.*.*t")))
    assert checked.returncode == 0, checked.stdout


@pytest.mark.parametrize("as_json", [True, False], ids=["json", "lines"])
def test_a_closed_stdout_stops_the_run_keeping_journals_and_releasing_locks(
    tmp_path: Path, emulator: BackgroundEmulator, as_json: bool
) -> None:
    """`subtitler run DIR -t en --json | head -1`: once the reader has gone the run stops as on
    Ctrl-C (it used to idle in epoll forever, holding its locks)."""
    folder = tmp_path / "lib"
    folder.mkdir()
    for index in range(3):
        shutil.copy(FIXTURES / "zh_news.mp4", folder / f"news {index}.mp4")
    read_end, write_end = os.pipe()
    process = harness.start(
        "run", folder, "-s", "zh", "-t", "en", "--speed", "1",
        *(["--json"] if as_json else []), "--endpoint", emulator.url, stdout=write_end,
    )  # fmt: skip
    os.close(write_end)
    with os.fdopen(read_end, encoding="utf-8") as reader:  # `head -1`
        first = reader.readline()
    assert first.strip()
    _, err = process.communicate(timeout=120)
    assert "standard output was closed" in err
    assert process.returncode == 130, err  # interrupted: the rerun resumes
    assert not list(folder.glob(".*.subtitler.lock")), "every lock is released"
    assert len(list(folder.glob(".*.subtitler-state.jsonl"))) == 3, "each input can resume"
    assert "Traceback" not in err and "BrokenPipe" not in err


def test_a_crash_after_the_tracks_open_and_before_the_first_cue_is_resumed_not_kept(
    tmp_path: Path, emulator: BackgroundEmulator
) -> None:
    """SIGKILL between a target's tracks opening (empty, valid) and its first journaled cue
    leaves the journal's header and the target's `started` line: the rerun runs the target
    (it does not take the empty tracks for finished ones); a track the user had before the
    first run, which that run left alone, is left alone by the rerun too."""
    media = tmp_path / "news.mp4"
    shutil.copy(FIXTURES / "zh_news.mp4", media)
    own_srt = tmp_path / "news.zh-en.srt"
    own_srt.write_text("1\n00:00:01,000 --> 00:00:02,000\nThe user's own.\n", encoding="utf-8")
    arguments = ("run", media, "-s", "zh", "-t", "en", "--speed", "max", "--endpoint",
                 emulator.url)  # fmt: skip
    first = run_cli(*arguments)
    assert first.returncode == 0, first.stderr
    journal = tmp_path / ".news.subtitler-state.jsonl"
    lines = journal.read_text(encoding="utf-8").splitlines()
    started = [line for line in lines if '"started"' in line]
    assert started == ['{"started": "en", "kept": ["news.zh-en.srt"]}'], lines
    complete_vtt = (tmp_path / "news.zh-en.vtt").read_text(encoding="utf-8")
    # the moment of the crash: header and started line, the opened track still empty
    journal.write_text("\n".join(lines[: lines.index(started[0]) + 1]) + "\n", encoding="utf-8")
    (tmp_path / "news.zh-en.vtt").write_text("WEBVTT\n\n", encoding="utf-8")
    rerun = run_cli(*arguments)
    assert rerun.returncode == 0, rerun.stderr
    assert (tmp_path / "news.zh-en.vtt").read_text(encoding="utf-8") == complete_vtt
    assert own_srt.read_text(encoding="utf-8").endswith("The user's own.\n")
