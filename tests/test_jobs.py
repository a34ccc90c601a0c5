"""The job queue's pure parts: a job's status from its inputs', the journal's replay and
compaction, and which options a job may set."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from subtitler.engine.context import RunContext
from subtitler.errors import UsageError
from subtitler.options import make_options
from subtitler.serve.jobs import (
    InputOutcome,
    Job,
    JobQueue,
    JobSpec,
    JobStatus,
    Refresh,
    carried_costs,
    compacted,
    job_keywords,
    job_options,
    job_outcome,
    kept,
    replay,
)


def outcome(status: str, reason: str = "") -> InputOutcome:
    return InputOutcome(f"/m/{status}.mkv", status, reason)


def test_a_jobs_status_from_its_inputs() -> None:
    assert job_outcome([outcome("done"), outcome("skipped", "exists")]) == (JobStatus.DONE, "")
    assert job_outcome([outcome("skipped", "has en subtitles")]) == (
        JobStatus.SKIPPED, "has en subtitles")  # fmt: skip
    status, reason = job_outcome([outcome("done"), outcome("failed", "x.mkv: not media")])
    assert status is JobStatus.FAILED and reason == "x.mkv: not media (1 of 2 inputs)"
    assert job_outcome([outcome("interrupted", "")])[0] is JobStatus.FAILED
    assert job_outcome([]) == (JobStatus.SKIPPED, "no media files")


def spec(job_id: str) -> JobSpec:
    refresh = Refresh("jellyfin", "i1")
    return JobSpec(job_id, ("/m/a.mkv",), {"targets": ["en"]}, "jellyfin", refresh)


def test_the_journal_replays_and_a_torn_line_is_an_update_that_did_not_happen() -> None:
    first, second = Job(spec("a")), Job(spec("b"))
    first.status = JobStatus.DONE
    first.outcomes["/m/a.mkv"] = InputOutcome("/m/a.mkv", "done", "", ("/m/a.en.srt",), 1000)
    first.refresh_state = "done"
    data = compacted([first, second])
    torn = data + b'{"id":"b","status":"runn'
    jobs = replay(torn.splitlines())
    assert [job.spec for job in jobs] == [first.spec, second.spec]
    assert jobs[0].status is JobStatus.DONE and jobs[0].outcomes == first.outcomes
    assert jobs[0].refresh_state == "done"
    assert jobs[1].status is JobStatus.QUEUED
    assert replay([b'{"id":"unknown","status":"done"}', b"not json", b"[]"]) == []


def test_compaction_keeps_every_unfinished_job_and_the_latest_finished() -> None:
    jobs = [Job(spec(str(n))) for n in range(5)]
    for job in jobs[:3]:
        job.status = JobStatus.DONE
    assert [job.spec.id for job in kept(jobs, 1)] == ["2", "3", "4"]
    assert [job.spec.id for job in kept(jobs, 0)] == ["3", "4"]


def test_a_job_sets_its_own_options_but_never_the_servers() -> None:
    defaults = {"endpoint": "ws://127.0.0.1:1/api-ws/v1/inference", "targets": ["en"]}
    assert job_options(defaults, {}).targets == ("en",)
    assert job_options(defaults, {"targets": ["ja", "zh"], "formats": ["srt"]}).targets == (
        "ja", "zh")  # fmt: skip
    for key in ("api_key", "endpoint", "client", "jobs", "max_task_rate", "out_dir", "rules"):
        with pytest.raises(UsageError, match="set by serve"):
            job_options(defaults, {key: "x"})
    with pytest.raises(UsageError, match="not a job option"):
        job_options(defaults, {"colour": "red"})
    with pytest.raises(UsageError, match="shot_changes"):
        job_options(defaults, {"shot_changes": "/etc/passwd"})
    with pytest.raises(UsageError, match="targets"):
        job_options({}, {})
    with pytest.raises(UsageError):
        job_options(defaults, {"speed": "fast"})


def test_targets_are_a_list_and_one_gate_passes_a_jobs_keywords() -> None:
    """Issue 31: `"targets": "ko"` was taken; every keyword passes `job_keywords`."""
    defaults = {"targets": ["en"]}
    for targets in ("ko", "ja,zh", ["ja", 3], [""], {"ja": 1}):
        with pytest.raises(UsageError, match="targets: must be a list of strings"):
            job_keywords({"targets": targets})
        with pytest.raises(UsageError, match="targets"):
            job_options(defaults, {"targets": targets})
    assert job_keywords({"targets": ["ko"], "speed": "max"}) == {"targets": ["ko"], "speed": "max"}
    with pytest.raises(UsageError, match="set by serve"):
        job_keywords({"api_key": "x"})


def test_a_journal_from_before_keeps_its_comma_separated_targets() -> None:
    record = {"job": {"id": "a", "paths": ["/m/a.mkv"], "options": {"targets": "ja,zh"}}}
    (job,) = replay([json.dumps(record).encode()])
    assert job.spec.keywords == {"targets": ["ja", "zh"]}


def finished(job_id: str, day: str, sent_ms: int, cost: float) -> Job:
    job = Job(JobSpec(job_id, (f"/m/{job_id}.mkv",), {"targets": ["en"]}))
    job.status, job.ended = JobStatus.DONE, f"{day}T10:00:00+00:00"
    job.outcomes[f"/m/{job_id}.mkv"] = InputOutcome(
        f"/m/{job_id}.mkv", "done", sent_ms=sent_ms, input_tokens=10, cost={"CNY": cost}, day=day
    )
    return job


def test_the_cost_totals_outlive_the_jobs_kept(tmp_path: Path) -> None:
    """--keep-jobs drops old finished jobs at each start; what they cost stays in the totals
    and in their days (a restart must not make the bill shrink)."""
    journal = tmp_path / "jobs.jsonl"
    jobs = [finished("a", "2026-12-01", 60_000, 0.5), finished("b", "2026-12-02", 30_000, 0.25),
            finished("c", "2026-12-02", 10_000, 0.125)]  # fmt: skip
    journal.write_bytes(compacted(jobs))
    options = make_options(["en"], api_key="sk-fake-0123456789")

    async def totals_after_a_start(keep: int) -> tuple[dict[str, object], list[str]]:
        queue = JobQueue(RunContext.create(options, lambda _event: None), {"targets": ["en"]},
                         journal, keep_finished=keep)  # fmt: skip
        await queue.open()
        try:
            return queue.costs.totals_json(), list(queue.jobs)
        finally:
            await queue.close()

    before, all_kept = asyncio.run(totals_after_a_start(keep=10))
    assert all_kept == ["a", "b", "c"]
    whole = {"sent_s": 100.0, "saved_s": 0.0, "tokens": {"input": 30, "output": 0},
             "cost": {"CNY": 0.875}}  # fmt: skip
    assert before["total"] == whole
    for keep in (1, 1, 0, 5):  # restarts: a and b dropped at the first, then c
        after, left = asyncio.run(totals_after_a_start(keep))
        assert after == before, keep
    assert left == []
    assert set(carried_costs(journal.read_bytes().splitlines())) == {"2026-12-01", "2026-12-02"}
