"""Media servers' webhooks in, and their item lookups and refreshes out: Jellyfin (its Webhook
plugin), Emby, Plex, and Tautulli in front of Plex, as subgen takes them, so a library already
pointed at subgen's `/jellyfin`, `/emby`, `/plex` and `/tautulli` can point at `serve`.

- Jellyfin: JSON `NotificationType` (ItemAdded, PlaybackStart) and `ItemId`, no path: the path
  comes from `GET /Users` (an administrator) then `GET /Users/{user}/Items/{item}` → `Path`.
- Emby: form field `data` holding JSON `Event` (library.new, playback.start), `Item.Path`,
  `Item.Id`.
- Plex: multipart field `payload` holding JSON `event` (library.new, media.play) and
  `Metadata.ratingKey`; the path from `GET /library/metadata/{key}` (XML, the first `Part`'s
  `file`).
- Tautulli: JSON `event` (added, played) and `file`; with `rating_key` in its template
  (`{rating_key}`), Plex is refreshed too.

Refresh after the tracks are written: Jellyfin and Emby `POST /Items/{id}/Refresh`, Plex
`PUT /library/metadata/{key}/refresh`. Tokens travel in headers only (never in a URL that a
proxy or a log line could keep) and never appear in a message.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree

import aiohttp

SERVERS = ("jellyfin", "emby", "plex")
TOKEN_VARIABLES = {"jellyfin": "JELLYFIN_TOKEN", "emby": "EMBY_TOKEN", "plex": "PLEX_TOKEN"}
EVENTS = {
    "jellyfin": {"ItemAdded": "added", "PlaybackStart": "played"},
    "emby": {"library.new": "added", "playback.start": "played"},
    "plex": {"library.new": "added", "media.play": "played"},
    "tautulli": {"added": "added", "played": "played"},
}
"""Each server's event names for what `serve` acts on: an item added, a playback started."""
ATTEMPTS = 3
"""Tries of a media-server call that fails transiently (a refused token or a missing item is
not asked again)."""
REQUEST_TIMEOUT_S = 30.0


class WebhookProblem(Exception):
    """A webhook the service cannot act on: the HTTP status to answer and one line;
    `transient`: the media server may answer if asked again (5xx, no connection, timeout)."""

    def __init__(self, status: int, detail: str, transient: bool = False) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.transient = transient


@dataclass(frozen=True)
class Notice:
    """What a webhook says, whichever server sent it."""

    sender: str
    """jellyfin, emby, plex or tautulli."""
    event: str
    """added, played, or the server's own name for anything else."""
    path: str | None = None
    """The file as the media server names it, when the payload holds it."""
    item_id: str | None = None
    server: str | None = None
    """Whose item `item_id` is: the server to look it up at and refresh."""


def _event(sender: str, name: Any) -> str:
    return EVENTS[sender].get(str(name), str(name))


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return str(value) if isinstance(value, str | int) and str(value) else None


def jellyfin_notice(body: dict[str, Any]) -> Notice:
    return Notice("jellyfin", _event("jellyfin", body.get("NotificationType")),
                  item_id=_text(body.get("ItemId")), server="jellyfin")  # fmt: skip


def emby_notice(data: dict[str, Any]) -> Notice:
    item = _object(data.get("Item"))
    return Notice("emby", _event("emby", data.get("Event")), path=_text(item.get("Path")),
                  item_id=_text(item.get("Id")), server="emby")  # fmt: skip


def plex_notice(payload: dict[str, Any]) -> Notice:
    metadata = _object(payload.get("Metadata"))
    return Notice("plex", _event("plex", payload.get("event")),
                  item_id=_text(metadata.get("ratingKey")), server="plex")  # fmt: skip


def tautulli_notice(body: dict[str, Any]) -> Notice:
    rating_key = _text(body.get("rating_key"))
    return Notice("tautulli", _event("tautulli", body.get("event")), path=_text(body.get("file")),
                  item_id=rating_key, server="plex" if rating_key else None)  # fmt: skip


def json_object(text: str | bytes, what: str) -> dict[str, Any]:
    """A request's JSON object, or a WebhookProblem (400) saying in one line, in words rather
    than the parser's, what is wrong and where."""
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        value = json.loads(text, parse_constant=_no_constant)
    except UnicodeDecodeError as error:
        raise WebhookProblem(400, f"{what}: not UTF-8 text (byte {error.start})") from error
    except json.JSONDecodeError as error:
        where = f"line {error.lineno}, column {error.colno}"
        raise WebhookProblem(400, f"{what}: not JSON ({where})") from error
    except RecursionError as error:
        raise WebhookProblem(400, f"{what}: nested too deeply") from error
    except ValueError as error:  # a constant (NaN, Infinity), a number too long to read
        raise WebhookProblem(400, f"{what}: not JSON (a number it cannot hold)") from error
    if not isinstance(value, dict):
        raise WebhookProblem(400, f"{what}: expected a JSON object")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(name)


def plex_part_file(xml_text: str) -> str | None:
    """The first media part's file in `GET /library/metadata/{key}`'s answer."""
    try:
        root = ElementTree.fromstring(xml_text)
    except ElementTree.ParseError:
        return None
    part = root.find(".//Media/Part")
    return part.get("file") if part is not None else None


@dataclass(frozen=True)
class MediaServer:
    """A server `serve` may call: `--jellyfin URL` with JELLYFIN_TOKEN, and so on."""

    kind: str
    url: str
    token: str

    def __repr__(self) -> str:  # the token never reaches a log line
        return f"MediaServer({self.kind!r}, {self.url!r})"

    def headers(self) -> dict[str, str]:
        if self.kind == "jellyfin":
            return {"Authorization": f'MediaBrowser Token="{self.token}"'}
        if self.kind == "emby":
            return {"X-Emby-Token": self.token}
        return {"X-Plex-Token": self.token, "Accept": "application/xml"}


def servers_from(urls: dict[str, str | None]) -> dict[str, MediaServer]:
    """The servers given on the command line, their tokens from the environment."""
    found = {}
    for kind, url in urls.items():
        if url:
            token = os.environ.get(TOKEN_VARIABLES[kind], "")
            found[kind] = MediaServer(kind, url.rstrip("/"), token)
    return found


class MediaServers:
    """Calls to the configured servers, on the service's loop (one HTTP session)."""

    def __init__(self, servers: dict[str, MediaServer], retry_delay_s: float = 1.0) -> None:
        self.servers = servers
        self.retry_delay_s = retry_delay_s
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
            self._session = aiohttp.ClientSession(timeout=timeout, trust_env=False)
        return self._session

    def server(self, kind: str, why: str) -> MediaServer:
        found = self.servers.get(kind)
        if found is None:
            flag, variable = f"--{kind} URL", TOKEN_VARIABLES[kind]
            raise WebhookProblem(422, f"{kind}: {why} needs serve's {flag} (and {variable})")
        return found

    async def _call(self, server: MediaServer, method: str, path: str, what: str) -> str:
        """The answer's text, asked up to ATTEMPTS times while the failure is transient,
        `retry_delay_s` apart and doubling; else WebhookProblem(502) naming the server, the
        call and its status."""
        delay_s = self.retry_delay_s
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return await self._call_once(server, method, path, what)
            except WebhookProblem as problem:
                if not problem.transient or attempt == ATTEMPTS:
                    raise
            await asyncio.sleep(delay_s)
            delay_s *= 2
        raise AssertionError("unreachable")

    async def _call_once(self, server: MediaServer, method: str, path: str, what: str) -> str:
        try:
            async with self._client().request(
                method, server.url + path, headers=server.headers()
            ) as response:
                text = await response.text()
                if response.status >= 300:
                    detail = f"{server.kind}: {what}: HTTP {response.status}"
                    raise WebhookProblem(502, detail, transient=response.status >= 500)
                return text
        except (aiohttp.ClientError, TimeoutError) as error:
            cause = type(error).__name__ if isinstance(error, TimeoutError) else str(error)
            raise WebhookProblem(502, f"{server.kind}: {what}: {cause}", transient=True) from error

    async def item_path(self, notice: Notice) -> str:
        """The file the notice is about, as the media server names it."""
        if notice.path:
            return notice.path
        if not notice.item_id or not notice.server:
            raise WebhookProblem(422, f"{notice.sender}: the payload names no item")
        server = self.server(notice.server, "looking the item up")
        if server.kind == "plex":
            xml = await self._call(server, "GET", f"/library/metadata/{notice.item_id}",
                                   "item lookup")  # fmt: skip
            path = plex_part_file(xml)
        else:
            users = _json_list(await self._call(server, "GET", "/Users", "user list"))
            admin = next((u for u in users if (u.get("Policy") or {}).get("IsAdministrator")),
                         users[0] if users else None)  # fmt: skip
            if admin is None:
                raise WebhookProblem(502, f"{server.kind}: no user to look the item up as")
            item = await self._call(server, "GET", f"/Users/{admin.get('Id')}/Items/"
                                    f"{notice.item_id}", "item lookup")  # fmt: skip
            path = _text(json_object(item, f"{server.kind} item").get("Path"))
        if not path:
            raise WebhookProblem(422, f"{server.kind}: item {notice.item_id} has no media file")
        return path

    async def refresh(self, kind: str, item_id: str) -> str:
        """Ask the server to rescan the item (its new subtitle files): `done`, or `failed: why`
        (a transient failure tried ATTEMPTS times)."""
        server = self.servers.get(kind)
        if server is None:
            return f"failed: serve has no --{kind} URL"
        if kind == "plex":
            method, path = "PUT", f"/library/metadata/{item_id}/refresh"
        else:
            method, path = "POST", f"/Items/{item_id}/Refresh?MetadataRefreshMode=FullRefresh"
        try:
            await self._call(server, method, path, "refresh")
        except WebhookProblem as problem:
            return f"failed: {problem.detail}"
        return "done"


def _json_list(text: str) -> list[dict[str, Any]]:
    try:
        value = json.loads(text)
    except ValueError:
        return []
    return [entry for entry in value if isinstance(entry, dict)] if isinstance(value, list) else []
