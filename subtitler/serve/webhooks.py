"""subgen's media-server webhooks (`POST /jellyfin`, `/emby`, `/plex`, `/tautulli`): the
notice read as each server sends it, its file looked up, fenced and queued as a job, and the
item refreshed once its tracks are written (`subtitler.serve.mediaservers` speaks to them)."""

from __future__ import annotations

import asyncio
import os
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from subtitler.errors import UsageError
from subtitler.serve.job_routes import JobRoutes
from subtitler.serve.jobs import Job, Refresh
from subtitler.serve.mediaservers import (
    MediaServers,
    WebhookProblem,
    emby_notice,
    jellyfin_notice,
    json_object,
    plex_notice,
    tautulli_notice,
)
from subtitler.serve.problems import RequestProblem

RECEIVED_KEPT = 100
"""Webhooks the console lists (the latest)."""
WEBHOOKS = {"jellyfin": jellyfin_notice, "emby": emby_notice, "plex": plex_notice,
            "tautulli": tautulli_notice}  # fmt: skip


class WebhookRoutes:
    def __init__(
        self, job_routes: JobRoutes, media: MediaServers, webhook_events: tuple[str, ...]
    ) -> None:
        self.job_routes = job_routes
        self.media = media
        self.webhook_events = webhook_events
        self.received: deque[dict[str, Any]] = deque(maxlen=RECEIVED_KEPT)
        """The latest webhooks and what became of each: `job` (its id: the refresh result is
        the job's), `ignored` or `refused` with the one-line reason."""
        self.watchers: list[Callable[[dict[str, Any]], None]] = []

    def add_routes(self, router: web.UrlDispatcher) -> None:
        for sender in WEBHOOKS:
            router.add_post(f"/{sender}", self._webhook)
        router.add_get("/webhooks", self._list)

    async def _list(self, request: web.Request) -> web.Response:
        return web.json_response({"webhooks": self.listed()})

    def listed(self) -> list[dict[str, Any]]:
        """Newest first, each with its job's refresh state when it queued one."""
        queue = self.job_routes.queue
        shown = []
        for record in reversed(self.received):
            job = queue.jobs.get(record.get("job", "")) if queue is not None else None
            refresh = job.as_json().get("refresh") if job is not None else None
            shown.append({**record, "job_status": job.status.value if job else None,
                          "refresh": refresh})  # fmt: skip
        return shown

    def _remember(self, record: dict[str, Any]) -> None:
        self.received.append(record)
        for watcher in self.watchers:
            watcher(record)

    async def _webhook(self, request: web.Request) -> web.Response:
        sender = request.path.strip("/")
        record: dict[str, Any] = {"at": datetime.now(UTC).isoformat(timespec="seconds"),
                                  "sender": sender}  # fmt: skip
        try:
            response, outcome = await self._take(request, sender, record)
        except (RequestProblem, WebhookProblem) as problem:
            self._remember({**record, "outcome": "refused", "detail": problem.detail})
            raise
        except UsageError as error:
            self._remember({**record, "outcome": "refused", "detail": str(error)})
            raise
        self._remember({**record, **outcome})
        return response

    async def _take(
        self, request: web.Request, sender: str, record: dict[str, Any]
    ) -> tuple[web.Response, dict[str, Any]]:
        queue = self.job_routes.jobs()
        notice = WEBHOOKS[sender](await self._payload(request, sender))
        record.update(event=notice.event, item=notice.item_id or "")
        if notice.event not in self.webhook_events:
            ignored = f"{sender} event {notice.event!r}"
            return web.json_response({"ignored": ignored}), {
                "outcome": "ignored",
                "detail": ignored,
            }
        path = await self.job_routes.library_path(await self.media.item_path(notice))
        if not await asyncio.to_thread(os.path.isfile, path):
            raise RequestProblem(422, f"{path}: not a media file")
        refresh = None
        if notice.server in self.media.servers and notice.item_id:
            refresh = Refresh(notice.server, notice.item_id)
        job, new = await queue.submit(queue.prepare([path], {}, source=sender, refresh=refresh))
        outcome = {"outcome": "queued" if new else "already queued", "job": job.spec.id,
                   "path": path}  # fmt: skip
        return web.json_response(job.as_json(), status=202 if new else 200), outcome

    async def _payload(self, request: web.Request, sender: str) -> dict[str, Any]:
        """The webhook's JSON: Emby's form field `data`, Plex's multipart `payload`, the
        body itself for Jellyfin and Tautulli (whatever Content-Type they were set to send)."""
        form_field = {"emby": "data", "plex": "payload"}.get(sender)
        if form_field is None or request.content_type == "application/json":
            return json_object(await request.text(), sender)
        if request.content_type not in ("multipart/form-data", "application/x-www-form-urlencoded"):
            raise RequestProblem(400, f"{sender}: expected a form with a {form_field} field")
        form = await request.post()
        value = form.get(form_field)
        if not isinstance(value, str):
            raise RequestProblem(422, f"{sender}: the form has no {form_field} field")
        return json_object(value, f"{sender} {form_field}")


async def refresh_item(media: MediaServers, log: Callable[[str], None], job: Job) -> str:
    """After a webhook job's tracks are written: its media server rescans the item."""
    refresh = job.spec.refresh
    assert refresh is not None
    state = await media.refresh(refresh.server, refresh.item_id)
    log(f"subtitler: {refresh.server} item {refresh.item_id}: refresh {state}")
    return state
