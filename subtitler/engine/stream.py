"""Stream one input: decode once into an `AudioBuffer` read by one `TargetTask` per target,
paced to the chosen speed, while the tracks open beside it."""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass

from subtitler.engine.audio import AudioBuffer, Gating
from subtitler.engine.context import RunContext
from subtitler.engine.machine import MachineTarget
from subtitler.engine.pairing import Ledger
from subtitler.engine.plan import TrackPlan, plan_tracks
from subtitler.engine.prepare import Prepared, timecode_offset
from subtitler.engine.task import SentenceSink, TargetTask
from subtitler.engine.writer import Alone, FromTranscript, Recognising, TargetWriter
from subtitler.errors import MediaError, OutputError
from subtitler.events import AudioProgress
from subtitler.layout.cues import join_lines
from subtitler.options import RunOptions
from subtitler.sources.inputs import InputFile
from subtitler.sources.media import BYTES_PER_MS, AsyncPcmDecoder

PROGRESS_EVERY_MS = 1000
PROGRESS_EVERY_S = 0.5
"""A `progress` event per second of audio, and at most two per second of wall time (but at
once when sending stops or starts again): at 10x a file's progress is then not ten JSON lines
and screen updates a second."""
PACE_SLACK_S = 0.25
"""Faster than 2x, how far the decode may fall behind its pace before it waits again: the
frames of a tenth of a second then go out in one wake-up of the loop (at 10x, two or three
500 ms frames) instead of one each. At 2x and slower (live captions) pacing stays exact."""
MAX_LEAD_MS = 30_000
"""With a client that reads results while idle (the native one), decoding stays at most this
far ahead of the slowest target's last finished sentence: the service's own pace is the flow
control, and the PCM kept for resumes stays small whatever the input's length and speed
(`docs/performance.md`). A sentence longer than this is ended by the stall rule."""


@dataclass(frozen=True, kw_only=True)
class Streamed:
    """How streaming an input went, for `conclude`."""

    tasks: list[TargetTask]
    """Over: each says whether it completed, failed, and its figures."""
    machines: list[MachineTarget]
    """The Qwen-MT targets, over."""
    recogniser: TargetTask | None
    """The task that recognised the input's transcript (none when it was journaled whole)."""
    opening: asyncio.Task[None]
    """The tracks' opening (awaited or cancelled by `conclude`)."""
    decode_error: MediaError | None
    audio: AudioBuffer


async def stream(
    item: InputFile, context: RunContext, prepared: Prepared, gating: Gating | None = None
) -> Streamed:
    """Decode once into an `AudioBuffer` (through the speech gate when there is one), one
    `TargetTask` per running target reading it, until every task is over."""
    options = context.options
    audio = AudioBuffer(prepared.start_ms, gating)
    opening = asyncio.create_task(open_tracks(item, context, prepared))
    translating_only = dataclasses.replace(
        options, gummy=dataclasses.replace(options.gummy, transcription_enabled=False)
    )
    listening = [w for w in prepared.writers if not isinstance(w.role, FromTranscript)]

    def task(target: str, task_options: RunOptions, writer: SentenceSink) -> TargetTask:
        return TargetTask(
            target=target,
            options=task_options,
            audio=audio,
            writer=writer,
            pacer=context.pacer,
            control=context.control,
            emit=context.emit,
            label=item.label,
            live=item.live,
            new_client=context.transports.new_client,
        )

    tasks = [
        task(writer.target, translating_only if writer.translates_only else options, writer)
        for writer in listening
    ]
    machines = [
        machine_target(item, context, prepared, writer)
        for writer in prepared.writers
        if isinstance(writer.role, FromTranscript)
    ]
    recogniser: TargetTask | None = None
    if prepared.transcriber is not None:  # its interim results show on the first target's line
        recogniser = task(
            machines[0].target, options.recognition_only(live=item.live), prepared.transcriber
        )
        tasks.insert(0, recogniser)
    elif listening and isinstance(listening[0].role, Alone | Recognising):
        recogniser = tasks[0]
    runners = [asyncio.create_task(task.run()) for task in tasks]
    if prepared.ledger is not None and recogniser is not None:
        runners[0] = asyncio.create_task(recognising(runners[0], recogniser, prepared.ledger))
    runners += [asyncio.create_task(machine.run()) for machine in machines]
    decode_error: MediaError | None = None
    try:
        if tasks:
            await decode(item, context, audio, tasks, prepared.decoder)
        else:  # the transcript is journaled whole: nothing hears the audio
            await prepared.decoder.aclose()
    except MediaError as error:
        decode_error = error
    finally:
        if not audio.ended:
            audio.end(halted=True)
    await asyncio.gather(*runners)
    return Streamed(
        tasks=tasks,
        machines=machines,
        recogniser=recogniser,
        opening=opening,
        decode_error=decode_error,
        audio=audio,
    )


def machine_target(
    item: InputFile, context: RunContext, prepared: Prepared, writer: TargetWriter
) -> MachineTarget:
    """A Qwen-MT target, its memory the last pairs of its journaled cues."""
    assert isinstance(writer.role, FromTranscript)
    options = context.options
    pairs = options.mt.context_pairs if options.mt is not None else 0
    memory = [
        (join_lines(cue.texts[0].lines), join_lines(cue.texts[1].lines))
        for cue in writer.progress.cues[-pairs:] if pairs and len(cue.texts) > 1
    ]  # fmt: skip
    return MachineTarget(
        target=writer.target,
        source_language=prepared.decided.named,
        writer=writer,
        reader=writer.role.reader,
        translator=context.translator(),
        control=context.control,
        emit=context.emit,
        label=item.label,
        memory_pairs=pairs,
        terms=options.terms_of(writer.target),
        memory=tuple(memory),
        batch_sentences=options.mt.batch_sentences if options.mt is not None else 1,
        batch_chars=options.mt.batch_chars if options.mt is not None else 1500,
    )


async def recognising(run: asyncio.Task[None], task: TargetTask, ledger: Ledger) -> None:
    """The recognising target's task; when it ends, the others' last translations pair."""
    try:
        await run
    finally:
        ledger.close(complete=task.complete)


async def decode(
    item: InputFile,
    context: RunContext,
    audio: AudioBuffer,
    tasks: list[TargetTask],
    decoder: AsyncPcmDecoder,
) -> None:
    """Decode once from the earliest resume point, at the chosen pace, into `audio`."""
    options, control = context.options, context.control
    start_ms = audio.start_ms
    speed = 1.0 if item.live else options.speed  # live inputs go at 1x
    loop = asyncio.get_running_loop()
    paced_from_s, position_ms = loop.time(), start_ms
    slack_s = PACE_SLACK_S if speed is not None and speed > 2 else 0.0
    next_progress_ms, next_progress_s = position_ms + PROGRESS_EVERY_MS, paced_from_s
    skipping = False
    # Decoding waits for results only with a client that reads them while no audio is sent (one
    # that does not would stall), and never for a live source, which cannot wait.
    bounded = options.client.traits.reads_results_idle and not item.live
    frames = decoder.frames()
    try:
        async for frame in frames:
            if speed is not None:
                delay_s = paced_from_s + (position_ms - start_ms) / 1000 / speed - loop.time()
                if delay_s > 0:  # pacing: the time itself is what is waited for
                    await asyncio.sleep(delay_s + slack_s)
            if control.stopping or all(task.over for task in tasks):
                audio.end(halted=True)
                break
            audio.append(frame)
            position_ms += len(frame) // BYTES_PER_MS
            while (
                bounded
                and not control.stopping
                and audio.to_send_ms(slowest_ms(tasks), position_ms) > MAX_LEAD_MS
            ):
                await audio.wait_consumed(timeout_s=1.0)
            audio.forget_before(min(task.resume_point_ms() for task in tasks))
            if position_ms >= next_progress_ms and (
                loop.time() >= next_progress_s or audio.skipping != skipping
            ):  # a change between sending and not is said at once
                skipping = audio.skipping
                context.emit(progress(item, position_ms, audio))
                next_progress_ms = position_ms + PROGRESS_EVERY_MS
                next_progress_s = loop.time() + PROGRESS_EVERY_S
        else:
            audio.end()
    finally:
        await frames.aclose()
        await decoder.aclose()
    context.emit(progress(item, position_ms, audio))


def progress(item: InputFile, position_ms: int, audio: AudioBuffer) -> AudioProgress:
    if audio.gate is None:
        return AudioProgress(path=item.path, sent_ms=position_ms, label=item.label)
    return AudioProgress(
        path=item.path, sent_ms=position_ms, label=item.label, sending=not audio.skipping
    )


def slowest_ms(tasks: list[TargetTask]) -> int:
    kept = [task.resume_point_ms() for task in tasks if not task.over]
    return min(kept) if kept else 1 << 62


async def open_tracks(item: InputFile, context: RunContext, prepared: Prepared) -> None:
    """Open the tracks beside the streaming, on the writer thread: at once when the language is
    known (a resume restores every cue the journal holds while the service's task starts: for a
    long input this takes a while, `docs/performance.md`), else (`-s auto`) once the namer has
    named it, which is journaled. Sentences that finish meanwhile are held and written in order
    after. A write error fails every writer of the input."""
    decided = prepared.decided
    try:
        if prepared.namer is not None:
            language = await prepared.namer.named
        else:
            assert decided.named is not None
            language = decided.named
        unjournaled = context.options.gummy.source_language is None and (
            decided.state.named_source != language
        )
        if unjournaled and not item.live:
            decided.state.named_source = language
            await context.disk.run([prepared.journal.name_source(language)])
        offset_ms = timecode_offset(context.options, prepared.picture, item.path)
        plans = plan_tracks(item, context.options, language, prepared.picture, offset_ms)
        planned = {plan.target: plan for plan in plans}
        keep = {work.target for work in decided.work if work.keep_existing}
        for writer in prepared.writers:
            plan = planned[writer.target]
            if writer.target in keep:  # what exists is kept; only the missing tracks are made
                plan = await context.disk.call(_missing_only, plan)
            elif writer.progress.kept:  # kept when it started: a resume keeps them too
                plan = _without(plan, writer.progress.kept)
            kept = tuple(sorted({p.name for p in planned[writer.target].paths}
                                - {p.name for p in plan.paths}))  # fmt: skip
            await writer.open(plan, None if language == "und" else language, kept)
    except OutputError as error:
        for writer in prepared.writers:
            writer.fail(error)


def _missing_only(plan: TrackPlan) -> TrackPlan:
    return TrackPlan(plan.target, tuple(t for t in plan.tracks if not t.path.exists()))


def _without(plan: TrackPlan, names: tuple[str, ...]) -> TrackPlan:
    return TrackPlan(plan.target, tuple(t for t in plan.tracks if t.path.name not in names))
