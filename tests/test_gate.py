"""engine/gate.py: the detector's decisions -> stretches not sent, and the sent -> stream map."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from subtitler.engine.gate import GateRules, SpeechGate, Stretch, TimeMap

RULES = GateRules(window_ms=10, min_gap_ms=1000, keep_before_ms=200, keep_after_ms=500)


def gate_of(pattern: str, *, origin_ms: int = 0, end: bool = True) -> SpeechGate:
    """One window per character: `s` speech, `.` not."""
    gate = SpeechGate(origin_ms=origin_ms, rules=RULES)
    gate.add([c == "s" for c in pattern])
    if end:
        gate.close(origin_ms + len(pattern) * RULES.window_ms)
    return gate


def test_a_long_pause_is_skipped_minus_the_audio_kept_around_speech() -> None:
    gate = gate_of("s" * 100 + "." * 300 + "s" * 100)  # speech 0-1 s, pause 1-4 s, speech 4-5 s
    assert gate.stretches == (Stretch(begin_ms=1500, end_ms=3800),)
    assert gate.span(0) == (0, 1500)
    assert gate.span(1500) == (3800, 5000)


def test_a_short_pause_is_sent() -> None:
    gate = gate_of("s" * 100 + "." * 99 + "s" * 100)
    assert gate.stretches == ()
    assert gate.span(0) == (0, 2990)


def test_the_start_and_the_end_keep_nothing_beside_the_non_speech() -> None:
    gate = gate_of("." * 200 + "s" * 100 + "." * 200)
    assert gate.stretches == (Stretch(begin_ms=0, end_ms=1800), Stretch(begin_ms=3500, end_ms=5000))
    assert gate.span(0) == (1800, 3500)
    assert gate.span(3500) == (5000, 5000)


def test_sending_waits_for_the_lookahead() -> None:
    gate = gate_of("s" * 100, end=False)
    assert gate.decided_ms == 1000  # in speech: all of it
    gate.add([False] * 50)  # a pause of 0.5 s so far: the 0.5 s after speech is sent anyway
    assert gate.decided_ms == 1500 and not gate.skipping
    gate.add([False] * 100)  # 1.5 s: long enough; skipped up to 200 ms before what is seen
    assert gate.decided_ms == 2300 and gate.skipping
    assert gate.span(1200) == (1200, 1500)
    assert gate.span(1500) == (2300, 2300)  # nothing to send yet
    gate.add([True] * 10)
    assert gate.stretches == (Stretch(begin_ms=1500, end_ms=2300),)
    assert gate.span(2300) == (2300, 2600)
    assert not gate.skipping


def test_a_resumed_input_starts_at_its_origin() -> None:
    gate = gate_of("s" * 10 + "." * 200, origin_ms=60_000)
    assert gate.stretches == (Stretch(begin_ms=60_600, end_ms=62_100),)
    assert gate.skipped_between(0, 100_000) == 1500
    assert gate.skipped_between(61_000, 61_100) == 100


def test_the_time_map_puts_the_service_s_times_back_on_the_stream() -> None:
    times = TimeMap(5000)
    assert times.to_stream(700) == 5700 and not times.spliced
    times.jump(1000, 9000)  # 1 s sent, then a stretch up to 9 s skipped
    times.jump(1000, 9500)  # it grew before anything more was sent
    times.jump(1400, 20_000)
    assert times.spliced
    assert times.to_stream(999) == 5999
    assert times.to_stream(1000) == 9500  # a beginning: after the splice
    assert times.to_stream(1000, ending=True) == 6000  # an end: before it
    assert times.to_stream(1300) == 9800
    assert times.to_stream(1500) == 20_100


def test_a_task_that_skips_first_starts_where_the_audio_does() -> None:
    times = TimeMap(0)
    times.jump(0, 4000)
    assert times.to_stream(0) == 4000 and times.to_stream(250, ending=True) == 4250


@given(st.lists(st.booleans(), max_size=600), st.integers(0, 599))
def test_stretches_are_non_speech_ordered_and_keep_the_margins(
    decisions: list[bool], split: int
) -> None:
    gate = SpeechGate(origin_ms=0, rules=RULES)
    gate.add(decisions[:split])  # decisions may come in any pieces
    gate.add(decisions[split:])
    end_ms = len(decisions) * RULES.window_ms
    gate.close(end_ms)
    previous_end = -1
    for stretch in gate.stretches:
        assert previous_end < stretch.begin_ms < stretch.end_ms <= end_ms
        previous_end = stretch.end_ms
        first = stretch.begin_ms // RULES.window_ms
        last = -(-stretch.end_ms // RULES.window_ms)
        assert not any(decisions[first:last])  # never speech
        kept_after, kept_before = RULES.keep_after_ms // 10, RULES.keep_before_ms // 10
        if any(decisions[:first]):  # speech before: the audio kept after it is all there
            assert first >= kept_after and not any(decisions[first - kept_after : first])
        if any(decisions[last:]):  # and before the speech that follows
            assert not any(decisions[last : last + kept_before])
            assert len(decisions) - last > kept_before


@given(st.lists(st.booleans(), max_size=400), st.lists(st.integers(1, 40), max_size=60))
def test_spans_send_everything_not_skipped_once_and_in_order(
    decisions: list[bool], pieces: list[int]
) -> None:
    """However the decisions arrive, reading span after span sends each decided millisecond
    outside the stretches exactly once, and never more than is decided."""
    gate = SpeechGate(origin_ms=0, rules=RULES)
    sent: list[tuple[int, int]] = []
    position = 0
    remaining = list(decisions)
    for size in [*pieces, len(decisions)]:
        gate.add(remaining[:size])
        remaining = remaining[size:]
        if not remaining:
            gate.close(len(decisions) * RULES.window_ms)
        while True:
            begin, end = gate.span(position)
            assert begin >= position and end <= gate.decided_ms
            position = begin
            if end == begin:
                break
            sent.append((begin, end))
            position = end
    end_ms = len(decisions) * RULES.window_ms
    covered = sum(end - begin for begin, end in sent)
    assert covered == end_ms - gate.skipped_between(0, end_ms)
    assert all(s.end_ms <= b or e <= s.begin_ms for b, e in sent for s in gate.stretches)


@given(st.lists(st.tuples(st.integers(1, 3000), st.integers(0, 60_000)), max_size=20))
def test_the_map_is_monotonic_and_ends_never_pass_beginnings(
    pieces: list[tuple[int, int]],
) -> None:
    times = TimeMap(0)
    sent, stream = 0, 0
    for length, skipped in pieces:
        stream += skipped
        times.jump(sent, stream)
        sent += length
        stream += length
    previous = -1
    for ms in range(0, sent + 1, 97):
        assert times.to_stream(ms) >= previous
        assert times.to_stream(ms, ending=True) <= times.to_stream(ms)
        previous = times.to_stream(ms)


def test_the_options_defaults_are_the_detector_s() -> None:
    from subtitler.options import DEFAULT_VAD
    from subtitler.sources.speech import GateSettings

    measured = GateSettings()
    assert (DEFAULT_VAD.threshold, DEFAULT_VAD.min_gap_ms, DEFAULT_VAD.margin_ms) == (
        measured.threshold,
        measured.min_gap_ms,
        measured.margin_ms,
    )


def test_the_silence_sent_at_a_splice_maps_to_neither_side_s_audio() -> None:
    times = TimeMap(0)
    times.pause(2000, 800, 10_000)  # 2 s sent, 800 ms of silence, then the stream from 10 s
    times.jump(2800, 12_000)  # the stretch grew before more was sent
    assert times.to_stream(1999) == 1999
    assert times.to_stream(2000, ending=True) == 2000
    assert times.to_stream(2400, ending=True) == 2000  # an end in the silence: before it
    assert times.to_stream(2400) == 12_000  # a beginning in it: where the audio resumes
    assert times.to_stream(2800, ending=True) == 2000
    assert times.to_stream(2800) == 12_000
    assert times.to_stream(3000) == 12_200
