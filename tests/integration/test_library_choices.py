"""`--skip-subtitled` and `--audio-language` through the real CLI and real ffmpeg: a folder of
media with tagged embedded subtitle streams, forced ones, sidecars under each usual name and
nothing at all (made here by ffmpeg from the fixtures), and a file with two tagged audio
streams."""

from __future__ import annotations

import json
import shutil
import subprocess
from importlib import resources
from pathlib import Path

import jsonschema
import pysrt
import pytest

from subtitler.emulator.server import BackgroundEmulator
from subtitler.engine.subtitled import choose_audio, sidecar_languages, subtitled_reason
from subtitler.sources.media import AudioStream, SubtitleStream, ffmpeg_executable
from tests.integration.test_run import run_cli
from tests.support import FIXTURES

SRT = "1\n00:00:01,000 --> 00:00:03,000\nHello.\n"


def assert_valid_event(event: dict[str, object]) -> None:
    schema = json.loads((resources.files("subtitler") / "events.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(event)


def ffmpeg(*arguments: str | Path) -> None:
    subprocess.run(
        [ffmpeg_executable(), "-v", "error", "-y", *map(str, arguments)],
        check=True,
        capture_output=True,
    )


def with_subtitle_stream(folder: Path, name: str, language: str, forced: bool) -> Path:
    """An MKV of the news clip with one SRT subtitle stream (stream 2: after video and audio)."""
    sidecar = folder / "embedded.srt.tmp"
    sidecar.write_text(SRT, encoding="utf-8")
    out = folder / name
    disposition = ["-disposition:s:0", "forced"] if forced else []
    ffmpeg("-i", FIXTURES / "zh_news.mp4", "-f", "srt", "-i", sidecar, "-map", "0", "-map", "1",
           "-c", "copy", "-c:s", "srt", "-metadata:s:s:0", f"language={language}", *disposition,
           out)  # fmt: skip
    sidecar.unlink()
    return out


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("library")
    with_subtitle_stream(folder, "embedded eng.mkv", "eng", forced=False)
    with_subtitle_stream(folder, "embedded forced.mkv", "eng", forced=True)
    with_subtitle_stream(folder, "embedded jpn.mkv", "jpn", forced=False)
    sidecars = {
        "Movie A": "Movie A.en.srt",
        "Movie B": "Movie B.eng.srt",
        "Movie C": "Movie C.English.ass",
        "Movie D": "Movie D.en.sdh.srt",
        "Movie E": "Movie E.en.forced.srt",
        "Movie F": "Movie F.fr.vtt",
        "Nothing": None,
    }
    for stem, sidecar in sidecars.items():
        shutil.copy(FIXTURES / "zh_podcast.mp3", folder / f"{stem}.mp3")
        if sidecar:
            (folder / sidecar).write_text(SRT, encoding="utf-8")
    return folder


def test_skip_subtitled_skips_exactly_the_inputs_that_have_the_target(
    library: Path, emulator: BackgroundEmulator
) -> None:
    result = run_cli("run", library, "-t", "en", "--skip-subtitled", "--speed", "max",
                     "--endpoint", emulator.url)  # fmt: skip
    assert result.returncode == 0, result.stderr
    skipped = {
        line.split("]")[0][1:]: line.split("Skipped: ", 1)[1]
        for line in result.stdout.splitlines()
        if "] Skipped: " in line
    }
    assert skipped == {
        "embedded eng.mkv": "has en subtitles: embedded stream 2",
        "Movie A.mp3": "has en subtitles: Movie A.en.srt",
        "Movie B.mp3": "has en subtitles: Movie B.eng.srt",
        "Movie C.mp3": "has en subtitles: Movie C.English.ass",
        "Movie D.mp3": "has en subtitles: Movie D.en.sdh.srt",
    }
    done = {line.split("]")[0][1:] for line in result.stdout.splitlines()
            if line.endswith("] Translation completed")}  # fmt: skip
    assert done == {"embedded forced.mkv", "embedded jpn.mkv", "Movie E.mp3", "Movie F.mp3",
                    "Nothing.mp3"}  # fmt: skip
    assert not list(library.glob("Movie A.*-en.srt")), "nothing written for a skipped input"


def two_audio_streams(folder: Path) -> Path:
    """English lecture tagged eng first, the Mandarin news clip tagged jpn second (the tag
    decides, whatever the speech)."""
    out = folder / "two languages.mkv"
    ffmpeg("-i", FIXTURES / "en_lecture_44k.wav", "-i", FIXTURES / "zh_news.mp4",
           "-map", "0:a", "-map", "1:a", "-c:a", "aac", "-metadata:s:a:0", "language=eng",
           "-metadata:s:a:1", "language=jpn", out)  # fmt: skip
    return out


def test_audio_language_picks_the_tagged_stream_and_names_the_tracks_by_it(
    tmp_path: Path, emulator: BackgroundEmulator
) -> None:
    media = two_audio_streams(tmp_path)
    result = run_cli("run", media, "-t", "en", "--audio-language", "ja,en", "--speed", "max",
                     "--endpoint", emulator.url)  # fmt: skip
    assert result.returncode == 0, result.stderr
    track = tmp_path / "two languages.ja-en.srt"
    assert track.exists(), sorted(p.name for p in tmp_path.iterdir())
    text = " ".join(item.text for item in pysrt.open(str(track)))
    assert "欢迎收看今天的科技新闻" in text, "the second (jpn-tagged) stream was heard"
    english = run_cli("run", media, "-t", "zh", "--audio-language", "en", "--speed", "max",
                      "--endpoint", emulator.url)  # fmt: skip
    assert english.returncode == 0, english.stderr
    assert (tmp_path / "two languages.en-zh.srt").exists()
    missing = run_cli("run", media, "-t", "en", "--audio-language", "ko", "--speed", "max",
                      "--endpoint", emulator.url, "--overwrite")  # fmt: skip
    assert missing.returncode == 0, missing.stderr
    assert "no audio stream is tagged ko (0: eng, 1: jpn): audio stream 0 is used" in (
        missing.stdout
    )


def test_json_started_says_which_audio_stream_and_why(
    tmp_path: Path, emulator: BackgroundEmulator
) -> None:
    """`--json`: the stream chosen and the reason are in `started`, not only in the table."""
    media = two_audio_streams(tmp_path)

    def started(*options: str) -> dict[str, object]:
        result = run_cli("run", media, "-t", "en", "--speed", "max", "--overwrite", "--json",
                         "--endpoint", emulator.url, *options)  # fmt: skip
        assert result.returncode == 0, result.stderr
        events = [json.loads(line) for line in result.stdout.splitlines()]
        (event,) = [event for event in events if event["event"] == "started"]
        assert_valid_event(event)
        return event

    chosen = started("--audio-language", "ja,en")
    assert (chosen["audio_stream"], chosen["audio_reason"]) == (
        1,
        "tagged jpn (--audio-language ja,en)",
    )
    missing = started("--audio-language", "ko")
    assert (missing["audio_stream"], missing["audio_reason"]) == (
        0,
        "no audio stream is tagged ko (0: eng, 1: jpn): audio stream 0 is used",
    )
    given = started("--audio-stream", "1", "-s", "zh")
    assert (given["audio_stream"], given["audio_reason"]) == (1, "--audio-stream 1")


def test_sidecar_names_and_reasons() -> None:
    names = ["Film.en.srt", "Film.JPN.ass", "Film.de.forced.srt", "Film.zh-en.vtt",
             "Film 2.en.srt", "Film.txt", "Film.Spanish.sdh.ttml"]  # fmt: skip
    found = sidecar_languages("Film", names)
    assert found == {"en": "Film.en.srt", "ja": "Film.JPN.ass", "zh": "Film.zh-en.vtt",
                     "es": "Film.Spanish.sdh.ttml"}  # fmt: skip
    embedded = (SubtitleStream(3, "kor", forced=True), SubtitleStream(4, "kor", forced=False))
    assert subtitled_reason(("ko", "ja"), found, embedded) == (
        "has ko subtitles: embedded stream 4; has ja subtitles: Film.JPN.ass"
    )
    assert subtitled_reason(("ko", "de"), found, embedded) is None
    # Traditional Chinese sidecars subtitle the zh-TW target, not zh (Simplified).
    for traditional in ("Film.zh-TW.srt", "Film.zh-Hant.ass", "Film.cht.srt", "Film.zh_tw.vtt"):
        both = sidecar_languages("Film", [traditional, "Film.zh-CN.srt"])
        assert both == {"zh-TW": traditional, "zh": "Film.zh-CN.srt"}
        assert subtitled_reason(("zh",), sidecar_languages("Film", [traditional]), ()) is None
    streams = (AudioStream(0, "aac", 48000, "stereo", "eng", None),
               AudioStream(1, "aac", 48000, "stereo", "jpn", None))  # fmt: skip
    tagged = choose_audio(streams, ("ja", "en"), 0)
    assert (tagged.audio_index, tagged.fallback) == (1, False)
    assert tagged.reason == "tagged jpn (--audio-language ja,en)"
    assert choose_audio(streams, ("fr", "en"), 1).audio_index == 0
    untagged = choose_audio(streams, ("fr",), 1)
    assert (untagged.audio_index, untagged.fallback) == (1, True)
    assert (
        untagged.reason == "no audio stream is tagged fr (0: eng, 1: jpn): audio stream 1 is used"
    )
