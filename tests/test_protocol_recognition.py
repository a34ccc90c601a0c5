"""The two recognition-only kinds of task on JSON alone: Fun-ASR realtime (its run-task and its
`output.sentence` results, heartbeats skipped) and Gummy with `translation_enabled: false`."""

from __future__ import annotations

import json
from typing import Any

import pytest

from subtitler.gummy.protocol import (
    FUN_ASR_MODEL,
    MODEL,
    ClientProtocol,
    GummySettings,
    Partial,
    ProtocolViolation,
    Sentence,
    TaskFailed,
    TaskFinished,
    TaskKind,
    TaskStarted,
    Word,
)

TASK_ID = "c" * 32
FUN_ASR = GummySettings(api_key="sk-secret", source_language="en", model=FUN_ASR_MODEL)
RECOGNISE = GummySettings(api_key="sk-secret", source_language="zh", translation_enabled=False)


def event(name: str, payload: dict[str, Any] | None = None, **header: Any) -> str:
    return json.dumps(
        {"header": {"task_id": TASK_ID, "event": name, **header}, "payload": payload or {}}
    )


def result(output: dict[str, Any], duration_s: float = 1) -> str:
    return event("result-generated", {"output": output, "usage": {"duration": duration_s}})


def started(settings: GummySettings) -> ClientProtocol:
    protocol = ClientProtocol(settings, "en", task_id=TASK_ID)
    protocol.run_task()
    assert protocol.receive(event("task-started")) == [TaskStarted(TASK_ID)]
    return protocol


def fun_sentence(sentence_id: int, text: str, end: bool, **fields: Any) -> dict[str, Any]:
    return {
        "sentence": {
            "begin_time": 170,
            "end_time": 920 if end else None,
            "text": text,
            "heartbeat": False,
            "sentence_end": end,
            "sentence_id": sentence_id,
            **fields,
        }
    }


def test_fun_asr_run_task_is_the_documented_frame() -> None:
    protocol = ClientProtocol(FUN_ASR, "es", task_id=TASK_ID)
    assert protocol.kind is TaskKind.FUN_ASR
    assert json.loads(protocol.run_task()) == {
        "header": {"action": "run-task", "task_id": TASK_ID, "streaming": "duplex"},
        "payload": {
            "task_group": "audio",
            "task": "asr",
            "function": "recognition",
            "model": "fun-asr-realtime",
            "parameters": {"format": "pcm", "sample_rate": 16000, "language_hints": ["en"]},
            "input": {},
        },
    }


def test_fun_asr_options_become_its_own_parameters() -> None:
    settings = GummySettings(
        api_key="sk-secret",
        model="fun-asr-realtime-2025-11-07",
        vocabulary_id="vocab-sg1-abc",
        max_end_silence_ms=800,
        heartbeat=True,
    )
    message = json.loads(ClientProtocol(settings, "es", task_id=TASK_ID).run_task())
    assert message["payload"]["model"] == "fun-asr-realtime-2025-11-07"
    assert message["payload"]["parameters"] == {
        "format": "pcm",
        "sample_rate": 16000,  # no language_hints: detected
        "vocabulary_id": "vocab-sg1-abc",
        "max_sentence_silence": 800,
        "heartbeat": True,
    }
    assert "sk-secret" not in json.dumps(message)


def test_fun_asr_results_become_partials_and_sentences() -> None:
    protocol = started(FUN_ASR)
    begin = fun_sentence(1, "", False, sentence_begin=True)
    assert protocol.receive(result(begin)) == [Partial(1, 170, 170, "", "")]
    growing = fun_sentence(1, "Okay, I", False, current_time=600)
    assert protocol.receive(result(growing)) == [Partial(1, 170, 600, "Okay, I", "")]
    words = [
        {"begin_time": 170, "end_time": 295, "text": "Okay", "punctuation": ","},
        {"begin_time": 295, "end_time": 500, "text": " I"},
        {"begin_time": 500, "end_time": 920, "text": " got it", "punctuation": "."},
    ]
    final = fun_sentence(1, "Okay, I got it.", True, words=words, stash={"text": "And"})
    assert protocol.receive(result(final)) == [
        Sentence(
            1,
            170,
            920,
            "Okay, I got it.",
            "",
            (Word(170, 295, "Okay,"), Word(295, 500, " I"), Word(500, 920, " got it.")),
        )
    ]


def test_an_end_time_without_sentence_end_is_still_interim() -> None:
    """The SDK's `is_sentence_end()` asks only for an `end_time`: Fun-ASR ends on `sentence_end`."""
    protocol = started(FUN_ASR)
    interim = fun_sentence(2, "Hello", False, end_time=800)
    assert protocol.receive(result(interim)) == [Partial(2, 170, 800, "Hello", "")]


def test_heartbeats_never_become_events() -> None:
    protocol = started(GummySettings(api_key="k", model=FUN_ASR_MODEL, heartbeat=True))
    beat = {
        "sentence": {
            "begin_time": 0,
            "end_time": None,
            "text": "",
            "heartbeat": True,
            "sentence_end": False,
            "sentence_id": 0,
        }
    }
    assert protocol.receive(result(beat)) == []
    assert protocol.receive(result({})) == []  # usage only


def test_fun_asr_usage_is_the_billed_duration_at_the_end() -> None:
    protocol = started(FUN_ASR)
    protocol.receive(result(fun_sentence(1, "Hi.", True), duration_s=3))
    protocol.finish_task()
    (finished,) = protocol.receive(event("task-finished", {"output": {}, "usage": {"duration": 4}}))
    assert isinstance(finished, TaskFinished) and finished.billed_s == 4.0
    assert finished == TaskFinished(TASK_ID)  # billing is not what the end is


def test_fun_asr_failures_keep_the_service_words() -> None:
    protocol = started(FUN_ASR)
    failed = event(
        "task-failed", error_code="CLIENT_ERROR", error_message="request timeout after 23 seconds."
    )
    assert protocol.receive(failed) == [
        TaskFailed("CLIENT_ERROR", "request timeout after 23 seconds.")
    ]


def test_an_unreadable_fun_asr_sentence_fails_the_task() -> None:
    protocol = started(FUN_ASR)
    (failed,) = protocol.receive(result({"sentence": {"sentence_id": "x", "text": "?"}}))
    assert isinstance(failed, TaskFailed) and failed.code == "BadResult"


def test_gummy_recognition_only_run_task_asks_for_no_translation() -> None:
    protocol = ClientProtocol(RECOGNISE, "zh", task_id=TASK_ID)
    assert protocol.kind is TaskKind.RECOGNISE
    message = json.loads(protocol.run_task())
    assert message["header"] == {"streaming": "duplex", "task_id": TASK_ID, "action": "run-task"}
    assert message["payload"]["model"] == MODEL
    assert message["payload"]["parameters"] == {
        "sample_rate": 16000,
        "format": "pcm",
        "source_language": "zh",
        "transcription_enabled": True,
        "translation_enabled": False,
    }


def test_gummy_recognition_only_gives_sentences_as_soon_as_final() -> None:
    protocol = started(RECOGNISE)
    partial = {"sentence_id": 0, "begin_time": 100, "current_time": 400, "text": "你"}
    partial["sentence_end"] = False
    assert protocol.receive(result({"transcription": partial})) == [Partial(0, 100, 400, "你", "")]
    word = {"begin_time": 100, "end_time": 900, "text": "你好"}
    final = {"sentence_id": 0, "begin_time": 100, "end_time": 900, "text": "你好。"}
    final.update({"sentence_end": True, "words": [word]})
    stray = [{"sentence_id": 0, "lang": "en", "text": "Hi.", "sentence_end": True}]
    assert protocol.receive(result({"transcription": final, "translations": stray})) == [
        Sentence(0, 100, 900, "你好。", "", (Word(100, 900, "你好"),))
    ]
    protocol.finish_task()
    assert protocol.receive(event("task-finished")) == [TaskFinished(TASK_ID)]


def test_a_task_that_neither_transcribes_nor_translates_is_a_bug() -> None:
    settings = GummySettings(api_key="k", transcription_enabled=False, translation_enabled=False)
    with pytest.raises(ProtocolViolation):
        ClientProtocol(settings, "en")


def test_the_translating_task_is_unchanged() -> None:
    settings = GummySettings(api_key="k", source_language="zh")
    assert settings.kind is TaskKind.TRANSLATE
    message = json.loads(ClientProtocol(settings, "en", task_id=TASK_ID).run_task())
    parameters = message["payload"]["parameters"]
    assert parameters["translation_enabled"] is True
    assert parameters["translation_target_languages"] == ["en"]
    assert message["payload"]["model"] == "gummy-realtime-v1"
