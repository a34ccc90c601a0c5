"""The emulator's Fun-ASR realtime and Gummy recognition-only tasks over a real WebSocket, on
the fixtures' real audio (research any-pair.md, B2 and C)."""

from __future__ import annotations

import asyncio
import json
import math
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from subtitler.emulator.config import EmulatorConfig
from subtitler.emulator.server import BackgroundEmulator
from subtitler.emulator.vocabulary import CUSTOMIZATION_PATH
from tests.support import FIXTURES, TEST_KEY, decode

Event = dict[str, Any]
LECTURE = json.loads((FIXTURES / "transcripts" / "en_lecture_44k.json").read_text("utf-8"))
NEWS = json.loads((FIXTURES / "transcripts" / "zh_news.json").read_text("utf-8"))
SILENCE = bytes(3200)  # 100 ms


@pytest.fixture(scope="module")
def lecture_pcm() -> bytes:
    return decode(FIXTURES / "en_lecture_44k.wav")[0]


@pytest.fixture(scope="module")
def news_pcm() -> bytes:
    return decode(FIXTURES / "zh_news.mp4")[0]


def run_task(task_id: str, model: str = "fun-asr-realtime", **parameters: Any) -> str:
    return json.dumps(
        {
            "header": {"action": "run-task", "task_id": task_id, "streaming": "duplex"},
            "payload": {
                "task_group": "audio",
                "task": "asr",
                "function": "recognition",
                "model": model,
                "parameters": {"format": "pcm", "sample_rate": 16000, **parameters},
                "input": {},
            },
        }
    )


def finish(task_id: str) -> str:
    header = {"action": "finish-task", "task_id": task_id, "streaming": "duplex"}
    return json.dumps({"header": header, "payload": {"input": {}}})


async def _task(ws: Any, pcm: bytes, finished: bool = True, **parameters: Any) -> list[Event]:
    """One task on an open connection: its events up to task-finished or task-failed."""
    task_id = uuid.uuid4().hex
    await ws.send(run_task(task_id, **parameters))
    received: list[Event] = []
    started = json.loads(await ws.recv())
    received.append(started)
    if started["header"]["event"] != "task-started":
        return received
    for start in range(0, len(pcm), 3200):
        await ws.send(pcm[start : start + 3200])
    if finished:
        await ws.send(finish(task_id))
    while received[-1]["header"]["event"] not in ("task-finished", "task-failed"):
        received.append(json.loads(await ws.recv()))
    return received


def session(url: str, *tasks: tuple[bytes, dict[str, Any]]) -> list[list[Event]]:
    """Tasks one after another on one connection."""

    async def run() -> list[list[Event]]:
        headers = {"Authorization": f"Bearer {TEST_KEY}"}
        async with connect(url, additional_headers=headers) as ws:
            return [await _task(ws, pcm, **parameters) for pcm, parameters in tasks]

    return asyncio.run(run())


def sentences(events: list[Event]) -> list[Event]:
    return [
        e["payload"]["output"]["sentence"]
        for e in events
        if e["header"]["event"] == "result-generated"
    ]


def test_fun_asr_results_are_output_sentence_with_cumulative_usage(
    emulator: BackgroundEmulator, lecture_pcm: bytes
) -> None:
    (events,) = session(emulator.url, (lecture_pcm, {"language_hints": ["en"]}))
    results = [e for e in events if e["header"]["event"] == "result-generated"]
    assert all(set(e["payload"]["output"]) == {"sentence"} for e in results)
    said = sentences(events)
    finals = [s for s in said if s["sentence_end"]]
    assert [f["text"] for f in finals] == [s["text"] for s in LECTURE["sentences"]]
    assert [f["sentence_id"] for f in finals] == [1, 2, 3, 4]
    assert all("punctuation" in w and "fixed" not in w for f in finals for w in f["words"])
    interims = [s for s in said if not s["sentence_end"]]
    assert any(
        s.get("sentence_begin") and s["end_time"] is None and not s["text"] for s in interims
    )
    assert any(s["end_time"] is not None and s["text"] for s in interims)  # not by end_time
    durations = [e["payload"]["usage"]["duration"] for e in results if "usage" in e["payload"]]
    assert len(durations) == 4 and durations == sorted(durations)
    finished = events[-1]
    assert finished["header"]["event"] == "task-finished"
    assert finished["payload"]["usage"]["duration"] == math.ceil(len(lecture_pcm) / 32000)
    assert emulator.server.stats.bills[-1].translation_s == 0


def test_the_snapshot_model_recognises_chinese_and_the_connection_is_reused(
    emulator: BackgroundEmulator, news_pcm: bytes
) -> None:
    snapshot = {"model": "fun-asr-realtime-2025-11-07", "language_hints": ["zh"]}
    first, second = session(emulator.url, (news_pcm, snapshot), (news_pcm, {}))
    for events in (first, second):
        finals = [s["text"] for s in sentences(events) if s["sentence_end"]]
        assert finals == [s["text"] for s in NEWS["sentences"]]
        assert events[-1]["header"]["event"] == "task-finished"


@pytest.mark.parametrize(
    ("parameters", "fragment"),
    [
        ({"sample_rate": 8000}, "sample_rate"),
        ({"language_hints": ["ko"]}, "language_hints"),
        ({"max_sentence_silence": 100}, "max_sentence_silence"),
        ({"model": "fun-asr-realtime-1999"}, "Model not found"),
    ],
)
def test_refused_run_tasks_fail_and_close(
    emulator: BackgroundEmulator, parameters: dict[str, Any], fragment: str
) -> None:
    async def run() -> tuple[Event, bool]:
        headers = {"Authorization": f"Bearer {TEST_KEY}"}
        async with connect(emulator.url, additional_headers=headers) as ws:
            (failed,) = await _task(ws, b"", **parameters)
            try:
                await ws.recv()
            except ConnectionClosed:
                return failed, True
            return failed, False

    failed, closed = asyncio.run(run())
    assert failed["header"]["event"] == "task-failed" and closed
    assert fragment in failed["header"]["error_message"]


def test_heartbeat_results_while_silent_audio_flows(emulator: BackgroundEmulator) -> None:
    (beating,), (quiet,) = (
        session(emulator.url, (SILENCE * 35, {"heartbeat": True})),
        session(emulator.url, (SILENCE * 35, {})),
    )
    beats = sentences(beating)
    assert len(beats) == 3
    assert all(s["heartbeat"] and s["sentence_id"] == 0 and not s["text"] for s in beats)
    assert sentences(quiet) == []


def test_continuous_silence_without_heartbeat_cuts_the_task_off(
    make_emulator: Callable[..., BackgroundEmulator],
) -> None:
    emulator = make_emulator(funasr_silence_cutoff_s=2.0)
    (cut,) = session(emulator.url, (SILENCE * 25, {"finished": False}))
    header = cut[-1]["header"]
    assert header["event"] == "task-failed" and header["error_code"] == "CLIENT_ERROR"
    assert header["error_message"] == "request timeout after 2 seconds."
    (kept,) = session(emulator.url, (SILENCE * 25, {"heartbeat": True}))
    assert kept[-1]["header"]["event"] == "task-finished"


def test_no_audio_fails_a_fun_asr_task_as_the_service_does(
    make_emulator: Callable[..., BackgroundEmulator],
) -> None:
    emulator = make_emulator(idle_timeout_s=1.0)
    (events,) = session(emulator.url, (b"", {"finished": False}))
    header = events[-1]["header"]
    assert header["event"] == "task-failed" and header["error_code"] == "CLIENT_ERROR"
    assert header["error_message"] == "request timeout after 1 seconds."


def test_speech_in_a_language_fun_asr_does_not_know_gives_no_sentences(
    tmp_path: Path, lecture_pcm: bytes
) -> None:
    korean = dict(LECTURE, source_language="ko")
    (tmp_path / "ko.json").write_text(json.dumps(korean), encoding="utf-8")
    from subtitler.emulator.scripts import ScriptLibrary

    library = ScriptLibrary.from_directories([tmp_path])
    with BackgroundEmulator(EmulatorConfig(), library=library) as emulator:
        (events,) = session(emulator.url, (lecture_pcm, {}))
        gummy = session(emulator.url, (lecture_pcm, {"model": "gummy-realtime-v1"}))[0]
    assert sentences(events) == [] and events[-1]["header"]["event"] == "task-finished"
    assert events[-1]["payload"]["usage"]["duration"] > 0
    transcribed = [e["payload"]["output"]["transcription"] for e in gummy[1:-1]]
    first = next(t["text"] for t in transcribed if t["sentence_end"])
    assert first == LECTURE["sentences"][0]["text"]


def test_gummy_recognition_only_tasks_send_no_translations(
    emulator: BackgroundEmulator, news_pcm: bytes
) -> None:
    gummy = {"model": "gummy-realtime-v1", "source_language": "zh"}
    off = {**gummy, "translation_enabled": False, "translation_target_languages": ["en"]}
    for events in session(emulator.url, (news_pcm, gummy), (news_pcm, off)):
        outputs = [e["payload"]["output"] for e in events[1:-1]]
        assert outputs and all(set(o) == {"transcription"} for o in outputs)
        finals = [o["transcription"]["text"] for o in outputs if o["transcription"]["sentence_end"]]
        assert finals == [s["text"] for s in NEWS["sentences"]]
    neither = {**gummy, "transcription_enabled": False, "translation_enabled": False}
    (failed,) = session(emulator.url, (news_pcm, neither))
    assert failed[-1]["header"]["event"] == "task-failed"
    assert failed[-1]["header"]["error_code"] == "InvalidParameter"


def _create_vocabulary(emulator: BackgroundEmulator, target_model: str) -> str:
    async def run() -> str:
        body = {
            "model": "speech-biasing",
            "input": {
                "action": "create_vocabulary",
                "target_model": target_model,
                "prefix": "test",
                "vocabulary": [
                    {"text": "科技新闻", "weight": 4, "lang": "zh", "target_lang": "en",
                     "translation": "tech bulletin"},
                ],
            },
        }  # fmt: skip
        url = emulator.server.http_url.removesuffix("/api/v1") + CUSTOMIZATION_PATH
        headers = {"Authorization": f"Bearer {TEST_KEY}"}
        async with (
            aiohttp.ClientSession() as client,
            client.post(url, json=body, headers=headers) as response,
        ):
            assert response.status == 200
            return str((await response.json())["output"]["vocabulary_id"])

    return asyncio.run(run())


def test_a_vocabulary_made_for_another_model_is_silently_ignored(
    make_emulator: Callable[..., BackgroundEmulator], news_pcm: bytes
) -> None:
    emulator = make_emulator()
    first = NEWS["sentences"][0]["translations"]["en"]
    for target_model, expected in (
        ("gummy-realtime-v1", first.replace("technology news", "tech bulletin")),
        ("fun-asr-realtime", first),
    ):
        vocabulary_id = _create_vocabulary(emulator, target_model)
        gummy = {
            "model": "gummy-realtime-v1",
            "translation_enabled": True,
            "translation_target_languages": ["en"],
            "vocabulary_id": vocabulary_id,
        }
        (events,) = session(emulator.url, (news_pcm, gummy))
        translated = [
            t["text"]
            for e in events[1:-1]
            for t in e["payload"]["output"].get("translations", [])
            if t["sentence_end"]
        ]
        assert translated[0] == expected
    fun_asr = {"vocabulary_id": vocabulary_id, "language_hints": ["zh"]}
    (events,) = session(emulator.url, (news_pcm, fun_asr))
    assert events[-1]["header"]["event"] == "task-finished"
