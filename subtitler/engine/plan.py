"""Which tracks an input gets, and their names.

Names (see the README), beside the source or under `--out-dir`, one file per chosen format:
  bilingual  `<stem>.<source>-<target>.<format>`
  separate   `<stem>.<source>.<format>` and `<stem>.<target>.<format>`
where `<source>` is the `--source-language`, or `und` (undetermined) when it is detected.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from subtitler.engine.journal import TargetProgress
from subtitler.options import Layout, RunOptions, TrackFormat
from subtitler.sources.inputs import InputFile
from subtitler.tracks.base import SOURCE, TARGET, UNDETERMINED, Picture, Track
from subtitler.tracks.srt import SrtTrack
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
    offset_ms: int = 0,
) -> list[TrackPlan]:
    """The tracks of one input: per target its bilingual set and/or its monolingual set; the
    source-language set (separate layouts) is fed by the first target's cues. `picture`: the
    video's size and rate, for the formats that use them; `offset_ms`: the master's start
    timecode, for the formats that carry it (`timecode_offset_ms`)."""
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
                notes = (f"Source: {item.name}", f"Languages: {listed}")
                made.append(VttTrack(stem, languages, notes))
            # The other formats' modules (pysubs2, ttconv's tables) load only when asked for.
            elif chosen is TrackFormat.ASS:
                from subtitler.tracks.ass import AssTrack

                made.append(AssTrack(stem, languages, names, item.name))
            elif chosen is TrackFormat.EBU_TT_D:
                from subtitler.tracks.ebuttd import EbuTtdTrack

                made.append(EbuTtdTrack(stem, languages, names, item.name))
            elif chosen is TrackFormat.SCC:
                from subtitler.tracks.scc import SccTrack, carries

                if carries(tuple(names[position] for position in languages)):
                    made.append(SccTrack(stem, languages))
            else:
                from subtitler.tracks.ttml import TtmlTrack

                made.append(TtmlTrack(stem, languages, names, item.name))
        for track in made:
            track.describe(picture, offset_ms)
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


class Need(Enum):
    KEEP = "keep"
    """Every track of the target exists: kept as it is."""
    RENDER = "render"
    """Its task finished in an earlier run: its missing tracks are rendered from the journal."""
    RUN = "run"
    """Its task runs (fresh, resumed from the journal, or for tracks that are missing)."""


@dataclass(frozen=True)
class TargetWork:
    """What one target of an input needs, and the tracks it writes."""

    target: str
    need: Need
    tracks: tuple[Track, ...]
    """For RENDER: the missing tracks; for RUN: every track when its cues come from the
    journal (resumed or fresh), else the missing ones (what exists is kept)."""
    keep_existing: bool = False
    """RUN without journaled cues: a track that exists by the time it opens is left alone."""


def plan_work(
    plans: list[TrackPlan],
    progress: Mapping[str, TargetProgress],
    fresh: bool,
    exists: Callable[[Path], bool],
) -> list[TargetWork]:
    """Per target: keep, render or run. Pure: `progress` is the journal's (empty when there is
    none), `fresh` is --overwrite (every task runs, every track is rewritten)."""
    work = []
    for plan in plans:
        if fresh:
            work.append(TargetWork(plan.target, Need.RUN, plan.tracks))
            continue
        missing = tuple(track for track in plan.tracks if not exists(track.path))
        journaled = progress.get(plan.target)
        if journaled is not None and journaled.finished:
            need = Need.RENDER if missing else Need.KEEP
            work.append(TargetWork(plan.target, need, missing))
        elif journaled is not None:  # unfinished: resumed, its tracks rebuilt from its cues
            kept = journaled.kept  # those it found and left alone when it started
            tracks = tuple(track for track in plan.tracks if track.path.name not in kept)
            work.append(TargetWork(plan.target, Need.RUN, tracks))
        elif missing:
            work.append(TargetWork(plan.target, Need.RUN, missing, keep_existing=True))
        else:
            work.append(TargetWork(plan.target, Need.KEEP, ()))
    return work
