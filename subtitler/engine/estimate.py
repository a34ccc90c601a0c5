"""`run --estimate`: what the run would bill, with no service call.

Per input, the same planning a run does (the journal, the tracks that exist: what is kept or
rendered costs nothing, a resume costs what remains, what `--skip-subtitled` skips is not
priced) and the duration from ffmpeg's listing (the
decoder is started and closed at once). A live input has no duration: no estimate.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from subtitler.engine import journal as resume_state
from subtitler.engine.context import RunContext
from subtitler.engine.decide import decide, finished_transcript, sidecars_of
from subtitler.engine.plan import Need, plan_tracks
from subtitler.engine.subtitled import subtitled_reason
from subtitler.errors import SubtitlerError
from subtitler.gummy.cost import Estimate
from subtitler.options import RunOptions
from subtitler.sources.inputs import InputFile, InputProblem
from subtitler.sources.media import AsyncPcmDecoder


@dataclass(frozen=True)
class InputEstimate:
    label: str
    estimate: Estimate | None
    """None: nothing can be said (a live input, or the input cannot be read: `problem`)."""
    problem: str = ""


async def estimate_inputs(
    items: list[InputFile | InputProblem], options: RunOptions
) -> list[InputEstimate]:
    context = RunContext.create(options, lambda _event: None)
    try:
        return list(await asyncio.gather(*(_one(item, context) for item in items)))
    finally:
        context.close()


async def _one(item: InputFile | InputProblem, context: RunContext) -> InputEstimate:
    if isinstance(item, InputProblem):
        return InputEstimate(str(item.path), None, f"{item.path}: {item.reason}")
    options = context.options
    if item.live:
        return InputEstimate(item.label, None, "live: no duration to estimate")
    async with context.slots:
        try:
            folder = plan_tracks(item, options, options.gummy.source_language)[0].paths[0].parent
            decided = await decide(item, context, folder)
            sidecars: dict[str, str] = {}
            if options.skip_subtitled:  # what the run would skip is not priced
                sidecars = await context.disk.call(sidecars_of, item, decided)
                reason = subtitled_reason(options.targets, sidecars)
                if reason is not None:
                    return InputEstimate(item.label, None, f"{item.label}: {reason}")
            running = [work.target for work in decided.of(Need.RUN)]
            if not running:
                return InputEstimate(item.label, Estimate(0, 0, options.prices))
            decoder = AsyncPcmDecoder(item.path, options.audio_stream, label=item.label)
            try:
                told = await decoder.start()
            finally:
                await decoder.aclose()
            if told is not None and options.skip_subtitled:
                embedded = told.subtitle_streams
                reason = subtitled_reason(options.targets, sidecars, embedded)
                if reason is not None:
                    return InputEstimate(item.label, None, f"{item.label}: {reason}")
        except SubtitlerError as error:
            return InputEstimate(item.label, None, str(error))
    no_progress = resume_state.TargetProgress()
    start_ms = min(decided.state.targets.get(t, no_progress).resume_ms for t in running)
    duration_ms = told.duration_ms if told is not None else None
    if duration_ms is None:
        return InputEstimate(item.label, None, "ffmpeg gives no duration")
    remaining_ms = max(0, duration_ms - start_ms)
    recognising = finished_transcript(decided.state, running) is None
    estimate = Estimate(remaining_ms, len(running), options.prices, recognising)
    return InputEstimate(item.label, estimate)
