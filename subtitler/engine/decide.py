"""Decide, per target of one input, from its journal and the tracks that exist: keep, render
from the journal, or run a task (no decoding, no service call)."""

from __future__ import annotations

import dataclasses
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from subtitler.engine import journal as resume_state
from subtitler.engine.context import RunContext
from subtitler.engine.edits import ReviewCue, Reviewed, reviewed_cues
from subtitler.engine.plan import Need, TargetWork, TrackPlan, plan_tracks, plan_work
from subtitler.engine.subtitled import sidecar_languages
from subtitler.errors import OutputError
from subtitler.layout.cues import Cue
from subtitler.sources.inputs import InputFile


@dataclass(frozen=True, kw_only=True)
class Decided:
    """What an input needs, from its journal and the tracks that exist."""

    state: resume_state.InputState
    previous: resume_state.InputState | None
    """The journal continued (resumed, or finished targets kept), if any."""
    state_file: Path
    named: str | None
    """The source language the tracks are named after, when known before any speech."""
    plans: dict[str, TrackPlan]
    """Every planned track, by target (named after `named`)."""
    work: list[TargetWork]
    resumed: bool
    """It continues an interrupted run (not only adds a target to a finished one): read from the
    journal as it was, before this run adds its own targets to it."""
    reviewed: list[ReviewCue] | None = None
    """The review's cues when the input was reviewed (`engine.edits`): what its tracks are
    rendered from and what a target added later translates, instead of what was heard."""
    behind: Reviewed | None = None
    """The review's last save was journaled but not rendered: every track of a finished
    target is rendered again from its cues, then the review is marked rendered."""
    sidecars: dict[str, str] = dataclasses.field(default_factory=dict)
    """`--skip-subtitled`: language → a subtitle file beside the input that has it."""

    def of(self, need: Need) -> list[TargetWork]:
        return [work for work in self.work if work.need is need]


def continues_interrupted(previous: resume_state.InputState | None, work: list[TargetWork]) -> bool:
    """Whether running `work` takes up a run that stopped midway (a target it runs has unfinished
    progress in the journal), rather than starting fresh or adding a target to a finished one."""
    if previous is None:
        return False
    if not previous.targets:
        return True  # stopped before its first sentence
    running = [previous.targets.get(w.target) for w in work if w.need is Need.RUN]
    return any(progress is not None and not progress.finished for progress in running)


async def decide(item: InputFile, context: RunContext, folder: Path) -> Decided:
    """Read the journal and what exists: per target, keep, render or run."""
    options = context.options
    source = options.gummy.source_language
    audio: int | str = options.audio_stream
    if options.audio_languages:  # the stream is chosen by its tag: the same one on every run
        audio = "language " + ",".join(options.audio_languages)
    frames = options.frame_rate
    settings = {
        "source_language": source,
        "audio_stream": audio,
        # Not matched on resume; read back by the review, which renders the tracks again.
        "frame_rate": frames if isinstance(frames, str) else str(frames.rate),
        "timecode_start": options.timecode_start,
    }
    state_file = resume_state.state_path(folder, item.path.stem)
    fresh = options.overwrite or item.live  # a live stream cannot be resumed by seeking
    previous = None if fresh else await context.disk.call(resume_state.load, state_file)
    identity = None if item.live else resume_state.SourceIdentity.of(item.path)
    if previous is not None and previous.stale_for(identity):
        previous = None  # the source was replaced: its journal says nothing of it
    if previous is not None and not previous.matches(settings):
        if previous.unfinished:
            raise OutputError(
                str(state_file),
                "an unfinished run with other options is here; "
                "run it again with those options, or use --overwrite",
            )
        previous = None  # a finished record of other options: the tracks alone count
    named = source or (previous.named_source if previous is not None else None)
    if named is None and not fresh:
        named = await context.disk.call(language_of_existing, plan_tracks(item, options, None))
    plans = plan_tracks(item, options, named)
    progress = previous.targets if previous is not None else {}
    work = plan_work(plans, progress, fresh, Path.exists)
    review = None
    if previous is not None:
        review = await context.disk.call(reviewed_cues, state_file, previous)
    if review is not None and review.behind:
        plan_of = {plan.target: plan for plan in plans}
        work = [
            TargetWork(w.target, Need.RENDER, plan_of[w.target].tracks)
            if w.need in (Need.KEEP, Need.RENDER) else w
            for w in work
        ]  # fmt: skip
    state = previous or resume_state.InputState(
        item.path.name, settings, {}, identity=identity, named_source=None,
        nonce=secrets.token_hex(8),
    )  # fmt: skip
    return Decided(
        state=state,
        previous=previous,
        state_file=state_file,
        named=named,
        plans={p.target: p for p in plans},
        work=work,
        resumed=continues_interrupted(previous, work),
        reviewed=review.cues if review is not None else None,
        behind=review if review is not None and review.behind else None,
    )


def finished_transcript(state: resume_state.InputState, running: list[str]) -> list[Cue] | None:
    """The whole transcript of the input, when a target that is not running has heard all of
    it (its journal is finished and its cues carry source lines): the running targets then
    need no recognition at all (`-t en` then `-t en,ja`: the ja task only translates)."""
    for target, progress in state.targets.items():
        if target in running or not progress.finished:
            continue
        if any(cue.texts and cue.texts[0].lines for cue in progress.cues):
            return progress.cues
    return None


def sidecars_of(item: InputFile, decided: Decided) -> dict[str, str]:
    """Subtitle files beside the input, by language; this tool's own tracks of an input it has
    a journal for are its own business (kept, rendered or resumed), not a reason to skip."""
    ours = set()
    if decided.previous is not None:
        ours = {path.name for plan in decided.plans.values() for path in plan.paths}
    try:
        names = [name for name in os.listdir(item.path.parent) if name not in ours]
    except OSError:
        return {}
    return sidecar_languages(item.path.stem, names)


def language_of_existing(plans: list[TrackPlan]) -> str | None:
    """`-s auto` with no journal: the language an earlier run named the tracks after
    (`x.zh-en.srt` for the planned `x.und-en.srt`), if any."""
    for plan in plans:
        for path in plan.paths:
            found = named_elsewhere(path)
            if found is not None:
                stem, _, rest = path.name.partition(".und")
                return found.name[len(stem) + 1 : len(found.name) - len(rest)]
    return None


def named_elsewhere(path: Path) -> Path | None:
    """`-s auto`: a track of this input named after an identified language (`x.zh-en.srt`
    for the planned `x.und-en.srt`), if one exists. One listing of the folder, matched by a
    pattern compiled once per call (cheaper than a glob per language-code length:
    `docs/performance.md`)."""
    stem, _, rest = path.name.partition(".und")
    if not rest:
        return None
    named = re.compile(re.escape(stem) + r"\.[a-z]{2,3}" + re.escape(rest))  # a language code
    try:
        names = os.listdir(path.parent)
    except OSError:
        return None
    found = sorted(name for name in names if named.fullmatch(name))
    return path.parent / found[0] if found else None


def existing_track(paths: tuple[Path, ...]) -> Path:
    for path in paths:
        if path.exists():
            return path
    found = [named for path in paths if (named := named_elsewhere(path)) is not None]
    return found[0] if found else paths[0]
