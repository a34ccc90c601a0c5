"""The speech gate in the engine, in this process (tests/fakes.py): the fake decoder stamps each
millisecond with its media time, the stand-in detector hears speech only in the fake service's
sentences outside the `quiet` ranges, and the fake service counts time as a real one does, by
the audio it was sent. What is skipped is not sent; every sentence keeps its media times."""

from __future__ import annotations

from pathlib import Path

import pysrt

from subtitler.events import AudioProgress, CueWritten, Event, Status
from tests.fakes import SENTENCE_BEGIN_MS, SENTENCE_MS, FakeService, write_media
from tests.test_engine_inprocess import expected_lines, run


def cue_times(srt: Path) -> list[tuple[int, int, str]]:
    return [(cue.start.ordinal, cue.end.ordinal, cue.text.splitlines()[-1])
            for cue in pysrt.open(str(srt), encoding="utf-8")]  # fmt: skip


def test_non_speech_is_not_sent_and_every_sentence_keeps_its_times(
    fake_service: FakeService, tmp_path: Path
) -> None:
    fake_service.quiet = [(9_000, 39_000), (45_000, 52_000)]  # music, then applause
    media = write_media(tmp_path / "talk.wav", 60_000)
    events: list[Event] = []
    (result,) = run([media], observe=events.append)
    assert result.status is Status.DONE, result.reason
    expected = [line for line in expected_lines(60_000)
                if not any(b <= int(line[5:-1]) < e for b, e in fake_service.quiet)]  # fmt: skip
    times = cue_times(tmp_path / "talk.zh-en.srt")
    assert [text for _, _, text in times] == expected
    for begin_ms, end_ms, text in times:  # exactly where the media has them
        assert (begin_ms, end_ms) == (int(text[5:-1]), int(text[5:-1]) + SENTENCE_MS)
    assert result.skipped_ms is not None and result.sent_ms is not None
    # the two quiet ranges, less the audio kept around speech, were not sent
    assert result.skipped_ms >= 30_000 - 2_000 + 7_000 - 2_000
    assert result.sent_ms == sum(len(task.received) for task in fake_service.tasks) // 32
    assert result.sent_ms <= 60_000 - result.skipped_ms + 2 * 800  # a pause at each splice
    assert len(fake_service.tasks) == 1  # spliced within one task (a file at full speed)
    assert any(not e.sending for e in events if isinstance(e, AudioProgress))
    written = [e for e in events if isinstance(e, CueWritten)]
    assert all(not any(b < e.end_ms and e.begin_ms < q for b, q in fake_service.quiet)
               for e in written)  # fmt: skip


def test_off_sends_everything_and_says_nothing_of_it(
    fake_service: FakeService, tmp_path: Path
) -> None:
    fake_service.quiet = [(9_000, 29_000)]
    media = write_media(tmp_path / "talk.wav", 35_000)
    events: list[Event] = []
    (result,) = run([media], observe=events.append, vad="off")
    assert result.status is Status.DONE, result.reason
    assert result.sent_ms is None and result.skipped_ms is None
    assert sum(len(task.received) for task in fake_service.tasks) // 32 == 35_000
    assert all(e.sending for e in events if isinstance(e, AudioProgress))


def test_the_same_sentences_at_the_same_times_on_and_off(
    fake_service: FakeService, tmp_path: Path
) -> None:
    fake_service.quiet = [(3_000, 20_000), (26_000, 40_000)]
    on = write_media(tmp_path / "on" / "talk.wav", 50_000)
    off = write_media(tmp_path / "off" / "talk.wav", 50_000)
    run([on])
    run([off], vad="off")
    gated = cue_times(tmp_path / "on" / "talk.zh-en.srt")
    assert gated == cue_times(tmp_path / "off" / "talk.zh-en.srt")
    assert gated[0][:2] == (SENTENCE_BEGIN_MS, SENTENCE_BEGIN_MS + SENTENCE_MS)
    sent_on, sent_off = (sum(len(t.received) for t in fake_service.tasks[i : i + 1]) // 32
                         for i in (0, 1))  # fmt: skip
    assert sent_on < sent_off / 2


def test_a_resumed_task_after_a_drop_maps_its_times_too(
    fake_service: FakeService, tmp_path: Path
) -> None:
    from tests.fakes import Fault

    fake_service.quiet = [(6_000, 30_000)]
    fake_service.faults.append(Fault(after_sentences=3))  # dropped after the first past the music
    media = write_media(tmp_path / "talk.wav", 45_000)
    (result,) = run([media])
    assert result.status is Status.DONE, result.reason
    assert result.resumes == 1
    times = cue_times(tmp_path / "talk.zh-en.srt")
    assert [t for _, _, t in times] == [
        line for line in expected_lines(45_000) if not 6_000 <= int(line[5:-1]) < 30_000
    ]
    for begin_ms, end_ms, text in times:
        assert (begin_ms, end_ms) == (int(text[5:-1]), int(text[5:-1]) + SENTENCE_MS)


def test_an_estimate_with_a_scan_prices_only_the_speech(
    fake_service: FakeService, tmp_path: Path
) -> None:
    import asyncio

    from subtitler.engine.estimate import estimate_inputs
    from subtitler.options import make_options
    from subtitler.sources.inputs import discover

    fake_service.quiet = [(6_000, 36_000)]
    media = write_media(tmp_path / "talk.wav", 45_000)
    options = make_options(["en"], api_key="k", source_language="zh")
    (plain,) = asyncio.run(estimate_inputs(discover([media]), options))
    (scanned,) = asyncio.run(estimate_inputs(discover([media]), options, scan=True))
    assert plain.scanned is None and plain.estimate is not None
    assert plain.estimate.audio_ms == 45_000  # --estimate alone: the full audio
    assert scanned.estimate == plain.estimate and scanned.scanned is not None
    skipped_ms = 45_000 - scanned.scanned.audio_ms
    assert 30_000 - 1_100 <= skipped_ms <= 30_000
    assert scanned.scanned.cost < plain.estimate.cost * 0.4


def test_a_live_input_decides_every_window_at_once_and_a_file_in_groups() -> None:
    """A file's detector may hold decisions inside speech for a group (its model then runs on a
    quarter of the windows); a live input's may not: its captions would wait."""
    from types import SimpleNamespace
    from typing import Any

    from subtitler.engine.input import gating_of
    from subtitler.options import VadSettings

    asked: list[VadSettings] = []

    def gating(vad: VadSettings, _silence: int | None, _label: str) -> None:
        asked.append(vad)

    context: Any = SimpleNamespace(
        options=SimpleNamespace(vad=VadSettings(), gummy=SimpleNamespace(max_end_silence_ms=None)),
        transports=SimpleNamespace(gating=gating),
    )
    gating_of(context, SimpleNamespace(live=True, label="stream"))  # type: ignore[arg-type]
    gating_of(context, SimpleNamespace(live=False, label="film.mkv"))  # type: ignore[arg-type]
    assert [vad.probe_every for vad in asked] == [1, VadSettings().probe_every]
    assert VadSettings().probe_every > 1
