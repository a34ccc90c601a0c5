"""Qwen-MT pacing on a fake clock: requests and tokens per minute, spread per second; the
backoff and Retry-After rules."""

from __future__ import annotations

import asyncio

import pytest

from subtitler.qwenmt.pacing import (
    DEFAULT_RPM,
    DEFAULT_TPM,
    Limits,
    Pacer,
    Schedule,
    admitted,
    corrected,
    deferred,
    limits_for,
    parse_retry_after,
    retry_delay_s,
    start_s,
)
from tests.fakes import FakeClock


def test_defaults_come_from_the_reference_and_zero_means_unpaced() -> None:
    assert limits_for(None, None) == Limits(rpm=DEFAULT_RPM, tpm=DEFAULT_TPM)
    assert limits_for(0, 0) == Limits(rpm=0, tpm=0)
    schedule = Schedule()
    for _ in range(100):
        schedule = admitted(schedule, Limits(rpm=0, tpm=0), 5.0, 10_000)
    assert start_s(schedule, 5.0) == 5.0


def test_requests_are_spread_evenly_at_rpm_over_60_per_second() -> None:
    limits = Limits(rpm=60, tpm=0)
    schedule, starts, now = Schedule(), [], 0.0
    for _ in range(5):
        start = start_s(schedule, now)
        starts.append(start)
        schedule = admitted(schedule, limits, start, 50, margin=0.0)
    assert starts == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert start_s(admitted(Schedule(), Limits(rpm=120, tpm=0), 0.0, 1, margin=0.1), 0.0) == (
        pytest.approx(0.55)
    )


def test_tokens_are_spread_at_tpm_over_60_per_second() -> None:
    limits = Limits(rpm=0, tpm=6000)  # 100 tokens a second
    schedule = admitted(Schedule(), limits, 0.0, 250, margin=0.0)
    assert start_s(schedule, 0.0) == pytest.approx(2.5)
    schedule = admitted(schedule, limits, 2.5, 100, margin=0.0)
    assert start_s(schedule, 2.5) == pytest.approx(3.5)


def test_the_answers_usage_corrects_the_reservation() -> None:
    limits = Limits(rpm=0, tpm=6000)
    schedule = admitted(Schedule(), limits, 0.0, 100, margin=0.0)
    assert start_s(corrected(schedule, limits, 100, 300, margin=0.0), 0.0) == pytest.approx(3.0)
    assert start_s(corrected(schedule, limits, 100, 0, margin=0.0), 0.0) == pytest.approx(0.0)
    assert corrected(Schedule(), limits, 100, 300) == Schedule()


def test_a_deferral_holds_back_the_next_request() -> None:
    schedule = deferred(Schedule(), 7.0)
    assert start_s(schedule, 1.0) == 7.0
    assert deferred(schedule, 3.0) == schedule


def test_the_pacer_waits_on_its_clock_first_come_first_served() -> None:
    clock = FakeClock(1000.0)
    pacer = Pacer(Limits(rpm=60, tpm=0), margin=0.0, clock=clock, sleep=clock.sleep)
    started: list[tuple[int, float]] = []

    async def one(index: int) -> None:
        await pacer.acquire(10)
        started.append((index, clock.now_s))

    async def run() -> None:
        await asyncio.gather(*(one(index) for index in range(4)))

    asyncio.run(run())
    assert started == [(0, 1000.0), (1, 1001.0), (2, 1002.0), (3, 1003.0)]


def test_a_deferral_reaches_a_request_already_waiting() -> None:
    clock = FakeClock(1000.0)
    pacer = Pacer(Limits(rpm=60, tpm=0), margin=0.0, clock=clock, sleep=clock.sleep)

    async def run() -> float:
        await pacer.acquire(10)
        waiting = asyncio.create_task(pacer.acquire(10))
        await asyncio.sleep(0)  # it is now asleep until 1001
        pacer.defer(5.0)
        await waiting
        return clock.now_s

    assert asyncio.run(run()) == 1005.0


def test_a_cancelled_waiter_gives_its_turn_away() -> None:
    clock = FakeClock(1000.0)
    pacer = Pacer(Limits(rpm=60, tpm=0), margin=0.0, clock=clock, sleep=clock.sleep)

    async def run() -> float:
        await pacer.acquire(10)
        waiting = asyncio.create_task(pacer.acquire(10))
        await asyncio.sleep(0)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        clock.now_s = 1001.0
        await pacer.acquire(10)
        return clock.now_s

    assert asyncio.run(run()) == 1001.0
    assert pacer.schedule.requests_due_s == 1002.0


def test_backoff_grows_exponentially_with_jitter_and_is_capped() -> None:
    low = [retry_delay_s(n, retry_after_s=None, jitter=0.0) for n in range(6)]
    high = [retry_delay_s(n, retry_after_s=None, jitter=0.999999) for n in range(6)]
    assert low == [0.25, 0.5, 1.0, 2.0, 4.0, 4.0]
    assert high == pytest.approx([0.5, 1.0, 2.0, 4.0, 8.0, 8.0])


def test_retry_after_is_honoured_and_capped() -> None:
    assert retry_delay_s(0, retry_after_s=3.0, jitter=0.5) == 3.0
    assert retry_delay_s(0, retry_after_s=3600.0, jitter=0.5) == 60.0


def test_retry_after_reads_seconds_and_dates() -> None:
    assert parse_retry_after("2", 0.0) == 2.0
    assert parse_retry_after(None, 0.0) is None
    assert parse_retry_after("soon", 0.0) is None
    now = 1_700_000_000.0  # Tue, 14 Nov 2023 22:13:20 GMT
    assert parse_retry_after("Tue, 14 Nov 2023 22:13:25 GMT", now) == 5.0
    assert parse_retry_after("Tue, 14 Nov 2023 22:13:00 GMT", now) == 0.0
    assert parse_retry_after("-1", now) == 0.0
