"""The native client's protocol core, on JSON alone: states, messages, pairing, tolerant results."""

from __future__ import annotations

import json
from typing import Any

import pytest

from subtitler.gummy.protocol import (
    BAD_RESULT,
    DISCONNECTED,
    HANDSHAKE,
    ClientProtocol,
    GummySettings,
    Partial,
    ProtocolViolation,
    Sentence,
    State,
    TaskFailed,
    TaskFinished,
    TaskStarted,
    Word,
)

SETTINGS = GummySettings(api_key="sk-secret", source_language="zh", max_end_silence_ms=800)


def event(name: str, payload: dict[str, Any] | None = None, **header: Any) -> str:
    return json.dumps(
        {"header": {"task_id": "t", "event": name, **header}, "payload": payload or {}}
    )


def result(output: dict[str, Any]) -> str:
    return event("result-generated", {"output": output, "usage": {"duration": 1}})


def started(target: str = "en") -> ClientProtocol:
    protocol = ClientProtocol(SETTINGS, target, task_id="f" * 32)
    protocol.run_task()
    assert protocol.receive(event("task-started")) == [TaskStarted("f" * 32)]
    return protocol


def sentence(sentence_id: int, text: str, end: bool, words: Any = None, **extra: Any) -> Any:
    body: dict[str, Any] = {
        "sentence_id": sentence_id,
        "begin_time": 100,
        "end_time": 900 if end else None,
        "text": text,
        "sentence_end": end,
        **extra,
    }
    if not end:
        body["current_time"] = 500
    if words is not None:
        body["words"] = words
    return body


def test_run_task_carries_the_settings_and_never_the_key() -> None:
    protocol = ClientProtocol(SETTINGS, "en", task_id="a" * 32)
    message = json.loads(protocol.run_task())
    assert message["header"] == {"streaming": "duplex", "task_id": "a" * 32, "action": "run-task"}
    parameters = message["payload"]["parameters"]
    assert parameters["translation_target_languages"] == ["en"]
    assert parameters["source_language"] == "zh" and parameters["max_end_silence"] == 800
    assert "vocabulary_id" not in parameters
    assert "sk-secret" not in json.dumps(message)
    assert protocol.state is State.STARTING


def test_audio_only_while_streaming_and_finish_once() -> None:
    protocol = ClientProtocol(SETTINGS, "en")
    with pytest.raises(ProtocolViolation):
        protocol.audio(b"\0\0")
    protocol.run_task()
    with pytest.raises(ProtocolViolation):
        protocol.audio(b"\0\0")  # before task-started
    protocol.receive(event("task-started"))
    assert protocol.audio(b"\1\2") == b"\1\2"
    finish = json.loads(protocol.finish_task())
    assert finish["header"]["action"] == "finish-task" and finish["payload"] == {"input": {}}
    with pytest.raises(ProtocolViolation):
        protocol.finish_task()


def test_final_transcript_and_translation_are_paired_across_events() -> None:
    protocol = started()
    words = [{"begin_time": 100, "end_time": 500, "text": "你好", "punctuation": "。"}]
    assert protocol.receive(result({"transcription": sentence(0, "你好。", True, words)})) == []
    translation = {"sentence_id": 0, "lang": "en", "text": "Hello.", "sentence_end": True}
    events = protocol.receive(result({"translations": [translation]}))
    assert events == [Sentence(0, 100, 900, "你好。", "Hello.", (Word(100, 500, "你好。"),))]


def test_partials_carry_the_latest_translation_and_current_time() -> None:
    protocol = started()
    partial_translation = {"sentence_id": 3, "lang": "en", "text": "Hel", "sentence_end": False}
    events = protocol.receive(
        result({"transcription": sentence(3, "你", False), "translations": [partial_translation]})
    )
    assert events == [Partial(3, 100, 500, "你", "Hel")]


def test_words_are_read_tolerantly() -> None:
    protocol = started()
    words = [
        {"begin_time": 100, "end_time": 300, "text": " Hello,", "fixed": True, "speaker_id": 0},
        {"begin_time": 300, "end_time": 600, "text": " world"},  # no punctuation field
        {"begin_time": None, "end_time": 700, "text": "x"},  # no usable time: left out
        "garbage",
    ]
    final = sentence(0, "Hello, world.", True, words, stash={"text": "And"}, vad_pre_end=False)
    protocol.receive(result({"transcription": final}))
    (done,) = protocol.receive(
        result(
            {
                "translations": [
                    {"sentence_id": 0, "lang": "zh", "text": "你好。", "sentence_end": True}
                ]
            }
        )
    )
    assert isinstance(done, Sentence)
    assert done.transcript == "Hello, world."
    assert [w.text for w in done.words] == [" Hello,", " world"]


def test_a_missing_word_list_is_fine() -> None:
    protocol = started()
    protocol.receive(result({"transcription": sentence(0, "你好。", True)}))
    (done,) = protocol.receive(
        result(
            {
                "translations": [
                    {"sentence_id": 0, "lang": "en", "text": "Hi.", "sentence_end": True}
                ]
            }
        )
    )
    assert isinstance(done, Sentence) and done.words == ()


def test_a_language_spelled_otherwise_is_still_ours_when_alone() -> None:
    protocol = started("zh")
    protocol.receive(result({"transcription": sentence(0, "Hi.", True)}))
    translation = {"sentence_id": 0, "lang": "zh-CN", "text": "你好。", "sentence_end": True}
    (done,) = protocol.receive(result({"translations": [translation]}))
    assert isinstance(done, Sentence) and done.translation == "你好。"


def test_an_unreadable_result_fails_the_task_instead_of_vanishing() -> None:
    protocol = started()
    (failed,) = protocol.receive(result({"transcription": {"sentence_id": "x", "text": "?"}}))
    assert isinstance(failed, TaskFailed) and failed.code == BAD_RESULT
    assert protocol.state is State.FAILED
    assert protocol.receive(event("task-finished")) == []  # nothing after a failure


def test_only_task_finished_ends_well_and_flushes_untranslated_sentences() -> None:
    protocol = started()
    protocol.receive(result({"transcription": sentence(0, "你好。", True)}))
    protocol.finish_task()
    events = protocol.receive(event("task-finished", {"output": {}, "usage": None}))
    assert events == [Sentence(0, 100, 900, "你好。", "", ()), TaskFinished("f" * 32)]
    assert protocol.connection_lost() == []


def test_a_connection_that_ends_before_task_finished_is_a_failure() -> None:
    protocol = started()
    protocol.finish_task()
    (failed,) = protocol.connection_lost()
    assert isinstance(failed, TaskFailed) and failed.code == DISCONNECTED


def test_task_failed_and_refused_handshakes_keep_the_service_words() -> None:
    protocol = started()
    (failed,) = protocol.receive(
        event(
            "task-failed",
            error_code="CLIENT_ERROR",
            error_message="request timeout after 23 seconds.",
        )
    )
    assert failed == TaskFailed("CLIENT_ERROR", "request timeout after 23 seconds.")
    refused = ClientProtocol(SETTINGS, "en")
    assert refused.handshake_refused(429, "Too Many Requests.\n") == [
        TaskFailed(HANDSHAKE, "Too Many Requests.", 429)
    ]


def test_unknown_events_and_fields_are_ignored() -> None:
    protocol = started()
    assert protocol.receive(event("something-new", {"x": 1})) == []
    assert protocol.receive(result({"future": {"a": 1}})) == []
    assert protocol.state is State.STREAMING
