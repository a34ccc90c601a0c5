"""Both clients (native and the dashscope SDK) run the two recognition-only kinds of task, Fun-ASR
realtime and Gummy without translation, against a small duplex server written here from the
service's WebSocket references: it refuses a handshake without the key and a run-task without
the fields the service requires, answers Fun-ASR in `output.sentence` (a heartbeat among the
results) and Gummy in `output.transcription`, and reports `usage.duration`."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from subtitler.gummy.client import ClientKind, new_task
from subtitler.gummy.protocol import (
    FUN_ASR_MODEL,
    ClientEvent,
    GummySettings,
    Partial,
    Sentence,
    TaskFailed,
    TaskFinished,
    TaskStarted,
)

KEY = "sk-recognizers-test"
FRAME = b"\0" * 3200  # 100 ms of 16 kHz 16-bit PCM
WORDS = [
    {"begin_time": 170, "end_time": 295, "text": "Okay", "punctuation": ","},
    {"begin_time": 295, "end_time": 920, "text": " got it", "punctuation": "."},
]


@dataclass
class DuplexServer:
    """The service's side of one run-task per connection, from the protocol."""

    run_tasks: list[dict[str, Any]] = field(default_factory=list)
    audio_bytes: list[int] = field(default_factory=list)
    url: str = ""

    def refuse_without_key(self, _connection: ServerConnection, request: Request) -> Any:
        authorization = request.headers.get("Authorization", "")
        if authorization.lower() != f"bearer {KEY}":
            return Response(401, "Unauthorized", Headers(), b"Invalid API-key provided.\n")
        return None

    async def handle(self, connection: ServerConnection) -> None:
        message = json.loads(await connection.recv())
        self.run_tasks.append(message)
        task_id = message["header"]["task_id"]
        problem = _problem(message)
        if problem:
            await connection.send(_event(task_id, "task-failed", {}, "InvalidParameter", problem))
            return
        await connection.send(_event(task_id, "task-started", {}))
        fun_asr = message["payload"]["model"].startswith("fun-asr")
        received = 0
        async for frame in connection:
            if isinstance(frame, bytes):
                received += len(frame)
                continue
            if json.loads(frame)["header"]["action"] != "finish-task":
                continue
            self.audio_bytes.append(received)
            seconds = received / 32000
            for output in _fun_asr_outputs() if fun_asr else _gummy_outputs():
                payload = {"output": output, "usage": {"duration": seconds}}
                await connection.send(_event(task_id, "result-generated", payload))
            done = {"output": {}, "usage": {"duration": seconds}}
            await connection.send(_event(task_id, "task-finished", done))


def _problem(message: dict[str, Any]) -> str:
    header, payload = message.get("header", {}), message.get("payload", {})
    if header.get("action") != "run-task" or header.get("streaming") != "duplex":
        return "header.action and header.streaming are required."
    routing = (payload.get("task_group"), payload.get("task"), payload.get("function"))
    if routing != ("audio", "asr", "recognition"):
        return f"Unknown task {routing}."
    parameters = payload.get("parameters", {})
    if parameters.get("format") != "pcm" or parameters.get("sample_rate") != 16000:
        return "format and sample_rate are required."
    if payload.get("model", "").startswith("fun-asr"):
        hints = parameters.get("language_hints", ["zh"])
        if not isinstance(hints, list) or hints[0] not in ("zh", "en", "ja"):
            return f"language_hints {hints!r} is not supported."
    elif parameters.get("translation_enabled") and not parameters.get(
        "translation_target_languages"
    ):
        return "translation_target_languages is required."
    return ""


def _event(task_id: str, name: str, payload: dict[str, Any], code: str = "", text: str = "") -> str:
    header: dict[str, Any] = {"task_id": task_id, "event": name, "attributes": {}}
    if code:
        header.update(error_code=code, error_message=text)
    return json.dumps({"header": header, "payload": payload})


def _fun_asr_outputs() -> list[dict[str, Any]]:
    def sentence(**fields: Any) -> dict[str, Any]:
        return {"sentence": {"sentence_id": 1, "begin_time": 170, "heartbeat": False, **fields}}

    heartbeat = {"sentence": {"sentence_id": 0, "begin_time": 0, "end_time": None, "text": "",
                              "heartbeat": True, "sentence_end": False}}  # fmt: skip
    return [
        heartbeat,
        sentence(end_time=None, text="", sentence_end=False, sentence_begin=True),
        sentence(end_time=600, text="Okay,", sentence_end=False),  # an end_time, not the end
        sentence(end_time=920, text="Okay, got it.", sentence_end=True, words=WORDS),
    ]


def _gummy_outputs() -> list[dict[str, Any]]:
    base = {"sentence_id": 0, "begin_time": 170}
    partial = {**base, "current_time": 600, "text": "Okay,", "sentence_end": False}
    final = {**base, "end_time": 920, "text": "Okay, got it.", "sentence_end": True}
    words = [{**word, "fixed": True} for word in WORDS]  # Gummy's words say whether fixed
    return [
        {"transcription": {**partial, "words": words[:1]}},
        {"transcription": {**final, "words": words}},
    ]


@pytest.fixture(scope="module")
def duplex() -> Iterator[DuplexServer]:
    """The server on its own thread and loop (the SDK client connects from threads too)."""
    state = DuplexServer()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: list[Server] = []

    async def main() -> None:
        server = await serve(state.handle, "127.0.0.1", 0, process_request=state.refuse_without_key)
        holder.append(server)
        port = next(iter(server.sockets)).getsockname()[1]
        state.url = f"ws://127.0.0.1:{port}/api-ws/v1/inference"
        ready.set()
        await server.wait_closed()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    assert ready.wait(10)
    yield state
    loop.call_soon_threadsafe(holder[0].close)
    thread.join(10)


async def run_task(kind: ClientKind, settings: GummySettings) -> list[ClientEvent]:
    """One task: start, five frames, finish; every event until it ends."""
    events: list[ClientEvent] = []
    ended = asyncio.Event()
    started = asyncio.Event()

    def sink(event: ClientEvent) -> None:
        events.append(event)
        if isinstance(event, TaskStarted):
            started.set()
        if isinstance(event, TaskFinished | TaskFailed):
            started.set()
            ended.set()

    async def turn() -> None:
        return None

    task = new_task(kind, settings, "es", sink)
    try:
        await task.start(turn)
        await asyncio.wait_for(started.wait(), 30)
        for _ in range(5):
            await task.send(FRAME)
        await task.finish()
        await asyncio.wait_for(ended.wait(), 30)
    finally:
        await task.close()
    return events


CLIENT_KINDS = [ClientKind.NATIVE, ClientKind.SDK]


@pytest.mark.parametrize("kind", CLIENT_KINDS, ids=[k.value for k in CLIENT_KINDS])
def test_fun_asr_on_both_clients(duplex: DuplexServer, kind: ClientKind) -> None:
    settings = GummySettings(
        api_key=KEY, endpoint=duplex.url, source_language="en", model=FUN_ASR_MODEL,
        vocabulary_id="vocab-sgabc-1", heartbeat=True,
    )  # fmt: skip
    before = len(duplex.run_tasks)
    events = asyncio.run(run_task(kind, settings))
    assert [e for e in events if isinstance(e, TaskFailed)] == []
    assert [e for e in events if isinstance(e, Partial)] == [
        Partial(1, 170, 170, "", ""),
        Partial(1, 170, 600, "Okay,", ""),
    ]
    (sentence,) = [e for e in events if isinstance(e, Sentence)]
    assert (sentence.transcript, sentence.translation) == ("Okay, got it.", "")
    assert (sentence.begin_ms, sentence.end_ms) == (170, 920)
    assert [w.text for w in sentence.words] == ["Okay,", " got it."]
    (finished,) = [e for e in events if isinstance(e, TaskFinished)]
    assert events[-1] == finished and finished.billed_s == 0.5
    (sent,) = duplex.run_tasks[before:]
    assert sent["payload"]["model"] == "fun-asr-realtime"
    parameters = sent["payload"]["parameters"]
    assert parameters["language_hints"] == ["en"]
    assert parameters["vocabulary_id"] == "vocab-sgabc-1" and parameters["heartbeat"] is True
    assert not any(name.startswith("translation") for name in parameters)
    assert "source_language" not in parameters
    assert KEY not in json.dumps(sent)
    assert duplex.audio_bytes[-1] == 5 * len(FRAME)


@pytest.mark.parametrize("kind", CLIENT_KINDS, ids=[k.value for k in CLIENT_KINDS])
def test_gummy_recognition_only_on_both_clients(duplex: DuplexServer, kind: ClientKind) -> None:
    settings = GummySettings(
        api_key=KEY, endpoint=duplex.url, source_language="en", translation_enabled=False
    )
    before = len(duplex.run_tasks)
    events = asyncio.run(run_task(kind, settings))
    assert [e for e in events if isinstance(e, TaskFailed)] == []
    assert [e for e in events if isinstance(e, Partial)] == [Partial(0, 170, 600, "Okay,", "")]
    (sentence,) = [e for e in events if isinstance(e, Sentence)]
    assert (sentence.transcript, sentence.translation) == ("Okay, got it.", "")
    assert isinstance(events[-1], TaskFinished)
    (sent,) = duplex.run_tasks[before:]
    assert sent["payload"]["model"] == "gummy-realtime-v1"
    parameters = sent["payload"]["parameters"]
    assert parameters["translation_enabled"] is False
    assert parameters["transcription_enabled"] is True
    assert "translation_target_languages" not in parameters


@pytest.mark.parametrize("kind", CLIENT_KINDS, ids=[k.value for k in CLIENT_KINDS])
def test_a_refused_key_fails_the_fun_asr_task(duplex: DuplexServer, kind: ClientKind) -> None:
    settings = GummySettings(api_key="sk-wrong", endpoint=duplex.url, model=FUN_ASR_MODEL)
    events = asyncio.run(run_task(kind, settings))
    failures = [e for e in events if isinstance(e, TaskFailed)]
    assert failures and failures[0].status == 401
    assert not [e for e in events if isinstance(e, Sentence | TaskFinished)]
