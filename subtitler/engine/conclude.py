"""Conclude one input: finish its tracks and journal and say how it went (`InputResult`)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path

from subtitler.engine.context import RunContext
from subtitler.engine.decide import Decided, existing_track
from subtitler.engine.machine import MachineTarget
from subtitler.engine.plan import Need
from subtitler.engine.prepare import Prepared
from subtitler.engine.stream import Streamed
from subtitler.engine.task import TargetTask
from subtitler.engine.writer import TargetWriter
from subtitler.errors import OutputError, SubtitlerError
from subtitler.events import InputResult, Status, TranslationUsage
from subtitler.sources.inputs import InputFile

NO_SPEECH = "no speech"
"""The reason an input with no speech is skipped: no empty track is left beside it."""


async def settled(
    decided: Decided,
    rendered: tuple[Path, ...],
    ended: Callable[[Status, str, tuple[Path, ...]], InputResult],
    context: RunContext,
) -> InputResult:
    """Nothing to stream: the tracks exist, or the missing ones came from the journal."""
    if rendered:
        result = ended(Status.DONE, "rendered from the journal (no service call)", rendered)
        journaled = [decided.state.targets[work.target] for work in decided.of(Need.RENDER)]
        return dataclasses.replace(result, sentences=max(p.sentences for p in journaled))
    if decided.of(Need.RENDER):  # finished with no cue at all: no empty track is made
        return ended(Status.SKIPPED, NO_SPEECH, ())
    planned = tuple(p for plan in decided.plans.values() for p in plan.paths)
    existing = await context.disk.call(existing_track, planned)  # a folder listing
    return ended(Status.SKIPPED, f"tracks exist ({existing.name}); --overwrite replaces them", ())


async def conclude(
    item: InputFile,
    context: RunContext,
    prepared: Prepared,
    streamed: Streamed,
    started_s: float,
) -> InputResult:
    tasks, opening, audio = streamed.tasks, streamed.opening, streamed.audio
    machines = streamed.machines
    decode_error = streamed.decode_error
    errors: list[SubtitlerError] = [decode_error] if decode_error else []
    errors += [task.error for task in tasks if task.error is not None]
    errors += [machine.error for machine in machines if machine.error is not None]
    complete = not errors and all(task.complete for task in tasks)
    complete = complete and all(machine.complete for machine in machines)
    recogniser = streamed.recogniser
    heard_whole = recogniser is not None and recogniser.complete and recogniser.error is None
    namer = prepared.namer
    if namer is not None and not namer.decided and (complete or namer.heard):
        namer.decide()  # it ended before there was enough to tell: name it with what there is
    if namer is None or namer.decided:
        await opening  # the tracks open and the held sentences are written
    else:
        opening.cancel()  # stopped before any speech: nothing to name; the rerun will
    writers = prepared.writers
    try:
        for writer in writers:
            await writer.finish()
        errors += [writer.error for writer in writers if writer.error is not None]
        complete = complete and not errors
        journal = prepared.journal
        done = whole_targets(streamed, decode_error is None) if not complete else writers
        ended = [journal.finished(w.target) for w in writers if w in done and w.error is None]
        if heard_whole and not prepared.decided.state.heard_finished:
            ended.insert(0, journal.heard_finished())  # a target added later needs no task
        if item.live:  # no journal
            ended = []
        await context.disk.run([*ended, journal.close()])  # kept: the record of the cues
    except OutputError as error:
        errors.append(error)
        complete = False
    status, reason = Status.DONE, prepared.audio.reason if prepared.audio.fallback else ""
    if errors:
        status, reason = Status.FAILED, str(errors[0])
    elif not complete:
        status, reason = Status.INTERRUPTED, "interrupted; run again to resume"
    elif not prepared.rendered and not any(writer.progress.cues for writer in writers):
        status, reason = Status.SKIPPED, NO_SPEECH  # and no empty track was left
    resumed_at = prepared.start_ms if prepared.decided.resumed else None
    return InputResult(
        path=item.path,
        status=status,
        reason=reason,
        sentences=max((writer.progress.sentences for writer in writers), default=0),
        audio_ms=audio.decoded_ms,
        wall_s=time.monotonic() - started_s,
        tasks=tuple(task.metrics for task in tasks if task.metrics is not None),
        tracks=prepared.rendered + tuple(path for writer in writers for path in writer.paths),
        resumes=sum(task.resumes for task in tasks),
        streaming_s=streaming_s(tasks),
        label=item.label,
        resumed_at_ms=resumed_at,
        translation=translation_usage(machines),
        sent_ms=sum(task.sent_ms for task in tasks) if audio.gate is not None else None,
        skipped_ms=audio.gate.skipped_between(audio.first_ms, audio.end_ms) if audio.gate else None,
    )


def whole_targets(streamed: Streamed, decoded: bool) -> list[TargetWriter]:
    """The writers whose cues are complete although the input is not (another target failed):
    journaled finished, a rerun keeps them and runs only the rest."""
    if not decoded:
        return []
    whole: list[TargetWriter] = []
    ledger_complete = streamed.recogniser is None or (
        streamed.recogniser.complete and streamed.recogniser.error is None
    )
    for task in streamed.tasks:
        writer = task.writer
        if not isinstance(writer, TargetWriter) or not task.complete or task.error is not None:
            continue
        if writer.translates_only and not ledger_complete:
            continue  # its last translations waited for a transcript that never came
        whole.append(writer)
    whole += [m.writer for m in streamed.machines if m.complete and m.error is None]
    return whole


def translation_usage(machines: list[MachineTarget]) -> TranslationUsage | None:
    """What the input's Qwen-MT targets asked of the translator (None: it had none)."""
    if not machines:
        return None
    return TranslationUsage(
        requests=sum(machine.requests for machine in machines),
        input_tokens=sum(machine.input_tokens for machine in machines),
        output_tokens=sum(machine.output_tokens for machine in machines),
    )


def streaming_s(tasks: list[TargetTask]) -> float | None:
    firsts = [task.first_sent_s for task in tasks if task.first_sent_s is not None]
    return time.perf_counter() - min(firsts) if firsts else None
