"""The emulator's protocol core on JSON alone: no sockets, no threads."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from subtitler.emulator.admission import Admission, FaultBudget
from subtitler.emulator.config import EmulatorConfig
from subtitler.emulator.messages import CloseConnection, DropConnection, SendEvent, TaskState
from subtitler.emulator.protocol import ConnectionProtocol
from subtitler.emulator.scripts import ScriptLibrary

LIBRARY = ScriptLibrary([])


def run_task(task_id: str = "t" * 32, **parameters: Any) -> str:
    base = {
        "sample_rate": 16000,
        "format": "pcm",
        "source_language": None,
        "transcription_enabled": True,
        "translation_enabled": True,
        "translation_target_languages": ["en"],
    }
    base.update(parameters)
    return json.dumps(
        {
            "header": {"streaming": "duplex", "task_id": task_id, "action": "run-task"},
            "payload": {
                "model": parameters.pop("model", "gummy-realtime-v1"),
                "parameters": base,
                "input": {},
                "task": "asr",
                "task_group": "audio",
                "function": "recognition",
            },
        }
    )


def finish(task_id: str = "t" * 32) -> str:
    return json.dumps(
        {
            "header": {"task_id": task_id, "action": "finish-task", "streaming": "duplex"},
            "payload": {"input": {}},
        }
    )


def speech_pcm() -> bytes:
    t = np.arange(16000) / 16000
    speech = 8000 * np.sin(2 * np.pi * 220 * t)
    return np.concatenate([np.zeros(4000), speech, np.zeros(16000)]).astype("<i2").tobytes()


def events(actions: list[Any]) -> list[dict[str, Any]]:
    return [a.message for a in actions if isinstance(a, SendEvent)]


def connection(**config: Any) -> ConnectionProtocol:
    settings = EmulatorConfig(**config)
    return ConnectionProtocol(
        settings,
        LIBRARY,
        Admission(settings.max_concurrent_tasks),
        FaultBudget(settings.faults_max),
    )


def test_a_whole_task_in_order() -> None:
    protocol = connection()
    started = events(protocol.receive_text(run_task()))
    assert started == [
        {"header": {"task_id": "t" * 32, "event": "task-started", "attributes": {}}, "payload": {}}
    ]
    results = []
    audio = speech_pcm()
    for offset in range(0, len(audio), 3200):
        results += events(protocol.receive_binary(audio[offset : offset + 3200]))
    results += events(protocol.receive_text(finish()))
    assert results[-1]["header"]["event"] == "task-finished"
    assert results[-1]["payload"] == {"output": {}}
    outputs = [r["payload"]["output"] for r in results[:-1]]
    final = outputs[-1]["transcription"]
    assert final["sentence_end"] is True
    assert (final["begin_time"], final["end_time"]) == (250, 1250)
    assert all(o["transcription"]["sentence_end"] is False for o in outputs[:-1])
    assert all(o["transcription"]["end_time"] is None for o in outputs[:-1])
    assert all(isinstance(o["transcription"]["current_time"], int) for o in outputs[:-1])
    translation = outputs[-1]["translations"][0]
    assert translation["lang"] == "en" and translation["sentence_end"] is True
    assert results[-2]["payload"]["usage"] == {"duration": 1}
    assert protocol.state is TaskState.IDLE


def test_a_second_task_may_follow_on_the_same_connection() -> None:
    protocol = connection()
    protocol.receive_text(run_task("a" * 32))
    protocol.receive_text(finish("a" * 32))
    again = events(protocol.receive_text(run_task("b" * 32)))
    assert again[0]["header"]["event"] == "task-started"


@pytest.mark.parametrize(
    ("message", "code"),
    [
        (run_task(model="paraformer-x"), "ModelNotFound"),
        (run_task(format="wav"), "InvalidParameter"),
        (run_task(sample_rate=48000), "InvalidParameter"),
        (run_task(translation_target_languages=[]), "InvalidParameter"),
        (run_task(max_end_silence=5), "InvalidParameter"),
        (run_task(task_id=""), "InvalidParameter"),
        ("", "InvalidParameter"),
        ("\x00\xff", "InvalidParameter"),
    ],
)
def test_refused_run_tasks_fail_and_close(message: str, code: str) -> None:
    protocol = connection()
    actions = protocol.receive_text(message)
    failed = events(actions)
    assert failed[0]["header"]["event"] == "task-failed"
    assert failed[0]["header"]["error_code"] == code
    assert isinstance(failed[0]["header"]["error_message"], str)
    assert isinstance(actions[-1], CloseConnection)
    assert protocol.receive_binary(b"\x00\x00") == []  # nothing after the failure


def test_throttling_frees_its_slot_when_a_task_ends() -> None:
    admission = Admission(1)
    config = EmulatorConfig(max_concurrent_tasks=1)
    first = ConnectionProtocol(config, LIBRARY, admission, FaultBudget(None))
    second = ConnectionProtocol(config, LIBRARY, admission, FaultBudget(None))
    first.receive_text(run_task("a" * 32))
    refused = events(second.receive_text(run_task("b" * 32)))
    assert refused[0]["header"]["error_code"] == "Throttling.RateQuota"
    first.receive_text(finish("a" * 32))
    third = ConnectionProtocol(config, LIBRARY, admission, FaultBudget(None))
    assert events(third.receive_text(run_task("c" * 32)))[0]["header"]["event"] == "task-started"


def test_drop_and_fail_faults_respect_the_budget() -> None:
    budget = FaultBudget(1)
    config = EmulatorConfig(drop_after_audio_ms=100)
    dropped = ConnectionProtocol(config, LIBRARY, Admission(None), budget)
    dropped.receive_text(run_task())
    assert isinstance(dropped.receive_binary(b"\x00" * 3200)[-1], DropConnection)
    spared = ConnectionProtocol(config, LIBRARY, Admission(None), budget)
    spared.receive_text(run_task())
    assert spared.receive_binary(b"\x00" * 3200) == []
    assert budget.injected == 1


def test_split_mode_sends_transcription_then_translation() -> None:
    protocol = connection(split_final_translation=True)
    protocol.receive_text(run_task())
    out = events(protocol.receive_binary(speech_pcm()))
    out += events(protocol.receive_text(finish()))
    finals = [
        o
        for o in out
        if o["header"]["event"] == "result-generated"
        and (
            o["payload"]["output"].get("transcription", {}).get("sentence_end")
            or o["payload"]["output"].get("translations", [{}])[0].get("sentence_end")
        )
    ]
    assert "translations" not in finals[0]["payload"]["output"]
    assert "transcription" not in finals[1]["payload"]["output"]
    assert finals[1]["payload"]["output"]["translations"][0]["sentence_end"] is True


def test_frames_split_mid_sample_are_reassembled() -> None:
    whole, split = connection(), connection()
    whole.receive_text(run_task())
    split.receive_text(run_task())
    audio = speech_pcm()
    expected = events(whole.receive_binary(audio)) + events(whole.receive_text(finish()))
    got = []
    for offset in range(0, len(audio), 3201):
        got += events(split.receive_binary(audio[offset : offset + 3201]))
    got += events(split.receive_text(finish()))
    finals = [e for e in got if e["payload"]["output"].get("transcription", {}).get("sentence_end")]
    wanted = [
        e for e in expected if e["payload"]["output"].get("transcription", {}).get("sentence_end")
    ]
    assert finals == wanted


@pytest.mark.parametrize("rate", [0, -1.0])
def test_a_task_rate_of_zero_or_less_is_refused_not_taken_as_refuse_all(rate: float) -> None:
    with pytest.raises(ValueError, match="max_task_rate"):
        EmulatorConfig(max_task_rate=rate)
    assert EmulatorConfig(max_task_rate=None).max_task_rate is None  # no limit
