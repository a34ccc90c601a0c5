"""The job queue's HTTP routes (`POST /jobs`, `GET /jobs`, `GET /jobs/{id}[?wait=S]`,
`DELETE /jobs/{id}`), what the console reads besides (`GET /jobs/events`, `GET /jobs/options`,
`POST /jobs/estimate`, `POST /jobs/{id}/retry`, `GET /library`, `GET /tracks`, `GET /costs`), and
the `--library` fence every path from a client or a media server passes through."""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from subtitler.declarations import DECLARED
from subtitler.errors import UsageError
from subtitler.serve.browse import listing, roots_listing
from subtitler.serve.estimate import estimate_job
from subtitler.serve.feed import JobFeed
from subtitler.serve.fence import Libraries, PathMapping, map_path
from subtitler.serve.jobs import Job, JobQueue, JobStatus, job_keywords, job_options
from subtitler.serve.limits import MAX_JOB_BYTES, MAX_JOB_PATHS
from subtitler.serve.mediaservers import MediaServer, json_object
from subtitler.serve.problems import RequestProblem
from subtitler.sources.inputs import discover

MAX_WAIT_S = 300.0


@dataclass(frozen=True)
class LibrarySettings:
    """What jobs and webhooks need: where they may read, how paths map, whom to refresh."""

    libraries: Libraries = field(default_factory=lambda: Libraries(()))
    path_maps: tuple[PathMapping, ...] = ()
    servers: dict[str, MediaServer] | None = None
    webhook_events: tuple[str, ...] = ("added",)
    queue_file: Path | None = None
    keep_jobs: int = 1000
    job_defaults: dict[str, Any] | None = None
    """`make_options` keywords from serve's command line (`targets` among them)."""
    max_job_bytes: int = MAX_JOB_BYTES
    """The largest `POST /jobs` body read (413 beyond)."""
    max_job_paths: int = MAX_JOB_PATHS
    """The most paths one job may name (422 beyond)."""


class JobRoutes:
    """`queue` None: serve was given no `--library`, and every job route answers 403."""

    def __init__(
        self, queue: JobQueue | None, library: LibrarySettings, feed: JobFeed | None = None
    ) -> None:
        self.queue = queue
        self.library = library
        self.feed = feed

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/jobs", self._post_job)
        router.add_get("/jobs", self._list_jobs)
        router.add_get("/jobs/events", self._events)
        router.add_get("/jobs/options", self._options)
        router.add_post("/jobs/estimate", self._estimate)
        router.add_get("/jobs/{id}", self._get_job)
        router.add_delete("/jobs/{id}", self._cancel_job)
        router.add_post("/jobs/{id}/retry", self._retry_job)
        router.add_get("/library", self._browse)
        router.add_get("/tracks", self._track)
        router.add_get("/costs", self._costs)

    def jobs(self) -> JobQueue:
        if self.queue is None:
            raise RequestProblem(403, "jobs and webhooks are off: serve was given no --library")
        return self.queue

    async def library_path(self, given: object) -> str:
        """A client's or media server's path as this disk's, inside a `--library` (403 when
        not: the same answer whether it exists or not) and present (422 when not)."""
        if not isinstance(given, str) or not given.strip():
            raise RequestProblem(422, "paths: expected a list of paths on the server's disk")
        path = map_path(given.strip(), self.library.path_maps)
        if not os.path.isabs(path):
            raise RequestProblem(422, f"{path}: give an absolute path")
        if not await asyncio.to_thread(self.library.libraries.contains, path):
            raise RequestProblem(403, f"{path}: outside the --library folders")
        if not await asyncio.to_thread(os.path.exists, path):
            raise RequestProblem(422, f"{path}: no such file or folder (check --path-map)")
        return path

    async def _post_job(self, request: web.Request) -> web.Response:
        queue = self.jobs()
        unique, keywords = await self._job_request(request)
        job, new = await queue.submit(queue.prepare(unique, keywords))
        return web.json_response(job.as_json(), status=202 if new else 200)

    async def _job_request(self, request: web.Request) -> tuple[list[str], dict[str, Any]]:
        """A job's body: its paths (fenced, present, each file once) and its checked options."""
        body = json_object(await self._body(request), "the job")
        given = self._given_paths(body.pop("paths", None))
        keywords = job_keywords(body)  # before the paths are looked at on disk
        paths = [await self.library_path(path) for path in dict.fromkeys(given)]
        return await asyncio.to_thread(first_of_each_file, paths), keywords

    async def _estimate(self, request: web.Request) -> web.Response:
        """What `POST /jobs` with this body would cost (nothing is queued or sent)."""
        queue = self.jobs()
        paths, keywords = await self._job_request(request)
        options = job_options(queue.defaults, keywords)
        items = await asyncio.to_thread(discover, [Path(path) for path in paths])
        return web.json_response(await estimate_job(items, options))

    async def _retry_job(self, request: web.Request) -> web.Response:
        job = self._job(request)
        try:
            again = await self.jobs().retry(job)
        except UsageError as error:
            raise RequestProblem(409, error.cause) from error
        return web.json_response(again.as_json(), status=202)

    async def _events(self, request: web.Request) -> web.StreamResponse:
        self.jobs()
        assert self.feed is not None
        return await self.feed.stream(request)

    async def _options(self, request: web.Request) -> web.Response:
        """The options a job may set, from their one declaration (the console's form)."""
        defaults = self.jobs().defaults
        return web.json_response({"options": [
            {"keyword": option.keyword, "flag": option.flags[-1], "kind": option.kind.value,
             "help": option.help, "default": _json_value(option.default),
             "serve_default": _json_value(defaults.get(option.keyword)),
             "choices": list(option.choices), "metavar": option.metavar,
             "const": option.const, "text": option.text_on_command_line}
            for option in DECLARED if option.job
        ]})  # fmt: skip

    async def _browse(self, request: web.Request) -> web.Response:
        """`?path=FOLDER`: its folders and media files; none: the `--library` folders."""
        self.jobs()
        given = request.query.get("path")
        if not given:
            return web.json_response(roots_listing(self.library.libraries.roots))
        folder = await self.library_path(given)
        if not await asyncio.to_thread(os.path.isdir, folder):
            raise RequestProblem(422, f"{folder}: not a folder")
        try:
            found = await asyncio.to_thread(listing, folder, self.library.libraries.roots)
        except OSError as error:
            raise RequestProblem(422, f"{folder}: {error.strerror or error}") from error
        return web.json_response(found)

    async def _track(self, request: web.Request) -> web.FileResponse:
        """`?path=TRACK`: a track a job wrote, read-only, inside the `--library` fence."""
        queue = self.jobs()
        path = await self.library_path(request.query.get("path", ""))
        written = any(path in outcome.tracks for job in queue.jobs.values()
                      for outcome in job.outcomes.values())  # fmt: skip
        if not written:
            raise RequestProblem(404, f"{path}: not a track of a job")
        content_type = TRACK_TYPES.get(Path(path).suffix.lower(), "text/plain")
        return web.FileResponse(path, headers={
            "Content-Type": f"{content_type}; charset=utf-8",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'",
        })  # fmt: skip

    async def _costs(self, request: web.Request) -> web.Response:
        """Seconds sent and saved, tokens and cost: in total, per day and per kept job."""
        return web.json_response(self.jobs().costs.as_json())

    async def _body(self, request: web.Request) -> bytes:
        """The body, read only up to the cap: a flood is refused before it costs memory."""
        limit = self.library.max_job_bytes
        too_large = RequestProblem(413, f"the job: larger than {size_text(limit)}")
        if request.content_length is not None and request.content_length > limit:
            raise too_large
        data = bytearray()
        while chunk := await request.content.read(limit + 1 - len(data)):
            data += chunk
            if len(data) > limit:
                raise too_large
        return bytes(data)

    def _given_paths(self, given: object) -> list[str]:
        """The job's `paths`: a list of non-empty strings, at most `max_job_paths`."""
        example = '{"paths": ["/media/a.mkv"]}'
        if not isinstance(given, list) or not given:
            raise RequestProblem(422, f"paths: expected a list of paths, e.g. {example}")
        if not all(isinstance(path, str) and path.strip() for path in given):
            raise RequestProblem(422, "paths: expected a list of paths on the server's disk")
        limit = self.library.max_job_paths
        if len(given) > limit:
            problem = f"paths: {len(given)} given, at most {limit} per job (a folder counts once)"
            raise RequestProblem(422, problem)
        return [path for path in given if isinstance(path, str)]

    async def _list_jobs(self, request: web.Request) -> web.Response:
        wanted = request.query.get("status") or None
        if wanted is not None and wanted not in {status.value for status in JobStatus}:
            shown = ", ".join(status.value for status in JobStatus)
            raise RequestProblem(422, f"status={wanted!r}: expected one of {shown}")
        jobs = [job.as_json() for job in self.jobs().jobs.values()
                if wanted is None or job.status.value == wanted]  # fmt: skip
        return web.json_response({"jobs": jobs})

    def _job(self, request: web.Request) -> Job:
        job = self.jobs().jobs.get(request.match_info["id"])
        if job is None:
            raise RequestProblem(404, f"no job {request.match_info['id']}")
        return job

    async def _get_job(self, request: web.Request) -> web.Response:
        """`?wait=S`: answer once the job is finished (its media server refreshed), or after S
        seconds (at most 300);
        with `&after=queued` (or running) once it has left that status."""
        job = self._job(request)
        wait = request.query.get("wait")
        if wait:
            try:
                wait_s = min(max(float(wait), 0.0), MAX_WAIT_S)
                after = request.query.get("after")
                waiting = {JobStatus(after)} if after else None
            except ValueError as error:
                problem = f"wait={wait!r}, after: expected seconds and a status"
                raise RequestProblem(422, problem) from error
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait_s):
                    await job.wait_while(waiting)
        return web.json_response(job.as_json())

    async def _cancel_job(self, request: web.Request) -> web.Response:
        job = self._job(request)
        if job.status.final:
            raise RequestProblem(409, f"job {job.spec.id} is already {job.status.value}")
        await self.jobs().cancel(job)
        return web.json_response(job.as_json())


TRACK_TYPES = {".vtt": "text/vtt", ".ttml": "application/ttml+xml", ".xml": "application/xml"}
"""Served as what they are; SRT, ASS, SCC as plain text (a browser shows them)."""


def _json_value(value: Any) -> Any:
    """A declared default as JSON (a tuple as a list; what JSON cannot hold as its text)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_json_value(item) for item in value]
    return str(getattr(value, "value", value))


def first_of_each_file(paths: list[str]) -> list[str]:
    """The paths without repeats: the first of those that resolve to the same file or folder
    (`a/./b`, a link, a mapped and an unmapped name), in the order given."""
    seen: dict[str, str] = {}
    for path in paths:
        seen.setdefault(os.path.realpath(path), path)
    return list(seen.values())


def size_text(count: int) -> str:
    """`1 MiB`, `64 KiB` or `500 bytes`: a limit as people read it."""
    for unit, size in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if count >= size and count % size == 0:
            return f"{count // size} {unit}"
    return f"{count} bytes"
