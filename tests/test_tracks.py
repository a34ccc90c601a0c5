"""Tracks on a real file system: valid after every update, strict parsers accept them."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pysrt
import pytest
import webvtt
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from subtitler.engine.plan import TrackPlan
from subtitler.engine.plan import plan_tracks as plan_for_options
from subtitler.errors import OutputError
from subtitler.layout.cues import Cue, CueText, LayoutUpdate
from subtitler.options import make_options
from subtitler.sources.inputs import InputFile
from subtitler.tracks import Layout, TrackFormat
from subtitler.tracks.durable import FileOp
from tests.support import perform


def plan_tracks(
    item: InputFile,
    out_dir: Path | None,
    source: str | None,
    targets: tuple[str, ...],
    layout: Layout,
    formats: tuple[TrackFormat, ...] = (TrackFormat.SRT, TrackFormat.VTT),
) -> list[TrackPlan]:
    options = make_options(
        targets,
        api_key="k",
        out_dir=out_dir,
        layout=layout,
        formats=formats,
        source_language=source,
    )
    return plan_for_options(item, options, source)


def write(operation: FileOp | None) -> None:
    if operation is not None:
        perform([operation])


def cue(begin_ms: int, end_ms: int, source: str, target: str) -> Cue:
    return Cue(
        begin_ms, end_ms, (CueText("zh", (source,)), CueText("en", (target,) if target else ()))
    )


def names(plans: list) -> list[str]:  # type: ignore[type-arg]
    return [path.name for plan in plans for path in plan.paths]


def test_names_say_the_languages_for_every_layout(tmp_path: Path) -> None:
    item = InputFile(tmp_path / "show" / "Ep 1.mkv", Path("show"))
    assert names(plan_tracks(item, None, "zh", ("en",), Layout.BILINGUAL)) == [
        "Ep 1.zh-en.srt",
        "Ep 1.zh-en.vtt",
    ]
    assert names(plan_tracks(item, None, None, ("en", "ja"), Layout.SEPARATE)) == [
        "Ep 1.und.srt",
        "Ep 1.und.vtt",
        "Ep 1.en.srt",
        "Ep 1.en.vtt",
        "Ep 1.ja.srt",
        "Ep 1.ja.vtt",
    ]
    both = names(plan_tracks(item, None, "zh", ("en",), Layout.BOTH))
    assert both == [
        "Ep 1.zh-en.srt",
        "Ep 1.zh-en.vtt",
        "Ep 1.zh.srt",
        "Ep 1.zh.vtt",
        "Ep 1.en.srt",
        "Ep 1.en.vtt",
    ]
    out = plan_tracks(item, tmp_path / "out", "zh", ("en",), Layout.BILINGUAL)[0].paths[0]
    assert out == tmp_path / "out" / "show" / "Ep 1.zh-en.srt"


def test_every_state_of_growing_tracks_parses_strictly(tmp_path: Path) -> None:
    item = InputFile(tmp_path / "a --> b.mp4", Path())
    (plan,) = plan_tracks(item, None, "zh", ("en",), Layout.BOTH)
    for track in plan.tracks:
        write(track.open())
    bilingual_srt, bilingual_vtt, zh_srt, _zh_vtt, en_srt, en_vtt = plan.tracks
    assert bilingual_srt.path.read_bytes() == b""
    updates = [
        LayoutUpdate(None, (cue(1000, 1800, "你好。", "Hello."),)),
        LayoutUpdate(None, (cue(2000, 2900, "a --> b", "<b>tag</b> & 1 < 2"),)),
        LayoutUpdate(
            cue(2000, 2500, "a --> b", "<b>tag</b> & 1 < 2"), (cue(2600, 3500, "只有中文", ""),)
        ),
    ]
    for step, update in enumerate(updates, start=1):
        for track in plan.tracks:
            write(track.apply(update))
        srt = pysrt.open(str(bilingual_srt.path), error_handling=pysrt.ERROR_RAISE)
        vtt = webvtt.from_string(bilingual_vtt.path.read_text(encoding="utf-8"), strict=True)
        assert len(srt) == len(vtt) == [1, 2, 3][step - 1]
        assert [c.index for c in srt] == list(range(1, len(srt) + 1))
    for track in plan.tracks:
        write(track.finish())
    srt = pysrt.open(str(bilingual_srt.path))
    assert srt[1].end.ordinal == 2500, "the revised cue replaced the old one"
    assert srt[2].text == "只有中文"
    assert len(pysrt.open(str(en_srt.path))) == 2, (
        "a cue with no English is not in the English track"
    )
    assert len(pysrt.open(str(zh_srt.path))) == 3
    vtt_text = bilingual_vtt.path.read_text(encoding="utf-8")
    assert "NOTE Source: a → b.mp4" in vtt_text and "NOTE Languages: zh, en" in vtt_text
    assert "<lang zh>你好。</lang>\n<lang en>Hello.</lang>" in vtt_text
    assert "&lt;b&gt;tag&lt;/b&gt; &amp; 1 &lt; 2" in vtt_text
    assert "NOTE Languages: en" in en_vtt.path.read_text(encoding="utf-8")
    assert not re.search(r"<lang", zh_srt.path.read_text(encoding="utf-8"))
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_an_unwritable_folder_is_an_output_error_naming_it(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    item = InputFile(tmp_path / "v.mp4", Path("file"))
    (plan,) = plan_tracks(item, tmp_path, "zh", ("en",), Layout.BILINGUAL)
    with pytest.raises(OutputError) as caught:
        write(plan.tracks[0].open())
    assert str(blocker) in str(caught.value)
    assert os.path.exists(blocker)


def test_ass_and_ttml_grow_valid_and_take_revisions(tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    import pysubs2

    from subtitler.tracks import imsc

    item = InputFile(tmp_path / "a {b} <c> & d.mp4", Path())
    formats = (TrackFormat.ASS, TrackFormat.TTML)
    (plan,) = plan_tracks(item, None, "zh", ("en",), Layout.BOTH, formats)
    for track in plan.tracks:
        write(track.open())
    ass, ttml = plan.tracks[0], plan.tracks[1]
    assert len(pysubs2.load(str(ass.path)).events) == 0
    assert imsc.problems(ET.parse(ttml.path).getroot()) == []
    updates = [
        LayoutUpdate(None, (cue(1000, 1800, "你好。", "Hello {there} \\N & <b>"),)),
        LayoutUpdate(cue(1000, 1500, "你好。", "Hello {there} \\N & <b>"), ()),
        LayoutUpdate(None, (cue(2600, 3500, "只有中文", ""),)),
    ]
    for step, update in enumerate(updates, start=1):
        for track in plan.tracks:
            write(track.apply(update))
        events = pysubs2.load(str(ass.path)).events
        root = ET.parse(ttml.path).getroot()
        paragraphs = list(root.iter(f"{{{imsc.TT}}}p"))
        assert len(events) == len(paragraphs) == [1, 1, 2][step - 1]
        assert imsc.problems(root) == []
    for track in plan.tracks:
        write(track.finish())
    events = pysubs2.load(str(ass.path)).events
    assert events[0].end == 1500, "the revised cue replaced the old one"
    assert events[0].text == "你好。\\N{\\ren}Hello ｛there｝ ＼N & <b>"
    assert events[1].text == "只有中文"
    texts = ["".join(p.itertext()) for p in ET.parse(ttml.path).getroot().iter(f"{{{imsc.TT}}}p")]
    assert texts == ["你好。Hello {there} \\N & <b>", "只有中文"]
    english = next(t for t in plan.tracks if t.path.name == "a {b} <c> & d.en.ass")
    assert len(pysubs2.load(str(english.path)).events) == 1
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


FORMATS = (
    TrackFormat.SRT, TrackFormat.VTT, TrackFormat.ASS, TrackFormat.TTML, TrackFormat.EBU_TT_D,
    TrackFormat.SCC,
)  # fmt: skip
BILINGUAL_ZH_EN = (None, "zh", ("en",), Layout.BOTH, FORMATS)
TEXTS = st.text(alphabet="ab 你好<>&{}\\-\n", min_size=0, max_size=12)
CUES = st.builds(
    lambda begin, length, source, target: cue(begin, begin + length, source, target),
    st.integers(0, 10_000_000),
    st.integers(1, 9_000),
    TEXTS,
    TEXTS,
)


@given(st.lists(st.tuples(st.booleans(), st.lists(CUES, max_size=3)), min_size=1, max_size=8))
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_a_patched_track_is_the_track_restored_from_its_cues(
    tmp_path: Path, steps: list[tuple[bool, list[Cue]]]
) -> None:
    """After any updates (revisions that shrink or grow the last cue, cues with no text in a
    track's languages), each track's file is the one a fresh restore of the same cues writes,
    and a restore renders the cues at once exactly as one by one."""
    example = tmp_path / str(len(list(tmp_path.iterdir())))
    (plan,), (fresh,), (third,), (current,) = (
        plan_tracks(InputFile(example / name / "x.mp4", Path()), *BILINGUAL_ZH_EN)
        for name in ("patched", "restored", "one by one", "now")
    )
    (example / "patched").mkdir(parents=True)
    for track in plan.tracks:
        write(track.open())
    cues: list[Cue] = []
    for revise, added in steps:
        replaced = None
        if revise and cues:
            replaced = Cue(cues[-1].begin_ms, cues[-1].end_ms + 1, cues[-1].texts[::-1])
            cues[-1] = replaced
        cues += added
        update = LayoutUpdate(replaced, tuple(added))
        for track, now in zip(plan.tracks, current.tracks, strict=True):
            write(track.apply(update))
            # at every step: the whole track so far, and line feeds where a revision shrank it
            assert track.path.read_bytes().rstrip(b"\n") == now.restore(cues).data.rstrip(b"\n")
    for track, other, separate in zip(plan.tracks, fresh.tracks, third.tracks, strict=True):
        write(track.finish())
        restored = other.restore(cues)
        assert track.path.read_bytes() == restored.data, track.path.name
        separate.restore([])
        items, _ = separate._numbered(cues)
        one_by_one = b"".join(separate._render([item]).encode() for item in items)
        assert restored.data == other._head + one_by_one + other._foot
