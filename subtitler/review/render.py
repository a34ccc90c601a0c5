"""Every existing track of an input rendered again from the document's cues, each replaced
atomically (a temporary file, then a rename: `tracks.durable.Replace`), so a player or a
delivery that reads one mid-save reads the old track or the new one, never a torn file.

The tracks are found the way the engine names them (`engine.plan.plan_tracks`): every format
and layout for every target the document has; those that exist are rendered again, the others
are left to `subtitler run` (which renders them from the same cues: `engine/edits.py`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from subtitler.engine.edits import ReviewCue, source_language, target_cues
from subtitler.engine.journal import InputState
from subtitler.engine.plan import TrackPlan, plan_tracks
from subtitler.engine.prepare import journaled_picture, timecode_offset
from subtitler.options import Layout, RunOptions, TrackFormat
from subtitler.sources.inputs import InputFile
from subtitler.tracks.durable import FileOp


def every_track(
    media: Path,
    state: InputState,
    targets: Sequence[str],
    options: RunOptions,
    folder: Path | None = None,
) -> list[TrackPlan]:
    """Every track a run could have made for these targets (whether it exists or not);
    `folder`: where the run wrote them (its `-o DIR` mirrored), beside the media by default."""
    everything = dataclasses.replace(
        options, targets=tuple(targets), formats=tuple(TrackFormat), layout=Layout.BOTH,
        out_dir=folder if folder is not None and folder != media.parent else None,
    )  # fmt: skip
    picture = journaled_picture(state)
    offset_ms = timecode_offset(options, picture, media)
    item = InputFile(media, Path())
    return plan_tracks(item, everything, source_language(state), picture, offset_ms)


def render_ops(
    plans: Sequence[TrackPlan], cues: Sequence[ReviewCue], state: InputState
) -> list[FileOp]:
    """The file operations that render every existing track of `plans` from `cues` (to be
    run off the event loop: it lists the folder and renders every cue)."""
    operations: list[FileOp] = []
    done: set[Path] = set()
    for plan in plans:
        shown = target_cues(cues, state, plan.target)
        for track in plan.tracks:
            if track.path in done or not track.path.exists():
                continue
            done.add(track.path)
            operations += [track.restore(shown), track.finish()]
    return operations


def existing(plans: Sequence[TrackPlan]) -> list[Path]:
    return sorted({t.path for plan in plans for t in plan.tracks if t.path.exists()})
