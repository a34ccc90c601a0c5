"""`GET /jobs/events`: the job queue's changes as server-sent events, for the console.

A new listener gets the whole state once (`event: reset`: the jobs, the webhooks received and
the cost totals), then one `event: job` per changed job (its JSON as `GET /jobs/{id}` answers),
`event: webhook` per webhook received and `event: costs` when an input's cost is counted.
Changes are coalesced: a job that moves many times in a fraction of a second (progress at
`--speed max`) is sent once per `COALESCE_S`, so the work per change does not grow with the
number of jobs kept, and each listener costs one bounded queue (one that stops reading is
dropped; its browser reconnects and gets a reset).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any

from aiohttp import web

from subtitler.serve.jobs import Job, JobQueue

COALESCE_S = 0.2
KEEP_ALIVE_S = 15.0
QUEUE_LIMIT = 1000
RETRY_MS = 2000


def sse_message(kind: str, obj: Any) -> bytes:
    """One event: `data` is one line of JSON (json.dumps escapes newlines)."""
    return f"event: {kind}\ndata: {json.dumps(obj, ensure_ascii=False)}\n\n".encode()


class JobFeed:
    """Lives on the service's loop; `watch` is the queue's watcher."""

    def __init__(self, queue: JobQueue, snapshot: Callable[[], dict[str, Any]]) -> None:
        self.queue = queue
        self._snapshot = snapshot
        self._listeners: set[asyncio.Queue[bytes | None]] = set()
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
        for job in dirty.values():
            self.publish("job", job.as_json())
        costs = self.queue.costs
        if costs.total is not self._total_sent:  # an input ended: the totals moved
            self._total_sent = costs.total
            self.publish("costs", costs.totals_json())

    def publish(self, kind: str, obj: Any) -> None:
        data = sse_message(kind, obj)
        for listener in list(self._listeners):
            self._offer(listener, data)

    def close(self) -> None:
        """End every stream (at shutdown: the server then stops without waiting for them)."""
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        for listener in list(self._listeners):
            self._offer(listener, None)

    def _offer(self, listener: asyncio.Queue[bytes | None], item: bytes | None) -> None:
        try:
            listener.put_nowait(item)
        except asyncio.QueueFull:
            self._listeners.discard(listener)  # it stopped reading: it ends at the next write
            with contextlib.suppress(asyncio.QueueEmpty):
                listener.get_nowait()
            listener.put_nowait(None)

    async def stream(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        listener: asyncio.Queue[bytes | None] = asyncio.Queue(QUEUE_LIMIT)
        self._listeners.add(listener)
        backlog = [f"retry: {RETRY_MS}\n\n".encode(), sse_message("reset", self._snapshot())]
        try:
            for data in backlog:
                await response.write(data)
            while True:
                try:
                    item = await asyncio.wait_for(listener.get(), KEEP_ALIVE_S)
                except TimeoutError:
                    item = b": keep-alive\n\n"
                if item is None:
                    break
                await response.write(item)
        except ConnectionError:  # the page went away
            pass
        finally:
            self._listeners.discard(listener)
        return response
