"""`run --estimate`: what the run would bill, with no service call.

Per input, the same planning a run does (the journal, the tracks that exist: what is kept or
rendered costs nothing, a resume costs what remains, what `--skip-subtitled` skips is not
priced) and the duration from ffmpeg's listing (the
decoder is started and closed at once). A live input has no duration: no estimate.

Each target is priced by its translator (`RunPricing.translators`: Gummy's seconds, or Qwen-MT's
tokens estimated from the duration: `subtitler.gummy.cost.estimate_mt_tokens`), the recognition
by the recognizer and region.

`--estimate --scan` also decodes what remains and runs the speech gate over it, locally (no
service): the `scanned` estimate prices only the audio the gate would send.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

from subtitler.engine import journal as resume_state
from subtitler.engine.audio import AudioBuffer
from subtitler.engine.context import RunContext
from subtitler.engine.decide import decide, finished_transcript, sidecars_of
from subtitler.engine.plan import Need, plan_tracks
from subtitler.engine.subtitled import subtitled_reason
from subtitler.errors import SubtitlerError
from subtitler.gummy.cost import (
    CONTEXT_PAIRS,
    DEFAULT_MT_MODEL,
    GUMMY,
    Estimate,
    PriceTable,
    estimate_run,
)
from subtitler.options import DEFAULT_VAD, RunOptions
from subtitler.sources.inputs import InputFile, InputProblem
from subtitler.sources.media import AsyncPcmDecoder


@dataclass(frozen=True, kw_only=True)
class RunPricing:
    """What prices a run besides each input's audio: the services chosen for it."""

    prices: PriceTable
    translators: Mapping[str, str | Enum] = field(default_factory=dict, hash=False)
    """Target -> `gummy` / `qwen-mt`; a target not named here is Gummy's (today's run)."""
    recognizer: str | Enum = GUMMY
    region: str = "cn"
    mt_model: str = DEFAULT_MT_MODEL
    context_pairs: int = CONTEXT_PAIRS
    terms: Mapping[str, tuple[tuple[str, str], ...]] = field(default_factory=dict, hash=False)
    """Per Qwen-MT target, the glossary's terms (sent with each request)."""


def pricing_of(options: RunOptions) -> RunPricing:
    """The run's pricing from its options: who translates each target, who recognises, where,
    and what each Qwen-MT request carries besides its sentence."""
    mt = options.mt
    return RunPricing(
        prices=options.prices,
        translators={target: options.translator_of(target).value for target in options.targets},
        recognizer=options.recognizer.value,
        region=options.region.name,
        mt_model=mt.model if mt is not None else DEFAULT_MT_MODEL,
        context_pairs=mt.context_pairs if mt is not None else CONTEXT_PAIRS,
        terms=dict(options.glossary_terms),
    )


def estimate_input(
    *,
    audio_ms: int,
    running: list[str] | tuple[str, ...],
    recognising: bool,
    pricing: RunPricing,
    source_language: str | None,
) -> Estimate:
    """One input's estimate: `running` are the targets whose tracks it would make."""
    return estimate_run(
        audio_ms=audio_ms,
        translators={t: pricing.translators.get(t, GUMMY) for t in running},
        prices=pricing.prices,
        recognising=recognising,
        recognizer=pricing.recognizer,
        region=pricing.region,
        mt_model=pricing.mt_model,
        source_language=source_language,
        context_pairs=pricing.context_pairs,
        terms=pricing.terms,
    )


@dataclass(frozen=True)
class InputEstimate:
    label: str
    estimate: Estimate | None
    """None: nothing can be said (a live input, or the input cannot be read: `problem`)."""
    problem: str = ""
    scanned: Estimate | None = None
    """`--scan`: the bill of the audio the speech gate would send (`audio_ms` is that audio)."""


async def estimate_inputs(
    items: list[InputFile | InputProblem], options: RunOptions, scan: bool = False
) -> list[InputEstimate]:
    context = RunContext.create(options, lambda _event: None)
    try:
        return list(await asyncio.gather(*(_one(item, context, scan) for item in items)))
    finally:
        context.close()


async def sent_by_gate(item: InputFile, context: RunContext, start_ms: int) -> int:
    """Decode from `start_ms` as fast as ffmpeg goes and run the speech gate over it: how much
    of the audio it would send (a MediaError if the media cannot be decoded)."""
    options = context.options
    vad = options.vad or DEFAULT_VAD
    gating = context.transports.gating(vad, options.gummy.max_end_silence_ms, item.label)
    decoder = context.transports.decoder(
        item.path, options.audio_stream, start_ms=start_ms, label=item.label
    )
    audio = AudioBuffer(start_ms, gating)
    try:
        await decoder.start()
        async for frame in decoder.frames():
            audio.append(frame)
            audio.forget_before(audio.end_ms)  # only the decisions are kept
    finally:
        await decoder.aclose()
    audio.end()
    return audio.to_send_ms(start_ms, audio.end_ms)


async def _one(item: InputFile | InputProblem, context: RunContext, scan: bool) -> InputEstimate:
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
    journaled = decided.state.heard_finished or finished_transcript(decided.state, running)
    recognising = not journaled
    language = decided.named or options.gummy.source_language
    pricing = pricing_of(options)
    estimate = estimate_input(audio_ms=remaining_ms, running=running, recognising=recognising,
                              pricing=pricing, source_language=language)  # fmt: skip
    scanned = None
    if scan and remaining_ms > 0:
        try:
            async with context.slots:
                sent_ms = await sent_by_gate(item, context, start_ms)
        except SubtitlerError as error:
            return InputEstimate(item.label, estimate, str(error))
        scanned = estimate_input(audio_ms=sent_ms, running=running, recognising=recognising,
                                 pricing=pricing, source_language=language)  # fmt: skip
    return InputEstimate(item.label, estimate, scanned=scanned)
