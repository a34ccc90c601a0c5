"""`serve`'s job queue through HTTP, against the emulator, as a library tool would use it:
20 jobs posted at once under `--jobs 2`, a restart of the service mid-queue (SIGTERM, as
systemd or docker restart it), cancellation, and the `--library` fence."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pysrt
import pytest
import requests
from aiohttp.test_utils import TestClient, TestServer

from subtitler.emulator.server import BackgroundEmulator
from subtitler.options import make_options
from subtitler.serve.app import AsrService, LibrarySettings
from subtitler.serve.fence import Libraries
from subtitler.serve.jobs import compacted, kept, replay
from subtitler.serve.limits import MAX_JOB_BYTES, MAX_JOB_PATHS
from tests.serving import SECRET, Server
from tests.support import Transcript, transcripts

SHORT = next(t for t in transcripts() if t.media.name == "en_late_audio.mp4")
LONG = next(t for t in transcripts() if t.media.name == "zh_news.mp4")
WAIT_S = 120


def post(server: Server, body: dict[str, Any]) -> requests.Response:
    return requests.post(f"{server.url}/jobs", json=body, timeout=30)


def wait(server: Server, job_id: str, after: str | None = None) -> dict[str, Any]:
    """The job once it is final (or has left `after`): the service's long poll."""
    params = {"wait": str(WAIT_S), **({"after": after} if after else {})}
    reply = requests.get(f"{server.url}/jobs/{job_id}", params=params, timeout=WAIT_S + 30)
    assert reply.status_code == 200, reply.text
    job: dict[str, Any] = reply.json()
    return job


def journal(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def assert_whole(track: Path, spoken: Transcript) -> None:
    """Every sentence once: nothing lost, nothing doubled."""
    items = pysrt.open(str(track), error_handling=pysrt.ERROR_RAISE)
    assert len(items) == len(spoken.sentences), track.read_text(encoding="utf-8")
    starts = [item.start.ordinal for item in items]
    assert starts == sorted(set(starts))


@pytest.fixture
def library(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "library"
    folder.mkdir()
    yield folder


def serve(emulator: BackgroundEmulator, library: Path, *extra: str) -> Server:
    return Server(emulator, "--library", str(library), "--queue-file",
                  str(library.parent / "state" / "jobs.jsonl"), *extra)  # fmt: skip


def test_twenty_jobs_run_two_at_a_time_and_survive_a_restart(
    emulator: BackgroundEmulator, library: Path, client: str
) -> None:
    for index in range(20):
        shutil.copy(SHORT.media, library / f"episode{index:02}.mp4")
    queue_file = library.parent / "state" / "jobs.jsonl"
    server = serve(emulator, library, "-t", SHORT.target, "--jobs", "2", "--client", client)
    try:
        paths = [str(library / f"episode{index:02}.mp4") for index in range(20)]
        with ThreadPoolExecutor(20) as pool:  # at once
            replies = list(pool.map(lambda path: post(server, {"paths": [path]}), paths))
        assert all(reply.status_code == 202 for reply in replies), [r.text for r in replies]
        posted = [reply.json() for reply in replies]
        assert sum(job["status"] == "queued" for job in posted) >= 18  # two slots
        ids = [job["id"] for job in posted]
        # The service's slots are handed out in arrival order; whichever three end first, wait
        # for three to be done, then restart the service in the middle of the queue.
        listing = requests.get(f"{server.url}/jobs", timeout=30).json()["jobs"]
        order = [job["id"] for job in listing]
        for job_id in order[:3]:
            assert wait(server, job_id)["status"] == "done"
    finally:
        log = server.stop()
    assert SECRET not in log
    before = journal(queue_file)
    queue_file_lines_before = queue_file.read_bytes().splitlines()
    done_before = {r["id"] for r in before if r.get("status") == "done"}
    assert 3 <= len(done_before) < 20, "the restart came mid-queue"
    cut = {r["id"] for r in before if r.get("status") == "running"} - done_before
    assert cut, "the restart came while jobs were running"

    server = serve(emulator, library, "-t", SHORT.target, "--jobs", "2", "--client", client)
    try:
        finished = [wait(server, job_id) for job_id in ids]
    finally:
        log = server.stop()
    assert SECRET not in log
    assert [job["status"] for job in finished] == ["done"] * 20, finished
    for job, path in zip(finished, paths, strict=True):
        assert job["paths"] == [path]
        (track,) = [Path(t) for t in job["tracks"] if t.endswith(".srt")]
        assert track.parent == library and track.name.startswith(Path(path).stem + ".")
        assert_whole(track, SHORT)

    # The second start compacted the journal (one status line per job), then appended.
    records = journal(queue_file)
    prefix = len(compacted(kept(replay(queue_file_lines_before), 1000)).splitlines())
    appended = records[prefix:]
    assert not {r["id"] for r in appended if r.get("status") == "running"} & done_before
    # queued -> running -> done, never more than two at once: replay the status lines.
    seen: dict[str, list[str]] = {}
    for phase in (before, appended):
        running, peak = 0, 0
        for record in phase:
            if "input" in record:
                running -= 1
            elif record.get("status") == "running":
                running += 1
                peak = max(peak, running)
            if "status" in record:
                seen.setdefault(record["id"], []).append(record["status"])
        assert 1 <= peak <= 2
    for job_id in ids:
        assert seen[job_id][-1] == "done" and "running" in seen[job_id], seen[job_id]
    # Each input ended once over both runs: an input cut by the restart was not recorded, and
    # resumed from its track journal (whole, above); one that had ended was not run again.
    ends = [(r["id"], r["input"]["path"]) for r in before + appended if "input" in r]
    assert sorted(ends) == sorted((job_id, path) for job_id, path in zip(ids, paths, strict=True))


def test_a_cancelled_job_stops_and_its_tracks_stay_valid(
    emulator: BackgroundEmulator, library: Path, client: str
) -> None:
    shutil.copy(LONG.media, library / "news.mp4")
    shutil.copy(SHORT.media, library / "short.mp4")
    server = serve(emulator, library, "-t", LONG.target, "--jobs", "1", "--client", client)
    try:
        slow = post(server, {"paths": [str(library / "news.mp4")], "speed": 1}).json()
        waiting = post(server, {"paths": [str(library / "short.mp4")], "targets": ["zh"]}).json()
        assert wait(server, slow["id"], after="queued")["status"] == "running"
        twice = post(server, {"paths": [str(library / "short.mp4")], "targets": ["zh"]})
        assert twice.status_code == 200 and twice.json()["id"] == waiting["id"]  # not doubled
        queued = requests.delete(f"{server.url}/jobs/{waiting['id']}", timeout=30)
        assert queued.status_code == 200 and queued.json()["status"] == "cancelled"
        cancelled = requests.delete(f"{server.url}/jobs/{slow['id']}", timeout=60)
        assert cancelled.status_code == 200, cancelled.text
        job = cancelled.json()
        assert job["status"] == "cancelled"
        assert [i["status"] for i in job["inputs"]] == ["interrupted"]
        again = requests.delete(f"{server.url}/jobs/{slow['id']}", timeout=30)
        assert again.status_code == 409
        for track in library.glob("news.*.srt"):  # whatever was written is a valid track
            pysrt.open(str(track), error_handling=pysrt.ERROR_RAISE)
        assert not list(library.glob("short.*.srt"))  # never started
        # The same work again resumes where the cancel left it and completes.
        rerun = post(server, {"paths": [str(library / "news.mp4")]}).json()
        assert wait(server, rerun["id"])["status"] == "done"
    finally:
        server.stop()
    assert_whole(library / f"news.zh-{LONG.target}.srt", LONG)


def test_the_library_fence_and_bad_jobs(
    emulator: BackgroundEmulator, library: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy(SHORT.media, outside / "private.mp4")
    (library / "escape").symlink_to(outside)
    shutil.copy(SHORT.media, library / "ok.mp4")
    server = serve(emulator, library, "--path-map", f"/media={library}")
    try:
        refused = [
            {"paths": [str(outside / "private.mp4")]},
            {"paths": [str(library / "escape" / "private.mp4")]},  # a link out of the library
            {"paths": [str(library / ".." / "outside" / "private.mp4")]},
            {"paths": [str(outside / "missing.mp4")]},  # same answer whether it exists or not
        ]
        for body in refused:
            reply = post(server, {**body, "targets": ["zh"]})
            assert reply.status_code == 403, reply.text
            assert "\n" not in reply.json()["detail"]
        bad = [
            {"paths": ["/media/ok.mp4"]},  # no targets: serve was given no -t
            {"paths": ["/media/ok.mp4"], "targets": ["zh"], "endpoint": "ws://elsewhere"},
            {"paths": ["/media/ok.mp4"], "targets": ["zh"], "api_key": "x"},
            {"paths": ["/media/ok.mp4"], "targets": ["zh"], "out_dir": "/tmp"},
            {"paths": ["/media/ok.mp4"], "targets": ["zh"], "colour": "red"},
            {"paths": ["/media/ok.mp4"], "targets": ["xx"]},
            {"paths": ["/media/none.mp4"], "targets": ["zh"]},
            {"paths": []},
            {"targets": ["zh"]},
        ]
        for body in bad:
            reply = post(server, body)
            assert reply.status_code == 422, (body, reply.text)
        assert requests.get(f"{server.url}/jobs/nope", timeout=30).status_code == 404
        mapped = post(server, {"paths": ["/media/ok.mp4"], "targets": ["zh"]})
        assert mapped.status_code == 202 and mapped.json()["paths"] == [str(library / "ok.mp4")]
        assert wait(server, mapped.json()["id"])["status"] == "done"
    finally:
        log = server.stop()
    assert SECRET not in log


def test_jobs_are_off_without_a_library(emulator: BackgroundEmulator) -> None:
    server = Server(emulator)
    try:
        reply = requests.post(f"{server.url}/jobs", json={"paths": ["/"]}, timeout=30)
        assert reply.status_code == 403 and "--library" in reply.json()["detail"]
    finally:
        server.stop()


def test_a_second_service_cannot_take_the_same_queue(
    emulator: BackgroundEmulator, library: Path
) -> None:
    first = serve(emulator, library)
    try:
        with pytest.raises(AssertionError, match="used by another subtitler serve"):
            serve(emulator, library)
    finally:
        first.stop()


PYTHON_TEXT = ("Expecting", "char ", "Traceback", "internal error", "Exceeds the limit",
               "not supported between", "codec", "recursion")  # fmt: skip
"""Python's own error texts: never a client's answer."""


def one_line(reply: requests.Response, status: int) -> str:
    assert reply.status_code == status, (reply.status_code, reply.text)
    detail: str = reply.json()["detail"]
    assert detail and "\n" not in detail and not any(text in detail for text in PYTHON_TEXT)
    return detail


def test_a_job_request_is_bounded_and_a_malformed_one_gets_one_line(
    emulator: BackgroundEmulator, library: Path
) -> None:
    shutil.copy(SHORT.media, library / "ok.mp4")
    (library / "same.mp4").symlink_to(library / "ok.mp4")
    ok = str(library / "ok.mp4")
    server = serve(emulator, library, "--path-map", f"/media={library}")
    url = f"{server.url}/jobs"
    try:
        # Issue 31: 2,000,000 copies of a path were read, parsed, journaled (64 MB, 585 s).
        flood = json.dumps({"paths": [ok] * 2_000_000, "targets": ["zh"]}).encode()
        assert "1 MiB" in one_line(requests.post(url, data=flood, timeout=60), 413)

        def chunked() -> Iterator[bytes]:  # no Content-Length: the cap counts what it reads
            yield b'{"targets": ["zh"], "paths": ['
            yield from (json.dumps(ok).encode() + b"," for _ in range(40_000))
            yield json.dumps(ok).encode() + b"]}"

        one_line(requests.post(url, data=chunked(), timeout=60), 413)
        assert "1000" in one_line(post(server, {"paths": [ok] * 1001, "targets": ["zh"]}), 422)
        one_line(post(server, {"paths": ok, "targets": ["zh"]}), 422)
        one_line(post(server, {"paths": [ok], "targets": "zh"}), 422)
        one_line(post(server, {"paths": [ok], "targets": ["zh", 3]}), 422)
        one_line(post(server, {"paths": [ok, ["nested"]], "targets": ["zh"]}), 422)
        malformed = [b"{", b"", b"[]", b'"paths"', b'{"paths": NaN}', b"[" * 100_000,
                     b'{"paths": ["/media/\xff.mp4"]}',
                     b'{"paths": [' + b"7" * 5000 + b"]}"]  # fmt: skip
        for body in malformed:
            detail = one_line(requests.post(url, data=body, timeout=30), 400)
            assert detail.startswith("the job: "), detail
        one_line(requests.get(url, params={"status": "bogus"}, timeout=30), 422)

        # The same file named five ways is one path of one job.
        same = [ok, ok, "/media/ok.mp4", str(library / "." / "ok.mp4"), str(library / "same.mp4")]
        reply = post(server, {"paths": same, "targets": ["zh"]})
        assert reply.status_code == 202, reply.text
        assert reply.json()["paths"] == [ok]
        assert wait(server, reply.json()["id"])["status"] == "done"
        done = requests.get(url, params={"status": "done"}, timeout=30)
        assert [job["paths"] for job in done.json()["jobs"]] == [[ok]]
    finally:
        log = server.stop()
    assert SECRET not in log
    lines = (library.parent / "state" / "jobs.jsonl").read_bytes().splitlines()
    assert max(len(line) for line in lines) < 4096  # nothing refused reached the journal


@contextlib.asynccontextmanager
async def in_process(
    emulator: BackgroundEmulator,
    library: Path,
    queue_name: str,
    max_job_bytes: int = MAX_JOB_BYTES,
    max_job_paths: int = MAX_JOB_PATHS,
) -> AsyncIterator[TestClient[Any, Any]]:
    """serve's job API in this process, for `library`, its queue in the folder beside it."""
    settings = LibrarySettings(
        libraries=Libraries.of([library]),
        queue_file=library.parent / "state" / queue_name,
        job_defaults={"targets": ["zh"], "endpoint": emulator.url},
        max_job_bytes=max_job_bytes,
        max_job_paths=max_job_paths,
    )
    service = AsrService(make_options(("zh",), endpoint=emulator.url), log=lambda _: None,
                         library=settings)  # fmt: skip
    await service.start()
    try:
        async with TestClient(TestServer(service.application())) as client:
            yield client
    finally:
        await service.stop()


def test_the_caps_are_the_services_settings(emulator: BackgroundEmulator, library: Path) -> None:
    """`LibrarySettings.max_job_bytes` and `max_job_paths` (defaults 1 MiB and 1000) bound
    what one request may ask, whatever the defaults."""
    shutil.copy(SHORT.media, library / "a.mp4")
    shutil.copy(SHORT.media, library / "b.mp4")
    paths = [str(library / "a.mp4"), str(library / "b.mp4")]

    async def ask() -> list[tuple[int, str]]:
        caps = {"max_job_bytes": 300, "max_job_paths": 1}
        async with in_process(emulator, library, "jobs.jsonl", **caps) as client:
            answers = []
            for body in ({"paths": paths[:1], "note": "x" * 300}, {"paths": paths}):
                reply = await client.post("/jobs", json=body)
                answers.append((reply.status, (await reply.json())["detail"]))
            return answers

    assert asyncio.run(ask()) == [
        (413, "the job: larger than 300 bytes"),
        (422, "paths: 2 given, at most 1 per job (a folder counts once)"),
    ]


def test_a_job_sets_only_what_is_declared_job_settable_each_of_its_kind(
    emulator: BackgroundEmulator, library: Path
) -> None:
    """Every run option not declared job-settable is refused with one line naming it (422), and
    nothing reaches the queue; a job-settable one of the wrong kind too; the right kinds pass."""
    from subtitler.declarations import DECLARED

    shutil.copy(SHORT.media, library / "a.mp4")
    path = [str(library / "a.mp4")]
    refused = [o.keyword for o in DECLARED if not o.job]
    wrong_kind = {"speed": "fast", "targets": "ko", "overwrite": "yes", "audio_stream": 1.5,
                  "formats": "srt", "layout": 3, "shot_changes": "/etc/passwd"}  # fmt: skip

    async def ask() -> tuple[list[tuple[str, int, str]], int, list[dict[str, object]]]:
        async with in_process(emulator, library, "declared.jsonl") as client:
            answers = []
            bodies = [{key: "x"} for key in refused] + [{k: v} for k, v in wrong_kind.items()]
            for body in bodies:
                reply = await client.post("/jobs", json={"paths": path, **body})
                (key,) = body
                answers.append((key, reply.status, (await reply.json())["detail"]))
            listed = (await (await client.get("/jobs")).json())["jobs"]
            good = {"paths": path, "speed": "max", "formats": ["srt"], "budget": 1}
            fine = await client.post("/jobs", json=good)
            return answers, fine.status, listed

    answers, fine, listed = asyncio.run(ask())
    assert len(answers) == len(refused) + len(wrong_kind) and len(refused) >= 20
    for key, status, detail in answers:
        assert status == 422, (key, status, detail)
        assert detail.startswith(f"{key}: ") and "\n" not in detail, detail
        assert "'>'" not in detail and "Traceback" not in detail
    assert listed == [] and fine == 202
