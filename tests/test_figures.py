"""A target's figures across its tasks, on values: the first task's first-package delay, the
last task's last-package delay, and a task that failed reporting no last delay."""

from __future__ import annotations

from subtitler.engine.attempts import Attempts
from subtitler.engine.figures import TargetFigures
from subtitler.engine.policy import Action, Decision


def test_first_delay_from_the_first_task_last_delay_from_the_last() -> None:
    figures = TargetFigures("en")
    first = figures.new_task()
    figures.sent(first, 100, now_s=10.0)
    first.first_result_s, first.finish_sent_s = 10.25, 20.0
    figures.record("req-1", first, finished_s=20.5, last_task=False)  # a rollover
    assert figures.metrics is not None and figures.metrics.last_package_delay_ms is None
    second = figures.new_task()
    figures.sent(second, 200, now_s=30.0)
    second.first_result_s, second.finish_sent_s = 31.0, 40.0
    figures.record("req-2", second, finished_s=40.75, last_task=True)
    metrics = figures.metrics
    assert (metrics.request_id, metrics.first_package_delay_ms) == ("req-2", 250.0)
    assert metrics.last_package_delay_ms == 750.0
    assert figures.first_sent_s == 10.0
    assert figures.latency_ms(300) is None  # not sent yet


def test_attempts_count_what_the_policy_reads() -> None:
    attempts = Attempts()
    assert (attempts.start(), attempts.start()) == (1, 2)
    attempts.failed(Decision(Action.WAIT_FOR_RATE, delay_s=1.0))
    attempts.failed(Decision(Action.RESUME, counted=True))
    assert (attempts.failures, attempts.throttled, attempts.resumes) == (1, 1, 2)
