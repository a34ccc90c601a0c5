"""`serve`'s job queue: paths on the server's disk subtitled in the background, each job's
state answerable at any time, and the whole queue surviving a restart.

A job is one request (`POST /jobs`, or a media server's webhook): its paths (files or folders)
and its options, which are `make_options` keywords over `serve`'s own. Its inputs run through
the engine exactly as `run`'s do, sharing the service's one `--jobs` limit and task pacer with
the upload endpoints. Status: queued → running → done | failed | skipped, or cancelled.

The queue is an append-only JSON-lines journal (`--queue-file`): a job's spec when it is
accepted, a line per input when that input ends, a line per status change, a line when the
media server was told to refresh. On start the journal is replayed and compacted; a job that
was queued or running runs again, and its inputs that had ended are not redone (an input cut
by the restart resumes from its own track journal): nothing is lost or doubled. A torn last
line (a crash mid-write) is an update that did not happen.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import fcntl
import json
import os
import uuid
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any

from subtitler.declarations import DECLARED, Kind, as_make_options
from subtitler.declarations import job_keywords as declared_job_keywords
from subtitler.engine.context import RunContext
from subtitler.engine.control import RunControl
from subtitler.engine.estimate import RunPricing, pricing_of
from subtitler.engine.runner import run_input, was_not_started
from subtitler.errors import UsageError
from subtitler.events import AudioProgress, CueWritten, Event, InputResult, InputStarted, Status
from subtitler.gummy.cost import Budget
from subtitler.options import RunOptions, make_options
from subtitler.serve.costs import CostLedger, Usage, bill_of, usage_of
from subtitler.sources.inputs import InputFile, InputProblem, discover
from subtitler.tracks.durable import Append, Replace

LATEST_SENTENCES = 3
"""Sentences a running job shows (the console's "latest")."""
LIST_KEYWORDS = tuple(
    option.keyword for option in DECLARED if option.job and option.kind is Kind.LIST
)
"""A job's options given as lists of strings (targets, formats, audio_languages)."""


class JobStatus(Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        return self not in (JobStatus.QUEUED, JobStatus.RUNNING)


@dataclass(frozen=True)
class Refresh:
    """Which media server item to refresh once the job's tracks are written."""

    server: str
    """jellyfin, emby or plex."""
    item_id: str


@dataclass(frozen=True)
class JobSpec:
    id: str
    paths: tuple[str, ...]
    """On this disk (after `--path-map`), inside a `--library` folder."""
    keywords: dict[str, Any]
    """The job's own `make_options` keywords, over `serve`'s."""
    source: str = "api"
    """Who asked: api, jellyfin, emby, plex or tautulli."""
    refresh: Refresh | None = None
    created: str = ""
    retry_of: str = ""
    """The job this one does again ("Retry" in the console), if any."""

    def as_json(self) -> dict[str, Any]:
        refresh = dataclasses.asdict(self.refresh) if self.refresh else None
        shown = {"id": self.id, "paths": list(self.paths), "options": self.keywords,
                 "source": self.source, "refresh": refresh, "created": self.created}  # fmt: skip
        if self.retry_of:
            shown["retry_of"] = self.retry_of
        return shown

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JobSpec:
        refresh = data.get("refresh")
        keywords = dict(data.get("options") or {})
        for key in LIST_KEYWORDS:  # comma-separated, as accepted before a job had to give a list
            if isinstance(keywords.get(key), str):
                keywords[key] = [part for part in keywords[key].split(",") if part.strip()]
        return cls(
            id=str(data["id"]),
            paths=tuple(str(p) for p in data["paths"]),
            keywords=keywords,
            source=str(data.get("source", "api")),
            refresh=Refresh(str(refresh["server"]), str(refresh["item_id"])) if refresh else None,
            created=str(data.get("created", "")),
            retry_of=str(data.get("retry_of", "")),
        )

    def same_work(self, other: JobSpec) -> bool:
        """A second request for work already queued (a webhook sent twice): not run twice."""
        return (self.paths, self.keywords, self.refresh) == (
            other.paths, other.keywords, other.refresh)  # fmt: skip


@dataclass(frozen=True)
class InputOutcome:
    """How one input of a job ended, and what it used and cost (priced when it ended)."""

    path: str
    status: str
    reason: str = ""
    tracks: tuple[str, ...] = ()
    audio_ms: int = 0
    sent_ms: int = 0
    saved_ms: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: dict[str, float] = field(default_factory=dict)
    """Per currency."""
    day: str = ""
    """When it ended (UTC date): the day its cost counts for."""

    @classmethod
    def of(cls, result: InputResult, usage: Usage | None = None) -> InputOutcome:
        used = usage or Usage()
        return cls(str(result.path), result.status.value, result.reason,
                   tuple(str(p) for p in result.tracks), result.audio_ms, used.sent_ms,
                   used.saved_ms, used.input_tokens, used.output_tokens,
                   dict(used.cost.amounts), _now()[:10])  # fmt: skip

    @property
    def usage(self) -> Usage:
        return Usage(sent_ms=self.sent_ms, saved_ms=self.saved_ms, input_tokens=self.input_tokens,
                     output_tokens=self.output_tokens, cost=bill_of(self.cost))  # fmt: skip


def job_outcome(outcomes: Iterable[InputOutcome]) -> tuple[JobStatus, str]:
    """A finished job's status from its inputs': failed when any failed (or was cut short),
    else done when any was subtitled, else skipped; the reason names the first problem."""
    ended = list(outcomes)
    failed = [o for o in ended if o.status in (Status.FAILED.value, Status.INTERRUPTED.value)]
    if failed:
        more = f" ({len(failed)} of {len(ended)} inputs)" if len(ended) > 1 else ""
        return JobStatus.FAILED, f"{failed[0].reason or failed[0].status}{more}"
    if any(o.status == Status.DONE.value for o in ended):
        return JobStatus.DONE, ""
    if not ended:
        return JobStatus.SKIPPED, "no media files"
    return JobStatus.SKIPPED, ended[0].reason


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class Job:
    spec: JobSpec
    status: JobStatus = JobStatus.QUEUED
    reason: str = ""
    started: str | None = None
    ended: str | None = None
    outcomes: dict[str, InputOutcome] = field(default_factory=dict)
    refresh_state: str = ""
    """"" (none asked), pending, done, or `failed: why`."""
    # What only the running service knows:
    inputs_total: int | None = None
    sent_ms: dict[str, int] = field(default_factory=dict)
    duration_ms: dict[str, int] = field(default_factory=dict)
    latest: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=LATEST_SENTENCES))
    """Its latest sentences while it runs (input, target, transcript, translation)."""
    control: RunControl = field(default_factory=RunControl)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    """Set (and replaced) at each status change: long polls wait on it."""

    def moved(self) -> None:
        """Its status changed: wake whoever waits."""
        self.changed.set()
        self.changed = asyncio.Event()

    @property
    def settled(self) -> bool:
        """Final, and its media server's refresh (if any) is over."""
        return self.status.final and self.refresh_state != "pending"

    async def wait_while(self, statuses: set[JobStatus] | None) -> None:
        """Until its status is none of `statuses`; None: until it is settled."""
        while not self.settled if statuses is None else self.status in statuses:
            await self.changed.wait()

    def as_json(self) -> dict[str, Any]:
        shown: dict[str, Any] = {"id": self.spec.id, "status": self.status.value}
        if self.reason:
            shown["reason"] = self.reason
        shown.update(
            source=self.spec.source,
            paths=list(self.spec.paths),
            options=self.spec.keywords,
            created=self.spec.created,
            started=self.started,
            ended=self.ended,
        )
        if self.spec.retry_of:
            shown["retry_of"] = self.spec.retry_of
        if self.status is JobStatus.RUNNING:
            shown["progress"] = {
                "inputs": self.inputs_total,
                "ended": len(self.outcomes),
                "sent_ms": sum(self.sent_ms.values())
                + sum(o.audio_ms for o in self.outcomes.values() if o.path not in self.sent_ms),
                "duration_ms": sum(self.duration_ms.values()) or None,
                "latest": list(self.latest),
            }
        if self.outcomes:
            shown["tracks"] = [t for o in self.outcomes.values() for t in o.tracks]
            shown["inputs"] = [dataclasses.asdict(o) for o in self.outcomes.values()]
            shown["usage"] = sum((o.usage for o in self.outcomes.values()), Usage()).as_json()
        if self.spec.refresh is not None:
            shown["refresh"] = {**dataclasses.asdict(self.spec.refresh),
                                "state": self.refresh_state or "pending"}  # fmt: skip
        return shown


def job_keywords(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The one gate a job's option keywords pass (`POST /jobs`, webhooks, a replayed job): only
    what the options' declaration makes job-settable, each value of its declared kind;
    UsageError (a 422 naming the key, in one readable line) on anything else."""
    return declared_job_keywords(payload)


def job_options(defaults: dict[str, Any], keywords: Mapping[str, Any]) -> RunOptions:
    """The job's options: its keywords (through `job_keywords`) over `serve`'s; UsageError on
    what the job may not set or what make_options refuses (the request then gets a 422)."""
    merged = {**defaults, **as_make_options(job_keywords(keywords))}
    targets = merged.pop("targets", None)
    if not targets:
        raise UsageError("targets", 'give the target languages, e.g. "targets": ["en"]')
    try:
        return make_options(tuple(targets), **merged)
    except (TypeError, ValueError, AttributeError) as error:
        raise UsageError("options", str(error)) from error


# -- the journal: pure encoding and replay


def _line(record: dict[str, Any]) -> bytes:
    return (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def replay(lines: Iterable[bytes]) -> list[Job]:
    """The jobs a journal describes, in the order accepted; a line that does not parse (a
    torn last line) or names an unknown job is skipped."""
    jobs: dict[str, Job] = {}
    for raw in lines:
        try:
            record = json.loads(raw)
            if "job" in record:
                spec = JobSpec.from_json(record["job"])
                jobs[spec.id] = Job(spec)
                continue
            job = jobs.get(str(record.get("id")))
            if job is None:
                continue
            if "input" in record:
                fields = record["input"]
                outcome = InputOutcome(**{**fields, "tracks": tuple(fields["tracks"])})
                job.outcomes[outcome.path] = outcome
            if "status" in record:
                job.status = JobStatus(record["status"])
                job.reason = str(record.get("reason", ""))
                job.started = record.get("started", job.started)
                job.ended = record.get("ended", job.ended)
            if "refresh" in record:
                job.refresh_state = str(record["refresh"])
        except (ValueError, TypeError, KeyError, AttributeError):
            continue
    return list(jobs.values())


def kept(jobs: list[Job], keep_finished: int) -> list[Job]:
    """Every unfinished job and the `keep_finished` latest finished ones."""
    finished = [job for job in jobs if job.status.final]
    dropped = {id(job) for job in finished[: max(0, len(finished) - keep_finished)]}
    return [job for job in jobs if id(job) not in dropped]


def carried_costs(lines: Iterable[bytes]) -> dict[str, Usage]:
    """Per day, what the jobs dropped from the journal cost (its `carried` line, written by
    compaction): the totals outlive the jobs kept."""
    carried: dict[str, Usage] = {}
    for raw in lines:
        try:
            record = json.loads(raw)
            if isinstance(record, dict) and isinstance(record.get("carried"), dict):
                carried = {str(day): Usage.from_record(usage)
                           for day, usage in record["carried"].items()}  # fmt: skip
        except (ValueError, TypeError, AttributeError):
            continue
    return carried


def carry(carried: Mapping[str, Usage], dropped: Iterable[Job]) -> dict[str, Usage]:
    """`carried` plus what the `dropped` jobs' inputs cost, per day."""
    days = dict(carried)
    for job in dropped:
        for outcome in job.outcomes.values():
            day = outcome.day or (job.ended or "")[:10]
            days[day] = days.get(day, Usage()) + outcome.usage
    return days


def compacted(jobs: list[Job], carried: Mapping[str, Usage] | None = None) -> bytes:
    """The journal rewritten: what dropped jobs cost (per day), then each job as its spec, its
    inputs' lines and its last status."""
    out = bytearray()
    if carried:
        days = {day: usage.as_record() for day, usage in sorted(carried.items())}
        out += _line({"carried": days})
    for job in jobs:
        out += _line({"job": job.spec.as_json()})
        for outcome in job.outcomes.values():
            out += _line({"id": job.spec.id, "input": dataclasses.asdict(outcome)})
        if job.status is not JobStatus.QUEUED:
            out += _line(_status_record(job))
        if job.refresh_state:
            out += _line({"id": job.spec.id, "refresh": job.refresh_state})
    return bytes(out)


def _status_record(job: Job) -> dict[str, Any]:
    record = {"id": job.spec.id, "status": job.status.value, "started": job.started,
              "ended": job.ended}  # fmt: skip
    if job.reason:
        record["reason"] = job.reason
    return record


# -- the queue


class QueueInUse(UsageError):
    """The queue file is another `serve`'s (two services running one queue would run its jobs
    twice)."""


class JobQueue:
    """Lives on the service's loop. `open` before the first request, `close` at shutdown."""

    def __init__(
        self,
        context: RunContext,
        defaults: dict[str, Any],
        journal_path: Path,
        *,
        keep_finished: int = 1000,
        after_done: Callable[[Job], Awaitable[str]] | None = None,
    ) -> None:
        """`after_done`: what to do once a job's tracks are written (the media server's
        refresh); it returns the refresh state to record (done, or `failed: why`)."""
        self.context = context
        self.defaults = defaults
        self.journal_path = journal_path
        self.keep_finished = keep_finished
        self.after_done = after_done
        self.jobs: dict[str, Job] = {}
        self.costs = CostLedger()
        self.watchers: list[Callable[[Job], None]] = []
        """Told of every change of a job (status, progress, an input ended): the console's feed."""
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._files: dict[str, tuple[asyncio.Lock, int]] = {}
        """Per file (its real path): the lock jobs take turns on, and how many hold or wait."""
        self._closing = False
        self._lock_fd: int | None = None

    async def open(self) -> None:
        """Take the journal (one service per journal), replay it, compact it, and start
        what was queued or running."""
        await asyncio.to_thread(self._lock)
        raw = await self.context.disk.call(_read_lines, self.journal_path)
        everything = replay(raw)
        jobs = kept(everything, self.keep_finished)
        staying = {id(job) for job in jobs}
        carried = carry(carried_costs(raw), (job for job in everything if id(job) not in staying))
        await self.context.disk.run(
            [Replace(self.journal_path, compacted(jobs, carried), sync=True)]
        )
        for day, usage in carried.items():
            self.costs.carry(day, usage)
        for job in jobs:
            self.jobs[job.spec.id] = job
            for outcome in job.outcomes.values():
                self.costs.add(job.spec.id, outcome.day or (job.ended or "")[:10], outcome.usage)
            if job.status.final:
                unrefreshed = job.spec.refresh and job.refresh_state in ("", "pending")
                if job.status is JobStatus.DONE and unrefreshed:
                    self._tasks[job.spec.id] = asyncio.create_task(self._refresh(job))
            else:
                job.status = JobStatus.QUEUED  # running when the restart came: runs again
                self._start(job)

    def _lock(self) -> None:
        lock = self.journal_path.with_name(self.journal_path.name + ".lock")
        try:
            self.journal_path.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as error:
            reason = (error.strerror or str(error)).lower()
            raise UsageError("--queue-file", f"{self.journal_path}: {reason}") from error
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            raise QueueInUse(
                "--queue-file", f"{self.journal_path}: used by another subtitler serve"
            ) from None
        self._lock_fd = descriptor

    async def close(self) -> None:
        """Stop: running inputs end as interrupted (their track journals kept) and their jobs
        stay unfinished in the journal, so the next start runs them on."""
        self._closing = True
        for job in self.jobs.values():
            job.control.request_stop()
        tasks = list(self._tasks.values())
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def prepare(
        self, paths: list[str], keywords: dict[str, Any], source: str = "api",
        refresh: Refresh | None = None,
    ) -> JobSpec:  # fmt: skip
        """A spec for the request; UsageError when its options are not ones a job can have."""
        keywords = job_keywords(keywords)
        job_options(self.defaults, keywords)
        return JobSpec(uuid.uuid4().hex[:16], tuple(paths), keywords, source, refresh, _now())

    async def submit(self, spec: JobSpec) -> tuple[Job, bool]:
        """The job and whether it is new: the same work already queued or running is that
        job, not a second one."""
        for job in self.jobs.values():
            if not job.status.final and job.spec.same_work(spec):
                return job, False
        job = self.jobs[spec.id] = Job(spec)
        await self._journal({"job": spec.as_json()})
        self._start(job)
        self._tell(job)
        return job, True

    async def retry(self, job: Job) -> Job:
        """A finished job that did not succeed, done again as a new job (the same paths and
        options; inputs whose tracks are complete are kept, as any run keeps them)."""
        if not job.status.final or job.status is JobStatus.DONE:
            raise UsageError("retry", f"job {job.spec.id} is {job.status.value}: nothing to retry")
        spec = dataclasses.replace(job.spec, id=uuid.uuid4().hex[:16], created=_now(),
                                   retry_of=job.spec.id)  # fmt: skip
        again, _new = await self.submit(spec)
        return again

    async def cancel(self, job: Job) -> None:
        """A queued job is cancelled at once; a running one stops sending audio, its tracks
        stay valid, and it is cancelled when its inputs have ended."""
        if job.status.final:
            return
        if job.status is JobStatus.QUEUED:
            job.control.request_stop()
            task = self._tasks.get(job.spec.id)
            if task is not None:
                task.cancel()  # waiting for a slot or for its folder listing: nothing started
            await self._finish(job, JobStatus.CANCELLED, "cancelled before it started")
            return
        job.control.request_stop()
        job.reason = "cancelled"
        task = self._tasks.get(job.spec.id)
        if task is not None:
            await asyncio.shield(task)

    def _start(self, job: Job) -> None:
        task = asyncio.create_task(self._run(job), name=f"job {job.spec.id}")
        self._tasks[job.spec.id] = task
        task.add_done_callback(lambda _task: self._tasks.pop(job.spec.id, None))

    async def _run(self, job: Job) -> None:
        try:
            await self._run_inputs(job)
        except UsageError as error:  # options serve no longer takes (restarted without -t)
            await self._finish(job, JobStatus.FAILED, str(error))
        except Exception as error:  # a bug must not take the queue down
            await self._finish(job, JobStatus.FAILED, f"internal error: {error!r}")

    async def _run_inputs(self, job: Job) -> None:
        options = job_options(self.defaults, job.spec.keywords)
        context = dataclasses.replace(
            self.context.with_request(options, lambda event: self._hear(job, event)),
            control=job.control,
            budget=Budget(options.budget) if options.budget is not None else None,
        )
        paths: list[Path | str] = [Path(path) for path in job.spec.paths]
        items = await asyncio.to_thread(discover, paths)
        job.inputs_total = len(items)
        pricing = pricing_of(options)
        for item in items:
            if isinstance(item, InputProblem) and str(item.path) not in job.outcomes:
                reason = f"{item.path}: {item.reason}"
                await self._record(job, InputOutcome(str(item.path), Status.FAILED.value, reason))
        await asyncio.gather(*(
            self._input(job, item, context, pricing) for item in items
            if isinstance(item, InputFile) and str(item.path) not in job.outcomes
        ))  # fmt: skip
        if self._closing:
            return  # unfinished in the journal: the next start runs it on
        if job.reason == "cancelled":
            await self._finish(job, JobStatus.CANCELLED, "cancelled")
            return
        status, reason = job_outcome(job.outcomes.values())
        await self._finish(job, status, reason)
        if status is JobStatus.DONE and job.spec.refresh is not None:
            await self._refresh(job)

    async def _input(
        self, job: Job, item: InputFile, context: RunContext, pricing: RunPricing
    ) -> None:
        async def starting() -> None:
            if job.status is JobStatus.QUEUED:
                job.status, job.started = JobStatus.RUNNING, _now()
                self._moved(job)
                await self._journal(_status_record(job))

        async with self._turn(item.path):
            result = await run_input(item, context, starting)  # context.control: the job's
        job.sent_ms.pop(str(item.path), None)
        if self._closing and (result.status is Status.INTERRUPTED or was_not_started(result)):
            return  # resumed from its track journal, or started, on the next start
        await self._record(job, InputOutcome.of(result, usage_of(result, pricing)))

    @contextlib.asynccontextmanager
    async def _turn(self, path: Path) -> AsyncIterator[None]:
        """One job at a time per file: a second job for the same file (another target) waits
        for the first instead of finding the file claimed and skipping it. Taken before a
        slot, so a waiting job holds none."""
        key = os.path.realpath(path)
        lock, users = self._files.get(key, (asyncio.Lock(), 0))
        self._files[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._files[key]
            if users == 1:
                del self._files[key]
            else:
                self._files[key] = (lock, users - 1)

    def _hear(self, job: Job, event: Event) -> None:
        if isinstance(event, InputStarted) and event.duration_ms is not None:
            job.duration_ms[str(event.path)] = event.duration_ms
        elif isinstance(event, AudioProgress):
            job.sent_ms[str(event.path)] = event.sent_ms
        elif isinstance(event, CueWritten):
            sentence = {"input": event.label or str(event.path), "target": event.target,
                        "transcript": event.transcript,
                        "translation": event.translation}  # fmt: skip
            if sentence not in job.latest:  # a sentence written as two cues is one
                job.latest.append(sentence)
        else:
            return
        self._tell(job)

    def _tell(self, job: Job) -> None:
        for watcher in self.watchers:
            watcher(job)

    def _moved(self, job: Job) -> None:
        job.moved()
        self._tell(job)

    async def _record(self, job: Job, outcome: InputOutcome) -> None:
        job.outcomes[outcome.path] = outcome
        self.costs.add(job.spec.id, outcome.day, outcome.usage)
        self._tell(job)
        await self._journal({"id": job.spec.id, "input": dataclasses.asdict(outcome)})

    async def _finish(self, job: Job, status: JobStatus, reason: str) -> None:
        job.status, job.reason, job.ended = status, reason, _now()
        if job.spec.refresh is not None and status is JobStatus.DONE:
            job.refresh_state = "pending"
        if status.final:
            job.latest.clear()
        self._moved(job)
        await self._journal(_status_record(job))

    async def _refresh(self, job: Job) -> None:
        if self.after_done is None:
            return
        job.refresh_state = await self.after_done(job)
        self._moved(job)
        await self._journal({"id": job.spec.id, "refresh": job.refresh_state})

    async def _journal(self, record: dict[str, Any]) -> None:
        await self.context.disk.run([Append(self.journal_path, _line(record))])


def _read_lines(path: Path) -> list[bytes]:
    with contextlib.suppress(FileNotFoundError):
        return path.read_bytes().splitlines()
    return []
