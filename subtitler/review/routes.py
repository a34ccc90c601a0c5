"""The review's HTTP API: one aiohttp application, served alone by `subtitler review` at `/` and
mounted by `serve` at `/review/`. Every URL it gives is relative, so both work.

Paths are fenced to `roots` (symlinks resolved, `..` refused, 404 outside). With a token, every
request must present it (Bearer header or the sign-in cookie; a page asked for without it gets
the sign-in form); a state-changing request from another origin is refused (403) before anything
else, token or not (`views.access`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import html
import json
import os
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from aiohttp import web

from subtitler.engine.edits import EditRefused
from subtitler.engine.machine import Translates
from subtitler.errors import OutputError
from subtitler.gummy.glossary import Glossary
from subtitler.options import RunOptions
from subtitler.qwenmt.client import QwenMt
from subtitler.qwenmt.protocol import MtSettings
from subtitler.review.session import Busy, Conflict, Files, Session
from subtitler.sources.inputs import is_media
from subtitler.tracks.durable import DiskWriter
from subtitler.views.access import (
    HostNames,
    cross_origin,
    misdirected,
    sign_in_cookie,
    token_ok,
)

HERE = Path(__file__).parent
KEEP_ALIVE_S = 15.0
BODY_LIMIT = 64 * 1024
"""An edit's or a check's JSON body at most (a cue's lines and times: a few KiB)."""
SIGN_IN_LIMIT = 4 * 1024
"""The sign-in form at most (a token and the page's query)."""
SESSIONS_KEPT = 64
"""Inputs kept open in memory (each its whole document): beyond them the least lately used
idle one is dropped, and read again from its journals when asked for."""
SUMMARIES_KEPT = 4096
READING_AT_ONCE = 4
"""Journals the listing replays at once (each on a worker thread)."""
ASSETS = {"page.js": "application/javascript", "page.css": "text/css"}
SIGN_IN = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Sign in: subtitler review</title>
<style>body{font:16px system-ui,sans-serif;margin:2rem;max-width:30rem}
input,button{font:inherit;padding:.4rem}:focus-visible{outline:3px solid #1a5fb4;outline-offset:2px}
</style></head><body><main><h1>Sign in</h1>
<p role="status" aria-live="polite">%s</p>
<form method="post" action="sign-in"><input type="hidden" name="query" value="%s">
<label for="token">Token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button></form></main></body></html>
"""
PLACEHOLDER = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>subtitler review</title></head>
<body><main><h1>subtitler review</h1><p>The page is not installed; the API answers at
<a href="api/inputs">api/inputs</a>.</p></main></body></html>
"""
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Signatures = tuple[tuple[int, int] | None, ...]
_STYLE = SIGN_IN.split("<style>", 1)[1].split("</style>", 1)[0]
_STYLE_HASH = base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()
POLICY = (
    "default-src 'self'; "
    f"style-src 'self' 'sha256-{_STYLE_HASH}'; "
    "img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
"""The page's own script, style, media and API only (nothing inline but the sign-in form's
style, by its hash), and never inside another site's frame (clickjacking)."""


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    # Set, not defaulted: mounted in serve, serve's own frame-ancestors-only policy is set
    # first (aiohttp prepares the outer application's response hooks before a sub-app's).
    response.headers["Content-Security-Policy"] = POLICY
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    # Not no-referrer: under it a browser's form POST says `Origin: null`, which the origin
    # check must refuse (the sign-in form was refused so); same-origin keeps the path in.
    response.headers.setdefault("Referrer-Policy", "same-origin")


def _sign_in_page(said: str, query: str, status: int) -> web.Response:
    """The sign-in form; `query`: the page's query (`path=...`), to come back to it."""
    text = SIGN_IN % (html.escape(said), html.escape(query, quote=True))
    return web.Response(text=text, content_type="text/html", status=status)


class Fence:
    """Where the review may read: the folders or files given; names relative to `base` (the
    review command's) or absolute (serve's libraries)."""

    def __init__(
        self, roots: tuple[Path, ...], relative: bool, out_dir: Path | None = None
    ) -> None:
        self.roots = tuple(Path(os.path.realpath(root)) for root in roots)
        first = self.roots[0] if self.roots else Path("/")
        self.base = first if first.is_dir() or not first.exists() else first.parent
        self.relative = relative
        self.out_dir = Path(os.path.abspath(out_dir)) if out_dir is not None else None

    def files(self, media: Path) -> Files:
        """Its journals and tracks: beside it, or where `run -o DIR` put them (DIR, mirroring
        the folders under the root it was found in, as the run mirrors the folders given)."""
        if self.out_dir is None:
            return Files.of(media)
        relative = Path()
        for root in self.roots:
            if root.is_dir() and media.is_relative_to(root):
                relative = media.parent.relative_to(root)
                break
        return Files.of(media, self.out_dir / relative)

    def inside(self, real: Path) -> bool:
        for root in self.roots:
            if real == root or (root.is_dir() and real.is_relative_to(root)):
                return True
        return False

    def resolve(self, text: str | None) -> Path:
        """The media file a `path` names, or HTTPNotFound."""
        if not text or "\x00" in text:
            raise _not_found("no such input")
        given = Path(text)
        if ".." in given.parts:
            raise _not_found("no such input")
        candidate = given if given.is_absolute() else self.base / given
        real = Path(os.path.realpath(candidate))
        if not self.inside(real) or not real.is_file() or not is_media(real):
            raise _not_found("no such input")
        return real

    def name(self, media: Path) -> str:
        if self.relative and media.is_relative_to(self.base):
            return media.relative_to(self.base).as_posix()
        return str(media)

    def media(self) -> list[Path]:
        """Every media file under the roots (hidden folders and files left out)."""
        found: set[Path] = set()
        for root in self.roots:
            if root.is_file():
                found.add(root)
                continue
            for folder, folders, files in os.walk(root):
                folders[:] = sorted(f for f in folders if not f.startswith("."))
                for file in files:
                    path = Path(folder) / file
                    if not file.startswith(".") and is_media(path):
                        real = Path(os.path.realpath(path))
                        if self.inside(real):
                            found.add(real)
        return sorted(found)


def _not_found(detail: str) -> web.HTTPNotFound:
    return web.HTTPNotFound(text=json.dumps({"detail": detail}), content_type="application/json")


def _json_body(body: bytes, status: int = 200) -> web.Response:
    return web.Response(body=body, status=status, content_type="application/json")


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(data, ensure_ascii=False), status=status,
                        content_type="application/json")  # fmt: skip


class ReviewApp:
    def __init__(
        self,
        *,
        roots: tuple[Path, ...],
        options: RunOptions,
        token: str | None,
        translator_factory: Callable[[MtSettings], Translates],
        glossary: Glossary | None,
        relative: bool,
        out_dir: Path | None = None,
        hosts: HostNames | None = None,
    ) -> None:
        self.fence = Fence(roots, relative, out_dir)
        self.hosts = hosts
        """The names a browser may call this server by (None: the host application checks)."""
        self.options = options
        self.token = token
        self._factory = translator_factory
        self._translator: Translates | None = None
        self.glossary = glossary
        self.disk = DiskWriter()
        self.sessions: OrderedDict[Path, Session] = OrderedDict()
        """The inputs opened lately, the last used last (at most SESSIONS_KEPT idle ones)."""
        self.summaries: OrderedDict[Path, tuple[Signatures, dict[str, Any]]] = OrderedDict()
        """The listing's counts of inputs not open, until their journals change."""
        self.streams: set[asyncio.Queue[int | None]] = set()
        self.closing = False
        self._loading: dict[Path, asyncio.Lock] = {}
        self._reading = asyncio.Semaphore(READING_AT_ONCE)

    def translator(self) -> Translates:
        if self._translator is None:
            settings = self.options.mt
            if settings is None:
                raise OutputError("Qwen-MT", "no translator settings")
            self._translator = self._factory(settings)
        return self._translator

    async def close(self, _app: web.Application) -> None:
        translator, self._translator = self._translator, None
        close = getattr(translator, "aclose", None)
        if close is not None:
            with contextlib.suppress(Exception):
                await close()
        await asyncio.to_thread(self.disk.close)

    def _new_session(self, media: Path, files: Files) -> Session:
        return Session(files, name=self.fence.name(media), options=self.options,
                       translator=self.translator, disk=self.disk,
                       glossary=self.glossary)  # fmt: skip

    async def session(self, request: web.Request) -> Session:
        media = self.fence.resolve(request.query.get("path"))
        lock = self._loading.setdefault(media, asyncio.Lock())
        async with lock:
            found = self.sessions.get(media)
            if found is None:
                found = self._new_session(media, self.fence.files(media))
                try:
                    await found.load()
                except OutputError as error:
                    status = 404 if "run subtitler first" in str(error) else 500
                    raise _error(status, str(error)) from error
                self.sessions[media] = found
            else:
                await found.refresh()
            self.sessions.move_to_end(media)
        self._forget()
        return found

    def _forget(self) -> None:
        """Drop the least lately used idle inputs beyond SESSIONS_KEPT (a busy one, with a
        page listening or a save under way, is kept until it is idle)."""
        for media in list(self.sessions):
            if len(self.sessions) <= SESSIONS_KEPT:
                break
            loading = self._loading.get(media)
            if self.sessions[media].idle and (loading is None or not loading.locked()):
                del self.sessions[media]
                self._loading.pop(media, None)
        while len(self.summaries) > SUMMARIES_KEPT:
            self.summaries.popitem(last=False)

    # Middleware: origin, then token

    @web.middleware
    async def guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if self.hosts is not None and misdirected(request, self.hosts):
            return _json({"detail": f"not this server's name: {request.host} (--allowed-host)"},
                         421)  # fmt: skip
        if cross_origin(request):
            return _json({"detail": "refused: a request from another site"}, 403)
        if request.path.endswith("/sign-in") and request.method == "POST":
            return await handler(request)
        if not token_ok(request, self.token):
            if request.method == "GET" and _is_page(request):
                return _sign_in_page("", request.rel_url.raw_query_string, 401)
            return _json({"detail": "sign in: the API token is missing or wrong"}, 401)
        return await handler(request)

    # Handlers

    async def page(self, request: web.Request) -> web.StreamResponse:
        page = HERE / "page.html"
        text = page.read_text(encoding="utf-8") if page.exists() else PLACEHOLDER
        return web.Response(text=text, content_type="text/html",
                            headers={"Cache-Control": "no-cache"})  # fmt: skip

    async def asset(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        path = HERE / name
        if name not in ASSETS or not path.exists():
            raise _not_found("no such file")
        return web.Response(body=path.read_bytes(), content_type=ASSETS[name],
                            headers={"Cache-Control": "no-cache"})  # fmt: skip

    async def sign_in(self, request: web.Request) -> web.StreamResponse:
        raw = await _bounded(request, SIGN_IN_LIMIT)  # before the token: anyone may post here
        form = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
        given = form.get("token", "")
        query = form.get("query", "")
        if self.token is None or not given or not _same(given, self.token):
            return _sign_in_page("That token is not the right one: nothing changed.", query, 401)
        # Back to the page asked for: this application's page with its own query, re-encoded
        # from its pairs (never another path, host or scheme).
        pairs = parse_qsl(query, keep_blank_values=True)
        back = "./" + (f"?{urlencode(pairs)}" if pairs else "")
        response = web.Response(status=303, headers={"Location": back})
        sign_in_cookie(response, self.token, secure=request.secure)
        return response

    def _listing(self) -> list[tuple[Path, Files, Signatures]]:
        """Every input under the roots with its journals' signatures (a worker thread's: the
        walk and a stat of each file)."""
        listed = []
        for media in self.fence.media():
            files = self.fence.files(media)
            listed.append((media, files, files.signatures()))
        return listed

    async def _summary(self, media: Path, files: Files, signatures: Signatures) -> dict[str, Any]:
        """An input's counts: its open session's, else those read when its journals were as
        they are now, else read now (its journals replayed off the loop, not kept open)."""
        session = self.sessions.get(media)
        if session is not None:
            await session.refresh()
            return session.summary()
        known = self.summaries.get(media)
        if known is not None and known[0] == signatures:
            self.summaries.move_to_end(media)
            return known[1]
        async with self._reading:
            session = self._new_session(media, files)
            try:
                await session.load()
            except OutputError as error:
                return {"has_journal": False, "error": str(error)}
        summary = session.summary()
        self.summaries[media] = (files.signatures(), summary)
        return summary

    async def inputs(self, request: web.Request) -> web.StreamResponse:
        listing = await asyncio.to_thread(self._listing)
        listed: list[dict[str, Any]] = []
        for media, _, signatures in listing:
            listed.append({"path": self.fence.name(media), "name": media.name, "reviewed": 0,
                           "cues": 0, "targets": [],
                           "has_journal": signatures[0] is not None})  # fmt: skip
        summaries = await asyncio.gather(*(
            self._summary(media, files, signatures)
            for media, files, signatures in listing if signatures[0] is not None
        ))  # fmt: skip
        for entry, summary in zip((e for e in listed if e["has_journal"]), summaries, strict=True):
            entry.update(summary)
        self._forget()
        return _json({"inputs": listed})

    async def document(self, request: web.Request) -> web.StreamResponse:
        session = await self.session(request)
        await session.ensure_duration()
        return _json_body(await session.document_json(quote(session.name, safe="")))

    async def edit(self, request: web.Request) -> web.StreamResponse:
        session = await self.session(request)
        body = await _body(request)
        base_version = body.get("base_version")
        if isinstance(base_version, bool) or not isinstance(base_version, int):
            return _json({"detail": 'give "base_version": the version the edit was made on'}, 422)
        quoted = quote(session.name, safe="")
        try:
            await session.edit(base_version, body)
        except Conflict as conflict:
            latest = conflict.latest
            return _json_body(await session.document_json(
                quoted, detail=str(conflict),
                conflict={"version": session.version, "op": latest.op if latest else None,
                          "cue": latest.cue if latest else None},
            ), 409)  # fmt: skip
        except Busy as busy:
            return _json_body(await session.document_json(
                quoted, detail=str(busy),
                conflict={"version": session.version, "op": None, "cue": None},
            ), 409)  # fmt: skip
        except EditRefused as refused:
            return _json({"detail": str(refused)}, 422)
        except OutputError as error:
            return _json_body(await session.document_json(quoted, detail=str(error)), 500)
        return _json_body(await session.document_json(quoted))

    async def check(self, request: web.Request) -> web.StreamResponse:
        session = await self.session(request)
        body = await _body(request)
        try:
            return _json({"problems": session.check(body)})
        except EditRefused as refused:
            return _json({"detail": str(refused)}, 422)

    async def media(self, request: web.Request) -> web.StreamResponse:
        media = self.fence.resolve(request.query.get("path"))
        return web.FileResponse(media)

    async def track(self, request: web.Request) -> web.StreamResponse:
        session = await self.session(request)
        target = request.query.get("target", "")
        if target not in session.targets:
            raise _not_found("no such target")
        return web.Response(body=await session.vtt(target), content_type="text/vtt",
                            charset="utf-8",
                            headers={"Cache-Control": "no-cache"})  # fmt: skip

    async def events(self, request: web.Request) -> web.StreamResponse:
        session = await self.session(request)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8",
                                               "Cache-Control": "no-cache",
                                               "X-Accel-Buffering": "no"})  # fmt: skip
        await response.prepare(request)
        queue: asyncio.Queue[int | None] = asyncio.Queue()
        session.listeners.add(queue)
        self.streams.add(queue)
        try:
            await response.write(_version_event(session.version))
            while not self.closing:
                try:
                    version = await asyncio.wait_for(queue.get(), KEEP_ALIVE_S)
                except TimeoutError:
                    await response.write(b": keep-alive\n\n")
                    continue
                if version is None:
                    break  # the server shuts down: the stream ends, the browser reconnects
                await response.write(_version_event(version))
            await response.write_eof()
        except ConnectionError:
            pass
        finally:
            session.listeners.discard(queue)
            self.streams.discard(queue)
        return response

    async def shutdown(self, _app: web.Application) -> None:
        """End every event stream, so the server stops at once (not after aiohttp's
        shutdown timeout) while a review page is open."""
        self.closing = True
        for queue in list(self.streams):
            queue.put_nowait(None)


def _version_event(version: int) -> bytes:
    return f"event: version\ndata: {json.dumps({'version': version})}\n\n".encode()


def _error(status: int, detail: str) -> web.HTTPException:
    error = web.HTTPException(text=json.dumps({"detail": detail}), content_type="application/json")
    error.set_status(status)
    return error


def _same(given: str, token: str) -> bool:
    import hmac

    return hmac.compare_digest(given.encode(), token.encode())


def _is_page(request: web.Request) -> bool:
    return request.path.endswith("/") and "text/html" in request.headers.get("Accept", "text/html")


async def _bounded(request: web.Request, limit: int) -> bytes:
    """The body, read no further than `limit` bytes: a larger one is refused (413) before it
    is read whole, whatever the server's own `client_max_size` (serve's is large, for media)."""
    too_large = _error(413, f"the body is over {limit // 1024} KiB: nothing changed")
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await request.content.read(limit + 1 - size)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise too_large


async def _body(request: web.Request) -> dict[str, Any]:
    raw = await _bounded(request, BODY_LIMIT)
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise _error(400, "the body is not JSON") from error
    if not isinstance(body, dict):
        raise _error(422, "the body must be a JSON object")
    return body


REVIEW = web.AppKey("review", ReviewApp)
"""The application's state (its open inputs), for the tests and a host that mounts it."""


def review_application(
    *,
    roots: tuple[Path, ...],
    options: RunOptions,
    token: str | None,
    translator_factory: Callable[[MtSettings], Translates] = QwenMt,
    glossary: Glossary | None = None,
    relative: bool = False,
    out_dir: Path | None = None,
    hosts: HostNames | None = None,
) -> web.Application:
    """The review's application (`relative`: inputs named relative to the first root, as
    `subtitler review PATH` names them; else by their absolute path, as serve's library;
    `out_dir`: where `run -o DIR` wrote the tracks and journals, else beside each input;
    `hosts`: the names it answers to, others 421: DNS rebinding; None when mounted in serve,
    which checks them)."""
    review = ReviewApp(roots=roots, options=options, token=token,
                       translator_factory=translator_factory, glossary=glossary,
                       relative=relative, out_dir=out_dir, hosts=hosts)  # fmt: skip
    app = web.Application(middlewares=[review.guard])
    app[REVIEW] = review
    app.on_shutdown.append(review.shutdown)
    app.on_cleanup.append(review.close)
    app.on_response_prepare.append(_security_headers)
    app.router.add_get("/", review.page)
    app.router.add_get("/{name:page\\.(?:js|css)}", review.asset)
    app.router.add_post("/sign-in", review.sign_in)
    app.router.add_get("/api/inputs", review.inputs)
    app.router.add_get("/api/document", review.document)
    app.router.add_post("/api/edit", review.edit)
    app.router.add_post("/api/check", review.check)
    app.router.add_get("/api/events", review.events)
    app.router.add_get("/media", review.media)
    app.router.add_get("/track", review.track)
    return app
