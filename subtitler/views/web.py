"""`--serve [HOST:]PORT`: a caption page for OBS and browsers, and a Server-Sent Events stream.

`/` is `caption_page.html` (transparent, the latest one or two cues, the sentence being spoken);
`/events` streams the same JSON objects as `--json` (`views.jsonlines.event_objects`, same schema
and version), one per SSE message. Every connection starts with a `reset` event and the current
state (the latest two cues and the partial sentence of each input and target), so a page that
connects or reconnects shows the current cue at once. aiohttp (already in the dependency tree,
through dashscope) serves it on the run's own event loop: no thread. Each page has a bounded
queue; a page that stops reading is dropped (it reconnects and gets the state again), and a
closed page ends its handler at once (aiohttp cancels it); a keep-alive comment every 15 s
keeps proxies from closing an idle stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import time
from collections import deque
from importlib import resources
from typing import Any

from aiohttp import web

from subtitler.errors import UsageError
from subtitler.events import Event, label_of
from subtitler.views.jsonlines import SCHEMA_VERSION, event_objects

KEEP_ALIVE_S = 15.0
QUEUE_LIMIT = 1000
RETRY_MS = 1000


def parse_address(spec: str) -> tuple[str, int]:
    """`8080`, `0.0.0.0:8080`, `[::1]:8080` -> (host, port); loopback unless a host is given."""
    host, port_text = "127.0.0.1", spec.strip()
    if port_text.startswith("["):
        closing = port_text.find("]:")
        if closing < 0:
            raise UsageError("--serve", f"{spec!r}: use [IPv6]:PORT")
        host, port_text = port_text[1:closing], port_text[closing + 2 :]
    elif ":" in port_text:
        host, _, port_text = port_text.rpartition(":")
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise UsageError("--serve", f"{spec!r}: the port must be 0..65535")
    if host != "localhost":
        try:
            ipaddress.ip_address(host)
        except ValueError:
            if not host or any(c in host for c in "/ "):
                raise UsageError("--serve", f"{spec!r}: {host!r} is not a host") from None
    return host, int(port_text)


def _message(identifier: int, obj: dict[str, Any], kind: str | None = None) -> bytes:
    """One SSE message: `data` is one line of JSON (json.dumps escapes newlines)."""
    head = f"id: {identifier}\n" + (f"event: {kind}\n" if kind else "")
    return (head + "data: " + json.dumps(obj, ensure_ascii=False) + "\n\n").encode("utf-8")


class CaptionServer:
    """A view (call it with events) that also serves them; start() and stop() on the loop."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None
        self._clients: set[asyncio.Queue[bytes | None]] = set()
        self._next_id = 0
        self._cues: dict[tuple[str, str], deque[dict[str, Any]]] = {}
        self._partials: dict[tuple[str, str], dict[str, Any]] = {}
        self._page = resources.files("subtitler.views").joinpath("caption_page.html").read_bytes()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    @property
    def client_count(self) -> int:
        return len(self._clients)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/", self._index)
        app.router.add_get("/events", self._events)
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, handler_cancellation=True
        )  # a page that closes ends its handler at once
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        try:
            await site.start()
        except OSError as error:
            await self._runner.cleanup()
            raise UsageError("--serve", f"cannot listen on {self.host}:{self.port}: "
                             f"{error.strerror or error}") from error  # fmt: skip
        addresses = self._runner.addresses  # the bound port, when 0 was asked for
        if addresses:
            self.port = int(addresses[0][1])

    async def stop(self) -> None:
        """End every stream (pages then reconnect to nothing until the next run), then close."""
        for queue in list(self._clients):
            self._offer(queue, None)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- the view

    def __call__(self, event: Event) -> None:
        for obj in event_objects(event, label_of(event)):
            self._remember(obj)
            self._publish(obj)

    def summary(self, done: int, failed: int, skipped: int, interrupted: int = 0) -> None:
        obj = {"event": "summary", "at": round(time.time(), 3), "done": done, "failed": failed,
               "skipped": skipped, "interrupted": interrupted,
               "version": SCHEMA_VERSION}  # fmt: skip
        self._publish(obj)

    def _remember(self, obj: dict[str, Any]) -> None:
        """The state a new page needs: latest two cues and the open partial, per stream."""
        kind = obj["event"]
        if kind not in ("cue", "partial", "sentence"):
            return
        key = (obj["input"], obj["target"])
        if kind == "cue":
            recent = self._cues.setdefault(key, deque(maxlen=2))
            if obj["revised"] and recent:
                recent[-1] = {**obj, "revised": False}
            else:
                recent.append(obj)
        elif kind == "partial":
            self._partials[key] = obj
        elif self._partials.get(key, {}).get("sentence_id") == obj["sentence_id"]:
            del self._partials[key]

    def _publish(self, obj: dict[str, Any]) -> None:
        self._next_id += 1
        data = _message(self._next_id, obj)
        for queue in list(self._clients):
            self._offer(queue, data)

    def _offer(self, queue: asyncio.Queue[bytes | None], item: bytes | None) -> None:
        try:
            queue.put_nowait(item)
        except asyncio.QueueFull:
            self._clients.discard(queue)  # it stopped reading: its handler ends at the next write
            with contextlib.suppress(asyncio.QueueEmpty):
                queue.get_nowait()
            queue.put_nowait(None)

    def _snapshot(self) -> list[bytes]:
        state: list[dict[str, Any]] = [obj for cues in self._cues.values() for obj in cues]
        state += list(self._partials.values())
        state.sort(key=lambda obj: obj["at"])
        messages = [_message(self._next_id, {"event": "reset", "version": SCHEMA_VERSION}, "reset")]
        return messages + [_message(self._next_id, obj) for obj in state]

    # -- HTTP

    async def _index(self, request: web.Request) -> web.Response:
        return web.Response(body=self._page, content_type="text/html", charset="utf-8")

    async def _events(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
                "Access-Control-Allow-Origin": "*",
            }
        )
        await response.prepare(request)
        queue: asyncio.Queue[bytes | None] = asyncio.Queue(QUEUE_LIMIT)
        self._clients.add(queue)
        backlog = [f"retry: {RETRY_MS}\n\n".encode(), *self._snapshot()]  # no await before
        try:
            for data in backlog:
                await response.write(data)
            while True:
                try:
                    item = await asyncio.wait_for(queue.get(), KEEP_ALIVE_S)
                except TimeoutError:
                    item = b": keep-alive\n\n"
                if item is None:
                    break
                await response.write(item)
        except ConnectionError:  # the page went away
            pass
        finally:
            self._clients.discard(queue)
        return response
