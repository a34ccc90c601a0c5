"""The retry policy and the start pacing, as pure functions."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from subtitler.engine.pacing import next_start_s
from subtitler.engine.policy import Action, RetryPolicy, decide, region_hint
from subtitler.gummy.protocol import (
    BAD_RESULT,
    DISCONNECTED,
    HANDSHAKE,
    UNFINISHED,
    UNREACHABLE,
    TaskFailed,
)

POLICY = RetryPolicy(retries=3, first_delay_s=0.5)


def test_drops_internal_errors_bad_results_and_5xx_retry_with_doubling_backoff() -> None:
    for failure in (
        TaskFailed(DISCONNECTED, "lost"),
        TaskFailed(UNFINISHED, "no task-finished"),
        TaskFailed(BAD_RESULT, "unreadable"),
        TaskFailed("InternalError", "oops"),
        TaskFailed(HANDSHAKE, "Service Unavailable", 503),
    ):
        first = decide(failure, 0, 0, POLICY, jitter=0.999)
        second = decide(failure, 1, 0, POLICY, jitter=0.999)
        assert first.action is Action.RETRY and first.counted
        assert 0.49 < first.delay_s <= 0.5 and 0.99 < second.delay_s <= 1.0
        assert decide(failure, 0, 0, POLICY, jitter=0.0).delay_s == 0.25


def test_retries_are_bounded() -> None:
    gave_up = decide(TaskFailed(DISCONNECTED, ""), 3, 0, POLICY, 0.5)
    assert gave_up.action is Action.FAIL
    assert gave_up.reason == "connection to the service was lost (gave up after 3 retries)"


def test_throttling_waits_uncounted_and_never_fails() -> None:
    for failure in (
        TaskFailed("Throttling.RateQuota", "Requests rate limit exceeded, please try again later."),
        TaskFailed("SomethingElse", "Requests rate limit exceeded, please try again later."),
        TaskFailed(HANDSHAKE, "Too Many Requests", 429),
    ):
        for waits in (0, 5, 1000):
            decision = decide(failure, 99, waits, POLICY, 0.5)
            assert decision.action is Action.WAIT_FOR_RATE and not decision.counted
            assert 0 < decision.delay_s <= 5


def test_the_services_idle_timeout_resumes_at_once() -> None:
    failure = TaskFailed("CLIENT_ERROR", "request timeout after 23 seconds.")
    assert decide(failure, 99, 0, POLICY, 0.5).action is Action.RESUME


def test_a_refused_key_stops_the_run_and_other_statuses_fail_the_input() -> None:
    for status in (401, 403):
        refused = decide(
            TaskFailed(HANDSHAKE, "Invalid API-key provided.", status), 0, 0, POLICY, 0
        )
        assert refused.action is Action.STOP_RUN
        assert refused.reason == "the API key was refused (invalid key)"
    other = decide(TaskFailed(HANDSHAKE, "Bad request.", 400), 0, 0, POLICY, 0)
    assert other.action is Action.FAIL
    assert other.reason == "the service refused the connection (HTTP 400: Bad request.)"


def test_an_endpoint_that_is_not_there_stops_the_run_until_the_service_was_reached() -> None:
    url = "ws://127.0.0.1:8765"
    missing = decide(TaskFailed(HANDSHAKE, "Not found.", 404), 0, 0, POLICY, 0, url, False)
    assert missing.action is Action.STOP_RUN and missing.code == "EndpointNotFound"
    assert missing.reason.endswith("--endpoint ws://127.0.0.1:8765/api-ws/v1/inference")
    refused = TaskFailed(UNREACHABLE, "cannot connect (Connect call failed)")
    first = decide(refused, 0, 0, POLICY, 0, url + "/api-ws/v1/inference", reached=False)
    assert first.action is Action.STOP_RUN and first.code == "EndpointUnreachable"
    later = decide(refused, 0, 0, POLICY, 0, url + "/api-ws/v1/inference", reached=True)
    assert later.action is Action.RETRY and later.counted  # the network, once it worked
    bad = decide(TaskFailed("InvalidParameter", "bad sample rate\nmore"), 0, 0, POLICY, 0)
    assert (bad.action, bad.reason) == (
        Action.FAIL,
        "service error InvalidParameter: bad sample rate",
    )


def test_another_regions_endpoint_is_named_in_the_failure() -> None:
    intl = "wss://dashscope-intl.aliyuncs.com/api-ws/v1/inference"
    failure = TaskFailed("ModelNotFound", "Model not found (gummy-realtime-v1)!")
    reason = decide(failure, 0, 0, POLICY, 0, intl).reason
    assert "Beijing region only" in reason and "dashscope-intl.aliyuncs.com" in reason
    assert region_hint("wss://dashscope.aliyuncs.com/api-ws/v1/inference") == ""
    assert region_hint("ws://127.0.0.1:9/api-ws/v1/inference") == ""
    assert region_hint(None) == ""


@given(
    st.lists(st.floats(min_value=0, max_value=0.5), min_size=1, max_size=60),
    st.integers(min_value=1, max_value=12),
)
def test_starts_never_exceed_the_rate_in_any_second(gaps: list[float], rate: int) -> None:
    """Clients asking at arbitrary times get submission times with at most `rate` in any
    window of a second, with room to spare for jitter on the way."""
    interval = 1.1 / rate
    granted: list[float] = []
    now = 0.0
    for gap in gaps:
        now += gap
        due = next_start_s(granted[-1] if granted else None, now, interval)
        assert due >= now
        now = due
        granted.append(now)
    for index, start in enumerate(granted):
        in_window = [t for t in granted[index:] if t < start + 1.0 + 0.09]
        assert len(in_window) <= rate
