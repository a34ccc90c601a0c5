"""`subtitler serve` as Bazarr's Whisper provider calls it: the exact requests, every output
format read by a parser for it, detect-language on every fixture language, 8 uploads at once,
the bearer token, bad uploads, and no key in any answer or log line."""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import ffmpeg
import pysrt
import pytest
import requests
import webvtt

from subtitler.emulator.server import BackgroundEmulator
from subtitler.layout.cues import join_lines
from subtitler.sources.media import ffmpeg_executable
from tests.serving import SECRET, Server
from tests.support import FIXTURES, Transcript, transcripts

SPEECH = [t for t in transcripts() if t.audio_stream == 0]


@pytest.fixture(scope="module")
def server(emulator: BackgroundEmulator) -> Iterator[Server]:
    running = Server(emulator)
    yield running
    log = running.stop()
    assert SECRET not in log
    assert re.search(r"^POST /asr 200 ", log, re.MULTILINE)


def bazarr_audio(path: Path) -> bytes:
    """`encode_audio_stream` of Bazarr's whisperai.py, as it runs ffmpeg."""
    out, _ = (
        ffmpeg.input(str(path), threads=0)
        .output("-", format="s16le", acodec="pcm_s16le", ac=1, ar=16000, af="aresample=async=1")
        .run(cmd=[ffmpeg_executable(), "-nostdin"], capture_stdout=True, capture_stderr=True)
    )
    assert isinstance(out, bytes)
    return out


def bazarr_session() -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = "Subliminal/2.1"
    return session


def asr(server: Server, audio: bytes, task: str, language: str, output: str) -> requests.Response:
    """`download_subtitle` of Bazarr's whisperai.py (output srt there; the others here too)."""
    return bazarr_session().post(
        f"{server.url}/asr",
        params={"task": task, "language": language, "output": output, "encode": "false"},
        files={"audio_file": audio},
        timeout=(10, 300),
    )


def test_bazarr_transcribe_and_translate_in_every_output_format(server: Server) -> None:
    news = next(t for t in SPEECH if t.media.name == "zh_news.mp4")
    audio = bazarr_audio(news.media)
    srt = asr(server, audio, "transcribe", "zh", "srt")
    assert srt.status_code == 200, srt.text
    items = pysrt.from_string(srt.text, error_handling=pysrt.ERROR_RAISE)
    texts = [" ".join(item.text.splitlines()) for item in items]
    assert len(items) >= len(news.sentences) and all(
        re.search(r"[\u4e00-\u9fff]", t) for t in texts
    )
    said = "".join(s["text"] for s in news.sentences)
    assert "".join(t.replace(" ", "") for t in texts) == said  # the spoken language, all of it
    english = asr(server, audio, "translate", "zh", "srt")
    assert english.status_code == 200
    translated = pysrt.from_string(english.text, error_handling=pysrt.ERROR_RAISE)
    assert [i.start.ordinal for i in translated] == [i.start.ordinal for i in items]
    assert all(re.fullmatch(r"[\x20-\x7e\n’]+", i.text) for i in translated)  # English
    vtt = asr(server, audio, "transcribe", "zh", "vtt")
    captions = webvtt.from_buffer(io.StringIO(vtt.text)).captions
    assert [c.start_time.in_milliseconds() for c in captions] == [i.start.ordinal for i in items]
    txt = asr(server, audio, "transcribe", "zh", "txt")
    assert txt.headers["Content-Type"].startswith("text/plain")
    texts = [join_lines(item.text.splitlines()) for item in items]  # a CJK break: no space
    assert txt.text.splitlines() == texts
    assert not re.search(r"[\u4e00-\u9fff，] +[\u4e00-\u9fff]", txt.text), txt.text
    tsv = asr(server, audio, "transcribe", "zh", "tsv")
    rows = list(csv.reader(io.StringIO(tsv.text), delimiter="\t"))
    assert rows[0] == ["start", "end", "text"]
    assert [(int(b), int(e), t) for b, e, t in rows[1:]] == [
        (i.start.ordinal, i.end.ordinal, t) for i, t in zip(items, texts, strict=True)
    ]
    document = json.loads(asr(server, audio, "transcribe", "zh", "json").text)
    assert document["language"] == "zh" and document["text"] == "".join(texts)
    assert [s["start"] for s in document["segments"]] == [i.start.ordinal / 1000 for i in items]


@pytest.mark.parametrize("speech", SPEECH, ids=lambda t: t.media.name)
def test_detect_language_is_right_on_every_fixture(server: Server, speech: Transcript) -> None:
    reply = bazarr_session().post(
        f"{server.url}/detect-language",
        params={"encode": "false"},
        files={"audio_file": bazarr_audio(speech.media)},
        timeout=(10, 300),
    )
    assert reply.status_code == 200, reply.text
    found = reply.json()
    assert found["language_code"] == speech.language
    assert found["detected_language"] == {"zh": "chinese", "en": "english"}[speech.language]


def test_eight_uploads_at_once_all_finish(server: Server) -> None:
    clips = [t.media for t in SPEECH][:4] * 2
    audio = {path: bazarr_audio(path) for path in set(clips)}
    languages = {t.media: t.language for t in SPEECH}
    expected = {
        path: asr(server, audio[path], "transcribe", languages[path], "srt").text for path in audio
    }
    with ThreadPoolExecutor(8) as pool:  # eight client connections at once
        replies = list(
            pool.map(lambda p: asr(server, audio[p], "transcribe", languages[p], "srt"), clips)
        )
    assert [r.status_code for r in replies] == [200] * 8
    assert [r.text for r in replies] == [expected[p] for p in clips]


def test_our_endpoint_gives_bilingual_tracks_in_any_format(server: Server) -> None:
    with open(FIXTURES / "zh_news.mp4", "rb") as media:
        reply = requests.post(
            f"{server.url}/subtitles",
            params={"source": "zh", "target": "ja", "format": "vtt"},
            files={"audio_file": ("news.mp4", media)},
            timeout=(10, 300),
        )
    assert reply.status_code == 200, reply.text
    assert 'filename="news.zh-ja.vtt"' in reply.headers["Content-Disposition"]
    text = reply.text
    assert "<lang zh>" in text and "<lang ja>" in text
    assert "NOTE Source: news.mp4" in text  # the upload's own name, not the WAV made of it
    webvtt.from_buffer(io.StringIO(text))


def test_bad_requests_get_a_4xx_with_one_line(server: Server) -> None:
    url = f"{server.url}/asr"
    cases = [
        (requests.post(url, data=b"raw body", timeout=30), 400),
        (requests.post(url, files={"other": b"x"}, timeout=30), 422),
        (requests.post(url, files={"audio_file": b""}, timeout=30), 400),
        (
            requests.post(
                url, params={"encode": "false"}, files={"audio_file": b"abc"}, timeout=30
            ),
            400,
        ),
        (requests.post(url, files={"audio_file": ("x.mp4", b"not media")}, timeout=30), 400),
        (
            requests.post(url, params={"task": "dance"}, files={"audio_file": b"ab"}, timeout=30),
            422,
        ),
        (
            requests.post(url, params={"language": "pt"}, files={"audio_file": b"ab"}, timeout=30),
            422,
        ),
        (
            requests.post(url, params={"encode": "maybe"}, files={"audio_file": b"ab"}, timeout=30),
            422,
        ),
    ]
    for reply, status in cases:
        assert reply.status_code == status, reply.text
        detail = reply.json()["detail"]
        assert detail and "\n" not in detail and SECRET not in reply.text


def test_a_token_is_required_when_set(emulator: BackgroundEmulator) -> None:
    guarded = Server(emulator, "--api-token", "t0ken")
    try:
        audio = bazarr_audio(FIXTURES / "en_late_audio.mp4")
        url = f"{guarded.url}/asr"
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "t0ken"}):
            reply = requests.post(url, headers=headers, files={"audio_file": audio},
                                  params={"encode": "false"}, timeout=30)  # fmt: skip
            assert reply.status_code == 401
        good = requests.post(url, headers={"Authorization": "Bearer t0ken"},
                             files={"audio_file": audio}, params={"encode": "false"},
                             timeout=60)  # fmt: skip
        assert good.status_code == 200 and "picture" in good.text
    finally:
        log = guarded.stop()
    assert "t0ken" not in log and SECRET not in log


GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "serve"
GOLDEN_HEADERS = ("Content-Type", "Content-Disposition", "Asr-Engine")
RESPONSES = [
    # (case, endpoint, fixture, raw PCM as Bazarr sends it, query)
    *[(f"asr-en-{out}", "asr", "en_late_audio.mp4", True,
       {"task": "transcribe", "language": "en", "output": out})
      for out in ("srt", "vtt", "txt", "tsv", "json")],
    ("asr-auto-json", "asr", "zh_news.mp4", True, {"task": "transcribe", "output": "json"}),
    ("asr-auto-tsv", "asr", "en_late_audio.mp4", False, {"output": "tsv"}),
    ("asr-translate-zh-srt", "asr", "zh_news.mp4", True,
     {"task": "translate", "language": "zh", "output": "srt"}),
    ("asr-translate-en-json", "asr", "en_late_audio.mp4", True,
     {"task": "translate", "language": "en", "output": "json"}),
    ("asr-silent-json", "asr", "silent.mp4", False, {"output": "json"}),
    ("asr-silent-srt", "asr", "silent.mp4", False, {"language": "en", "output": "srt"}),
    # en, not ja: the Japanese last cue reads past the media's end, which is capped at the
    # decoded duration, and that differs by ffmpeg version (32.390 s from 9.0, 32.410 from 5.1)
    ("subtitles-bilingual-vtt", "subtitles", "zh_news.mp4", False,
     {"source": "zh", "target": "en", "format": "vtt"}),
    ("subtitles-auto-bilingual-srt", "subtitles", "zh_news.mp4", False, {"target": "en"}),
    ("subtitles-auto-source-ass", "subtitles", "zh_news.mp4", False,
     {"target": "en", "track": "source", "format": "ass"}),
    ("subtitles-target-ttml", "subtitles", "en_late_audio.mp4", False,
     {"source": "en", "target": "zh", "track": "target", "format": "ttml"}),
    ("subtitles-silent-auto-srt", "subtitles", "silent.mp4", False, {"target": "en"}),
    ("detect-language-zh", "detect-language", "zh_news.mp4", True, {}),
]  # fmt: skip


def response_bytes(reply: requests.Response) -> bytes:
    """What a client gets: the status, the headers a client reads, the body byte for byte."""
    head = [str(reply.status_code)]
    head += [f"{name}: {reply.headers[name]}" for name in GOLDEN_HEADERS if name in reply.headers]
    return "\n".join(head).encode() + b"\n\n" + reply.content


@pytest.mark.parametrize("case", RESPONSES, ids=lambda case: case[0])
def test_responses_are_byte_for_byte_the_golden_ones(
    server: Server, case: tuple[str, str, str, bool, dict[str, str]]
) -> None:
    """Every endpoint's answer, as the clients that parse it get it (rewrite the files with
    SUBTITLER_UPDATE_GOLDEN=1 only for an intended change)."""
    name, endpoint, fixture, raw, query = case
    media = FIXTURES / fixture
    upload = bazarr_audio(media) if raw else media.read_bytes()
    reply = requests.post(
        f"{server.url}/{endpoint}",
        params={**query, "encode": "false" if raw else "true"},
        files={"audio_file": (media.name, upload)},
        timeout=(10, 300),
    )
    got = response_bytes(reply)
    golden = GOLDEN / f"{name}.txt"
    if os.environ.get("SUBTITLER_UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_bytes(got)
    assert got == golden.read_bytes()
