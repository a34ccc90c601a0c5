"""SCC: line-21 scheduling (pure), characters, and files read back by ttconv's and ffmpeg's
SCC readers on a real file system."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ttconv.isd import ISD
from ttconv.scc.reader import to_model

from subtitler.engine.plan import plan_tracks
from subtitler.errors import UsageError
from subtitler.layout.cues import Cue, CueText, LayoutUpdate
from subtitler.options import make_options
from subtitler.sources.inputs import InputFile
from subtitler.tracks.scc import Packet, SccTrack, Schedule, loading, place, rows_of
from tests.support import ffmpeg_to_srt, perform

EDM, EOC = 0x142C, 0x142F


def occupied(packets: list[Packet]) -> list[int]:
    return [packet.frame + i for packet in packets for i in range(len(packet.words))]


def load_words(atoms: list[tuple[int, ...]]) -> int:
    return sum(len(atom) for atom in atoms)


def test_a_loading_that_fits_ends_where_the_caption_appears() -> None:
    atoms = loading(["Hello there."])
    packets, after = place(Schedule(0), 100, 160, atoms)
    assert packets[-1] == Packet(100, (EOC, EOC))
    assert packets[0].frame == 100 - load_words(atoms) and len(packets) == 2
    assert after == Schedule(102, 160)


def test_the_previous_erase_gets_its_own_frames_inside_a_loading() -> None:
    atoms = loading(["A caption of twenty-odd", "characters on two rows."])
    words = load_words(atoms)
    packets, after = place(Schedule(40, 90), 100, 200, atoms)
    frames = occupied(packets)
    assert len(frames) == len(set(frames)) == words + 4
    assert Packet(90, (EDM, EDM)) in packets
    assert packets[-1] == Packet(100, (EOC, EOC)) and min(frames) >= 40
    assert after == Schedule(102, 200)


def test_a_caption_with_no_room_appears_when_loaded_never_dropped() -> None:
    atoms = loading(["Thirty-two characters of text..", "and thirty-two more characters.."])
    words = load_words(atoms)
    packets, _ = place(Schedule(95), 100, 200, atoms)
    assert packets[0].frame == 95
    assert packets[-1] == Packet(95 + words, (EOC, EOC))


def test_a_caption_appearing_before_the_erase_would_end_replaces_the_shown_one() -> None:
    packets, _ = place(Schedule(10, 99), 100, 150, loading(["Next."]))
    assert all(EDM not in packet.words for packet in packets)


@given(
    st.lists(
        st.tuples(st.integers(0, 120), st.integers(1, 200), st.text("abc ÜéÀ♪", max_size=60)),
        min_size=1,
        max_size=12,
    )
)
def test_line_21_carries_one_word_per_frame_in_time_order(
    steps: list[tuple[int, int, str]],
) -> None:
    """Any captions in time order: no two words on one frame, packets in order, every caption
    appears at its in-time or, late, only when line 21 had no free frame for its loading."""
    schedule = Schedule(0)
    begin = 0
    every: list[Packet] = []
    for gap, duration, text in steps:
        begin += gap
        atoms = loading(rows_of([text]) or [""])
        previous = schedule
        packets, schedule = place(schedule, begin, begin + duration, atoms)
        shown = packets[-1]
        assert shown.words == (EOC, EOC) and shown.frame >= begin
        if shown.frame > begin:  # late: the frames from the last EOC on are all taken
            assert len(occupied(packets)) - 2 >= shown.frame - previous.free_frame - 2
        every += packets
        begin = max(begin + duration, shown.frame + 2)
    frames = occupied(every)
    assert len(frames) == len(set(frames))
    assert [p.frame for p in every] == sorted(p.frame for p in every)


def test_rows_fit_32_columns_and_4_rows() -> None:
    assert rows_of(["x" * 40]) == ["x" * 32, "x" * 8]
    assert rows_of(["x" * 30 + "…"]) == ["x" * 30 + "..", "."]  # counted as sent
    rows = rows_of(["word " * 40])
    assert len(rows) == 4 and all(len(row) <= 32 for row in rows) and rows[-1].endswith("...")


def cue(begin_ms: int, end_ms: int, text: str) -> Cue:
    return Cue(begin_ms, end_ms, (CueText("de", (text,)),))


TEXTS = [
    "Über Straße – „Ja“ ♪♪",
    "¿Qué? Ça va, déjà vu: 50% «oui» © 2026.",
    "Zwei Zeilen, zweiunddreißig Zeichen pro Zeile.",
]


def written_track(tmp_path: Path, offset_ms: int = 0) -> tuple[SccTrack, list[Cue]]:
    track = SccTrack(tmp_path / "talk.de", (0,))
    track.describe(None, offset_ms)
    perform([track.open()])
    cues = [cue(2000, 4000, TEXTS[0]), cue(4100, 6000, TEXTS[1]), cue(9000, 12000, TEXTS[2])]
    perform([track.apply(LayoutUpdate(None, tuple(cues[:2])))])
    revised = cue(4100, 7000, TEXTS[1])
    perform([track.apply(LayoutUpdate(revised, (cues[2],)))])
    perform([track.finish()])
    return track, [cues[0], revised, cues[2]]


def ttconv_captions(path: Path) -> list[tuple[float, float, str]]:
    """(begin s, end s, text) of each caption ttconv's reader finds."""
    document = to_model(path.read_text(encoding="utf-8"))
    shown: list[tuple[float, float, str]] = []
    for begin, isd in ISD.generate_isd_sequence(document):
        if shown and shown[-1][1] < 0:
            shown[-1] = (shown[-1][0], float(begin), shown[-1][2])
        texts = []
        for region in isd.iter_regions():
            for element in _walk(region):
                text = getattr(element, "get_text", None)
                if text is not None:
                    texts.append(text())
        if texts:
            shown.append((float(begin), -1.0, " ".join(" ".join(texts).split())))
    return shown


def _walk(element):  # type: ignore[no-untyped-def]
    yield element
    for child in element:
        yield from _walk(child)


def test_a_growing_track_with_revisions_reads_back_in_ttconv_and_ffmpeg(tmp_path: Path) -> None:
    track, cues = written_track(tmp_path)
    text = track.path.read_text(encoding="utf-8")
    assert text.startswith("Scenarist_SCC V1.0\n\n") and text.endswith("942c 942c\n")
    captions = ttconv_captions(track.path)
    assert [caption[2] for caption in captions] == [
        "Über Straße - ?Ja“ ♪♪",  # „ is not in 608: a question mark shows it is missing
        "¿Qué? Ça va, déjà vu: 50% «oui» © 2026.",
        "Zwei Zeilen, zweiunddreißig Zeichen pro Zeile.",
    ]
    frame_s = 1001 / 30000
    for (begin_s, end_s, _), expected in zip(captions, cues, strict=True):
        assert abs(begin_s - expected.begin_ms / 1000) <= frame_s
        assert abs(end_s - expected.end_ms / 1000) <= frame_s
    items = ffmpeg_to_srt(track.path, tmp_path / "ffmpeg.srt")
    assert len(items) == len(cues)
    for item, expected in zip(items, cues, strict=True):
        assert abs(item.start.ordinal - expected.begin_ms) <= 34
        assert abs(item.end.ordinal - expected.end_ms) <= 34


def test_a_timecode_start_shifts_every_timecode_by_exactly_that(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    plain, _ = written_track(tmp_path / "a")
    shifted, _ = written_track(tmp_path / "b", offset_ms=3_600_000)
    for before, after in zip(
        plain.path.read_text().splitlines(), shifted.path.read_text().splitlines(), strict=True
    ):
        if "\t" in before:
            assert after == "01" + before[2:]
        else:
            assert after == before


def scc_names(source: str | None, targets: tuple[str, ...], layout: str) -> list[str]:
    options = make_options(
        targets, api_key="k", source_language=source, layout=layout, formats="srt,scc"
    )
    plans = plan_tracks(InputFile(Path("/m/Talk.mp4"), Path()), options, source)
    return [path.name for plan in plans for path in plan.paths if path.suffix == ".scc"]


def test_scc_is_planned_for_latin_script_tracks_only() -> None:
    assert scc_names("es", ("en",), "bilingual") == ["Talk.es-en.scc"]
    assert scc_names("es", ("en", "zh"), "both") == ["Talk.es-en.scc", "Talk.es.scc", "Talk.en.scc"]
    assert scc_names("zh", ("en", "ja"), "separate") == ["Talk.en.scc"]
    assert scc_names(None, ("en",), "separate") == ["Talk.en.scc"]


def test_a_request_with_no_scc_track_is_a_usage_error_naming_the_language() -> None:
    for source, targets, layout, said in [
        ("zh", ("en",), "bilingual", "zh-en track has zh lines: give --layout separate"),
        ("en", ("ja",), "bilingual", "en-ja track has ja lines"),
        (None, ("en",), "bilingual", "-s auto"),
        ("zh", ("ja",), "separate", "(zh, ja)"),
    ]:
        with pytest.raises(UsageError, match=r"scc") as raised:
            scc_names(source, targets, layout)
        assert said in str(raised.value), (source, targets, layout)


def test_with_scc_the_cues_fit_its_columns_and_rows() -> None:

    bilingual = make_options(("en",), api_key="k", source_language="de", formats="scc").rules
    assert bilingual.for_language("en").max_line_chars == 32
    assert bilingual.for_language("de").max_lines == 2
    alone = make_options(
        ("en",), api_key="k", source_language="zh", formats="scc", layout="separate"
    ).rules
    assert alone.for_language("en").max_line_chars == 32
    assert alone.for_language("zh").max_line_chars == 16  # not an SCC language: unchanged
