"""Targets Gummy does not translate, in this process on the fake transport, decoder and
translator (tests/fakes.py): recognition once per input whatever the translators, Qwen-MT
targets translated from that transcript sentence by sentence and in order, the journal's
transcript reused by a target added later (no task at all) and by a rerun after a failure
(only what is missing is requested). End to end against the emulator: tests/integration/."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path
from typing import Any

import pysrt
import webvtt

from subtitler.engine.batch import run_batch
from subtitler.engine.control import RunControl
from subtitler.events import CueWritten, Event, InputResult, PartialText, Status
from subtitler.options import make_options
from subtitler.qwenmt.client import TranslationFailed
from subtitler.sources.inputs import discover
from tests.fakes import FakeService, line_at, write_media
from tests.test_engine_inprocess import KEY, expected_lines

MANDARIN = [line_at(begin)[0] for begin in (300, 3300, 6300)]


def run(
    paths: list[Path],
    targets: tuple[str, ...],
    source: str = "zh",
    observe: Any = None,
    control: RunControl | None = None,
    **options: Any,
) -> list[InputResult]:
    options.setdefault("mt_batch", 1)  # one sentence per request unless a test batches
    settings = make_options(
        list(targets), api_key=KEY, speed=None, source_language=source, retry_delay_s=0.001,
        **options,
    )  # fmt: skip
    return asyncio.run(
        run_batch(discover(paths), settings, observe or (lambda _event: None), control)
    )


def lines(srt: Path, row: int) -> list[str]:
    return [cue.text.splitlines()[row] for cue in pysrt.open(str(srt), encoding="utf-8")]


def test_a_gummy_target_recognises_for_a_qwen_mt_one(
    fake_service: FakeService, tmp_path: Path
) -> None:
    media = write_media(tmp_path / "talk.wav", 9_000)
    (result,) = run([media], ("en", "es"))
    assert result.status is Status.DONE, result.reason
    (task,) = fake_service.tasks  # one task: en's, recognising
    assert task.settings.transcription_enabled and task.target == "en"
    en, es = tmp_path / "talk.zh-en.srt", tmp_path / "talk.zh-es.srt"
    assert lines(es, 0) == lines(en, 0) == MANDARIN, "the same transcript"
    assert lines(es, -1) == [f"[es] {text}" for text in MANDARIN]
    requests = fake_service.translator.requests
    assert [r.text for r in requests] == MANDARIN and {r.target for r in requests} == {"es"}
    assert requests[0].memory == () and requests[2].memory == (
        (MANDARIN[0], f"[es] {MANDARIN[0]}"),
        (MANDARIN[1], f"[es] {MANDARIN[1]}"),
    ), "the last pairs of the same track as translation memory"
    assert result.translation is not None and result.translation.requests == 3
    assert fake_service.translator.closed, "the run's translator is closed with the run"


def test_only_qwen_mt_targets_get_one_recognition_only_task(
    fake_service: FakeService, tmp_path: Path
) -> None:
    media = write_media(tmp_path / "talk.wav", 9_000)
    (result,) = run([media], ("es", "ar", "th"), source="en")
    assert result.status is Status.DONE, result.reason
    (task,) = fake_service.tasks
    assert task.settings.translation_enabled is False and task.settings.transcription_enabled
    for target in ("es", "ar", "th"):
        srt, vtt = tmp_path / f"talk.en-{target}.srt", tmp_path / f"talk.en-{target}.vtt"
        assert lines(srt, -1) == [f"[{target}] {text}" for text in MANDARIN]
        assert len(webvtt.read(str(vtt))) == 3
    sent = [(r.target, r.text) for r in fake_service.translator.requests]
    assert sorted(sent) == sorted((t, m) for t in ("es", "ar", "th") for m in MANDARIN), "once"


def test_a_target_added_later_is_translated_from_the_journal_without_a_task(
    fake_service: FakeService, tmp_path: Path
) -> None:
    media = write_media(tmp_path / "talk.wav", 9_000)
    run([media], ("en",))
    tasks = len(fake_service.tasks)
    (added,) = run([media], ("en", "fr"))
    assert added.status is Status.DONE, added.reason
    assert len(fake_service.tasks) == tasks, "no task: the transcript is journaled"
    assert [r.text for r in fake_service.translator.requests] == MANDARIN
    assert lines(tmp_path / "talk.zh-fr.srt", 0) == MANDARIN


def test_an_untranslated_sentence_fails_the_input_and_the_rerun_asks_only_for_the_rest(
    fake_service: FakeService, tmp_path: Path
) -> None:
    media = write_media(tmp_path / "talk.wav", 9_000)
    translator = fake_service.translator
    calls: list[str] = []
    original = translator.translate

    async def translate(request: Any) -> Any:  # the second sentence stays untranslated
        calls.append(request.text)
        if len(calls) == 2:
            raise TranslationFailed("Throttling.RateQuota", "still throttled", attempts=6)
        return await original(request)

    translator.translate = translate  # type: ignore[method-assign]
    (failed,) = run([media], ("en", "es"))
    assert failed.status is Status.FAILED and "es" in failed.reason and "\n" not in failed.reason
    es = tmp_path / "talk.zh-es.srt"
    assert lines(es, -1) == [f"[es] {MANDARIN[0]}"], "valid, up to the last translated cue"
    assert lines(tmp_path / "talk.zh-en.srt", -1) == expected_lines(9_000), "en not held back"
    tasks = len(fake_service.tasks)
    translator.translate = original  # type: ignore[method-assign]
    translator.requests.clear()
    (rerun,) = run([media], ("en", "es"))
    assert rerun.status is Status.DONE, rerun.reason
    assert [r.text for r in translator.requests] == MANDARIN[1:], "only what was missing"
    assert len(fake_service.tasks) == tasks, "the transcript is journaled: no task"
    assert lines(es, -1) == [f"[es] {text}" for text in MANDARIN]


def test_a_stop_leaves_what_was_heard_to_the_next_run(
    fake_service: FakeService, tmp_path: Path
) -> None:
    media = write_media(tmp_path / "talk.wav", 300_000)
    control = RunControl()

    def stop_after_two(event: Event) -> None:
        if isinstance(event, CueWritten) and event.target == "es" and event.sentence_id == 2:
            control.request_stop()

    (stopped,) = run([media], ("es",), source="en", observe=stop_after_two, control=control)
    assert stopped.status is Status.INTERRUPTED
    es = tmp_path / "talk.en-es.srt"
    kept = lines(es, 0)
    (resumed,) = run([media], ("es",), source="en")
    assert resumed.status is Status.DONE, resumed.reason
    every = [line_at(begin)[0] for begin in range(300, 300_000 - 2200 + 1, 3000)]
    assert lines(es, 0) == every and kept == every[: len(kept)]
    texts = [r.text for r in fake_service.translator.requests]
    assert sorted(texts) == sorted(set(texts)), "no sentence translated twice"


def test_the_source_line_is_shown_before_its_translation(
    fake_service: FakeService, tmp_path: Path
) -> None:
    media = write_media(tmp_path / "talk.wav", 6_000)
    seen: list[Event] = []
    run([media], ("es",), source="en", observe=seen.append)
    shown = [e for e in seen if isinstance(e, PartialText | CueWritten) and e.target == "es"]
    firsts = [e for e in shown if isinstance(e, PartialText) and not e.translation]
    assert firsts and firsts[0].transcript == MANDARIN[0]
    assert shown.index(firsts[0]) < next(
        i for i, e in enumerate(shown) if isinstance(e, CueWritten)
    )


def test_the_journal_keeps_the_transcript_sentence_by_sentence(
    fake_service: FakeService, tmp_path: Path
) -> None:
    media = write_media(tmp_path / "talk.wav", 9_000)
    run([media], ("en",))
    journal = tmp_path / ".talk.subtitler-state.jsonl"
    heard = [json.loads(line) for line in journal.read_text().splitlines()[1:]]
    texts = [line["heard"]["text"] for line in heard if "heard" in line]
    assert texts == MANDARIN and any("heard_finished" in line for line in heard)


def test_waiting_sentences_go_in_one_request_and_split_back_by_line(
    fake_service: FakeService, tmp_path: Path
) -> None:
    media = write_media(tmp_path / "talk.wav", 30_000)
    (result,) = run([media], ("es",), source="en", mt_batch=8)
    assert result.status is Status.DONE, result.reason
    every = [line_at(begin)[0] for begin in range(300, 30_000 - 2200 + 1, 3000)]
    requests = fake_service.translator.requests
    assert len(requests) < len(every), "the heard sentences waited and went together"
    assert [line for r in requests for line in r.text.split("\n")] == every, "each once, in order"
    assert lines(tmp_path / "talk.en-es.srt", -1) == [f"[es] {text}" for text in every]
    assert result.translation is not None and result.translation.requests == len(requests)


def test_an_answer_that_does_not_split_into_its_sentences_is_asked_again_one_by_one(
    fake_service: FakeService, tmp_path: Path
) -> None:
    media = write_media(tmp_path / "talk.wav", 30_000)
    translator = fake_service.translator
    original = translator.translate

    async def merging(request: Any) -> Any:  # a model that joins the lines of a batch
        answer = await original(request)
        return dataclasses.replace(answer, text=answer.text.replace("\n", " "))

    translator.translate = merging  # type: ignore[method-assign]
    (result,) = run([media], ("es",), source="en", mt_batch=8)
    assert result.status is Status.DONE, result.reason
    every = [line_at(begin)[0] for begin in range(300, 30_000 - 2200 + 1, 3000)]
    singles = [r.text for r in translator.requests if "\n" not in r.text]
    assert singles == every, "every sentence asked again alone, in order"
    assert lines(tmp_path / "talk.en-es.srt", -1) == [f"[es] {text}" for text in every]
