"""One input through the whole flow: ffmpeg PCM -> Gummy tasks (one per target) -> cues -> tracks.

The audio is decoded once and fanned out to one task per target language (the service
translates into one language per task). Results come back on the SDK's threads and are handed
to one writer thread per input, which turns each finished sentence into a cue and makes it
durable in that target's tracks at once, so the tracks grow while the audio plays.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from subtitler.cues import CueLayout, SentenceText, TimedWord
from subtitler.errors import MediaError, OutputError, SubtitlerError
from subtitler.events import (
    AudioProgress,
    CueWritten,
    Event,
    InputResult,
    InputStarted,
    PartialText,
    Status,
    TaskMetrics,
)
from subtitler.gummy import GummyEvent, GummySettings, GummyTask, Partial, Sentence, TaskEnded
from subtitler.inputs import InputFile
from subtitler.media import BYTES_PER_MS, PcmDecoder, probe
from subtitler.rules import CueRules
from subtitler.tracks import Layout, TrackPlan, plan_tracks

DEFAULT_SPEED = 10.0
PROGRESS_EVERY_MS = 1000


@dataclass(frozen=True)
class RunOptions:
    """Everything a run needs besides its inputs."""

    targets: tuple[str, ...]
    gummy: GummySettings
    speed: float | None = DEFAULT_SPEED
    """Multiple of real time the audio is sent at; None sends as fast as it decodes."""
    audio_stream: int = 0
    out_dir: Path | None = None
    overwrite: bool = False
    jobs: int = 4
    layout: Layout = Layout.BILINGUAL
    rules: CueRules = field(default_factory=CueRules)


@dataclass
class _Outcome:
    """What the writer thread learns, read by the input's thread once the writer is done."""

    cues_per_target: dict[str, int] = field(default_factory=dict)
    metrics: dict[str, TaskMetrics] = field(default_factory=dict)
    errors: list[SubtitlerError] = field(default_factory=list)
    output_failed: threading.Event = field(default_factory=threading.Event)


def subtitle_input(
    item: InputFile,
    options: RunOptions,
    emit: Callable[[Event], None],
    stop: threading.Event | None = None,
) -> InputResult:
    """Subtitle one input; never raises for a problem of this input (the result says it)."""
    started_s = time.monotonic()
    stop = stop or threading.Event()
    source = options.gummy.source_language
    plans = plan_tracks(item, options.out_dir, source, options.targets, options.layout)
    all_paths = tuple(path for plan in plans for path in plan.paths)
    if not options.overwrite:
        existing = [path for path in all_paths if path.exists()]
        if existing:
            return InputResult(
                path=item.path,
                status=Status.SKIPPED,
                reason=f"tracks exist ({existing[0].name}); --overwrite replaces them",
                tracks=all_paths,
            )

    def failed(error: SubtitlerError, audio_ms: int = 0) -> InputResult:
        return InputResult(
            item.path,
            Status.FAILED,
            reason=str(error),
            audio_ms=audio_ms,
            wall_s=time.monotonic() - started_s,
            tracks=all_paths,
        )

    try:
        info = probe(item.path, options.audio_stream)
        for plan in plans:
            for track in plan.tracks:
                track.open()
    except SubtitlerError as error:
        return failed(error)

    emit(InputStarted(item.path, item.name, info.duration_ms, all_paths))
    outcome = _Outcome(cues_per_target={target: 0 for target in options.targets})
    results: queue.SimpleQueue[GummyEvent | None] = queue.SimpleQueue()
    writer = threading.Thread(
        target=_write_results,
        args=(item, options, info.start_offset_ms, plans, results, outcome, emit),
        name=f"writer:{item.name}",
        daemon=True,
    )
    writer.start()
    tasks = [
        GummyTask(options.gummy, target, results.put, str(item.path)) for target in options.targets
    ]
    sent_bytes = 0
    try:
        for task in tasks:
            task.start()
        sent_bytes = _stream(item, options, tasks, outcome, emit, stop)
    except MediaError as error:
        outcome.errors.append(error)
    finally:
        for task in tasks:
            task.finish()
        results.put(None)
        writer.join()
    try:
        for plan in plans:
            for track in plan.tracks:
                track.finish()
    except OutputError as error:
        outcome.errors.append(error)

    audio_ms = sent_bytes // BYTES_PER_MS
    metrics = tuple(outcome.metrics[t] for t in options.targets if t in outcome.metrics)
    sentences = max(outcome.cues_per_target.values(), default=0)
    if stop.is_set() and not outcome.errors:
        outcome.errors.append(SubtitlerError(str(item.path), "interrupted"))
    status = Status.FAILED if outcome.errors else Status.DONE
    return InputResult(
        path=item.path,
        status=status,
        reason=str(outcome.errors[0]) if outcome.errors else "",
        sentences=sentences,
        audio_ms=audio_ms,
        wall_s=time.monotonic() - started_s,
        tasks=metrics,
        tracks=all_paths,
    )


def _stream(
    item: InputFile,
    options: RunOptions,
    tasks: list[GummyTask],
    outcome: _Outcome,
    emit: Callable[[Event], None],
    stop: threading.Event,
) -> int:
    """Decode once, send every frame to every live task at the chosen pace; bytes sent."""
    decoder = PcmDecoder(item.path, options.audio_stream)
    sent_bytes = 0
    next_progress_ms = PROGRESS_EVERY_MS
    started_s = time.monotonic()
    try:
        for frame in decoder:
            if options.speed is not None:
                due_s = started_s + sent_bytes / BYTES_PER_MS / 1000 / options.speed
                delay_s = due_s - time.monotonic()
                if delay_s > 0:
                    time.sleep(delay_s)  # pacing the stream, not waiting for an event
            alive = [task.send(frame) for task in tasks]
            if not any(alive) or stop.is_set() or outcome.output_failed.is_set():
                break
            sent_bytes += len(frame)
            if sent_bytes // BYTES_PER_MS >= next_progress_ms:
                emit(AudioProgress(item.path, sent_bytes // BYTES_PER_MS))
                next_progress_ms += PROGRESS_EVERY_MS
    finally:
        decoder.close()
    emit(AudioProgress(item.path, sent_bytes // BYTES_PER_MS))
    return sent_bytes


def _write_results(
    item: InputFile,
    options: RunOptions,
    offset_ms: int,
    plans: list[TrackPlan],
    results: queue.SimpleQueue[GummyEvent | None],
    outcome: _Outcome,
    emit: Callable[[Event], None],
) -> None:
    """The writer thread: each finished sentence becomes durable cues as soon as it arrives."""
    source = options.gummy.source_language
    layouts = {target: CueLayout(options.rules, source, target) for target in options.targets}
    plan_of = {plan.target: plan for plan in plans}
    while True:
        result = results.get()
        if result is None:
            return
        if isinstance(result, Partial):
            emit(
                PartialText(
                    item.path,
                    result.target,
                    result.sentence_id,
                    result.transcript,
                    result.translation,
                )
            )
        elif isinstance(result, Sentence):
            if outcome.output_failed.is_set():
                continue
            sentence = SentenceText(
                begin_ms=result.begin_ms + offset_ms,
                end_ms=result.end_ms + offset_ms,
                transcript=result.transcript,
                translation=result.translation,
                words=tuple(
                    TimedWord(w.text + w.punctuation, w.begin_ms + offset_ms, w.end_ms + offset_ms)
                    for w in result.words
                ),
            )
            update = layouts[result.target].add(sentence)
            if update.replaced is None and not update.added:
                continue
            plan = plan_of[result.target]
            try:
                for track in plan.tracks:
                    track.apply(update)
            except OutputError as error:
                outcome.errors.append(error)
                outcome.output_failed.set()
                continue
            outcome.cues_per_target[result.target] += 1
            emit(
                CueWritten(
                    item.path,
                    result.target,
                    result.sentence_id,
                    result.transcript,
                    result.translation,
                    update.added,
                    update.replaced,
                    plan.paths,
                )
            )
        elif isinstance(result, TaskEnded):
            outcome.metrics[result.target] = TaskMetrics(
                result.target,
                result.request_id,
                result.first_package_delay_ms,
                result.last_package_delay_ms,
            )
            if result.error is not None:
                outcome.errors.append(result.error)
