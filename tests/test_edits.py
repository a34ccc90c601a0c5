"""The edits journal (`engine/edits.py`) and the ops (`review/ops.py`), on values: replay,
undo and redo, every op's edge cases, a torn last line."""

from __future__ import annotations

import errno
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from subtitler.engine import edits
from subtitler.engine.edits import Edit, EditRefused, Review, ReviewCue, Translation
from subtitler.engine.journal import InputState, TargetProgress
from subtitler.layout.cues import Cue, CueText, TimedWord
from subtitler.layout.frames import FrameRate
from subtitler.layout.shots import ShotRules
from subtitler.review import ops

GRID = ops.Grid(frames=FrameRate.of(Fraction(25)))
TARGETS = ("en", "es")


def state() -> InputState:
    def cue(begin: int, end: int, zh: str, other: str, target: str) -> Cue:
        return Cue(begin, end, (CueText("zh", (zh,)), CueText(target, (other,))))

    en = [cue(1000, 2000, "你好世界", "Hello world", "en"), cue(3000, 4000, "再见", "Bye", "en")]
    es = [cue(1000, 2000, "你好世界", "Hola mundo", "es"), cue(3000, 4000, "再见", "Adiós", "es")]
    made = InputState("talk.mp4", {"source_language": "zh"}, {})
    made.targets["en"] = TargetProgress(cues=en, finished=True)
    made.targets["es"] = TargetProgress(cues=es, finished=True)
    return made


def document(review: Review) -> list[ReviewCue]:
    return edits.filled(review.cues, state())


def edit(review: Review, request: dict[str, Any], grid: ops.Grid = GRID) -> Edit:
    """Make one edit as the session does (translations answered by a stand-in)."""
    change, arguments = ops.make_change(review, document(review), request, TARGETS, grid)
    answers = {(p.cue, p.target): Translation(lines=(f"[{p.target}] {p.text}",))
               for p in ops.pending_requests(change, document(review), 3)}  # fmt: skip
    change = ops.answered(change, answers)
    op = request["op"]
    of = review.resolve(op)[0] if op in (edits.UNDO, edits.REDO) else None
    made = Edit(version=review.version + 1, op=op, arguments=arguments, change=change, of=of)
    review.apply(made)
    return made


def fresh() -> Review:
    return edits.replay(edits.base_cues(state()), ())


def test_the_document_is_the_first_targets_cues_with_every_translation() -> None:
    cues = document(fresh())
    assert [c.id for c in cues] == ["c1", "c2"]
    assert cues[0].translation("en").lines == ("Hello world",)
    assert cues[0].translation("es").lines == ("Hola mundo",)


def test_a_source_edit_asks_again_for_every_translation_not_by_hand() -> None:
    review = fresh()
    edit(review, {"op": "translation", "cue": "c1", "target": "en", "lines": ["By hand"]})
    edit(review, {"op": "source", "cue": "c1", "lines": ["你好"]})
    (cue, _) = document(review)
    assert cue.source == ("你好",) and cue.source_edited
    assert cue.translation("en") == Translation(lines=("By hand",), by_hand=True)
    assert cue.translation("es").lines == ("[es] 你好",)


def test_undo_and_redo_are_versions_and_replay_gives_the_same_document(tmp_path: Path) -> None:
    review = fresh()
    made = [edit(review, {"op": "delete", "cue": "c2"})]
    made.append(edit(review, {"op": "undo"}))
    assert [c.id for c in review.cues] == ["c1", "c2"] and review.redoable == [1]
    made.append(edit(review, {"op": "redo"}))
    assert [c.id for c in review.cues] == ["c1"] and review.version == 3
    text = edits.header_line("talk.mp4", "x") + "".join(edits.edit_line(e) for e in made)
    again = edits.replay(edits.base_cues(state()), edits.parse(text).edits)
    assert again.cues == review.cues and again.undoable == review.undoable
    with pytest.raises(EditRefused, match="nothing to redo"):
        edit(review, {"op": "redo"})


def test_a_new_edit_after_an_undo_drops_the_redo() -> None:
    review = fresh()
    edit(review, {"op": "reviewed", "cue": "c1", "value": True})
    edit(review, {"op": "undo"})
    edit(review, {"op": "reviewed", "cue": "c2", "value": True})
    assert not review.redoable
    with pytest.raises(EditRefused):
        edit(review, {"op": "redo"})


def test_a_torn_last_line_is_an_edit_that_did_not_happen() -> None:
    review = fresh()
    first = edit(review, {"op": "delete", "cue": "c1"})
    second = edits.edit_line(Edit(version=2, op=edits.UNDO, of=1))
    text = edits.header_line("talk.mp4", "x") + edits.edit_line(first) + second[:9]
    parsed = edits.parse(text)
    assert [e.version for e in parsed.edits] == [1] and parsed.torn
    replayed = edits.replay(edits.base_cues(state()), parsed.edits)
    assert [c.id for c in replayed.cues] == ["c2"]
    after = text + "\n" + edits.edit_line(Edit(version=2, op=edits.UNDO, of=1))
    assert len(edits.replay(edits.base_cues(state()), edits.parse(after).edits).cues) == 2


def test_timing_snaps_to_frames_and_refuses_overlap_and_an_end_before_the_begin() -> None:
    review = fresh()
    edit(review, {"op": "timing", "cue": "c1", "begin_ms": 1013, "end_ms": 2019})
    assert (review.cues[0].begin_ms, review.cues[0].end_ms) == (1000, 2000)
    edit(review, {"op": "timing", "cue": "c1", "begin_ms": 1040, "end_ms": 2000})
    assert review.cues[0].begin_ms == 1040  # one frame at 25 fps
    for begin, end in ((1000, 3500), (2000, 1000), (1000, 1010)):
        with pytest.raises(EditRefused):
            edit(review, {"op": "timing", "cue": "c1", "begin_ms": begin, "end_ms": end})
    assert review.version == 2


def test_a_boundary_near_a_shot_change_snaps_to_it() -> None:
    frames = FrameRate.of(Fraction(25))
    grid = ops.Grid(frames=frames, shots=ShotRules(frames, (30,)), min_duration_ms=800)
    review = fresh()
    edit(review, {"op": "timing", "cue": "c1", "begin_ms": 1040, "end_ms": 2000}, grid)
    assert review.cues[0].begin_ms == 1200  # frame 30: the change, within half a second


def test_split_by_the_words_times_and_merge_back() -> None:
    words = (TimedWord("你好", 1000, 1400), TimedWord("世界", 1500, 1900))
    base = [replace(edits.base_cues(state())[0], words=words), edits.base_cues(state())[1]]
    review = edits.replay(base, ())
    edit(review, {"op": "split", "cue": "c1", "at_ms": 1450})
    first, second, _ = review.cues
    assert (first.source, second.source) == (("你好",), ("世界",))
    assert (first.end_ms, second.begin_ms, second.id) == (1440, 1440, "r1")
    for bad in (1000, 2000, 5000):
        with pytest.raises(EditRefused, match="not inside"):
            edit(review, {"op": "split", "cue": "c1", "at_ms": bad})
    edit(review, {"op": "merge", "cue": "c1"})
    assert review.cues[0].source == ("你好", "世界") and review.cues[0].end_ms == 2000
    with pytest.raises(EditRefused, match="the last"):
        edit(review, {"op": "merge", "cue": "c2"})


def test_insert_delete_and_bad_requests() -> None:
    review = fresh()
    edit(review, {"op": "insert", "begin_ms": 2200, "end_ms": 2800, "lines": ["新的"]})
    assert [c.id for c in review.cues] == ["c1", "r1", "c2"]
    assert review.cues[1].translation("en").lines == ("[en] 新的",)
    for request in (
        {"op": "insert", "begin_ms": 1500, "end_ms": 2500, "lines": ["x"]},
        {"op": "insert", "begin_ms": 5000, "end_ms": 6000, "lines": []},
        {"op": "source", "cue": "c9", "lines": ["x"]},
        {"op": "source", "cue": "c1", "lines": "x"},
        {"op": "translation", "cue": "c1", "target": "fr", "lines": ["x"]},
        {"op": "reviewed", "cue": "c1", "value": "yes"},
        {"op": "rename"},
    ):
        with pytest.raises(EditRefused):
            edit(review, request)
    edit(review, {"op": "delete", "cue": "r1"})
    assert [c.id for c in review.cues] == ["c1", "c2"] and review.version == 2


def test_a_review_begun_over_another_journal_is_stale(tmp_path: Path) -> None:
    path = tmp_path / ".talk.subtitler-review.jsonl"
    path.write_text(edits.header_line("talk.mp4", "other"), encoding="utf-8")
    assert edits.load(path, state(), '{"version": 3}\n') is None
    path.write_text(edits.header_line("talk.mp4", edits.journal_identity('{"version": 3}\n')))
    loaded = edits.load(path, state(), '{"version": 3}\n')
    assert loaded is not None and loaded.version == 0


def test_cues_the_review_makes_never_take_the_id_of_a_cue_heard_later() -> None:
    """A split over two heard cues, then the base grows (a resumed run heard a third): the
    split's cue is not `c3`, so the replay does not add a cue twice."""
    review = fresh()
    made = edit(review, {"op": "split", "cue": "c2", "at_ms": 3500})
    assert [c.id for c in made.change.added] == ["c2", "r1"]
    grown = [*edits.base_cues(state()),
             ReviewCue(id="c3", begin_ms=5000, end_ms=6000, source=("三",))]  # fmt: skip
    again = edits.replay(grown, [made])
    assert [c.id for c in again.cues] == ["c1", "c2", "r1", "c3"]
    assert again.new_id() == "r2"


def test_a_stale_review_is_set_aside_where_files_have_no_hard_links(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """exFAT, FAT, some FUSE mounts refuse link(): renamed instead, never over an earlier one."""

    def no_links(_source: object, _target: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(edits.os, "link", no_links)
    path = edits.review_path(tmp_path, "talk")
    for number in (1, 2):
        path.write_text(f"review {number}\n", encoding="utf-8")
        aside = edits.set_aside(path)
        assert aside == tmp_path / f".talk.subtitler-review-stale-{number}.jsonl"
        assert aside.read_text(encoding="utf-8") == f"review {number}\n" and not path.exists()


def test_a_stale_review_is_set_aside_never_destroyed(tmp_path: Path) -> None:
    path = edits.review_path(tmp_path, "talk")
    assert edits.set_aside(path) is None
    for number in (1, 2):
        path.write_text(f"review {number}\n", encoding="utf-8")
        aside = edits.set_aside(path)
        assert aside == tmp_path / f".talk.subtitler-review-stale-{number}.jsonl"
        assert aside.read_text(encoding="utf-8") == f"review {number}\n" and not path.exists()
