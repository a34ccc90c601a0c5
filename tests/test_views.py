"""Views render pipeline events; they are observers and hold no pipeline state."""

from __future__ import annotations

import dataclasses
import io
import re
from pathlib import Path

import pytest
from rich.console import Console

from subtitler.events import (
    AudioProgress,
    CueWritten,
    InputEnded,
    InputResult,
    InputStarted,
    Status,
    TaskMetrics,
)
from subtitler.layout.cues import Cue, CueText
from subtitler.views.lines import LinesView
from subtitler.views.progress import ProgressView
from subtitler.views.summary import summary_table

PATH = Path("/media/film.mkv")
CUE = Cue(1000, 2000, (CueText("zh", ("你好。",)), CueText("en", ("Hello.",))))
DONE = InputResult(
    path=PATH,
    status=Status.DONE,
    sentences=1,
    audio_ms=65_000,
    wall_s=7.5,
    tasks=(
        TaskMetrics(
            target="en",
            request_id="req-1",
            first_package_delay_ms=120.4,
            last_package_delay_ms=880.0,
        ),
    ),
)


def written(target: str) -> CueWritten:
    return CueWritten(path=PATH, target=target, sentence_id=0, transcript="你好。",
                      translation="Hello.", cues=(CUE,))  # fmt: skip


def test_lines_view_prints_the_sample_shape() -> None:
    out = io.StringIO()
    view = LinesView(out, ("en",))
    view(InputStarted(path=PATH, label="film.mkv", duration_ms=65_000, tracks=()))
    view(written("en"))
    view(InputEnded(DONE))
    assert out.getvalue().splitlines() == [
        "[film.mkv] Started",
        "[film.mkv] Transcript ==> 你好。",
        "[film.mkv] Translate ==> Hello.",
        "[film.mkv] Translation completed",
        "[Metric] requestId: req-1, first package delay ms: 120.4, last package delay ms: 880.0",
    ]


def test_progress_view_shows_each_running_file_with_its_latest_line() -> None:
    console = Console(file=io.StringIO(), width=120, record=True)
    view = ProgressView(console, total_inputs=3)
    view(InputStarted(path=PATH, label="film.mkv", duration_ms=65_000, tracks=()))
    view(AudioProgress(path=PATH, sent_ms=30_000))
    view(written("en"))
    console.print(view.render())
    screen = console.export_text()
    assert "film.mkv" in screen and "0:30/1:05" in screen and "1 sentences" in screen
    assert "eta " in screen
    assert re.search(r"你好。 +→ Hello\.", screen)
    assert "running 1  queued 2  done 0  failed 0" in screen
    view(InputEnded(DONE))
    assert view.running == {}


def test_progress_view_counts_a_sentence_once_whatever_the_targets_and_ends_by_status() -> None:
    console = Console(file=io.StringIO(), width=100, record=True)
    view = ProgressView(console, total_inputs=3)
    view(InputStarted(path=PATH, label="film.mkv", duration_ms=65_000, tracks=()))
    for target in ("en", "ja"):  # one sentence, written for each target
        view(written(target))
    console.print(view.render())
    assert " 1 sentences" in console.export_text()
    view(InputEnded(DONE))
    view(
        InputEnded(
            InputResult(path=Path("/media/a.mkv"), status=Status.FAILED, reason="/media/a.mkv: bad")
        )
    )
    view(
        InputEnded(
            InputResult(path=Path("/media/b.mkv"), status=Status.INTERRUPTED, reason="interrupted")
        )
    )
    console.print(view.render())
    text = console.export_text()
    assert "running 0  queued 0  done 1  failed 1  skipped 0  interrupted 1" in text
    assert "failed a.mkv: bad" in text, "the message names the file once"


def test_summary_has_a_row_per_input_with_the_sdk_figures() -> None:
    failed = InputResult(path=Path("/media/bad.mp4"), status=Status.FAILED, reason="bad")
    console = Console(file=io.StringIO(), width=160, record=True)
    console.print(summary_table([DONE, failed]))
    text = console.export_text()
    assert "film.mkv" in text and "done" in text and "1m05.0s" in text and "req-1" in text
    assert "120" in text and "880" in text
    assert "bad.mp4" in text and "failed" in text
    assert "1 done, 1 failed, 0 skipped" in text


@pytest.mark.parametrize(
    ("failed", "key_refused", "stopped", "resumable", "watching", "code"),
    [
        (False, False, False, True, False, 0),
        (True, False, False, True, False, 1),
        (True, True, False, True, False, 2),  # a refused key says so, whatever else failed
        (False, False, True, True, False, 130),  # a stopped run of files resumes later
        (True, False, True, False, False, 1),  # a stopped live input has nothing to resume
        (True, False, True, True, True, 0),  # watch: a stop is its normal end
    ],
)
def test_exit_status(
    failed: bool, key_refused: bool, stopped: bool, resumable: bool, watching: bool, code: int
) -> None:
    from subtitler.cli.exits import exit_status

    kinds = {"failed": failed, "key_refused": key_refused, "stopped": stopped}
    assert exit_status(**kinds, resumable=resumable, watching=watching) == code


def test_no_summary_table_once_the_reader_of_stdout_has_gone() -> None:
    """`--json | head -1`: the run says one line on stderr, not the table after it."""
    import os

    from subtitler.views.jsonlines import JsonLinesView
    from subtitler.views.output import reader_left
    from subtitler.views.summary import print_summary

    read_end, write_end = os.pipe()
    os.close(read_end)  # `head -1` has read its line and gone
    left: list[bool] = []
    with os.fdopen(write_end, "w", encoding="utf-8") as stdout:
        view = JsonLinesView(stdout, lambda: left.append(True))
        assert not reader_left(view)
        view(InputStarted(path=PATH, label="film.mkv", duration_ms=65_000, tracks=()))
        assert left == [True] and reader_left(view)
        stderr = Console(file=io.StringIO(), width=120)
        print_summary(stderr, [DONE], reader_left=reader_left(view))
        assert stderr.file.getvalue() == ""  # type: ignore[attr-defined]
        print_summary(stderr, [DONE], reader_left=False)
        assert "subtitler summary" in stderr.file.getvalue()  # type: ignore[attr-defined]
    assert not reader_left(LinesView(io.StringIO(), ("en",)))


def test_the_summary_says_what_the_speech_gate_did_not_send() -> None:
    gated = dataclasses.replace(DONE, sent_ms=20_000, skipped_ms=45_400)
    console = Console(file=io.StringIO(), width=160, record=True)
    console.print(summary_table([gated, DONE]))
    text = console.export_text()
    assert text.count("45 s without speech not sent") == 1  # --vad off says nothing of it


def test_json_lines_carry_what_the_gate_sent_only_with_the_gate() -> None:
    from subtitler.events import AudioProgress
    from subtitler.views.jsonlines import event_objects

    gated = dataclasses.replace(DONE, sent_ms=20_000, skipped_ms=45_400)
    (finished,) = event_objects(InputEnded(gated), "film")
    assert finished["sent_ms"] == 20_000
    (plain,) = event_objects(InputEnded(DONE), "film")
    assert "sent_ms" not in plain
    path = Path("/media/film.mkv")
    (quiet,) = event_objects(AudioProgress(path=path, sent_ms=5000, sending=False), "film")
    assert quiet["sending"] is False
    (sending,) = event_objects(AudioProgress(path=path, sent_ms=5000), "film")
    assert "sending" not in sending
