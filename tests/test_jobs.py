"""The job queue's pure parts: a job's status from its inputs', the journal's replay and
compaction, and which options a job may set."""

from __future__ import annotations

import json

import pytest

from subtitler.errors import UsageError
from subtitler.serve.jobs import (
    InputOutcome,
    Job,
    JobSpec,
    JobStatus,
    Refresh,
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
