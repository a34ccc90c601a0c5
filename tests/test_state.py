"""The resume journal: replayed exactly, a torn last line ignored, damage refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from subtitler.engine import journal as resume_state
from subtitler.errors import OutputError
from subtitler.layout.cues import Cue, CueText, LayoutUpdate
from tests.support import perform


def cue(begin_ms: int, text: str) -> Cue:
    return Cue(begin_ms, begin_ms + 1000, (CueText("zh", (text,)), CueText("en", ())))


def test_appended_updates_replay_to_the_same_cues(tmp_path: Path) -> None:
    path = resume_state.state_path(tmp_path, "film")
    state = resume_state.InputState("film.mkv", {"targets": ["en"]}, {})
    journal = resume_state.Journal(path)
    perform([journal.begin(state)])
    progress = resume_state.TargetProgress()
    progress.resume_ms = 1200
    perform([journal.append("en", progress, LayoutUpdate(None, (cue(0, "一"),)))])
    progress.resume_ms = 2600
    perform([journal.append("en", progress, LayoutUpdate(cue(0, "一二"), (cue(2000, "三"),)))])
    loaded = resume_state.load(path)
    assert loaded is not None and loaded.settings == {"targets": ["en"]}
    assert loaded.targets["en"].resume_ms == 2600
    assert [c.texts[0].lines for c in loaded.targets["en"].cues] == [("一二",), ("三",)]
    assert path.name == ".film.subtitler-state.jsonl"


def test_a_torn_last_line_is_an_update_that_did_not_happen(tmp_path: Path) -> None:
    path = tmp_path / ".x.subtitler-state.jsonl"
    journal = resume_state.Journal(path)
    perform([journal.begin(resume_state.InputState("x.mp4", {}, {}))])
    progress = resume_state.TargetProgress(resume_ms=900)
    perform([journal.append("en", progress, LayoutUpdate(None, (cue(0, "a"),)))])
    with open(path, "a", encoding="utf-8") as handle:
        handle.write('{"target": "en", "resume_ms": 5000, "replaced": null, "add')
    loaded = resume_state.load(path)
    assert loaded is not None
    assert loaded.targets["en"].resume_ms == 900 and len(loaded.targets["en"].cues) == 1


def test_damage_before_the_end_is_refused(tmp_path: Path) -> None:
    path = tmp_path / ".x.subtitler-state.jsonl"
    path.write_text('{"version": 2, "source": "x", "settings": {}}\nnot json\n{}\n')
    with pytest.raises(OutputError, match="damaged"):
        resume_state.load(path)
    assert resume_state.load(tmp_path / "missing.jsonl") is None
