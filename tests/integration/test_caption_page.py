"""`run --serve`: the caption page in a real headless browser during a live run at 1x, and
`/events` read by a plain SSE client, against `--json`."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import http.server
import json
import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from subtitler.emulator.server import BackgroundEmulator
from subtitler.sources.media import ffmpeg_executable
from tests import harness
from tests.browser import Browser
from tests.support import FIXTURES

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs" / "caption-page.png"
STREAM_KINDS = ("partial", "sentence", "cue", "finished", "summary")
PAGE_LOG = """
window.__log = [];
const root = document.documentElement;
const record = () => window.__log.push({
  at_ms: Date.now(),
  text: document.getElementById("captions").innerText,
  partial: document.querySelector("#captions .partial") !== null,
  opens: parseInt(root.dataset.opens || "0", 10),
});
new MutationObserver(record).observe(root, {subtree: true, childList: true,
  characterData: true, attributes: true});
true
"""


class GatedFiles(http.server.SimpleHTTPRequestHandler):
    """Serves the folder, but holds every request until the test opens the gate."""

    gate = threading.Event()

    def do_GET(self) -> None:
        self.gate.wait(60)
        super().do_GET()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def live_stream(tmp_path: Path) -> Iterator[tuple[str, threading.Event]]:
    """English speech as an MPEG-TS stream over HTTP, released when the gate opens."""
    folder = tmp_path / "www"
    folder.mkdir()
    subprocess.run(
        [ffmpeg_executable(), "-hide_banner", "-loglevel", "error", "-i",
         str(FIXTURES / "en_late_audio.mp4"), "-c", "copy", "-f", "mpegts",
         str(folder / "talk.ts")],
        check=True,
    )  # fmt: skip
    gate = threading.Event()
    handler = type("Handler", (GatedFiles,), {"gate": gate})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(folder))
    )
    thread = threading.Thread(target=server.serve_forever, name="test-http", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/talk.ts", gate
    gate.set()
    server.shutdown()


class Proxy:
    """A TCP relay between the browser and the server whose connections the test can cut,
    as a restarting server or a dropped network would."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.listen_port = 0
        self._pairs: list[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = []
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.listen_port = self._server.sockets[0].getsockname()[1]

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.port)
        self._pairs.append((writer, upstream_writer))

        async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.close()

        await asyncio.gather(pump(reader, upstream_writer), pump(upstream_reader, writer))

    def cut(self) -> int:
        """Close every open connection; the number closed."""
        pairs, self._pairs = self._pairs, []
        for browser_side, server_side in pairs:
            browser_side.transport.abort()
            server_side.transport.abort()
        return len(pairs)

    def close(self) -> None:
        if self._server is not None:
            self._server.close()


async def read_sse(url: str, into: list[dict[str, Any]], connected: asyncio.Event) -> None:
    """A plain SSE client: `data:` lines of each message, until the server ends the stream."""
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        data: list[str] = []
        async for raw in response.content:
            line = raw.decode("utf-8").rstrip("\n").rstrip("\r")
            if line.startswith("data:"):
                data.append(line[5:].lstrip(" "))
            elif not line and data:
                obj = json.loads("\n".join(data))
                data = []
                if obj["event"] == "reset":
                    connected.set()
                else:
                    into.append(obj)


async def picture(browser: Browser) -> None:
    """The README's picture: the page over a dark backdrop (it is transparent in OBS)."""
    color = {"r": 38, "g": 50, "b": 56, "a": 1}
    await browser.call("Emulation.setDefaultBackgroundColorOverride", color=color)
    await browser.wait_for("document.querySelector('#captions .partial') !== null")
    SCREENSHOT.parent.mkdir(exist_ok=True)
    await browser.screenshot(SCREENSHOT)
    await browser.call("Emulation.setDefaultBackgroundColorOverride")


def comparable(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {key: value for key, value in obj.items() if key != "at"}
        for obj in objects
        if obj["event"] in STREAM_KINDS
    ]


async def serving_run(
    emulator: BackgroundEmulator, tmp_path: Path, url: str, target: str
) -> tuple[asyncio.subprocess.Process, str, asyncio.Task[bytes]]:
    """`subtitler run URL -s en -t TARGET --json --serve`: the process, once its caption
    page's address is printed, that address, and the rest of its stderr (read beside it)."""
    process = await asyncio.create_subprocess_exec(
        *harness.command("run", url), "-s", "en", "-t", target, "--json",
        "--serve", "127.0.0.1:0", "-o", str(tmp_path / "out"), "--endpoint", emulator.url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env=harness.environment(), cwd=ROOT,
    )  # fmt: skip
    assert process.stdout is not None and process.stderr is not None
    page_url = ""
    while not page_url:
        line = (await process.stderr.readline()).decode()
        assert line, "the run ended before serving"
        if "caption page: " in line:
            page_url = line.split("caption page: ", 1)[1].strip()
    return process, page_url, asyncio.create_task(process.stderr.read())


def test_the_caption_page_follows_a_live_run_and_recovers(
    emulator: BackgroundEmulator, tmp_path: Path, live_stream: tuple[str, threading.Event]
) -> None:
    asyncio.run(follow_a_live_run(emulator, tmp_path, *live_stream))


async def follow_a_live_run(
    emulator: BackgroundEmulator, tmp_path: Path, url: str, gate: threading.Event
) -> None:
    process, page_url, stderr_rest = await serving_run(emulator, tmp_path, url, "zh")
    assert process.stdout is not None
    server_port = int(page_url.rstrip("/").rsplit(":", 1)[1])
    proxy = Proxy(server_port)
    await proxy.start()
    streamed: list[dict[str, Any]] = []
    sse_connected = asyncio.Event()
    sse = asyncio.create_task(read_sse(page_url + "events", streamed, sse_connected))
    json_lines: list[dict[str, Any]] = []
    try:
        async with Browser() as browser:
            await browser.open(f"http://127.0.0.1:{proxy.listen_port}/?size=40")
            assert await browser.evaluate(PAGE_LOG) is True
            await browser.wait_for("document.documentElement.dataset.connected === '1'")
            await asyncio.wait_for(sse_connected.wait(), 30)
            gate.set()  # the stream starts playing now
            cut_at_ms = None
            async for raw in process.stdout:
                obj = json.loads(raw)
                json_lines.append(obj)
                if obj["event"] == "cue" and cut_at_ms is None:
                    first_line = obj["texts"][-1]["lines"][0]
                    await browser.wait_for(
                        f"document.getElementById('captions').innerText.includes("
                        f"{json.dumps(first_line)})"
                    )
                    if os.environ.get("SUBTITLER_UPDATE_SCREENSHOT") == "1":
                        await picture(browser)
                    cut_at_ms = await browser.evaluate("Date.now()")
                    assert proxy.cut() >= 1
            await process.wait()
            log: list[dict[str, Any]] = await browser.evaluate("window.__log")
        await asyncio.wait_for(sse, 30)
    finally:
        proxy.close()
        if process.returncode is None:
            process.kill()
    assert process.returncode == 0, await stderr_rest
    # /events, read by a plain SSE client, carries what --json printed.
    assert comparable(streamed) == comparable(json_lines)
    cues = [obj for obj in json_lines if obj["event"] == "cue"]
    finished_ms = next(obj["at"] for obj in json_lines if obj["event"] == "finished") * 1000
    translation_lines = [
        line for cue in cues for text in cue["texts"] if text["language"] == "zh"
        for line in text["lines"]
    ]  # fmt: skip
    assert len(translation_lines) >= 3
    # Every finished translation appears on the page; the first while the stream still plays.
    for line in translation_lines:
        assert any(line in entry["text"] for entry in log), line
    first_seen_ms = next(e["at_ms"] for e in log if translation_lines[0] in e["text"])
    assert first_seen_ms < finished_ms
    # The sentence being spoken appears as partial text.
    assert any(entry["partial"] and entry["text"].strip() for entry in log)
    # After the connection was cut the page reconnected, showed the current cue at once, and
    # went on with the cues that came after.
    assert cut_at_ms is not None
    reopened = [e for e in log if e["opens"] >= 2 and e["text"].strip()]
    assert reopened, "the page did not reconnect"
    shown_before_cut = [e["text"] for e in log if e["at_ms"] <= cut_at_ms and e["text"].strip()]
    assert any(line in reopened[0]["text"] for line in translation_lines[:2]), reopened[0]
    assert shown_before_cut
    assert translation_lines[-1] in reopened[-1]["text"]


def test_a_qwen_mt_target_shows_each_source_line_before_its_translation(
    make_emulator: Any, tmp_path: Path, live_stream: tuple[str, threading.Event]
) -> None:
    """Live at 1x, Spanish by Qwen-MT answering a second late: the page shows each sentence's
    English as soon as it is heard, and its Spanish when it comes."""
    emulator = make_emulator(mt_delay_s=1.0)
    asyncio.run(source_first(emulator, tmp_path, *live_stream))


async def source_first(
    emulator: BackgroundEmulator, tmp_path: Path, url: str, gate: threading.Event
) -> None:
    process, page_url, stderr_rest = await serving_run(emulator, tmp_path, url, "es")
    assert process.stdout is not None
    sentences: list[dict[str, Any]] = []
    try:
        async with Browser() as browser:
            await browser.open(page_url + "?size=40")
            assert await browser.evaluate(PAGE_LOG) is True
            await browser.wait_for("document.documentElement.dataset.connected === '1'")
            gate.set()
            async for raw in process.stdout:
                event = json.loads(raw)
                if event["event"] == "sentence" and event["target"] == "es":
                    sentences.append(event)
            await process.wait()
            log: list[dict[str, Any]] = await browser.evaluate("window.__log")
    finally:
        if process.returncode is None:
            process.kill()
    assert process.returncode == 0, await stderr_rest
    assert len(sentences) >= 2
    for sentence in sentences:
        english, spanish = sentence["transcript"], sentence["translation"]
        assert spanish and spanish != english
        shown = next(e["at_ms"] for e in log if english[:20] in e["text"])
        translated = next(e["at_ms"] for e in log if spanish[:20] in e["text"])
        assert shown < translated, (english, spanish)
