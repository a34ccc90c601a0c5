"""Live outputs through the real CLI, against receivers written here from the protocols (not
from our client): a YouTube-like caption ingestion endpoint that validates every body and `seq`
and fails some posts (500, timeouts); an obs-websocket v5 server that checks the authentication
string, answers 501 while "not streaming" and drops the connection mid-run; receivers that never
answer. Every caption reaches each receiver exactly once, in order, and the tracks never wait."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import json
import math
import re
import secrets
import shutil
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pysrt
import pytest
from aiohttp import web
from websockets.asyncio.server import ServerConnection, serve

from subtitler.emulator.server import BackgroundEmulator
from subtitler.outputs.captions import for_cea608
from subtitler.outputs.obs import authentication
from subtitler.outputs.youtube import post_body, post_times, server_time, utc_stamp
from tests.integration.test_run import run_cli
from tests.serving import Background
from tests.support import FIXTURES

STREAM_KEY = "abcd-efgh-SECRETKEY-1234"
OBS_PASSWORD = "supersecretpassword"
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}$")


# -- a YouTube-like caption ingestion endpoint ----------------------------------------------------


@dataclass
class YouTubeReceiver:
    """Validates each post as YouTube's spec describes it; fails the posts it is told to."""

    client_timeout_s: float
    faults: dict[int, str] = field(default_factory=dict)
    """Post number (from 1) → `500`, `timeout` or `never`."""
    ahead_s: float = 0.0
    """How far ahead of the server's clock a time may be (a file sent faster than real time is
    captioned ahead of its media time; `--caption-offset`)."""
    captions: list[str] = field(default_factory=list)
    stamps: list[float] = field(default_factory=list)
    """Each accepted caption's time (Unix), in the order posted."""
    received_s: list[float] = field(default_factory=list)
    """When each accepted post arrived (the server's clock)."""
    violations: list[str] = field(default_factory=list)
    posts: int = 0
    last_seq: int | None = None
    failed_bodies: dict[int, str] = field(default_factory=dict)
    port: int = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.posts += 1
        number = self.posts
        body = (await request.read()).decode("utf-8", "replace")
        self._validate(request, body)
        fault = self.faults.get(number, "")
        seq = int(request.query.get("seq", "-1"))
        if fault == "never" or self.faults.get(0) == "never":
            await asyncio.Event().wait()  # accepts, never answers
        if fault == "500":
            self.failed_bodies[seq] = body
            return web.Response(status=500, text="Internal error\n")
        if fault == "timeout":
            self.failed_bodies[seq] = body
            await asyncio.sleep(self.client_timeout_s + 1.0)  # the fault: an answer too late
            return web.Response(text=_now())
        self._accept(seq, body)
        return web.Response(text=_now() + "\n")

    def _validate(self, request: web.Request, body: str) -> None:
        if request.path != "/closedcaption" or request.query.get("cid") != STREAM_KEY:
            self.violations.append(f"wrong URL {request.path_qs}")
        if not request.headers.get("Content-Type", "").startswith("text/plain"):
            self.violations.append(f"content type {request.headers.get('Content-Type')}")
        if not re.fullmatch(r"\d+", request.query.get("seq", "")):
            self.violations.append(f"seq {request.query.get('seq')!r}")
        if not body.endswith("\n"):
            self.violations.append("body does not end with a newline")
        lines = body.rstrip("\n").split("\n")
        if len(lines) % 2:
            self.violations.append(f"odd number of lines: {lines}")
        now = dt.datetime.now(dt.UTC).timestamp()
        for stamp in lines[0::2]:
            if not STAMP.match(stamp):
                self.violations.append(f"time line {stamp!r}")
                continue
            when = _unix(stamp)
            if not -30 <= when - now <= 30 + self.ahead_s:
                self.violations.append(f"time {stamp} is {when - now:.1f} s from the server's")

    def _accept(self, seq: int, body: str) -> None:
        retry = self.failed_bodies.get(seq)
        if retry is not None and retry != body:
            self.violations.append(f"seq {seq} retried with another body")
        elif retry is None and self.last_seq is not None and seq != self.last_seq + 1:
            self.violations.append(f"seq {seq} after {self.last_seq}")
        self.failed_bodies.pop(seq, None)
        self.last_seq = seq
        lines = body.rstrip("\n").split("\n")
        self.captions += lines[1::2]
        self.stamps += [_unix(stamp) for stamp in lines[0::2]]
        self.received_s.append(dt.datetime.now(dt.UTC).timestamp())


def _unix(stamp: str) -> float:
    return dt.datetime.fromisoformat(stamp).replace(tzinfo=dt.UTC).timestamp()


def _now() -> str:
    return utc_stamp(dt.datetime.now(dt.UTC).timestamp())


@pytest.fixture
def youtube() -> Iterator[Callable[..., YouTubeReceiver]]:
    servers: list[Background] = []

    def start(**settings: Any) -> YouTubeReceiver:
        receiver = YouTubeReceiver(**settings)

        async def begin() -> Callable[[], Awaitable[None]]:
            app = web.Application()
            app.router.add_post("/closedcaption", receiver.handle)
            runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            receiver.port = runner.addresses[0][1]
            return runner.cleanup

        servers.append(Background(begin).__enter__())
        return receiver

    yield start
    for server in servers:
        server.__exit__()


# -- an obs-websocket v5 server ----------------------------------------------------------------


@dataclass
class ObsReceiver:
    password: str = OBS_PASSWORD
    not_streaming_for: int = 0
    """Answer 501 to this many requests first."""
    drop_after: int | None = None
    """Close the connection after this many captions accepted (once)."""
    never_answer: bool = False
    captions: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    connections: int = 0
    refused: int = 0
    port: int = 0

    async def handle(self, socket: ServerConnection) -> None:
        self.connections += 1
        if socket.subprotocol != "obswebsocket.json":
            self.violations.append(f"subprotocol {socket.subprotocol}")
        if self.never_answer:
            await socket.wait_closed()
            return
        salt = base64.b64encode(secrets.token_bytes(32)).decode()
        challenge = base64.b64encode(secrets.token_bytes(32)).decode()
        authentication_asked = {"challenge": challenge, "salt": salt}
        hello = {"op": 0, "d": {"rpcVersion": 1, "authentication": authentication_asked}}
        await socket.send(json.dumps(hello))
        identify = json.loads(await socket.recv())
        secret = base64.b64encode(hashlib.sha256((self.password + salt).encode()).digest())
        expected = base64.b64encode(hashlib.sha256(secret + challenge.encode()).digest()).decode()
        data = identify.get("d", {})
        if identify.get("op") != 1 or data.get("rpcVersion") != 1:
            self.violations.append(f"identify {identify}")
        if data.get("authentication") != expected:
            await socket.close(4009, "Authentication failed.")
            return
        await socket.send(json.dumps({"op": 2, "d": {"negotiatedRpcVersion": 1}}))
        async for message in socket:
            request = json.loads(message)
            data = request.get("d", {})
            if request.get("op") != 6 or data.get("requestType") != "SendStreamCaption":
                self.violations.append(f"request {request}")
                continue
            text = data.get("requestData", {}).get("captionText")
            if not isinstance(text, str):
                status = {"result": False, "code": 300}
            elif self.refused < self.not_streaming_for:
                self.refused += 1
                status = {"result": False, "code": 501, "comment": "Output not running."}
            else:
                self._check_608(text)
                self.captions.append(text)
                status = {"result": True, "code": 100}
            answer = {"requestType": "SendStreamCaption", "requestId": data.get("requestId")}
            reply = {"op": 7, "d": {**answer, "requestStatus": status}}
            await socket.send(json.dumps(reply))
            if self.drop_after is not None and len(self.captions) == self.drop_after:
                self.drop_after = None
                await socket.close(1001, "Going away")  # OBS restarted
                return

    def _check_608(self, text: str) -> None:
        rows = text.split("\n")
        if len(rows) > 4 or any(len(row) > 32 for row in rows):
            self.violations.append(f"not 608-sized: {text!r}")
        if re.search(r"[\u3000-\u9fff\uac00-\ud7af]", text):
            self.violations.append(f"not Latin: {text!r}")


@pytest.fixture
def obs() -> Iterator[Callable[..., ObsReceiver]]:
    servers: list[Background] = []

    def start(**settings: Any) -> ObsReceiver:
        receiver = ObsReceiver(**settings)

        async def begin() -> Callable[[], Awaitable[None]]:
            server = await serve(
                receiver.handle,
                "127.0.0.1",
                0,
                subprotocols=["obswebsocket.json"],  # type: ignore[list-item]
            )
            receiver.port = server.sockets[0].getsockname()[1]

            async def stop() -> None:
                server.close()
                await server.wait_closed()

            return stop

        servers.append(Background(begin).__enter__())
        return receiver

    yield start
    for server in servers:
        server.__exit__()


# -- what the run captioned ------------------------------------------------------------------------


def expected_captions(stdout: str, target: str = "en") -> list[tuple[str, ...]]:
    """From the run's --json: per written sentence of `target`, its new cues' lines in the
    target language (the last text), or the sentence's translation when it only revised."""
    return [lines for lines, _ in captioned(stdout, target)]


def captioned(stdout: str, target: str = "en") -> list[tuple[tuple[str, ...], int]]:
    """`expected_captions` with each caption's media time (its cue's begin, or its sentence's
    when it only revised)."""
    captions: list[tuple[tuple[str, ...], int]] = []
    sentence: dict[str, Any] | None = None
    added: list[tuple[tuple[str, ...], int]] = []

    def close() -> None:
        if sentence is None:
            return
        if added:
            captions.extend(added)
        elif sentence["translation"].strip():
            captions.append(((sentence["translation"].strip(),), sentence["begin_ms"]))

    for line in stdout.splitlines():
        event = json.loads(line)
        if event.get("target") != target:
            continue
        if event["event"] == "sentence":
            close()
            sentence, added = event, []
        elif event["event"] == "cue" and not event["revised"]:
            added.append((tuple(event["texts"][-1]["lines"]), event["begin_ms"]))
    close()
    return captions


def news(tmp_path: Path) -> Path:
    media = tmp_path / "news.mp4"
    shutil.copy(FIXTURES / "zh_news.mp4", media)
    return media


def run_live(media: Path, emulator: BackgroundEmulator, *extra: str, **env: str) -> Any:
    return run_cli(
        "run", media, "-s", "zh", "-t", "en", "--speed", "4", "--json",
        "--endpoint", emulator.url, "--delivery-timeout", "1", *extra,
        env={"DASHSCOPE_API_KEY": "sk-test", **env},
    )  # fmt: skip


# -- the tests -------------------------------------------------------------------------------------


def test_youtube_gets_every_caption_once_in_order_through_500s_and_timeouts(
    youtube: Callable[..., YouTubeReceiver], emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    receiver = youtube(client_timeout_s=1.0, faults={2: "500", 3: "timeout", 5: "500"})
    url = f"http://127.0.0.1:{receiver.port}/closedcaption?cid={STREAM_KEY}"
    result = run_live(news(tmp_path), emulator, "--youtube-captions", url)
    assert result.returncode == 0, result.stderr
    wanted = ["<br>".join(lines) for lines in expected_captions(result.stdout)]
    assert len(wanted) >= 5
    assert receiver.violations == []
    assert receiver.captions == wanted, "each caption once, in order"
    assert receiver.posts >= 6
    complaints = [line for line in result.stderr.splitlines() if "YouTube" in line]
    assert len(complaints) == 2, complaints  # the 500 once, the timeout once
    assert STREAM_KEY not in result.stdout + result.stderr, "the stream key is a secret"


@pytest.mark.parametrize("speed", ["4", "10"])  # the issue saw 2 and 10: any speed but 1x
def test_youtube_times_are_the_media_timeline_from_where_the_input_started(
    speed: str,
    youtube: Callable[..., YouTubeReceiver],
    emulator: BackgroundEmulator,
    tmp_path: Path,
) -> None:
    """Off 1x (files default to 10x) a caption's time is its media time on a timeline that
    starts where the input's audio started to be sent, as 1x gives by itself: never backwards,
    the media's gaps kept (not squeezed by the speed), `--caption-offset` added."""
    offset_s = 30.0
    receiver = youtube(client_timeout_s=1.0, ahead_s=offset_s + 32.4)  # news.mp4: 32.4 s
    url = f"http://127.0.0.1:{receiver.port}/closedcaption?cid={STREAM_KEY}"
    before_s = time.time()
    result = run_live(
        news(tmp_path), emulator, "--youtube-captions", url, "--speed", speed,
        "--caption-offset", f"{offset_s:g}",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert receiver.violations == []
    wanted = captioned(result.stdout)
    assert len(wanted) >= 5
    assert receiver.captions == ["<br>".join(lines) for lines, _ in wanted]
    stamps = receiver.stamps
    assert stamps == sorted(stamps), f"never backwards: {stamps}"
    begins_s = [begin_ms / 1000 for _, begin_ms in wanted]
    origins = [stamp - offset_s - begin_s for stamp, begin_s in zip(stamps, begins_s, strict=True)]
    assert max(origins) - min(origins) < 0.25, f"the media's gaps, unsqueezed: {origins}"
    # the timeline starts when the audio started to be sent (the clock's correction: ~ms here)
    assert before_s - 1 < origins[0] < receiver.received_s[0] + 1, "plus the offset"


def test_youtube_places_files_sent_one_after_another_one_after_another(
    youtube: Callable[..., YouTubeReceiver], emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    """Two files at 10x, `-j 1`: the second's media starts where the first's ends (32.4 s
    after the first started), not when it was sent (3 s later)."""
    receiver = youtube(client_timeout_s=1.0, ahead_s=2 * 32.4)
    first, second = tmp_path / "a.mp4", tmp_path / "b.mp4"
    for media in (first, second):
        shutil.copy(FIXTURES / "zh_news.mp4", media)
    url = f"http://127.0.0.1:{receiver.port}/closedcaption?cid={STREAM_KEY}"
    result = run_cli(
        "run", first, second, "-s", "zh", "-t", "en", "--speed", "10", "-j", "1", "--json",
        "--endpoint", emulator.url, "--youtube-captions", url,
        env={"DASHSCOPE_API_KEY": "sk-test"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert receiver.violations == []
    lines = result.stdout.splitlines()
    boundary = next(i for i, line in enumerate(lines) if '"event": "finished"' in line)
    one = captioned("\n".join(lines[:boundary]))
    two = captioned("\n".join(lines[boundary:]))
    assert one and two
    wanted = [*one, *two]
    assert receiver.captions == ["<br>".join(caption) for caption, _ in wanted]
    stamps = receiver.stamps
    assert stamps == sorted(stamps), f"never backwards: {stamps}"
    origins = [stamp - begin_ms / 1000 for stamp, (_, begin_ms) in zip(stamps, wanted, strict=True)]
    first_origins, second_origins = origins[: len(one)], origins[len(one) :]
    assert max(first_origins) - min(first_origins) < 0.25
    assert max(second_origins) - min(second_origins) < 0.25
    assert second_origins[0] - first_origins[0] == pytest.approx(32.4, abs=0.25)


def test_obs_gets_every_caption_once_in_order_through_501_and_a_dropped_connection(
    obs: Callable[..., ObsReceiver], emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    receiver = obs(not_streaming_for=3, drop_after=2)
    result = run_live(
        news(tmp_path), emulator, "--obs-websocket", f"ws://127.0.0.1:{receiver.port}",
        OBS_WEBSOCKET_PASSWORD=OBS_PASSWORD,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    wanted = [row for lines in expected_captions(result.stdout) for row in for_cea608(lines)]
    assert receiver.violations == []
    assert receiver.captions == wanted, "each caption once, in order"
    assert receiver.connections == 2, "reconnected once after the drop"
    said = [line for line in result.stderr.splitlines() if "OBS" in line]
    assert sum("not streaming" in line for line in said) == 1, said
    assert OBS_PASSWORD not in result.stdout + result.stderr


def test_obs_with_nothing_listening_is_said_once(
    emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = run_live(
        news(tmp_path), emulator, "--obs-websocket", f"ws://127.0.0.1:{port}",
        "--speed", "max", "--delivery-grace", "1",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    said = [line for line in result.stderr.splitlines() if "OBS" in line]
    retrying = [line for line in said if line.endswith("; retrying")]
    assert len(retrying) == 1 and "cannot connect" in retrying[0], said
    assert not any("lost" in line for line in said), "it was never connected"
    assert len(said) == 2 and "captions not delivered (cannot connect" in said[1], said


def test_a_wrong_obs_password_is_a_usage_error_before_any_work(
    obs: Callable[..., ObsReceiver], emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    receiver = obs()
    media = news(tmp_path)
    result = run_live(
        media, emulator, "--obs-websocket", f"ws://127.0.0.1:{receiver.port}",
        OBS_WEBSOCKET_PASSWORD="not the password",
    )  # fmt: skip
    assert result.returncode == 2
    assert "4009" in result.stderr and "OBS_WEBSOCKET_PASSWORD" in result.stderr
    assert not list(tmp_path.glob("news.*.srt")), "nothing was started"


def test_obs_refuses_a_chinese_caption_language(
    emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    result = run_live(
        news(tmp_path), emulator, "--obs-websocket", "ws://127.0.0.1:9", "--caption-language", "zh"
    )
    assert result.returncode == 2
    assert "zh: CEA-608 (OBS stream captions) carries Latin script only" in result.stderr


def test_receivers_that_never_answer_delay_no_cue_and_are_reported_once_each(
    youtube: Callable[..., YouTubeReceiver],
    obs: Callable[..., ObsReceiver],
    emulator: BackgroundEmulator,
    tmp_path: Path,
) -> None:
    silent_youtube = youtube(client_timeout_s=1.0, faults={0: "never"})
    silent_obs = obs(never_answer=True)
    media = news(tmp_path)
    text_file = tmp_path / "caption.txt"
    result = run_live(
        media, emulator,
        "--youtube-captions", f"http://127.0.0.1:{silent_youtube.port}/closedcaption?cid={STREAM_KEY}",
        "--obs-websocket", f"ws://127.0.0.1:{silent_obs.port}",
        "--text-file", text_file, "--delivery-grace", "1", "--speed", "max",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert [e["event"] for e in events if e["event"] == "finished"] == ["finished"]
    srt = pysrt.open(str(tmp_path / "news.zh-en.srt"), error_handling=pysrt.ERROR_RAISE)
    assert len(srt) == len([e for e in events if e["event"] == "cue" and not e["revised"]])
    end_lines = [line for line in result.stderr.splitlines() if "not delivered" in line]
    assert len(end_lines) == 2, result.stderr
    assert any(line.startswith("subtitler: YouTube: ") for line in end_lines)
    assert any(line.startswith("subtitler: OBS: ") for line in end_lines)
    assert text_file.read_text(encoding="utf-8") == "", "cleared when the run ends"
    assert not list(tmp_path.glob(".caption.txt.part"))


def test_youtube_post_format_and_clock(tmp_path: Path) -> None:
    from subtitler.outputs.captions import Caption

    moment = dt.datetime(2026, 11, 30, 5, 6, 7, 891000, tzinfo=dt.UTC).timestamp()
    captions = [
        Caption(lines=("Hello", "world"), source="a", begin_ms=0, media_origin_s=moment),
        Caption(lines=("Again",), source="a", begin_ms=1000, media_origin_s=moment),
    ]
    body = post_body(captions, post_times(captions, 0.5, -math.inf))
    assert body == "2026-11-30T05:06:08.391\nHello<br>world\n2026-11-30T05:06:09.391\nAgain\n"
    assert server_time("2026-11-30T05:06:07.891\n") == pytest.approx(moment)
    assert (
        authentication(
            OBS_PASSWORD,
            "lM1GncleQOaCu9lT1yeUZhFYnqhsLLP1G5lAGo3ixaI=",
            "+IxH4CnCiqpX1rM9scsNynZzbOe4KhDeYcTNS3PDaeY=",
        )
        == "1Ct943GAT+6YQUUX47Ia/ncufilbe6+oD6lY+5kaCu4="
    )
    assert for_cea608(("A fairly long caption line that goes on", "and on past two rows of",
                       "thirty-two columns each.")) == [
        "A fairly long caption line that\ngoes on and on past two rows of",
        "thirty-two columns each.",
    ]  # fmt: skip


def test_the_text_file_shows_the_latest_caption_and_is_emptied_after_silence(
    tmp_path: Path,
) -> None:
    from subtitler.events import CueWritten
    from subtitler.layout.cues import Cue, CueText
    from subtitler.outputs.captions import CaptionChoice
    from subtitler.outputs.textfile import TextFileCaptions

    path = tmp_path / "caption.txt"
    path.write_text("a stale caption from another run\n", encoding="utf-8")
    said: list[str] = []

    def cue(number: int, chinese: str, english: str) -> CueWritten:
        texts = (CueText("zh", (chinese,)), CueText("en", (english,)))
        return CueWritten(
            path=Path("x.mp4"),
            target="en",
            sentence_id=number,
            transcript=chinese,
            translation=english,
            cues=(Cue(number * 1000, number * 1000 + 900, texts),),
        )

    async def main() -> list[str]:
        output = TextFileCaptions(path, CaptionChoice.of("both", ("en",)), said.append, 0.3)
        await output.start()
        seen = [path.read_text(encoding="utf-8")]
        output(cue(1, "你好。", "Hello."))
        output(cue(2, "再见。", "Goodbye."))
        while output.delivered < 2:
            await output._wait_delivered()
        seen.append(path.read_text(encoding="utf-8"))
        async with asyncio.timeout(10):
            while output.shown:  # the silence rule's own timer empties it
                await asyncio.sleep(0.05)
        seen.append(path.read_text(encoding="utf-8"))
        assert await output.close(1.0) is None
        return seen

    assert asyncio.run(main()) == ["", "再见。\nGoodbye.\n", ""]
    assert said == [] and not list(tmp_path.glob(".caption.txt.part"))
