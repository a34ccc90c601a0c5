"""`subtitler serve`: an HTTP service that speaks whisper-asr-webservice's API, so Bazarr's
Whisper provider (and anything else written for that API) uses Gummy with no plugin.

- `POST /asr?task=transcribe|translate&language=xx&output=srt|vtt|txt|json|tsv&encode=true|false`
  with a multipart `audio_file`: raw 16 kHz mono s16le PCM with `encode=false` (what Bazarr
  sends), any media ffmpeg reads with `encode=true`. `transcribe` answers in the spoken language,
  `translate` in English.
- `POST /detect-language?encode=...`: the language of the first ~30 s, identified offline from
  Gummy's transcript (`subtitler.engine.langid`): `{"detected_language": "chinese", "language_code":
  "zh", "confidence": 0.99}`.
- `POST /subtitles?target=en&source=zh&track=bilingual|source|target&format=srt|vtt|ass|ttml`:
  what Bazarr cannot ask for: bilingual tracks for any documented pair, in any format.
- With `--library DIR`: a job queue for files on the server's disk (`POST /jobs`, `GET /jobs`,
  `GET /jobs/{id}[?wait=S]`, `DELETE /jobs/{id}`; `subtitler.serve.jobs`) and subgen's media-server
  webhooks (`POST /jellyfin`, `/emby`, `/plex`, `/tautulli`; `subtitler.serve.mediaservers`), the
  server refreshed once an item's tracks are written.

Every request is decoded and subtitled by the same engine as `run`, on one event loop: all
requests share one task pacer (the service's start limit is per account) and one `--jobs`
limit. A bad upload gets a 4xx with a one-line JSON `detail`. With `--api-token` (or
`SUBTITLER_API_TOKEN`) clients must send `Authorization: Bearer <token>` (browsers: the console's
sign-in cookie, `subtitler.views.access`); a state-changing request from another site's page is
refused (403) whatever it carries. The DashScope key is never in a response or a log line.

`GET /` answers browsers (HTML preferred over JSON) with the console (`subtitler.serve.console`:
jobs live, submit, costs, webhooks) and every other client with the JSON it always did.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hmac
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from aiohttp import web

from subtitler.engine.context import RunContext
from subtitler.errors import UsageError
from subtitler.languages import SOURCE_LANGUAGES
from subtitler.options import RunOptions
from subtitler.review.routes import review_application
from subtitler.serve.console import PUBLIC, Console, prefers_html
from subtitler.serve.feed import JobFeed
from subtitler.serve.job_routes import JobRoutes, LibrarySettings
from subtitler.serve.jobs import JobQueue
from subtitler.serve.limits import REVIEW_MAX_BYTES, SIGN_IN_MAX_BYTES
from subtitler.serve.mediaservers import MediaServers, WebhookProblem
from subtitler.serve.problems import RequestProblem
from subtitler.serve.webhooks import WEBHOOKS, WebhookRoutes, refresh_item
from subtitler.serve.whisper import WhisperEndpoints
from subtitler.views.access import (
    HostNames,
    cross_origin,
    forwarded,
    host_name,
    is_loopback,
    misdirected,
    presented_token,
    trusted_networks,
)

__all__ = ["AsrService", "LibrarySettings", "serve_forever"]


class AsrService:
    """The HTTP edge: authentication, one-line errors, one log line per request, and the
    routes of the upload endpoints, the job queue and the webhooks."""

    def __init__(
        self,
        options: RunOptions,
        token: str | None = None,
        max_upload_bytes: int = 8 * 1024**3,
        log: Callable[[str], None] | None = None,
        *,
        library: LibrarySettings | None = None,
        host: str = "127.0.0.1",
        allowed_hosts: tuple[str, ...] = (),
        trusted_proxies: tuple[str, ...] = (),
    ) -> None:
        """`host`: the address listened on (the review editor is served off loopback only
        with a token); `allowed_hosts`: the names besides it that browsers may call this
        server by (`--allowed-host`; any other Host gets 421: DNS rebinding); `trusted_proxies`: the
        reverse proxies whose X-Forwarded-Proto/Host are believed (`--trusted-proxy`)."""
        self.options = options
        self.host = host
        self.hosts = HostNames.of(host, allowed_hosts)
        self.proxies = trusted_networks(trusted_proxies)
        self.token = token
        self.max_upload_bytes = max_upload_bytes
        # --budget is per job (jobs make their own); uploads are not budgeted.
        self.context = RunContext.create(replace(options, budget=None), lambda _event: None)
        self._log = log or (lambda line: print(line, file=sys.stderr, flush=True))
        self.library = library or LibrarySettings()
        self.media = MediaServers(self.library.servers or {}, options.retry_delay_s)
        self.queue: JobQueue | None = None
        if self.library.libraries.roots:
            self.queue = JobQueue(
                self.context,
                self.library.job_defaults or {},
                self.library.queue_file or Path("jobs.jsonl"),
                keep_finished=self.library.keep_jobs,
                after_done=functools.partial(refresh_item, self.media, self._log),
            )
        self.whisper = WhisperEndpoints(options, self.context, max_upload_bytes)
        self.feed = JobFeed(self.queue, self._console_state) if self.queue else None
        self.job_routes = JobRoutes(self.queue, self.library, self.feed)
        self.webhooks = WebhookRoutes(self.job_routes, self.media, self.library.webhook_events)
        if self.feed is not None:
            self.webhooks.watchers.append(functools.partial(self.feed.publish, "webhook"))
        self.console = Console(token)

    def _console_state(self) -> dict[str, Any]:
        """What a console that connects gets at once (the feed's `reset`)."""
        assert self.queue is not None
        return {
            "jobs": [job.as_json() for job in self.queue.jobs.values()],
            "webhooks": self.webhooks.listed(),
            "costs": self.queue.costs.totals_json(),
            "review": self.serves_review,
        }

    async def start(self) -> None:
        """Before the first request: the job queue replayed (unfinished jobs run on)."""
        if self.queue is not None:
            await self.queue.open()

    async def stop(self) -> None:
        """Running jobs stop (their tracks valid, resumed on the next start)."""
        if self.queue is not None:
            await self.queue.close()
        await self.media.close()
        await self.context.translators.aclose()

    def application(self) -> web.Application:
        app = web.Application(middlewares=[self._guard], client_max_size=self.max_upload_bytes)
        self.whisper.add_routes(app.router)
        self.job_routes.add_routes(app.router)
        self.webhooks.add_routes(app.router)
        self.console.add_routes(app.router)
        app.router.add_get("/", self._about)
        self._mount_review(app)
        app.on_response_prepare.append(_never_framed)
        if self.feed is not None:
            feed = self.feed

            async def end_streams(_app: web.Application) -> None:
                feed.close()  # before aiohttp waits for open requests to end

            app.on_shutdown.append(end_streams)
        return app

    @property
    def serves_review(self) -> bool:
        """The review editor rewrites tracks and streams the library's media: mounted for the
        library's inputs only behind a token, or on loopback (nobody else reaches it)."""
        return bool(self.library.libraries.roots) and (
            self.token is not None or is_loopback(self.host)
        )

    def _mount_review(self, app: web.Application) -> None:
        """The review editor for the library's inputs, behind serve's token and origin check
        (its own guard checks them again: the same `views.access`)."""
        roots = self.library.libraries.roots
        if not self.serves_review:
            return
        review = review_application(roots=roots, options=self.options, token=self.token,
                                    out_dir=self.options.out_dir)  # fmt: skip
        app.add_subapp("/review/", review)

    # -- the edge: authentication, errors, one log line per request

    @web.middleware
    async def _guard(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        started = time.monotonic()
        request = forwarded(request, self.proxies)
        try:
            if misdirected(request, self.hosts):
                raise RequestProblem(
                    421,
                    f"refused: this server is not called {request.host!r} here: add "
                    f"--allowed-host {host_name(request.host)} if it is its name",
                )
            if cross_origin(request):
                raise RequestProblem(403, "refused: sent by another site's page (Origin)")
            public = (request.method, request.path) in PUBLIC
            if self.token is not None and not public and not self._authorised(request):
                if request.method == "GET" and prefers_html(request.headers.get("Accept", "")):
                    sign_in = self.console.sign_in_page(request)
                    self._log(f"{request.method} {request.path} {sign_in.status} 0.00s")
                    return sign_in
                raise RequestProblem(401, "a bearer token is required (Authorization header)")
            response = await handler(_capped(request))
        except (RequestProblem, WebhookProblem) as problem:
            response = web.json_response({"detail": problem.detail}, status=problem.status)
        except UsageError as error:
            response = web.json_response({"detail": str(error)}, status=422)
        except web.HTTPRequestEntityTooLarge:  # a capped body sent without its length
            limit = _body_cap(request) or self.max_upload_bytes
            response = web.json_response({"detail": _too_large(limit)}, status=413)
        except web.HTTPException:
            raise
        except Exception as error:  # a bug must not show a traceback to the client
            self._log(f"subtitler: internal error on {request.path}: {error!r}")
            response = web.json_response({"detail": "internal error"}, status=500)
        elapsed = time.monotonic() - started
        self._log(f"{request.method} {request.path} {response.status} {elapsed:.2f}s")
        return response

    def _authorised(self, request: web.Request) -> bool:
        """`Authorization: Bearer TOKEN` or the console's cookie; a webhook may give
        `?token=TOKEN` instead (media servers cannot set headers; the log line names the path
        only, never the query)."""
        assert self.token is not None
        presented = presented_token(request)
        if not presented and request.path.strip("/") in WEBHOOKS:
            presented = request.query.get("token", "")
        return hmac.compare_digest(presented.encode(), self.token.encode())

    async def _about(self, request: web.Request) -> web.Response:
        if prefers_html(request.headers.get("Accept", "")):
            return self.console.page()
        return web.json_response(
            {
                "service": "subtitler (Gummy), whisper-asr-webservice compatible",
                "endpoints": ["POST /asr", "POST /detect-language", "POST /subtitles"]
                + (
                    ["POST /jobs", "GET /jobs", "GET /jobs/{id}", "DELETE /jobs/{id}"]
                    + [f"POST /{sender}" for sender in WEBHOOKS]
                    if self.queue
                    else []
                ),
                "source_languages": list(SOURCE_LANGUAGES),
            }
        )


async def _never_framed(_request: web.Request, response: web.StreamResponse) -> None:
    """No other site frames anything served here (the console, the review editor mounted at
    /review/, a sign-in form): a framed page's buttons could be clicked through a decoy."""
    policy = response.headers.get("Content-Security-Policy", "")
    if "frame-ancestors" not in policy:
        joined = f"{policy.rstrip('; ')}; " if policy.strip() else ""
        response.headers["Content-Security-Policy"] = joined + "frame-ancestors 'none'"
    response.headers.setdefault("X-Frame-Options", "DENY")


def _body_cap(request: web.Request) -> int | None:
    """The most this request's body may hold, where serve's upload-sized default is far too
    much: bodies read before the token is checked (sign-in) or never larger than a few lines
    (the review's edits)."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    if request.path == "/sign-in":
        return SIGN_IN_MAX_BYTES
    if request.path.startswith("/review/"):
        return REVIEW_MAX_BYTES
    return None


def _too_large(limit: int) -> str:
    return f"the request body: larger than {limit // 1024} KiB"


def _capped(request: web.Request) -> web.Request:
    """The request with its body capped (413 when its announced length is over at once)."""
    limit = _body_cap(request)
    if limit is None:
        return request
    if request.content_length is not None and request.content_length > limit:
        raise RequestProblem(413, _too_large(limit))
    seen_as = {"scheme": request.scheme}  # a clone forgets a proxy's (`forwarded`)
    if "Host" in request.headers:
        seen_as["host"] = request.host
    capped = request.clone(client_max_size=limit, **seen_as)  # type: ignore[arg-type]
    assert isinstance(capped, web.Request)
    return capped


async def serve_forever(
    service: AsrService, host: str, port: int, announce: Callable[[str], None]
) -> None:
    """Until cancelled (SIGINT/SIGTERM in the CLI)."""
    await service.start()
    runner = web.AppRunner(service.application(), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True)
    try:
        await site.start()
    except OSError as error:
        await runner.cleanup()
        await service.stop()
        reason = error.strerror or error
        raise UsageError("--port", f"cannot listen on {host}:{port}: {reason}") from error
    bound = runner.addresses[0][1] if runner.addresses else port
    shown = f"[{host}]" if ":" in host else host
    announce(f"http://{shown}:{bound}/")
    try:
        await asyncio.Event().wait()
    finally:
        with contextlib.suppress(Exception):
            await runner.cleanup()
        await service.stop()
