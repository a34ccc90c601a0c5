"""The engine and its writer in this process, on the fake transport and the fake decoder
(tests/fakes.py): a run's tracks and journal, a resume that pays for nothing twice, a failure
retried from the last sentence, a refused key, one bad input failing alone, and tracks that are
valid at every cue. The same promises are tested end to end (real ffmpeg, both real clients,
the emulator) in tests/integration/ and tests/reliability/; these answer in a second."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pysrt
import webvtt

from subtitler.engine.batch import run_batch
from subtitler.engine.control import RunControl
from subtitler.events import CueWritten, Event, InputEnded, InputResult, Status
from subtitler.options import make_options
from subtitler.sources.inputs import discover
from tests.fakes import (
    SENTENCE_BEGIN_MS,
    SENTENCE_EVERY_MS,
    SENTENCE_MS,
    FakeDecoder,
    FakeService,
    Fault,
    line_at,
    write_media,
)

KEY = "sk-fake-0123456789abcdef"


def run(
    paths: list[Path],
    targets: tuple[str, ...] = ("en",),
    observe: Any = None,
    control: RunControl | None = None,
    **options: Any,
) -> list[InputResult]:
    settings = make_options(
        list(targets), api_key=KEY, speed=None, source_language="zh", retry_delay_s=0.001,
        **options,
    )  # fmt: skip
    return asyncio.run(
        run_batch(discover(paths), settings, observe or (lambda _event: None), control)
    )


def expected_lines(duration_ms: int) -> list[str]:
    """What the fake service hears in `duration_ms` of audio, in order (a last sentence too
    short to finish is not heard)."""
    begins = range(SENTENCE_BEGIN_MS, duration_ms - SENTENCE_MS + 1, SENTENCE_EVERY_MS)
    return [line_at(begin)[1] for begin in begins]


def translations(srt: Path) -> list[str]:
    return [cue.text.splitlines()[-1] for cue in pysrt.open(str(srt), encoding="utf-8")]


def test_a_file_gets_its_srt_and_vtt_and_a_finished_journal(
    fake_service: FakeService, tmp_path: Path
) -> None:
    media = write_media(tmp_path / "talk.wav", 9_000)
    (result,) = run([media])
    assert result.status is Status.DONE, result.reason
    srt, vtt = tmp_path / "talk.zh-en.srt", tmp_path / "talk.zh-en.vtt"
    assert set(result.tracks) == {srt, vtt}
    assert translations(srt) == expected_lines(9_000) == ["Line 300.", "Line 3300.", "Line 6300."]
    first = pysrt.open(str(srt), encoding="utf-8")[0]
    assert (first.start.ordinal, first.end.ordinal) == (300, 2500)
    assert [caption.text.splitlines()[-1] for caption in webvtt.read(str(vtt))] == translations(srt)
    assert result.sentences == 3 and result.audio_ms == 9_000
    assert len(fake_service.tasks) == 1


def test_a_rerun_of_a_finished_file_sends_nothing(
    fake_service: FakeService, tmp_path: Path
) -> None:
    media = write_media(tmp_path / "talk.wav", 5_000)
    run([media])
    tasks = len(fake_service.tasks)
    (again,) = run([media])
    assert again.status is Status.SKIPPED and len(fake_service.tasks) == tasks
    assert translations(tmp_path / "talk.zh-en.srt") == expected_lines(5_000)


def test_a_dropped_task_is_resumed_from_its_last_sentence(
    fake_service: FakeService, tmp_path: Path
) -> None:
    fake_service.faults.append(Fault(after_sentences=2))
    media = write_media(tmp_path / "talk.wav", 9_000)
    (result,) = run([media])
    assert result.status is Status.DONE and result.resumes == 1
    assert translations(tmp_path / "talk.zh-en.srt") == expected_lines(9_000), "none lost or twice"
    first, second = fake_service.tasks
    resumed_at_ms = SENTENCE_EVERY_MS + SENTENCE_BEGIN_MS + SENTENCE_MS  # the second's end
    assert len(second.received) == (9_000 - resumed_at_ms) * 32, "resumed, not replayed whole"
    assert len(first.received) >= resumed_at_ms * 32


def test_a_stopped_run_resumes_where_it_stopped_and_keeps_every_cue_once(
    fake_service: FakeService, tmp_path: Path
) -> None:
    media = write_media(tmp_path / "talk.wav", 300_000)
    control = RunControl()

    def stop_after_two(event: Event) -> None:
        if isinstance(event, CueWritten) and event.sentence_id == 1:
            control.request_stop()  # Ctrl-C after the second cue, while audio remains
            FakeDecoder.release()

    FakeDecoder.hold_from_ms = 60_000  # at full speed the whole input could be sent by then
    (stopped,) = run([media], observe=stop_after_two, control=control)
    FakeDecoder.hold_from_ms = None
    assert stopped.status is Status.INTERRUPTED
    kept = translations(tmp_path / "talk.zh-en.srt")
    assert kept == expected_lines(300_000)[: len(kept)] and 2 <= len(kept) < 100
    (resumed,) = run([media])
    assert resumed.status is Status.DONE and resumed.resumed_at_ms is not None
    assert translations(tmp_path / "talk.zh-en.srt") == expected_lines(300_000)
    assert FakeDecoder.started[-1].start_ms == resumed.resumed_at_ms > 0, "decoded from there"


def test_a_refused_key_stops_the_run_with_one_line(
    fake_service: FakeService, tmp_path: Path
) -> None:
    fake_service.faults.append(
        Fault(code="InvalidApiKey", message="Invalid API-key provided.", after_sentences=0)
    )
    media = write_media(tmp_path / "talk.wav", 5_000)
    (result,) = run([media])
    assert result.status is Status.FAILED
    assert "key" in result.reason and "\n" not in result.reason and KEY not in result.reason
    assert len(fake_service.tasks) == 1, "not retried"


def test_one_bad_input_fails_alone_naming_itself(fake_service: FakeService, tmp_path: Path) -> None:
    good = write_media(tmp_path / "good.wav", 5_000)
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not media at all")
    results = {result.path.name: result for result in run([good, bad])}
    assert results["good.wav"].status is Status.DONE
    assert results["bad.wav"].status is Status.FAILED
    assert "bad.wav" in results["bad.wav"].reason and "\n" not in results["bad.wav"].reason
    assert translations(tmp_path / "good.zh-en.srt") == expected_lines(5_000)


def test_every_track_is_complete_and_valid_at_each_cue(
    fake_service: FakeService, tmp_path: Path
) -> None:
    media = write_media(tmp_path / "talk.wav", 11_000)
    seen: list[tuple[int, int]] = []

    def read_back(event: Event) -> None:
        if isinstance(event, CueWritten):  # emitted once its writes are done
            srt = pysrt.open(str(tmp_path / "talk.zh-en.srt"), encoding="utf-8")
            vtt = webvtt.read(str(tmp_path / "talk.zh-en.vtt"))
            seen.append((len(srt), len(vtt.captions)))

    (result,) = run([media], observe=read_back)
    assert result.status is Status.DONE
    assert seen == [(n, n) for n in range(1, len(expected_lines(11_000)) + 1)]


def test_two_targets_each_get_their_tracks(fake_service: FakeService, tmp_path: Path) -> None:
    media = write_media(tmp_path / "talk.wav", 5_000)
    (result,) = run([media], targets=("en", "ja"))
    assert result.status is Status.DONE, result.reason
    for target in ("en", "ja"):
        assert translations(tmp_path / f"talk.zh-{target}.srt") == expected_lines(5_000)
    assert sorted(task.target for task in fake_service.tasks) == ["en", "ja"]


def test_events_end_with_one_input_ended_per_input(
    fake_service: FakeService, tmp_path: Path
) -> None:
    paths = [write_media(tmp_path / f"clip{index}.wav", 3_000) for index in range(3)]
    events: list[Event] = []
    results = run(paths, observe=events.append, jobs=2)
    ended = [event for event in events if isinstance(event, InputEnded)]
    assert sorted(e.result.path.name for e in ended) == ["clip0.wav", "clip1.wav", "clip2.wav"]
    assert all(result.status is Status.DONE for result in results)
