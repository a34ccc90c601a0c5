"""One input through the flow, the hub that dispatches every stage: claim, `decide` (keep,
render or run per target), `prepare` (decoder and writers), `stream` (one `TargetTask` per
target), `conclude` (tracks finished, the result). Never raises for a problem of this input:
the result says it.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from subtitler.engine.audio import Gating
from subtitler.engine.claim import Claim, claim_path
from subtitler.engine.conclude import NO_SPEECH as NO_SPEECH  # serve/app.py reads it here
from subtitler.engine.conclude import conclude, settled
from subtitler.engine.context import RunContext
from subtitler.engine.decide import decide, sidecars_of
from subtitler.engine.plan import Need, plan_tracks
from subtitler.engine.prepare import Skip, journaled_picture, paths_of, prepare, render_finished
from subtitler.engine.stream import stream
from subtitler.engine.subtitled import subtitled_reason
from subtitler.errors import OutputError, SubtitlerError
from subtitler.events import InputResult, InputStarted, Status
from subtitler.sources.inputs import InputFile

IN_PROGRESS = "in progress in another run"


async def subtitle_isolated(item: InputFile, context: RunContext) -> InputResult:
    """`subtitle_input`, a bug in it a failed result (one bad input fails alone: the batch,
    the watch and the job queue go on)."""
    try:
        return await subtitle_input(item, context)
    except Exception as error:
        reason = f"{item.label}: internal error: {error!r}"
        return InputResult(path=item.path, status=Status.FAILED, reason=reason, label=item.label)


async def subtitle_input(item: InputFile, context: RunContext) -> InputResult:
    started_s = time.monotonic()
    options = context.options
    plans = plan_tracks(item, options, options.gummy.source_language)
    folder = plans[0].paths[0].parent

    def ended(status: Status, reason: str = "", tracks: tuple[Path, ...] = ()) -> InputResult:
        return InputResult(
            path=item.path,
            status=status,
            reason=reason,
            wall_s=time.monotonic() - started_s,
            tracks=tracks,
            label=item.label,
        )

    claim = Claim(claim_path(folder, item.path.stem))
    try:
        make_folder(folder)
        if not claim.acquire():
            return ended(Status.SKIPPED, f"{item.label}: {IN_PROGRESS}")
    except OutputError as error:
        return ended(Status.FAILED, str(error))
    try:
        try:
            decided = await decide(item, context, folder)
            if options.skip_subtitled and not item.live:
                found = await context.disk.call(sidecars_of, item, decided)
                decided = dataclasses.replace(decided, sidecars=found)
                reason = subtitled_reason(options.targets, decided.sidecars)
                if reason is not None:
                    return ended(Status.SKIPPED, reason)
            running = decided.of(Need.RUN)
            picture = journaled_picture(decided.previous)
            rendered = await render_finished(item, context, decided, picture)
            if not running:
                return await settled(decided, rendered, ended, context)
            gating = gating_of(context, item)
            prepared = await prepare(item, context, decided, rendered)
        except Skip as skip:
            return ended(Status.SKIPPED, str(skip))
        except SubtitlerError as error:
            return ended(Status.FAILED, str(error))
        except OSError as error:
            return ended(Status.FAILED, f"{folder}: {error.strerror or error}")
        undecided = prepared.namer is not None
        paths = () if undecided else paths_of(prepared)
        resumed_at = prepared.start_ms if decided.resumed else None
        context.emit(
            InputStarted(
                path=item.path,
                label=item.label,
                duration_ms=prepared.info.duration_ms,
                tracks=paths,
                resumed_at_ms=resumed_at,
                audio_stream=prepared.audio.audio_index,
                audio_reason=prepared.audio.reason,
            )
        )
        streamed = await stream(item, context, prepared, gating)
        return await conclude(item, context, prepared, streamed, started_s)
    finally:
        claim.release()


def gating_of(context: RunContext, item: InputFile) -> Gating | None:
    """The input's speech gate (`--vad on`), or None: every second is sent."""
    vad = context.options.vad
    if vad is None:
        return None
    if item.live:  # live captions wait for no group of windows
        vad = dataclasses.replace(vad, probe_every=1)
    return context.transports.gating(vad, context.options.gummy.max_end_silence_ms, item.label)


def make_folder(folder: Path) -> None:
    """The tracks' folder, or an OutputError naming the part of it that is in the way."""
    for part in (folder, *folder.parents):
        if part.exists():
            if not part.is_dir():
                raise OutputError(str(part), "not a directory")
            break
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(str(folder), (error.strerror or str(error)).lower()) from error
