"""Which tracks an input gets, and their names.

Names (see the README), beside the source or under `--out-dir`, one file per chosen format:
  bilingual  `<stem>.<source>-<target>.<format>`
  separate   `<stem>.<source>.<format>` and `<stem>.<target>.<format>`
where `<source>` is the `--source-language`, or `und` (undetermined) when it is detected.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from subtitler.inputs import InputFile
from subtitler.options import Layout, RunOptions, TrackFormat
from subtitler.tracks.ass import AssTrack
from subtitler.tracks.base import SOURCE, TARGET, UNDETERMINED, Picture, Track
from subtitler.tracks.srt import SrtTrack
from subtitler.tracks.ttml import TtmlTrack
from subtitler.tracks.vtt import VttTrack


@dataclass(frozen=True)
class TrackPlan:
    """Which tracks one target's cue stream feeds."""

    target: str
    tracks: tuple[Track, ...]

    @property
    def paths(self) -> tuple[Path, ...]:
        return tuple(track.path for track in self.tracks)


def plan_tracks(
    item: InputFile,
    options: RunOptions,
    source_language: str | None,
    picture: Picture | None = None,
) -> list[TrackPlan]:
    """The tracks of one input: per target its bilingual set and/or its monolingual set; the
    source-language set (separate layouts) is fed by the first target's cues. `picture`: the
    video's size and rate, for the formats that use them."""
    out_dir, targets, layout, formats = (
        options.out_dir,
        options.targets,
        options.layout,
        options.formats,
    )
    folder = item.path.parent if out_dir is None else out_dir / item.relative_dir
    source = source_language or UNDETERMINED
    shown_source = source_language or "auto"
    plans = []

    def tracks_for(name: str, languages: tuple[int, ...], listed: str, target: str) -> list[Track]:
        stem = folder / f"{item.path.stem}.{name}"
        names = (source, target)
        made: list[Track] = []
        for chosen in formats:
            if chosen is TrackFormat.SRT:
                made.append(SrtTrack(stem, languages))
            elif chosen is TrackFormat.VTT:
                notes = (f"Source: {item.path.name}", f"Languages: {listed}")
                made.append(VttTrack(stem, languages, notes))
            elif chosen is TrackFormat.ASS:
                made.append(AssTrack(stem, languages, names, item.path.name))
            else:
                made.append(TtmlTrack(stem, languages, names, item.path.name))
        for track in made:
            track.describe(picture)
        return made

    for position, target in enumerate(targets):
        tracks: list[Track] = []
        if layout in (Layout.BILINGUAL, Layout.BOTH):
            tracks += tracks_for(
                f"{source}-{target}", (SOURCE, TARGET), f"{shown_source}, {target}", target
            )
        if layout in (Layout.SEPARATE, Layout.BOTH):
            if position == 0:
                tracks += tracks_for(source, (SOURCE,), shown_source, target)
            if target != source:  # speech already in the target language: one track is enough
                tracks += tracks_for(target, (TARGET,), target, target)
        plans.append(TrackPlan(target, tuple(tracks)))
    return plans
