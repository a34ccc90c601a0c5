"""`GET /jobs/events`: the job queue's changes as server-sent events, for the console.

A new listener gets the whole state once (`event: reset`: the jobs, the webhooks received and
the cost totals), then one `event: job` per changed job (its JSON as `GET /jobs/{id}` answers),
`event: webhook` per webhook received and `event: costs` when an input's cost is counted.
Changes are coalesced: a job that moves many times in a fraction of a second (progress at
`--speed max`) is sent once per `COALESCE_S`, so the work per change does not grow with the
number of jobs kept. Each listener holds what it has not read yet as the latest state per job
(a newer state of a job replaces the unsent one: a slow reader never holds a job twice) and at
most `PENDING_LIMIT_BYTES` in all; one that stops reading past that is dropped (its browser
reconnects and gets a reset).
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable
from typing import Any

from aiohttp import web

from subtitler.serve.jobs import Job, JobQueue

COALESCE_S = 0.2
KEEP_ALIVE_S = 15.0
PENDING_LIMIT_BYTES = 16 * 1024 * 1024
"""What one listener may hold unread (a folder job's JSON can be MBs: counted in bytes)."""
RETRY_MS = 2000


def sse_message(kind: str, obj: Any) -> bytes:
    """One event: `data` is one line of JSON (json.dumps escapes newlines)."""
    return f"event: {kind}\ndata: {json.dumps(obj, ensure_ascii=False)}\n\n".encode()


class Listener:
    """One stream's unsent messages: the latest per key (a job's id), in the order first
    offered, bounded in bytes. Lives on the service's loop."""

    def __init__(self, limit_bytes: int = PENDING_LIMIT_BYTES) -> None:
        self.limit_bytes = limit_bytes
        self.pending_bytes = 0
        self.ended = False
        self._pending: dict[str, bytes] = {}
        self._ready = asyncio.Event()

    def offer(self, key: str, data: bytes) -> bool:
        """Keep `data` to send (replacing an unsent message of the same key); False, and the
        listener ended, when it would hold more than its limit."""
        if self.ended:
            return False
        old = self._pending.pop(key, b"")
        self.pending_bytes += len(data) - len(old)
        self._pending[key] = data
        if self.pending_bytes > self.limit_bytes:
            self.end()
            return False
        self._ready.set()
        return True

    def end(self) -> None:
        """Nothing more is sent: the stream ends after what it is writing."""
        self.ended = True
        self._pending.clear()
        self.pending_bytes = 0
        self._ready.set()

    async def next(self, timeout_s: float) -> bytes | None:
        """The oldest unsent message; a keep-alive comment after `timeout_s`; None once ended."""
        if not self._pending and not self.ended:
            self._ready.clear()
            try:
                await asyncio.wait_for(self._ready.wait(), timeout_s)
            except TimeoutError:
                return b": keep-alive\n\n"
        if self.ended:
            return None
        key = next(iter(self._pending))
        data = self._pending.pop(key)
        self.pending_bytes -= len(data)
        return data


class JobFeed:
    """Lives on the service's loop; `watch` is the queue's watcher."""

    def __init__(self, queue: JobQueue, snapshot: Callable[[], dict[str, Any]]) -> None:
        self.queue = queue
        self._snapshot = snapshot
        self._listeners: set[Listener] = set()
        self._serial = itertools.count()
        self._dirty: dict[str, Job] = {}
        self._flush: asyncio.TimerHandle | None = None
        self._total_sent = queue.costs.total
        queue.watchers.append(self.watch)

    @property
    def listener_count(self) -> int:
        return len(self._listeners)

    def watch(self, job: Job) -> None:
        if not self._listeners:
            return
        self._dirty[job.spec.id] = job
        if self._flush is None:
            self._flush = asyncio.get_running_loop().call_later(COALESCE_S, self.flush)

    def flush(self) -> None:
        self._flush = None
        dirty, self._dirty = self._dirty, {}
        for job_id, job in dirty.items():
            self.publish("job", job.as_json(), key=f"job {job_id}")
        costs = self.queue.costs
        if costs.total is not self._total_sent:  # an input ended: the totals moved
            self._total_sent = costs.total
            self.publish("costs", costs.totals_json(), key="costs")

    def publish(self, kind: str, obj: Any, key: str | None = None) -> None:
        """To every listener; `key`: what a later message replaces while unsent (a job's
        state, the totals); None: every message is sent (a webhook received)."""
        data = sse_message(kind, obj)
        key = key or f"{kind} {next(self._serial)}"
        for listener in list(self._listeners):
            if not listener.offer(key, data):
                self._listeners.discard(listener)  # it stopped reading: its stream ends

    def listen(self) -> Listener:
        listener = Listener()
        self._listeners.add(listener)
        return listener

    def close(self) -> None:
        """End every stream (at shutdown: the server then stops without waiting for them)."""
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        for listener in list(self._listeners):
            listener.end()
        self._listeners.clear()

    async def stream(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        listener = self.listen()
        backlog = [f"retry: {RETRY_MS}\n\n".encode(), sse_message("reset", self._snapshot())]
        try:
            for data in backlog:
                await response.write(data)
            while (item := await listener.next(KEEP_ALIVE_S)) is not None:
                await response.write(item)
        except ConnectionError:  # the page went away
            pass
        finally:
            self._listeners.discard(listener)
        return response
