"""One way to run an input: run, watch, serve's jobs and its uploads call `run_input`, so a
stop that comes before an input starts is said the same way by each (skipped, "not started"),
and nothing of that input is done."""

from __future__ import annotations

import ast
import asyncio
import shutil
from pathlib import Path

from aiohttp import FormData
from aiohttp.test_utils import TestClient, TestServer

import subtitler
from subtitler.emulator.server import BackgroundEmulator
from subtitler.engine.batch import run_batch
from subtitler.engine.control import RunControl
from subtitler.engine.runner import NOT_STARTED
from subtitler.engine.watch import FolderWatcher, WatchOptions
from subtitler.events import Event, InputResult, InputStarted, Status
from subtitler.options import make_options
from subtitler.serve.app import AsrService
from subtitler.serve.jobs import Job, JobQueue
from subtitler.sources.inputs import discover
from tests.support import FIXTURES

MEDIA = FIXTURES / "en_late_audio.mp4"


def _two_inputs(folder: Path) -> list[Path]:
    folder.mkdir()
    copies = [folder / "first.mp4", folder / "second.mp4"]
    for copy in copies:
        shutil.copy(MEDIA, copy)
    return copies


def _only_media(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_only_the_runner_subtitles_an_input() -> None:
    """No front end calls the engine's input functions but through `run_input`."""
    package = Path(subtitler.__file__).parent
    callers = []
    for path in package.rglob("*.py"):
        if path.name in ("input.py", "runner.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Name) and node.id in ("subtitle_input", "subtitle_isolated"):
                callers.append(str(path.relative_to(package)))
    assert callers == []


def test_a_stop_before_an_input_starts_is_said_alike_by_run_watch_jobs_and_uploads(
    tmp_path: Path, emulator: BackgroundEmulator
) -> None:
    options = make_options(("zh",), source_language="en", endpoint=emulator.url, jobs=1,
                           speed=None)  # fmt: skip

    def stop_at_first_start(control: RunControl, seen: list[Event]) -> object:
        def observe(event: Event) -> None:
            seen.append(event)
            if isinstance(event, InputStarted):
                control.request_stop()  # the second input still waits for the one slot

        return observe

    # run: a batch of two, one slot
    run_folder = tmp_path / "run"
    first, second = _two_inputs(run_folder)
    control, seen = RunControl(), []
    items = discover([first, second])
    results = asyncio.run(run_batch(items, options, stop_at_first_start(control, seen), control))
    ran = {r.path.name: r for r in results}
    assert (ran["second.mp4"].status, ran["second.mp4"].reason) == (Status.SKIPPED, NOT_STARTED)
    assert not any(p.name.startswith("second.") and p.suffix != ".mp4"
                   for p in run_folder.iterdir())  # fmt: skip

    # watch: two files found at start, one slot
    watch_folder = tmp_path / "watch"
    _two_inputs(watch_folder)
    control, seen = RunControl(), []

    async def watch() -> list[InputResult]:
        watcher = FolderWatcher([watch_folder], options, WatchOptions(settle_s=0),
                                stop_at_first_start(control, seen), control)  # fmt: skip
        return await watcher.run()

    watched = {r.path.name: r for r in asyncio.run(watch())}
    not_started = [(r.status, r.reason) for r in watched.values() if r.reason == NOT_STARTED]
    assert not_started == [(Status.SKIPPED, NOT_STARTED)], watched

    # jobs: one job of two files, stopped (cancelled) once its first input starts
    jobs_folder = tmp_path / "jobs"
    first, second = _two_inputs(jobs_folder)

    class StoppingQueue(JobQueue):
        def _hear(self, job: Job, event: Event) -> None:
            super()._hear(job, event)
            if isinstance(event, InputStarted):
                job.control.request_stop()

    async def job() -> Job:
        service = AsrService(options, log=lambda _: None)
        queue = StoppingQueue(service.context, {"targets": ["zh"], "source_language": "en",
                              "endpoint": emulator.url, "speed": None},
                              tmp_path / "jobs.jsonl")  # fmt: skip
        await queue.open()
        try:
            submitted, _new = await queue.submit(queue.prepare([str(first), str(second)], {}))
            await submitted.wait_while(None)
            return submitted
        finally:
            await queue.close()
            service.context.close()

    finished = asyncio.run(job())
    outcome = finished.outcomes[str(second)]
    assert (outcome.status, outcome.reason) == (Status.SKIPPED.value, NOT_STARTED)

    # uploads (/asr): the service stopping before the upload gets its slot
    async def upload() -> tuple[int, str]:
        service = AsrService(options, log=lambda _: None)
        await service.start()
        service.context.control.request_stop()
        try:
            async with TestClient(TestServer(service.application())) as client:
                form = FormData()
                form.add_field("audio_file", MEDIA.read_bytes(), filename="talk.mp4")
                reply = await client.post("/asr?output=srt&language=en", data=form)
                return reply.status, (await reply.json())["detail"]
        finally:
            await service.stop()

    status, detail = asyncio.run(upload())
    assert status == 503 and detail.startswith(NOT_STARTED)
