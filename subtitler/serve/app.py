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
`SUBTITLER_API_TOKEN`) clients must send `Authorization: Bearer <token>`. The DashScope key is
never in a response or a log line.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import os
import shutil
import struct
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pysrt
from aiohttp import web

from subtitler.engine.context import RunContext
from subtitler.engine.input import NO_SPEECH, subtitle_input
from subtitler.engine.langid import identify
from subtitler.engine.plan import plan_tracks
from subtitler.errors import UsageError
from subtitler.events import CueWritten, Event, Status
from subtitler.languages import SOURCE_LANGUAGES, TRANSLATION_TARGETS, check_pairs
from subtitler.layout.cues import join_lines
from subtitler.options import Layout, RunOptions, TrackFormat, parse_formats
from subtitler.serve.fence import Libraries, PathMapping, map_path
from subtitler.serve.jobs import Job, JobQueue, JobStatus, Refresh
from subtitler.serve.mediaservers import (
    MediaServer,
    MediaServers,
    WebhookProblem,
    emby_notice,
    jellyfin_notice,
    json_object,
    plex_notice,
    tautulli_notice,
)
from subtitler.sources.inputs import InputFile
from subtitler.sources.media import run_to_end, wav_command
from subtitler.tracks import UNDETERMINED

SAMPLE_RATE_HZ = 16000
DETECT_SECONDS = 30
OUTPUTS = ("txt", "vtt", "srt", "tsv", "json")
CONTENT_TYPES = {
    "srt": "application/x-subrip",
    "vtt": "text/vtt",
    "ass": "text/x-ssa",
    "ttml": "application/ttml+xml",
    "txt": "text/plain",
    "tsv": "text/tab-separated-values",
    "json": "application/json",
}


class RequestProblem(Exception):
    """A request the service cannot take: its status and a one-line reason."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


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


WEBHOOKS = {"jellyfin": jellyfin_notice, "emby": emby_notice, "plex": plex_notice,
            "tautulli": tautulli_notice}  # fmt: skip
MAX_WAIT_S = 300.0


@dataclass(frozen=True)
class Upload:
    path: Path
    filename: str
    size: int


def wav_header(data_bytes: int) -> bytes:
    """A 44-byte RIFF header for 16 kHz mono 16-bit PCM of this many bytes."""
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF", 36 + data_bytes, b"WAVE", b"fmt ", 16, 1, 1, SAMPLE_RATE_HZ,
        SAMPLE_RATE_HZ * 2, 2, 16, b"data", data_bytes,
    )  # fmt: skip


def _flag(request: web.Request, name: str, default: bool) -> bool:
    value = request.query.get(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise RequestProblem(422, f"{name}={value!r}: expected true or false")


def _choice(request: web.Request, name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = request.query.get(name, default).strip().lower() or default
    if value not in allowed:
        raise RequestProblem(422, f"{name}={value!r}: expected one of {', '.join(allowed)}")
    return value


class AsrService:
    def __init__(
        self,
        options: RunOptions,
        token: str | None = None,
        max_upload_bytes: int = 8 * 1024**3,
        log: Callable[[str], None] | None = None,
        *,
        library: LibrarySettings | None = None,
    ) -> None:
        self.options = options
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
                after_done=self._refresh,
            )

    async def start(self) -> None:
        """Before the first request: the job queue replayed (unfinished jobs run on)."""
        if self.queue is not None:
            await self.queue.open()

    async def stop(self) -> None:
        """Running jobs stop (their tracks valid, resumed on the next start)."""
        if self.queue is not None:
            await self.queue.close()
        await self.media.close()

    def application(self) -> web.Application:
        app = web.Application(middlewares=[self._guard], client_max_size=self.max_upload_bytes)
        app.router.add_post("/asr", self._asr)
        app.router.add_post("/detect-language", self._detect_language)
        app.router.add_post("/subtitles", self._subtitles)
        app.router.add_post("/jobs", self._post_job)
        app.router.add_get("/jobs", self._list_jobs)
        app.router.add_get("/jobs/{id}", self._get_job)
        app.router.add_delete("/jobs/{id}", self._cancel_job)
        for sender in WEBHOOKS:
            app.router.add_post(f"/{sender}", self._webhook)
        app.router.add_get("/", self._about)
        return app

    # -- the edge: authentication, errors, one log line per request

    @web.middleware
    async def _guard(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        started = time.monotonic()
        try:
            if self.token is not None and not self._authorised(request):
                raise RequestProblem(401, "a bearer token is required (Authorization header)")
            response = await handler(request)
        except (RequestProblem, WebhookProblem) as problem:
            response = web.json_response({"detail": problem.detail}, status=problem.status)
        except UsageError as error:
            response = web.json_response({"detail": str(error)}, status=422)
        except web.HTTPException:
            raise
        except Exception as error:  # a bug must not show a traceback to the client
            self._log(f"subtitler: internal error on {request.path}: {error!r}")
            response = web.json_response({"detail": "internal error"}, status=500)
        elapsed = time.monotonic() - started
        self._log(f"{request.method} {request.path} {response.status} {elapsed:.2f}s")
        return response

    def _authorised(self, request: web.Request) -> bool:
        """`Authorization: Bearer TOKEN`; a webhook may give `?token=TOKEN` instead (media
        servers cannot set headers; the log line names the path only, never the query)."""
        assert self.token is not None
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        presented = value.strip() if scheme.lower() == "bearer" else ""
        if not presented and request.path.strip("/") in WEBHOOKS:
            presented = request.query.get("token", "")
        return hmac.compare_digest(presented.encode(), self.token.encode())

    async def _about(self, request: web.Request) -> web.Response:
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

    # -- endpoints

    async def _asr(self, request: web.Request) -> web.Response:
        task = _choice(request, "task", "transcribe", ("transcribe", "translate"))
        output = _choice(request, "output", "txt", OUTPUTS)
        encode = _flag(request, "encode", True)
        source = self._source(request.query.get("language"))
        if task == "translate" and source != "en":
            target, track = "en", "target"
        else:  # the transcript; Gummy needs a translation target too, its lines are dropped
            target = TRANSLATION_TARGETS[source][0] if source else "en"
            track = "source"
        async with self._upload(request, encode, None) as (upload, wav):
            formats = (TrackFormat.SRT, TrackFormat.VTT)
            stem = await self._subtitle(wav, upload, source, target, track, formats)
            spoken = source or stem.name.rpartition(".")[2].split("-")[0]
            body = await asyncio.to_thread(
                _render, stem, output, None if spoken == "und" else spoken
            )
        shown = Path(upload.filename).stem or "audio"
        return web.Response(
            body=body.encode("utf-8"),
            content_type=CONTENT_TYPES[output],
            charset="utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="{_quote(shown)}.{output}"',
                "Asr-Engine": "subtitler-gummy",
            },
        )

    async def _detect_language(self, request: web.Request) -> web.Response:
        encode = _flag(request, "encode", True)
        heard: list[str] = []

        def hear(event: Event) -> None:
            if isinstance(event, CueWritten):
                heard.append(event.transcript)

        async with self._upload(request, encode, DETECT_SECONDS) as (upload, wav):
            await self._subtitle(wav, upload, None, "en", "source", (TrackFormat.SRT,), hear)
        found = identify(" ".join(heard))
        if found is None:
            raise RequestProblem(422, "no speech in the first 30 s to tell the language from")
        return web.json_response(
            {
                "detected_language": found.name,
                "language_code": found.code,
                "confidence": found.confidence,
            }
        )

    async def _subtitles(self, request: web.Request) -> web.Response:
        target = request.query.get("target", "").strip().lower()
        if not target:
            raise RequestProblem(422, "target: give the translation language, e.g. target=en")
        source = self._source(request.query.get("source"))
        check_pairs(source, (target,))
        track = _choice(request, "track", "bilingual", ("bilingual", "source", "target"))
        (format_,) = parse_formats(_choice(request, "format", "srt", ("srt", "vtt", "ass", "ttml")))
        encode = _flag(request, "encode", True)
        async with self._upload(request, encode, None) as (upload, wav):
            stem = await self._subtitle(wav, upload, source, target, track, (format_,))
            path = stem.with_name(f"{stem.name}.{format_.value}")
            body = await asyncio.to_thread(path.read_bytes)
        shown = Path(upload.filename).stem or "audio"
        name = f"{_quote(shown)}{path.name[len(wav.stem) :]}"
        return web.Response(
            body=body,
            content_type=CONTENT_TYPES[format_.value],
            charset="utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    # -- the job queue and the webhooks

    def _jobs(self) -> JobQueue:
        if self.queue is None:
            raise RequestProblem(403, "jobs and webhooks are off: serve was given no --library")
        return self.queue

    async def _library_path(self, given: object) -> str:
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
        queue = self._jobs()
        body = json_object(await request.text(), "the job")
        given = body.pop("paths", None)
        if isinstance(given, str):
            given = [given]
        if not isinstance(given, list) or not given:
            example = '{"paths": ["/media/a.mkv"]}'
            raise RequestProblem(422, f"paths: expected a list of paths, e.g. {example}")
        paths = [await self._library_path(path) for path in given]
        job, new = await queue.submit(queue.prepare(paths, body))
        return web.json_response(job.as_json(), status=202 if new else 200)

    async def _list_jobs(self, request: web.Request) -> web.Response:
        wanted = request.query.get("status")
        jobs = [job.as_json() for job in self._jobs().jobs.values()
                if wanted is None or job.status.value == wanted]  # fmt: skip
        return web.json_response({"jobs": jobs})

    def _job(self, request: web.Request) -> Job:
        job = self._jobs().jobs.get(request.match_info["id"])
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
        await self._jobs().cancel(job)
        return web.json_response(job.as_json())

    async def _webhook(self, request: web.Request) -> web.Response:
        queue = self._jobs()
        sender = request.path.strip("/")
        notice = WEBHOOKS[sender](await self._payload(request, sender))
        if notice.event not in self.library.webhook_events:
            return web.json_response({"ignored": f"{sender} event {notice.event!r}"})
        path = await self._library_path(await self.media.item_path(notice))
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

    async def _refresh(self, job: Job) -> str:
        """After a webhook job's tracks are written: its media server rescans the item."""
        refresh = job.spec.refresh
        assert refresh is not None
        state = await self.media.refresh(refresh.server, refresh.item_id)
        self._log(f"subtitler: {refresh.server} item {refresh.item_id}: refresh {state}")
        return state

    # -- steps

    def _source(self, language: str | None) -> str | None:
        """Whisper's `language` (absent or empty: detect) as a Gummy source language."""
        if language is None or not language.strip() or language.strip().lower() == "auto":
            return None
        code = language.strip().lower()
        if code not in SOURCE_LANGUAGES:
            raise RequestProblem(
                422, f"language={code!r}: Gummy recognises {', '.join(SOURCE_LANGUAGES)}"
            )
        return code

    @contextlib.asynccontextmanager
    async def _upload(
        self, request: web.Request, encode: bool, limit_s: float | None
    ) -> AsyncIterator[tuple[Upload, Path]]:
        """The request's upload on disk and as 16 kHz mono WAV, in a folder of its own that is
        removed after (every file operation off the loop: a film's audio is gigabytes)."""
        folder = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="subtitler-serve-"))
        try:
            upload = await self._receive(request, folder)
            yield upload, await self._to_wav(upload, encode, folder, limit_s)
        finally:
            await asyncio.to_thread(shutil.rmtree, folder, True)

    async def _receive(self, request: web.Request, folder: Path) -> Upload:
        """The `audio_file` part, streamed to disk (a film's audio does not fit in memory)."""
        if not request.content_type.startswith("multipart/"):
            raise RequestProblem(400, "expected multipart/form-data with an audio_file field")
        try:
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                if getattr(part, "name", None) != "audio_file":
                    continue
                filename = getattr(part, "filename", None) or "audio_file"
                path = folder / "upload"
                size = 0
                handle = await asyncio.to_thread(open, path, "wb")
                try:
                    while chunk := await part.read_chunk(1 << 20):  # type: ignore[union-attr]
                        size += len(chunk)
                        if size > self.max_upload_bytes:
                            raise RequestProblem(413, "the upload is larger than --max-upload-mb")
                        await asyncio.to_thread(handle.write, chunk)
                finally:
                    await asyncio.to_thread(handle.close)
                if size == 0:
                    raise RequestProblem(400, "audio_file is empty")
                return Upload(path, Path(filename).name, size)
        except (ValueError, AssertionError) as error:
            raise RequestProblem(400, f"not a readable multipart upload ({error})") from error
        raise RequestProblem(422, "audio_file: the multipart field is missing")

    async def _to_wav(
        self, upload: Upload, encode: bool, folder: Path, limit_s: float | None
    ) -> Path:
        """16 kHz mono WAV: a header on raw PCM (encode=false), else ffmpeg's decode, padded
        from the media's time 0 so cues keep the video's timeline (late audio)."""
        wav = folder / "audio.wav"
        if not encode:
            if upload.size % 2:
                raise RequestProblem(400, "raw PCM (encode=false) must be whole 16-bit samples")
            size = upload.size
            if limit_s is not None:
                size = min(size, int(limit_s * SAMPLE_RATE_HZ) * 2)
            await asyncio.to_thread(_raw_to_wav, upload.path, wav, size)
            return wav
        status, log = await run_to_end(wav_command(upload.path, wav, limit_s))
        if status != 0:
            lines = log.strip().splitlines()
            cause = (lines[-1] if lines else "ffmpeg failed").replace(str(upload.path), "upload")
            raise RequestProblem(400, f"{upload.filename}: not readable media ({cause})")
        return wav

    async def _subtitle(
        self,
        wav: Path,
        upload: Upload,
        source: str | None,
        target: str,
        track: str,
        formats: tuple[TrackFormat, ...],
        hear: Callable[[Event], None] | None = None,
    ) -> Path:
        """Run the engine on the WAV (its events to `hear`); the track asked for, without its
        format's suffix."""
        layout = Layout.BILINGUAL if track == "bilingual" else Layout.SEPARATE
        options = replace(
            self.options,
            targets=(target,),
            gummy=replace(self.options.gummy, source_language=source),
            layout=layout,
            formats=formats,
            out_dir=None,
            overwrite=True,
        )

        item = InputFile(wav, Path(), label_text=upload.filename)  # its name in notes, messages
        async with self.context.slots:
            result = await subtitle_input(item, self.context.with_request(options, hear))
        written = result.tracks
        if result.status is Status.SKIPPED and result.reason == NO_SPEECH:
            # The engine leaves no empty track beside a file; a request still gets its answer.
            planned = plan_tracks(item, options, source or UNDETERMINED)
            empty = [track for plan in planned for track in plan.tracks]
            await self.context.disk.run([track.restore([]) for track in empty])
            written = tuple(track.path for track in empty)
        elif result.status is not Status.DONE:
            reason = result.reason.replace(str(wav), upload.filename)
            raise RequestProblem(502, f"the subtitling failed: {reason}")
        # The engine names the tracks (with source=None, after the identified language).
        suffix = "." + formats[0].value
        names = [p.name[len(wav.stem) + 1 : -len(suffix)] for p in written
                 if p.name.startswith(wav.stem + ".") and p.name.endswith(suffix)]  # fmt: skip
        wanted = {
            "bilingual": [n for n in names if n.endswith(f"-{target}")],
            "source": sorted((n for n in names if "-" not in n), key=lambda n: n == target),
            "target": [n for n in names if n == target],
        }[track]
        if not wanted:
            raise RequestProblem(500, "the engine wrote no track for this request")
        return wav.with_name(f"{wav.stem}.{wanted[0]}")


def _raw_to_wav(raw: Path, wav: Path, size: int) -> None:
    """Raw 16 kHz mono s16le (its first `size` bytes) as a WAV file."""
    with open(raw, "rb") as source, open(wav, "wb") as target:
        target.write(wav_header(size))
        shutil.copyfileobj(_limited(source, size), target)


def _limited(handle: Any, size: int) -> Any:
    """A file object that reads at most `size` bytes of `handle`."""

    class Limited:
        remaining = size

        def read(self, count: int = -1) -> bytes:
            if self.remaining <= 0:
                return b""
            wanted = self.remaining if count < 0 else min(count, self.remaining)
            data: bytes = handle.read(wanted)
            self.remaining -= len(data)
            return data

    return Limited()


def _quote(name: str) -> str:
    return "".join(c if c.isprintable() and c not in '"\\' else "_" for c in name)


def _render(stem: Path, output: str, language: str | None) -> str:
    """whisper-asr-webservice's outputs from the tracks: srt and vtt as written (pysrt,
    webvtt-py), txt one line per segment, tsv `start\tend\ttext` in ms, json Whisper's result
    shape (`text`, `segments` with `start`/`end` in seconds, `language`)."""
    if output in ("srt", "vtt"):
        return stem.with_name(f"{stem.name}.{output}").read_text(encoding="utf-8")
    items = pysrt.open(str(stem.with_name(f"{stem.name}.srt")))
    segments = [
        (item.start.ordinal, item.end.ordinal, join_lines(item.text.splitlines())) for item in items
    ]
    if output == "txt":
        return "".join(text + "\n" for _, _, text in segments)
    if output == "tsv":
        rows = ["start\tend\ttext"]
        rows += [f"{b}\t{e}\t{text.replace(chr(9), ' ')}" for b, e, text in segments]
        return "\n".join(rows) + "\n"
    document = {
        "text": join_lines([text for _, _, text in segments]),
        "segments": [
            {"id": index, "start": b / 1000, "end": e / 1000, "text": text}
            for index, (b, e, text) in enumerate(segments)
        ],
        "language": language,
    }
    return json.dumps(document, ensure_ascii=False)


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
