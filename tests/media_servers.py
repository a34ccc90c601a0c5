"""Small Jellyfin, Emby and Plex servers for the webhook tests, from their APIs as documented
(not from subtitler's client): each refuses a missing or wrong token (401), a wrong method on a
route (405) and an unknown item (404), and records every call it takes. At a refresh each
notes which subtitle files sit beside the item's media on disk, as its library scan would
find them."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import quoteattr

from aiohttp import web

from tests.serving import Background

SUBTITLE_SUFFIXES = (".srt", ".vtt", ".ass", ".ttml")


@dataclass(frozen=True)
class Item:
    item_id: str
    server_path: str
    """The path as the media server sees it (its container's mount)."""
    local_path: Path
    """The same file on the test's disk."""


@dataclass(frozen=True)
class Refreshed:
    item_id: str
    method: str
    query: dict[str, str]
    subtitles_beside: tuple[str, ...]


@dataclass
class FakeMediaServer:
    kind: str
    """jellyfin, emby or plex."""
    token: str
    items: dict[str, Item] = field(default_factory=dict)
    refresh_status: int | None = None
    """Answer refreshes with this (a failing server); None: the real success status."""
    outages: int = 0
    """Answer this many next calls 503, as a server that is restarting does."""
    calls: list[tuple[str, str]] = field(default_factory=list)
    refreshes: list[Refreshed] = field(default_factory=list)
    url: str = ""

    def add(self, item: Item) -> None:
        self.items[item.item_id] = item

    # -- the protocol

    def _authorised(self, request: web.Request) -> bool:
        if self.kind == "plex":
            given = request.headers.get("X-Plex-Token") or request.query.get("X-Plex-Token")
            return given == self.token
        # Jellyfin: `Authorization: MediaBrowser Token="..."` (quoted or not) or X-Emby-Token;
        # Emby: X-Emby-Token or api_key.
        found = re.search(r'Token="?([^",]+)"?', request.headers.get("Authorization", ""))
        given = (found.group(1) if found and request.headers["Authorization"].startswith(
            ("MediaBrowser ", "Emby ")) else None)  # fmt: skip
        given = given or request.headers.get("X-Emby-Token") or request.query.get("api_key")
        return given == self.token

    @web.middleware
    async def _guard(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        self.calls.append((request.method, request.path))
        if self.outages > 0:
            self.outages -= 1
            return web.Response(status=503, text="Service Unavailable")
        if not self._authorised(request):
            return web.Response(status=401, text="Unauthorized")
        return await handler(request)

    def _item(self, request: web.Request) -> Item:
        item = self.items.get(request.match_info["item"])
        if item is None:
            raise web.HTTPNotFound()
        return item

    async def _users(self, request: web.Request) -> web.Response:
        return web.json_response([
            {"Name": "kid", "Id": "u-kid", "Policy": {"IsAdministrator": False}},
            {"Name": "admin", "Id": "u-admin", "Policy": {"IsAdministrator": True}},
        ])  # fmt: skip

    async def _user_item(self, request: web.Request) -> web.Response:
        if request.match_info["user"] not in ("u-kid", "u-admin"):
            raise web.HTTPNotFound()
        item = self._item(request)
        return web.json_response({"Name": item.local_path.stem, "Id": item.item_id,
                                  "Path": item.server_path, "Type": "Episode"})  # fmt: skip

    async def _plex_metadata(self, request: web.Request) -> web.Response:
        item = self._item(request)
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<MediaContainer size="1"><Video ratingKey="{item.item_id}" type="episode">'
            f'<Media id="1" duration="12000"><Part id="1" key="/library/parts/1/file.mp4" '
            f'file={quoteattr(item.server_path)} size="1"/></Media></Video></MediaContainer>'
        )
        return web.Response(text=xml, content_type="text/xml")

    async def _refresh(self, request: web.Request) -> web.Response:
        item = self._item(request)
        beside = tuple(sorted(
            path.name for path in item.local_path.parent.iterdir()
            if path.name.startswith(item.local_path.stem + ".") and path.suffix in SUBTITLE_SUFFIXES
        ))  # fmt: skip
        self.refreshes.append(Refreshed(item.item_id, request.method, dict(request.query), beside))
        if self.refresh_status is not None:
            return web.Response(status=self.refresh_status)
        return web.Response(status=200 if self.kind == "plex" else 204)

    def application(self) -> web.Application:
        app = web.Application(middlewares=[self._guard])
        if self.kind == "plex":
            app.router.add_get("/library/metadata/{item}", self._plex_metadata)
            app.router.add_put("/library/metadata/{item}/refresh", self._refresh)
        else:
            app.router.add_get("/Users", self._users)
            app.router.add_get("/Users/{user}/Items/{item}", self._user_item)
            app.router.add_post("/Items/{item}/Refresh", self._refresh)
        return app

    def serving(self) -> Background:
        async def start() -> Callable[[], Awaitable[None]]:
            runner = web.AppRunner(self.application(), access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            self.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
            return runner.cleanup

        return Background(start)
