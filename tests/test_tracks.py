"""Tracks on a real file system: valid after every append, strict parsers accept them."""

from __future__ import annotations

import os
from pathlib import Path

import pysrt
import pytest
import webvtt

from subtitler.cues import Cue, CueText
from subtitler.errors import OutputError
from subtitler.inputs import InputFile
from subtitler.tracks import BilingualTracks, track_stem


def cue(begin_ms: int, end_ms: int, *lines: str) -> Cue:
    return Cue(begin_ms, end_ms, (CueText(None, tuple(lines)),))


def test_names_say_the_languages_and_mirror_folders(tmp_path: Path) -> None:
    item = InputFile(tmp_path / "show" / "Ep 1.mkv", Path("show"))
    assert track_stem(item, None, "zh", "en") == tmp_path / "show" / "Ep 1.zh-en"
    assert (
        track_stem(item, tmp_path / "out", None, "ja") == tmp_path / "out" / "show" / "Ep 1.und-ja"
    )


def test_every_state_of_a_growing_track_parses_strictly(tmp_path: Path) -> None:
    tracks = BilingualTracks(
        tmp_path / "v.zh-en", notes=("Source: a --> b.mp4", "Languages: zh, en")
    )
    tracks.open()
    assert tracks.srt.path.read_bytes() == b""
    assert len(webvtt.from_string(tracks.vtt.path.read_text(), strict=True)) == 0
    texts = [("你好。", "Hello."), ("a --> b", "line\n\nbreak"), ("<b>tag</b> & 1 < 2", "x")]
    for index, (first, second) in enumerate(texts, start=1):
        tracks.append(cue(index * 1000, index * 1000 + 800, first, second))
        srt = pysrt.open(str(tracks.srt.path), error_handling=pysrt.ERROR_RAISE)
        vtt = webvtt.from_string(tracks.vtt.path.read_text(encoding="utf-8"), strict=True)
        assert len(srt) == len(vtt) == index
        assert srt[-1].start.ordinal == index * 1000
        assert len(srt[-1].text.split("\n")) == 2
    tracks.finish()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    assert "NOTE Source: a → b.mp4" in tracks.vtt.path.read_text()


def test_an_unwritable_folder_is_an_output_error_naming_it(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        blocker = tmp_path / "file"
        blocker.write_text("not a folder")
        tracks = BilingualTracks(blocker / "v.zh-en", notes=())
    else:  # pragma: no cover - as root, permissions do not stop writes
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        tracks = BilingualTracks(locked / "v.zh-en", notes=())
    with pytest.raises(OutputError) as caught:
        tracks.open()
    assert str(tmp_path) in str(caught.value)
