"""subgen's media-server webhooks (`POST /jellyfin`, `/emby`, `/plex`, `/tautulli`): the
notice read as each server sends it, its file looked up, fenced and queued as a job, and the
item refreshed once its tracks are written (`subtitler.serve.mediaservers` speaks to them)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import Any

from aiohttp import web

from subtitler.serve.job_routes import JobRoutes
from subtitler.serve.jobs import Job, Refresh
from subtitler.serve.mediaservers import (
    MediaServers,
    emby_notice,
    jellyfin_notice,
    json_object,
    plex_notice,
    tautulli_notice,
)
from subtitler.serve.problems import RequestProblem

WEBHOOKS = {"jellyfin": jellyfin_notice, "emby": emby_notice, "plex": plex_notice,
            "tautulli": tautulli_notice}  # fmt: skip


class WebhookRoutes:
    def __init__(
        self, job_routes: JobRoutes, media: MediaServers, webhook_events: tuple[str, ...]
    ) -> None:
        self.job_routes = job_routes
        self.media = media
        self.webhook_events = webhook_events

    def add_routes(self, router: web.UrlDispatcher) -> None:
        for sender in WEBHOOKS:
            router.add_post(f"/{sender}", self._webhook)

    async def _webhook(self, request: web.Request) -> web.Response:
        queue = self.job_routes.jobs()
        sender = request.path.strip("/")
        notice = WEBHOOKS[sender](await self._payload(request, sender))
        if notice.event not in self.webhook_events:
            return web.json_response({"ignored": f"{sender} event {notice.event!r}"})
        path = await self.job_routes.library_path(await self.media.item_path(notice))
        if not await asyncio.to_thread(os.path.isfile, path):
            raise RequestProblem(422, f"{path}: not a media file")
        refresh = None
        if notice.server in self.media.servers and notice.item_id:
            refresh = Refresh(notice.server, notice.item_id)
        job, new = await queue.submit(queue.prepare([path], {}, source=sender, refresh=refresh))
        return web.json_response(job.as_json(), status=202 if new else 200)

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
