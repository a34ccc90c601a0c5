"""The caption server in-process: addresses, the state a new page gets, many pages, closed
pages, and pages that stop reading."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from subtitler.errors import UsageError
from subtitler.events import CueWritten, InputStarted, PartialText
from subtitler.layout.cues import Cue, CueText
from subtitler.views import web
from subtitler.views.web import CaptionServer, parse_address

MEDIA = Path("/media/talk.mp4")


def test_addresses_are_loopback_unless_a_host_is_given() -> None:
    assert parse_address("8080") == ("127.0.0.1", 8080)
    assert parse_address("0.0.0.0:9000") == ("0.0.0.0", 9000)
    assert parse_address("[::1]:9000") == ("::1", 9000)
    assert parse_address("localhost:0") == ("localhost", 0)
    for bad in ("http://x:1", "99999", "host:", "[::1]9000"):
        with pytest.raises(UsageError):
            parse_address(bad)


def cue(begin_ms: int, english: str, chinese: str) -> Cue:
    return Cue(begin_ms, begin_ms + 1000, (CueText("en", (english,)), CueText("zh", (chinese,))))


def written(sentence_id: int, *cues: Cue, revised: Cue | None = None) -> CueWritten:
    return CueWritten(path=MEDIA, target="zh", sentence_id=sentence_id, transcript="t",
                      translation="译", cues=cues, revised=revised, label="talk.mp4")  # fmt: skip


async def until(condition: Callable[[], bool], timeout_s: float = 10) -> None:
    """Yield to the loop until the condition holds (bounded)."""

    async def wait() -> None:
        while not condition():
            await asyncio.sleep(0.005)

    await asyncio.wait_for(wait(), timeout_s)


async def messages(response: aiohttp.ClientResponse, count: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while len(found) < count:
        line = (await response.content.readline()).decode()
        assert line, "the stream ended"
        if line.startswith("data: "):
            found.append(json.loads(line[6:]))
    return found


def serve(test: Callable[[CaptionServer, str], Awaitable[None]]) -> None:
    async def main() -> None:
        server = CaptionServer("127.0.0.1", 0)
        await server.start()
        try:
            await test(server, server.url + "events")
        finally:
            await server.stop()

    asyncio.run(main())


def test_a_page_that_connects_late_gets_the_current_cues_and_partial_at_once() -> None:
    async def test(server: CaptionServer, url: str) -> None:
        server(InputStarted(path=MEDIA, label="talk.mp4", duration_ms=10_000, tracks=()))
        server(written(0, cue(0, "One.", "一。")))
        server(written(1, cue(1500, "Two.", "二。")))
        server(written(2, revised=cue(1500, "Two, three.", "二，三。")))
        partial = PartialText(path=MEDIA, target="zh", sentence_id=3, transcript="Four",
                              translation="四", label="talk.mp4")  # fmt: skip
        server(partial)
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            assert response.headers["Content-Type"].startswith("text/event-stream")
            state = await messages(response, 4)
            assert state[0] == {"event": "reset", "version": 1}
            assert [m["event"] for m in state[1:]] == ["cue", "cue", "partial"]
            assert state[1]["texts"][0]["lines"] == ["One."]
            assert state[2]["texts"][1]["lines"] == ["二，三。"] and not state[2]["revised"]
            assert state[3]["input"] == "talk.mp4" and state[3]["translation"] == "四"
            server(written(3, cue(3000, "Four.", "四。")))
            (sentence, new_cue) = await messages(response, 2)
            assert sentence["event"] == "sentence" and new_cue["texts"][0]["lines"] == ["Four."]
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            state = await messages(response, 3)  # the partial was finished by sentence 3
            assert [m["event"] for m in state] == ["reset", "cue", "cue"]
            assert state[2]["texts"][0]["lines"] == ["Four."]
        async with aiohttp.ClientSession() as session, session.get(server.url) as response:
            assert response.headers["Content-Type"].startswith("text/html")
            assert "new EventSource(" in await response.text()

    serve(test)


def test_many_pages_at_once_and_closed_pages_cost_nothing() -> None:
    async def test(server: CaptionServer, url: str) -> None:
        sessions = [aiohttp.ClientSession() for _ in range(40)]
        responses = [await session.get(url) for session in sessions]
        for response in responses:
            assert (await messages(response, 1))[0]["event"] == "reset"
        assert server.client_count == 40
        for session, response in zip(sessions[1:], responses[1:], strict=True):
            response.close()
            await session.close()
        await until(lambda: server.client_count == 1)
        server(written(0, cue(0, "Still here.", "还在。")))
        assert [m["event"] for m in await messages(responses[0], 2)] == ["sentence", "cue"]
        responses[0].close()
        await sessions[0].close()
        await until(lambda: server.client_count == 0)

    serve(test)


def test_a_page_that_stops_reading_is_dropped_not_waited_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(web, "QUEUE_LIMIT", 5)

    async def test(server: CaptionServer, url: str) -> None:
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            await messages(response, 1)
            for index in range(50):  # never read: its queue fills, and it is let go
                server(written(index, cue(index * 2000, "Line.", "行。")))
            assert server.client_count == 0

    serve(test)
