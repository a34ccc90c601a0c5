"""SRT (pysrt) and VTT (webvtt-py) tracks that are valid files at every moment.

Each cue is formatted once by its library and kept; every append writes the whole track to a
hidden temporary file beside it and renames it over the track (`os.replace`, atomic on one
file system). A reader, a crash or SIGKILL therefore only ever sees a complete file: the one
before the cue or the one after it. `finish()` also fsyncs the file and its folder.

Names (see the README): `<stem>.<source>-<target>.srt|vtt` beside the source, where
`<source>` is the `--source-language` or `und` (undetermined) when it is detected.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pysrt
import webvtt
from webvtt import vtt

from subtitler.cues import Cue, clean_line, vtt_timestamp
from subtitler.errors import OutputError
from subtitler.inputs import InputFile

UNDETERMINED = "und"


def track_stem(
    item: InputFile, out_dir: Path | None, source_language: str | None, target: str
) -> Path:
    """The path of a bilingual track without its extension."""
    folder = item.path.parent if out_dir is None else out_dir / item.relative_dir
    languages = f"{source_language or UNDETERMINED}-{target}"
    return folder / f"{item.path.stem}.{languages}"


def _cue_text(cue: Cue) -> str:
    """The cue's lines, cleaned again here so no caller can break the file's structure."""
    return "\n".join(line for line in (clean_line(text) for text in cue.lines) if line)


class _Track:
    """Shared machinery: cached cue texts, atomic whole-file replacement."""

    suffix = ""

    def __init__(self, stem: Path) -> None:
        self.path = stem.with_name(stem.name + self.suffix)
        self._temporary = self.path.with_name(f".{self.path.name}.part")
        self._blocks: list[str] = []
        self.cue_count = 0

    def open(self) -> None:
        """Create the folder and an empty (valid) track."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise OutputError(str(self.path.parent), _reason(error)) from error
        self._write(sync=False)

    def append(self, cue: Cue) -> None:
        self._blocks.append(self._format(cue, self.cue_count + 1))
        self.cue_count += 1
        self._write(sync=False)

    def finish(self) -> None:
        self._write(sync=True)

    def render(self) -> str:
        raise NotImplementedError

    def _format(self, cue: Cue, index: int) -> str:
        raise NotImplementedError

    def _write(self, sync: bool) -> None:
        data = self.render().encode("utf-8")
        try:
            with open(self._temporary, "wb") as handle:
                handle.write(data)
                if sync:
                    handle.flush()
                    os.fsync(handle.fileno())
            os.replace(self._temporary, self.path)
            if sync:
                _fsync_folder(self.path.parent)
        except OSError as error:
            with contextlib.suppress(OSError):
                self._temporary.unlink(missing_ok=True)
            raise OutputError(str(self.path), _reason(error)) from error


class SrtTrack(_Track):
    """SubRip: numbered cues, `HH:MM:SS,mmm`, lines as written by pysrt."""

    suffix = ".srt"

    def render(self) -> str:
        return "\n".join(self._blocks)

    def _format(self, cue: Cue, index: int) -> str:
        item = pysrt.SubRipItem(
            index=index,
            start=pysrt.SubRipTime.from_ordinal(cue.begin_ms),
            end=pysrt.SubRipTime.from_ordinal(cue.end_ms),
            text=_cue_text(cue),
        )
        return str(item)


class VttTrack(_Track):
    """WebVTT with a NOTE naming the source and languages; cues formatted by webvtt-py."""

    suffix = ".vtt"

    def __init__(self, stem: Path, notes: tuple[str, ...] = ()) -> None:
        super().__init__(stem)
        self._header = vtt.to_str([], [], [clean_line(note) for note in notes if note], [])

    def render(self) -> str:
        if not self._blocks:
            return self._header
        return self._header.rstrip("\n") + "\n\n" + "\n".join(self._blocks)

    def _format(self, cue: Cue, index: int) -> str:
        caption = webvtt.Caption(
            start=vtt_timestamp(cue.begin_ms),
            end=vtt_timestamp(cue.end_ms),
            text=_cue_text(cue),
        )
        rendered: str = vtt.to_str([caption], [], [], [])
        return rendered.split("\n\n", 1)[1]


class BilingualTracks:
    """The SRT and VTT track of one input and one target language, written together."""

    def __init__(self, stem: Path, notes: tuple[str, ...]) -> None:
        self.srt = SrtTrack(stem)
        self.vtt = VttTrack(stem, notes)

    @property
    def paths(self) -> tuple[Path, Path]:
        return self.srt.path, self.vtt.path

    def existing(self) -> list[Path]:
        return [path for path in self.paths if path.exists()]

    def open(self) -> None:
        self.srt.open()
        self.vtt.open()

    def append(self, cue: Cue) -> None:
        self.srt.append(cue)
        self.vtt.append(cue)

    def finish(self) -> None:
        self.srt.finish()
        self.vtt.finish()


def _reason(error: OSError) -> str:
    if error.errno is not None and error.strerror:
        return error.strerror.lower() if error.strerror else str(error)
    return str(error)


def _fsync_folder(folder: Path) -> None:
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
