"""Recognition once per input, its pure parts: which transcript a translation takes, waiting for
the recognising task, and a translate-only task's results read by the client protocol."""

from __future__ import annotations

import asyncio
import json

from subtitler.engine.pairing import Cursor, Heard, Ledger, Reader, transcript_of
from subtitler.gummy.protocol import (
    ClientProtocol,
    GummySettings,
    Partial,
    Sentence,
    run_task_message,
)
from subtitler.layout.cues import Cue, CueText

TRANSLATING = GummySettings(api_key="k", transcription_enabled=False)


def heard(begin_ms: int, end_ms: int, text: str) -> Heard:
    return Heard(begin_ms, end_ms, text)


def test_each_transcript_sentence_goes_to_one_translation_by_its_middle() -> None:
    ledger = Ledger()
    for piece in [heard(0, 1000, "a"), heard(1200, 2000, "b"), heard(2100, 4000, "c"),
                  heard(5000, 6000, "d")]:  # fmt: skip
        ledger.add(piece)
    cursor = Cursor(ledger, 0)
    # Cut differently: the first translation spans a and b; c's middle (3050) is past 2900.
    assert [p.text for p in cursor.take(2900)] == ["a", "b"]
    assert [p.text for p in cursor.take(4100)] == ["c"]
    assert cursor.take(4500) == []  # a translation with no transcript still gets its cue
    assert [p.text for p in cursor.take(7000)] == ["d"]
    assert cursor.take(9000) == []
    assert ledger.heard == []  # taken by every target: not kept for the rest of the run


def test_a_gap_goes_to_the_next_translation_and_a_resume_skips_what_earlier_cues_took() -> None:
    ledger = Ledger()
    ledger.seed([Cue(0, 900, (CueText("zh", ("早上", "好。")), CueText("en", ("Morning.",)))),
                 Cue(1000, 1900, (CueText("zh", ("再见。",)), CueText("en", ("Bye.",))))],
                settled_ms=1900)  # fmt: skip
    assert [h.text for h in ledger.heard] == ["早上好。", "再见。"]
    resumed = Cursor(ledger, from_ms=950)  # this target's journal ends at 950
    assert [p.text for p in resumed.take(2000)] == ["再见。"]
    text, words = transcript_of([heard(0, 1, "Hello"), heard(2, 3, "world.")])
    assert (text, words) == ("Hello world.", ())


def test_a_translation_waits_for_the_transcript_of_its_time() -> None:
    async def scenario() -> list[bool]:
        ledger = Ledger()
        waiting = asyncio.create_task(ledger.settled_past(3000))
        await asyncio.sleep(0)
        assert not waiting.done()
        ledger.add(heard(0, 2000, "a"))
        await asyncio.sleep(0)
        assert not waiting.done()  # not yet past its end
        ledger.add(heard(2500, 3500, "b"))
        early = await waiting
        stopped = Ledger()
        stopped.add(heard(0, 1000, "a"))
        stopped.close(complete=False)  # the recognising task stopped short (Ctrl-C)
        cut = await stopped.settled_past(5000)
        whole = Ledger()
        whole.close(complete=True)  # it heard everything: nothing more will come
        return [early, cut, await whole.settled_past(5000)]

    assert asyncio.run(scenario()) == [True, False, True]


def test_a_translate_only_task_asks_for_no_transcription_and_reads_translation_times() -> None:
    message = run_task_message(TRANSLATING, "ja", "f" * 32)
    assert message["payload"]["parameters"]["transcription_enabled"] is False
    protocol = ClientProtocol(TRANSLATING, "ja", task_id="f" * 32)
    protocol.run_task()
    protocol.receive(json.dumps({"header": {"event": "task-started"}}))

    def result(text: str, end: bool) -> str:
        item = {"sentence_id": 3, "lang": "ja", "begin_time": 1200, "end_time": 2400,
                "text": text, "sentence_end": end}  # fmt: skip
        output = {"translations": [item]}
        return json.dumps({"header": {"event": "result-generated"}, "payload": {"output": output}})

    assert protocol.receive(result("こん", False)) == [Partial(3, 1200, 2400, "", "こん")]
    assert protocol.receive(result("こんにちは。", True)) == [
        Sentence(3, 1200, 2400, "", "こんにちは。", ())
    ]


def test_two_translating_targets_each_take_every_piece_once_however_far_apart() -> None:
    ledger = Ledger()
    fast, slow = Cursor(ledger, 0), Cursor(ledger, 0)
    for start in range(0, 10_000, 1000):
        ledger.add(heard(start, start + 800, f"s{start // 1000}"))
    assert [p.text for p in fast.take(10_000)] == [f"s{n}" for n in range(10)]
    assert len(ledger.heard) == 10  # the slow target has taken nothing yet
    assert [p.text for p in slow.take(3000)] == ["s0", "s1", "s2"]
    assert len(ledger.heard) == 7
    assert [p.text for p in slow.take(10_000)] == [f"s{n}" for n in range(3, 10)]
    assert ledger.heard == []


def test_a_reader_that_stops_leaves_nothing_held_for_it() -> None:
    """A Qwen-MT target that failed or stopped must not make the input keep its transcript for
    the rest of a long run."""
    ledger = Ledger()
    reading, stopping = Reader(ledger, 0), Reader(ledger, 0)
    for begin_ms in (0, 1000, 2000):
        ledger.add(Heard(begin_ms, begin_ms + 500, f"s{begin_ms}"))
    assert [piece.text for piece in reading.ready(10, 1000)] == ["s0", "s1000", "s2000"]
    assert len(ledger.heard) == 3, "kept for the target still to read them"
    stopping.close()
    assert ledger.heard == []
    reading.close()
    ledger.add(Heard(3000, 3500, "s3000"))
    assert ledger.heard == [], "nobody reads it any more"
