"""The least any asyncio + websockets client of Gummy can cost: a bare client's CPU beside
subtitler's on the same files, same pace, same emulator.

    python -m benchmarks.transport_floor --rounds 3    # figures as JSON on stdout

The bare client (`--bare`, run as its own process) does only what the wire needs: one ffmpeg
per file decoding to 16 kHz PCM, 16000-byte frames paced at 10x, `run-task`, the frames,
`finish-task`, and every message read and parsed as JSON. No tracks, no layout, no events, no
retries. Its own process's CPU (its ffmpeg apart) is the floor under subtitler's own process:
what the interpreter, asyncio and websockets cost for this traffic on this machine. The gap
between the two is what subtitler's own code costs. A second bare client (`bare_sansio`) drives
websockets' sans-I/O protocol straight from an asyncio Protocol, every message handled as it
is read: what a leaner transport than websockets' asyncio connection could save.

Each round also measures the floor of `benchmarks/run.py` (ffmpeg alone, each file to /dev/null,
one after another) and the same decodes all at once (`floor_concurrent`: what running the
files side by side, as any streaming client must, costs ffmpeg on this machine), so every
client's whole tree (own process and its ffmpeg) is also given as a ratio of the floor's median.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

FRAME_BYTES = 16000
SPEED = 10.0
ENDPOINT_PATH = "/api-ws/v1/inference"


def _task_messages(task_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """`run-task` (English to Chinese, both results) and `finish-task` for one task."""
    run_task = {
        "header": {"streaming": "duplex", "task_id": task_id, "action": "run-task"},
        "payload": {
            "model": "gummy-realtime-v1",
            "parameters": {
                "sample_rate": 16000, "format": "pcm", "source_language": "en",
                "transcription_enabled": True, "translation_enabled": True,
                "translation_target_languages": ["zh"],
            },
            "input": {}, "task": "asr", "task_group": "audio", "function": "recognition",
        },
    }  # fmt: skip
    finish = {
        "header": {"streaming": "duplex", "task_id": task_id, "action": "finish-task"},
        "payload": {"input": {}},
    }
    return run_task, finish


def _cpu_s(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


async def _decoder(ffmpeg: str, path: Path) -> asyncio.subprocess.Process:
    """ffmpeg decoding `path` to 16 kHz mono PCM on its stdout."""
    return await asyncio.create_subprocess_exec(
        ffmpeg, "-v", "error", "-nostdin", "-i", f"file:{path}", "-f", "s16le", "-ac", "1",
        "-ar", "16000", "-flush_packets", "0", "pipe:1",
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip


class _TaskEvents:
    """Counts one task's messages and tells when it started and how it ended."""

    def __init__(self) -> None:
        loop = asyncio.get_running_loop()
        self.messages = 0
        self.started: asyncio.Future[None] = loop.create_future()
        self.ended: asyncio.Future[bool] = loop.create_future()  # True: task-finished

    def heard(self, message: str | bytes) -> None:
        self.messages += 1
        event = json.loads(message)["header"]["event"]
        if event == "task-started":
            self.started.set_result(None)
        elif event in ("task-finished", "task-failed") and not self.ended.done():
            self.ended.set_result(event == "task-finished")
            if not self.started.done():
                self.started.set_result(None)


async def _send_paced(
    decoder: asyncio.subprocess.Process, send: Callable[[bytes], Awaitable[None]]
) -> None:
    """The decoded audio in FRAME_BYTES frames at SPEED times real time."""
    assert decoder.stdout is not None
    loop = asyncio.get_running_loop()
    begun_s, sent_ms = loop.time(), 0
    while True:
        try:
            frame = await decoder.stdout.readexactly(FRAME_BYTES)
        except asyncio.IncompleteReadError as short:
            frame = short.partial
        if not frame:
            break
        delay_s = begun_s + sent_ms / 1000 / SPEED - loop.time()
        if delay_s > 0:
            await asyncio.sleep(delay_s)
        await send(frame)
        sent_ms += len(frame) // 32


async def _one_file(endpoint: str, ffmpeg: str, path: Path) -> tuple[int, bool]:
    """Stream one file through one task: the number of messages read, and whether the task
    finished."""
    from websockets.asyncio.client import connect

    run_task, finish = _task_messages(uuid.uuid4().hex)
    decoder = await _decoder(ffmpeg, path)
    events = _TaskEvents()
    async with connect(
        endpoint, additional_headers={"Authorization": "Bearer sk-test"}, compression=None,
        proxy=None, max_size=1 << 20,
    ) as socket:  # fmt: skip

        async def read() -> None:
            async for message in socket:
                events.heard(message)
                if events.ended.done():
                    return

        reader = asyncio.create_task(read())
        await socket.send(json.dumps(run_task))
        await events.started
        await _send_paced(decoder, socket.send)
        await socket.send(json.dumps(finish))
        await reader
    await decoder.wait()
    return events.messages, events.ended.done() and events.ended.result()


class _SansIo(asyncio.Protocol):
    """websockets' sans-I/O protocol driven straight from an asyncio Protocol: each message is
    handled inside `data_received`, with no reader task, queue or future per message."""

    def __init__(self, endpoint: str, on_text: Callable[[bytes], None]) -> None:
        from websockets.client import ClientProtocol
        from websockets.uri import parse_uri

        self.protocol = ClientProtocol(parse_uri(endpoint), max_size=1 << 20)
        self.on_text = on_text
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        request = self.protocol.connect()
        request.headers["Authorization"] = "Bearer sk-test"
        self.protocol.send_request(request)
        self._flush()

    def data_received(self, data: bytes) -> None:
        from websockets.frames import Frame, Opcode
        from websockets.http11 import Response

        self.protocol.receive_data(data)
        for event in self.protocol.events_received():
            if isinstance(event, Response):
                self.opened.set_result(None)
            elif isinstance(event, Frame) and event.opcode is Opcode.TEXT:
                self.on_text(bytes(event.data))
        self._flush()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)

    def send(self, message: str | bytes) -> None:
        if isinstance(message, str):
            self.protocol.send_text(message.encode())
        else:
            self.protocol.send_binary(message)
        self._flush()

    def close(self) -> None:
        """Start the closing handshake; `closed` is done when the connection is gone."""
        self.protocol.send_close()
        self._flush()

    def _flush(self) -> None:
        assert self.transport is not None
        for chunk in self.protocol.data_to_send():
            if chunk:
                self.transport.write(chunk)
            else:
                self.transport.write_eof()


async def _one_file_sansio(endpoint: str, ffmpeg: str, path: Path) -> tuple[int, bool]:
    """As `_one_file`, on `_SansIo`."""
    from urllib.parse import urlparse

    run_task, finish = _task_messages(uuid.uuid4().hex)
    decoder = await _decoder(ffmpeg, path)
    events = _TaskEvents()
    url = urlparse(endpoint)
    assert url.hostname is not None and url.port is not None  # the emulator's ws://host:port
    _, socket = await asyncio.get_running_loop().create_connection(
        lambda: _SansIo(endpoint, events.heard), url.hostname, url.port
    )
    await socket.opened
    socket.send(json.dumps(run_task))
    await events.started

    async def send(frame: bytes) -> None:
        socket.send(frame)

    await _send_paced(decoder, send)
    socket.send(json.dumps(finish))
    finished = await events.ended
    socket.close()
    await socket.closed
    await decoder.wait()
    return events.messages, finished


async def _bare(
    endpoint: str, ffmpeg: str, files: list[Path], sansio: bool = False
) -> list[tuple[int, bool]]:
    one = _one_file_sansio if sansio else _one_file
    return await asyncio.gather(*(one(endpoint, ffmpeg, path) for path in files))


def bare_main(endpoint: str, ffmpeg: str, files: list[Path], out: Path, sansio: bool) -> None:
    tasks = asyncio.run(_bare(endpoint, ffmpeg, files, sansio))
    out.write_text(json.dumps({
        "own_cpu_s": _cpu_s(resource.RUSAGE_SELF),
        "children_cpu_s": _cpu_s(resource.RUSAGE_CHILDREN),
        "messages": sum(messages for messages, _ in tasks),
        "files_done": sum(finished for _, finished in tasks),
    }))  # fmt: skip


def _listed(values: list[float]) -> str:
    return ", ".join(f"{value:.2f}" for value in values)


def _measure(command: list[str], env: dict[str, str]) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run(
            [part.replace("{out}", out.name) for part in command],
            env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        figures: dict[str, Any] = json.loads(Path(out.name).read_text())
        return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--bare", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--sansio", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if arguments.bare:  # the bare client, in its own process: OUT ENDPOINT FFMPEG FILE...
        out, endpoint, ffmpeg, *files = arguments.bare
        bare_main(endpoint, ffmpeg, [Path(f) for f in files], Path(out), arguments.sansio)
        return 0

    from benchmarks.run import (
        compile_bytecode,
        floor_all_at_once,
        floor_pass,
        make_media,
        measure,
    )
    from subtitler.sources.media import ffmpeg_executable

    compile_bytecode()
    ffmpeg = ffmpeg_executable()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        files = make_media(work / "media", arguments.files, arguments.seconds)
        emulator = subprocess.Popen(
            [sys.executable, "-m", "subtitler", "emulator", "--port", "0", "--max-task-rate", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        try:
            assert emulator.stdout is not None
            endpoint = emulator.stdout.readline().strip()
            env = dict(os.environ, DASHSCOPE_API_KEY="sk-test")
            bare_cmd = [sys.executable, "-m", "benchmarks.transport_floor", "--bare", "{out}",
                        endpoint, ffmpeg, *map(str, files)]  # fmt: skip
            ours_cmd = [sys.executable, "-m", "benchmarks.own_cpu", "{out}", "run",
                        str(work / "media"), "-s", "en", "-t", "zh", "--speed", "10",
                        "--jobs", str(len(files)), "--json", "--overwrite", "--out-dir",
                        str(work / "out"), "--endpoint", endpoint, "--vad", "off"]  # fmt: skip
            commands = {"bare": bare_cmd, "bare_sansio": [*bare_cmd, "--sansio"],
                        "subtitler": ours_cmd}  # fmt: skip
            rows: dict[str, list[dict[str, Any]]] = {name: [] for name in commands}
            floor_s: list[float] = []
            concurrent_s: list[float] = []
            all_at_once = floor_all_at_once(ffmpeg, files)
            for _ in range(arguments.rounds):  # alternated: the machine drifts
                floor_s.append(floor_pass(ffmpeg, files)[0])
                concurrent_s.append(measure(all_at_once).cpu_s)
                for name, command in commands.items():
                    started = time.monotonic()
                    rows[name].append(_measure(command, env))
                    rows[name][-1]["wall_s"] = time.monotonic() - started
        finally:
            emulator.terminate()
            emulator.wait()
    floor = statistics.median(floor_s)
    figures: dict[str, Any] = {
        "floor": {"cpu_s": floor, "cpu_s_rounds": floor_s},
        "floor_concurrent": {"cpu_s": statistics.median(concurrent_s),
                             "cpu_s_rounds": concurrent_s},
    }  # fmt: skip
    print(f"floor      CPU s: median {floor:.2f} ({_listed(floor_s)}); all files at once: "
          f"median {statistics.median(concurrent_s):.2f} ({_listed(concurrent_s)})",
          file=sys.stderr)  # fmt: skip
    for name, runs in rows.items():
        own = [row["own_cpu_s"] for row in runs]
        ffmpeg_cpu = [row["children_cpu_s"] for row in runs]
        tree = [a + b for a, b in zip(own, ffmpeg_cpu, strict=True)]
        figures[name] = {
            "own_cpu_s": statistics.median(own), "own_cpu_s_rounds": own,
            "ffmpeg_cpu_s": statistics.median(ffmpeg_cpu), "ffmpeg_cpu_s_rounds": ffmpeg_cpu,
            "tree_cpu_s": statistics.median(tree), "tree_vs_floor": statistics.median(tree) / floor,
        }  # fmt: skip
        print(f"{name:10s} own process CPU s: median {statistics.median(own):.2f} "
              f"({_listed(own)}); its ffmpeg: median {statistics.median(ffmpeg_cpu):.2f} "
              f"({_listed(ffmpeg_cpu)}); tree {statistics.median(tree):.2f} = "
              f"{statistics.median(tree) / floor:.2f}x the floor",
              file=sys.stderr)  # fmt: skip
    figures["bare_files_done"] = min(
        row["files_done"] for name in ("bare", "bare_sansio") for row in rows[name]
    )
    figures["files"] = len(files)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
