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

from subtitler.cues import bilingual_cue
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
from subtitler.tracks import BilingualTracks, track_stem

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
    tracks = {
        target: BilingualTracks(
            track_stem(item, options.out_dir, source, target),
            notes=(f"Source: {item.path.name}", f"Languages: {source or 'auto'}, {target}"),
        )
        for target in options.targets
    }
    all_paths = tuple(path for pair in tracks.values() for path in pair.paths)
    if not options.overwrite:
        existing = [path for pair in tracks.values() for path in pair.existing()]
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
        for pair in tracks.values():
            pair.open()
    except SubtitlerError as error:
        return failed(error)

    emit(InputStarted(item.path, item.name, info.duration_ms, all_paths))
    outcome = _Outcome(cues_per_target={target: 0 for target in options.targets})
    results: queue.SimpleQueue[GummyEvent | None] = queue.SimpleQueue()
    writer = threading.Thread(
        target=_write_results,
        args=(item, options, info.start_offset_ms, tracks, results, outcome, emit),
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
        for pair in tracks.values():
            pair.finish()
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
    tracks: dict[str, BilingualTracks],
    results: queue.SimpleQueue[GummyEvent | None],
    outcome: _Outcome,
    emit: Callable[[Event], None],
) -> None:
    """The writer thread: each finished sentence becomes a durable cue as soon as it arrives."""
    source = options.gummy.source_language
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
            cue = bilingual_cue(
                result.begin_ms,
                result.end_ms,
                result.transcript,
                result.translation,
                source,
                result.target,
                offset_ms,
            )
            if cue is None or outcome.output_failed.is_set():
                continue
            pair = tracks[result.target]
            try:
                pair.append(cue)
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
                    cue,
                    pair.paths,
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
