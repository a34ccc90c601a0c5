"""One input through the whole flow: ffmpeg PCM -> Gummy tasks (one per target) -> cues -> tracks.

The audio is decoded once and fanned out to one task per target language (the service
translates into one language per task). Results come back on the SDK's threads and are handed
to one writer thread per input, which lays each finished sentence out into cues and makes them
durable at once (resume state first, then every track), so the tracks grow while the audio plays.

Nothing is lost when a task fails: a dropped connection or a retryable service error starts a
new task from the end of the last finished sentence, replaying the PCM kept since then, with its
times offset so the cues continue on the same timeline (bounded retries, exponential backoff
with jitter). Throttling waits for a free task slot instead (see `slots`). A run killed at any
point resumes from the state file beside the tracks.
"""

from __future__ import annotations

import queue
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from subtitler import state as resume_state
from subtitler.cues import Cue, CueLayout, LayoutUpdate, SentenceText, TimedWord
from subtitler.errors import MediaError, OutputError, ServiceError, SubtitlerError
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
from subtitler.media import BYTES_PER_MS, FRAME_BYTES, MediaInfo, PcmDecoder, probe
from subtitler.rules import CueRules
from subtitler.slots import TaskSlots
from subtitler.tracks import Layout, TrackPlan, plan_tracks

DEFAULT_SPEED = 10.0
PROGRESS_EVERY_MS = 1000
MAX_THROTTLE_WAITS = 200


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
    retries: int = 5
    """Retryable failures (drops, internal errors) tolerated per task before the input fails."""
    retry_delay_s: float = 0.5
    """First backoff; doubled after each failure (capped at 30 s), with jitter."""
    rollover_after_ms: int | None = 30 * 60 * 1000
    """A task that has streamed this long is replaced by a new one at the next pause between
    sentences (the service caps a task's length; live inputs run for hours)."""


@dataclass
class BatchControl:
    """What the inputs of one batch share: task slots, Ctrl-C, and a fatal error (bad key)."""

    slots: TaskSlots
    stop: threading.Event = field(default_factory=threading.Event)
    fatal: threading.Event = field(default_factory=threading.Event)
    fatal_error: ServiceError | None = None

    def fail_all(self, error: ServiceError) -> None:
        if not self.fatal.is_set():
            self.fatal_error = error
            self.fatal.set()

    @property
    def halted(self) -> bool:
        return self.stop.is_set() or self.fatal.is_set()


class _History:
    """The PCM sent since the oldest resume point of any task still running."""

    def __init__(self, start_ms: int) -> None:
        self.start_ms = start_ms
        self._data = bytearray()

    @property
    def end_ms(self) -> int:
        return self.start_ms + len(self._data) // BYTES_PER_MS

    def append(self, frame: bytes) -> None:
        self._data.extend(frame)

    def since(self, ms: int) -> bytes:
        offset = max(0, (ms - self.start_ms) * BYTES_PER_MS)
        return bytes(self._data[offset:])

    def forget_before(self, ms: int) -> None:
        drop = (ms - self.start_ms) * BYTES_PER_MS
        if drop > 0:
            drop -= drop % 2
            del self._data[:drop]
            self.start_ms += drop // BYTES_PER_MS


@dataclass
class _Target:
    """One target language of one input: its tracks, cue layout, and its current task."""

    target: str
    plan: TrackPlan
    layout: CueLayout
    progress: resume_state.TargetProgress
    task: GummyTask | None = None
    task_start_ms: int = 0
    generation: int = 0
    holds_slot: bool = False
    ended: dict[int, threading.Event] = field(default_factory=dict)
    """Per task generation: set once the writer has applied every result of that task."""
    retired: dict[int, int] = field(default_factory=dict)
    """Rolled-over task generations -> their sentences ending after this stream ms are dropped."""
    rollovers: int = 0
    failures: int = 0
    throttled: int = 0
    retry_at: float = 0.0
    waiting: bool = False
    done: bool = False
    error: SubtitlerError | None = None
    resumes: int = 0
    sentences: int = 0
    metrics: TaskMetrics | None = None


class _Input:
    """The shared state of one input's decode thread and writer thread."""

    def __init__(
        self,
        item: InputFile,
        options: RunOptions,
        control: BatchControl,
        emit: Callable[[Event], None],
        offset_ms: int,
        journal: resume_state.Journal,
        state: resume_state.InputState,
        targets: list[_Target],
    ) -> None:
        self.item = item
        self.options = options
        self.control = control
        self.emit = emit
        self.offset_ms = offset_ms
        self.journal = journal
        self.state = state
        self.targets = targets
        self.by_name = {t.target: t for t in targets}
        self.lock = threading.Lock()
        self.results: queue.SimpleQueue[GummyEvent | None] = queue.SimpleQueue()
        self.output_error: OutputError | None = None
        self.sent_bytes = 0
        self.position_ms = 0
        """Stream time up to which audio has been sent."""
        self.sent_at: deque[tuple[int, float]] = deque(maxlen=6000)
        """(stream ms sent up to, monotonic time): when each part of the audio went out."""

    def latency_ms(self, stream_ms: int) -> float | None:
        """How long ago the audio up to `stream_ms` was sent (end of speech -> now)."""
        for position_ms, sent_s in list(self.sent_at):
            if position_ms >= stream_ms:
                return round((time.monotonic() - sent_s) * 1000, 1)
        return None


def subtitle_input(
    item: InputFile,
    options: RunOptions,
    emit: Callable[[Event], None],
    control: BatchControl | None = None,
) -> InputResult:
    """Subtitle one input; never raises for a problem of this input (the result says it)."""
    started_s = time.monotonic()
    control = control or BatchControl(TaskSlots(options.jobs * len(options.targets)))
    source = options.gummy.source_language
    plans = plan_tracks(item, options.out_dir, source, options.targets, options.layout)
    all_paths = tuple(path for plan in plans for path in plan.paths)
    folder = plans[0].paths[0].parent
    state_file = resume_state.state_path(folder, item.path.stem)
    settings = {
        "targets": list(options.targets),
        "layout": options.layout.value,
        "source_language": source,
        "audio_stream": options.audio_stream,
    }

    def ended(status: Status, reason: str = "", audio_ms: int = 0) -> InputResult:
        return InputResult(
            item.path,
            status,
            reason=reason,
            audio_ms=audio_ms,
            wall_s=time.monotonic() - started_s,
            tracks=all_paths,
        )

    try:
        fresh = options.overwrite or item.live  # a live stream cannot be resumed by seeking
        previous = None if fresh else resume_state.load(state_file)
        if previous is None and not fresh:
            existing = [path for path in all_paths if path.exists()]
            if existing:
                reason = f"tracks exist ({existing[0].name}); --overwrite replaces them"
                return ended(Status.SKIPPED, reason)
        if previous is not None and previous.settings != settings:
            raise OutputError(
                str(state_file),
                "an unfinished run with other options is here; "
                "run it again with those options, or use --overwrite",
            )
        info = (
            MediaInfo(item.path, None, (), 0)
            if item.live
            else probe(item.path, options.audio_stream)
        )
        state = previous or resume_state.InputState(
            item.path.name, settings, {t: resume_state.TargetProgress() for t in options.targets}
        )
        _make_folder(folder)
        journal = resume_state.Journal(state_file)
        if not item.live:
            journal.begin(state, resumed=previous is not None)
        targets = []
        for plan in plans:
            progress = state.targets.setdefault(plan.target, resume_state.TargetProgress())
            layout = CueLayout(options.rules, source, plan.target)
            layout.resume_after(progress.cues[-1] if progress.cues else None)
            for track in plan.tracks:
                track.restore(progress.cues)
            targets.append(_Target(plan.target, plan, layout, progress))
    except SubtitlerError as error:
        return ended(Status.FAILED, str(error))
    except OSError as error:
        return ended(Status.FAILED, f"{folder}: {error.strerror or error}")

    run = _Input(item, options, control, emit, info.start_offset_ms, journal, state, targets)
    emit(InputStarted(item.path, item.label, info.duration_ms, all_paths))
    writer = threading.Thread(
        target=_write_results, args=(run,), name=f"writer:{item.name}", daemon=True
    )
    writer.start()
    decode_error: SubtitlerError | None = None
    try:
        _stream(run)
    except MediaError as error:
        decode_error = error
    finally:
        if control.halted and not item.live:
            # Stopped mid-file (Ctrl-C): a sentence the stop cut short is not written now;
            # the resumed run recognises it whole, from the last finished sentence.
            margin_ms = (options.gummy.max_end_silence_ms or 700) + 300
            for target in targets:
                if target.task is not None:
                    target.retired[target.task.generation] = run.position_ms - margin_ms
        for target in targets:
            _end_task(run, target)
        run.results.put(None)
        writer.join()

    errors: list[SubtitlerError] = [decode_error] if decode_error else []
    if run.output_error:
        errors.append(run.output_error)
    errors += [t.error for t in targets if t.error is not None]
    # A live input ends when it ends, or at Ctrl-C: then it is complete, not interrupted.
    stopped_live = item.live and control.stop.is_set() and not control.fatal.is_set()
    finished = all(t.done for t in targets) or stopped_live
    complete = not errors and finished and (stopped_live or not control.halted)
    try:
        for target in targets:
            for track in target.plan.tracks:
                track.finish()
        if complete:
            journal.remove()
    except OutputError as error:
        errors.append(error)
        complete = False
    if not complete and not errors:
        cause = "the API key was refused" if control.fatal.is_set() else "interrupted"
        errors.append(SubtitlerError(item.label, f"{cause}; run again to resume"))
    return InputResult(
        path=item.path,
        status=Status.DONE if complete else Status.FAILED,
        reason=str(errors[0]) if errors else "",
        sentences=max((t.sentences for t in targets), default=0),
        audio_ms=run.sent_bytes // BYTES_PER_MS,
        wall_s=time.monotonic() - started_s,
        tasks=tuple(t.metrics for t in targets if t.metrics is not None),
        tracks=all_paths,
        resumes=sum(t.resumes for t in targets),
    )


def _make_folder(folder: Path) -> None:
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


# --- the decode thread ------------------------------------------------------------------------


def _stream(run: _Input) -> None:
    """Decode once from the earliest resume point and feed every target at the chosen pace."""
    options, control = run.options, run.control
    start_ms = min(t.progress.resume_ms for t in run.targets)
    history = _History(start_ms)
    for target in run.targets:
        if not _start_task(run, target, target.progress.resume_ms, blocking=True):
            return
    # Resume points are stream times; ffmpeg seeks on the media timeline (late audio: + offset).
    seek_ms = start_ms + run.offset_ms if start_ms > 0 else 0
    decoder = PcmDecoder(
        run.item.path,
        options.audio_stream,
        start_ms=seek_ms,
        live_source=run.item.live_source,
        input_format=run.item.input_format,
        label=run.item.label,
    )
    position_ms = start_ms
    run.position_ms = start_ms
    next_progress_ms = position_ms + PROGRESS_EVERY_MS
    paced_from_s, paced_from_ms = time.monotonic(), position_ms
    speed = 1.0 if run.item.live else options.speed  # live inputs go at 1x
    try:
        for frame in _grouped(decoder, frames_per_send(speed)):
            if speed is not None:
                due_s = paced_from_s + (position_ms - paced_from_ms) / 1000 / speed
                delay_s = due_s - time.monotonic()
                if delay_s > 0:
                    time.sleep(delay_s)  # pacing the stream, not waiting for an event
            history.append(frame)
            for target in run.targets:
                _feed(run, target, frame, position_ms, history)
            position_ms += len(frame) // BYTES_PER_MS
            run.sent_bytes += len(frame)
            run.position_ms = position_ms
            run.sent_at.append((position_ms, time.monotonic()))
            while not control.halted and _all_waiting(run):
                _wait_for_retry(run, history)
            if control.halted or run.output_error or all(t.done for t in run.targets):
                break
            history.forget_before(
                min((t.progress.resume_ms for t in run.targets if not t.done), default=position_ms)
            )
            if position_ms >= next_progress_ms:
                run.emit(AudioProgress(run.item.path, position_ms))
                next_progress_ms += PROGRESS_EVERY_MS
    finally:
        decoder.close()
    run.emit(AudioProgress(run.item.path, position_ms))
    _finish_all(run, history)


def frames_per_send(speed: float | None) -> int:
    """100 ms frames are grouped into one send when the audio goes faster than real time:
    5 (500 ms, 16 000 bytes, inside the service's advised 1 to 16 KB) above 2x. Each send costs
    the SDK a queue round and a new timer thread, and the service a message; at 1x the 100 ms
    frames stay single so results come as early as the speech allows."""
    return 1 if speed is not None and speed <= 2 else 5


def _grouped(frames: Iterable[bytes], count: int) -> Iterator[bytes]:
    if count == 1:
        yield from frames
        return
    group = bytearray()
    for index, frame in enumerate(frames, start=1):
        group += frame
        if index % count == 0:
            yield bytes(group)
            group.clear()
    if group:
        yield bytes(group)


def _feed(run: _Input, target: _Target, frame: bytes, position_ms: int, history: _History) -> None:
    if target.done:
        return
    if target.waiting:
        if _ready_to_retry(run, target):
            _restart(run, target, history)
        return
    task = target.task
    if task is None:
        return
    frame_end_ms = position_ms + len(frame) // BYTES_PER_MS
    if target.task_start_ms >= frame_end_ms:
        return  # resumed later than this frame: not there yet
    piece = frame[max(0, target.task_start_ms - position_ms) * BYTES_PER_MS :]
    if not task.send(piece):
        _on_failure(run, target)
        return
    limit = run.options.rollover_after_ms
    if limit is not None and frame_end_ms - target.task_start_ms >= limit:
        _roll_over(run, target, history, frame_end_ms)


def _roll_over(run: _Input, target: _Target, history: _History, sent_end_ms: int) -> None:
    """Replace a long-running task before the service's cap on task length.

    The old task gets no more audio and is finished; its last sentences that ended within an
    end-of-sentence silence of where its audio stopped may have been cut short by the stop, so
    they are dropped. A new task starts after the last sentence kept, replaying the PCM since
    then: nothing lost, nothing said twice, the timeline unchanged.
    """
    task = target.task
    if task is None:
        return
    margin_ms = (run.options.gummy.max_end_silence_ms or 700) + 300
    target.retired[task.generation] = sent_end_ms - margin_ms
    task.finish()
    target.ended[task.generation].wait(timeout=30)
    target.rollovers += 1
    with run.lock:
        cutoff_ms = max(target.progress.resume_ms, history.start_ms)
    _start_task(run, target, cutoff_ms, blocking=False)  # keeps the old task's slot
    _replay(run, target, history, cutoff_ms)


def _finish_all(run: _Input, history: _History) -> None:
    """End of audio: let every task flush; a task that fails now resumes and replays."""
    for target in run.targets:
        while not target.done and not run.control.halted:
            if target.waiting:
                _wait_for_retry(run, history, only=target)
                continue
            if target.task is None:
                target.done = True
                continue
            _end_task(run, target)
            if target.task is None and not target.waiting:
                target.done = True


def _all_waiting(run: _Input) -> bool:
    live = [t for t in run.targets if not t.done]
    return bool(live) and all(t.waiting for t in live)


def _wait_for_retry(run: _Input, history: _History, only: _Target | None = None) -> None:
    """Nothing to feed: wait for the first backoff to pass or a slot to come free, restart."""
    waiting = [t for t in run.targets if t.waiting and (only is None or t is only)]
    if not waiting:
        return
    for target in waiting:
        if _ready_to_retry(run, target):
            _restart(run, target, history)
            return
    soonest = min(t.retry_at for t in waiting)
    run.control.slots.wait(max(0.01, min(0.5, soonest - time.monotonic())))


def _ready_to_retry(run: _Input, target: _Target) -> bool:
    if time.monotonic() < target.retry_at:
        return False
    if not run.control.slots.try_acquire():
        return False
    target.holds_slot = True
    return True


def _start_task(run: _Input, target: _Target, start_ms: int, blocking: bool) -> bool:
    if not target.holds_slot:
        if not blocking:
            return False
        if not run.control.slots.acquire(run.control.stop):
            return False
        target.holds_slot = True
    target.generation += 1
    target.ended[target.generation] = threading.Event()
    target.task = GummyTask(
        run.options.gummy,
        target.target,
        run.results.put,
        run.item.label,
        time_offset_ms=start_ms,
        generation=target.generation,
    )
    target.task_start_ms = start_ms
    target.waiting = False
    target.task.start()
    return True


def _restart(run: _Input, target: _Target, history: _History) -> None:
    """A new task from the end of the last finished sentence, replaying the PCM since then."""
    with run.lock:
        resume_ms = max(target.progress.resume_ms, history.start_ms)
    target.resumes += 1
    _start_task(run, target, resume_ms, blocking=False)
    _replay(run, target, history, resume_ms)


def _replay(run: _Input, target: _Target, history: _History, from_ms: int) -> None:
    """Send a new task the audio kept since `from_ms`, in frames the service accepts."""
    replay = history.since(from_ms)
    for offset in range(0, len(replay), FRAME_BYTES):
        if target.task is None or not target.task.send(replay[offset : offset + FRAME_BYTES]):
            _on_failure(run, target)
            return


def _end_task(run: _Input, target: _Target) -> None:
    """Finish (or collect the failure of) the current task and classify how it ended."""
    task = target.task
    if task is None:
        return
    task.finish()
    target.ended[task.generation].wait(timeout=30)  # the writer applied all its results
    target.task = None
    if target.holds_slot:
        run.control.slots.release()
        target.holds_slot = False
    error = task.error
    if error is not None:
        _schedule_retry(run, target, error)


def _on_failure(run: _Input, target: _Target) -> None:
    _end_task(run, target)


def _schedule_retry(run: _Input, target: _Target, error: ServiceError) -> None:
    options = run.options
    if error.code == "InvalidApiKey":
        run.control.fail_all(error)
        target.error, target.done = error, True
        return
    if error.code.startswith("Throttling"):
        run.control.slots.throttled()
        target.throttled += 1
        if target.throttled <= MAX_THROTTLE_WAITS:
            target.waiting = True
            target.retry_at = time.monotonic() + random.uniform(0.05, 0.25)
            return
    elif error.retryable and target.failures < options.retries:
        target.failures += 1
        delay = min(30.0, options.retry_delay_s * 2 ** (target.failures - 1))
        target.waiting = True
        target.retry_at = time.monotonic() + delay * random.uniform(0.5, 1.0)
        return
    if error.retryable:
        attempts = target.failures + target.throttled
        error = ServiceError(
            error.subject, f"{error.cause} (gave up after {attempts} retries)", code=error.code
        )
    target.error, target.done = error, True


# --- the writer thread ---------------------------------------------------------------------


def _write_results(run: _Input) -> None:
    """Each finished sentence becomes durable cues as soon as it arrives: state, then tracks."""
    while True:
        result = run.results.get()
        if result is None:
            return
        target = run.by_name[result.target]
        cutoff_ms = target.retired.get(result.generation)
        if isinstance(result, Partial):
            if cutoff_ms is None:
                run.emit(
                    PartialText(
                        run.item.path,
                        result.target,
                        result.sentence_id,
                        result.transcript,
                        result.translation,
                    )
                )
        elif isinstance(result, Sentence):
            if cutoff_ms is not None and result.end_ms > cutoff_ms:
                continue  # cut short by a rollover: the next task says it again, whole
            _write_sentence(run, target, result)
        elif isinstance(result, TaskEnded):
            if cutoff_ms is not None:
                target.ended[result.generation].set()
                continue
            if result.error is None or target.metrics is None:
                target.metrics = TaskMetrics(
                    result.target,
                    result.request_id,
                    result.first_package_delay_ms,
                    result.last_package_delay_ms,
                )
            target.ended[result.generation].set()


def _write_sentence(run: _Input, target: _Target, sentence: Sentence) -> None:
    if run.output_error is not None:
        return
    offset = run.offset_ms
    laid_out = SentenceText(
        begin_ms=sentence.begin_ms + offset,
        end_ms=sentence.end_ms + offset,
        transcript=sentence.transcript,
        translation=sentence.translation,
        words=tuple(
            TimedWord(w.text + w.punctuation, w.begin_ms + offset, w.end_ms + offset)
            for w in sentence.words
        ),
    )
    with run.lock:
        update = target.layout.add(laid_out)
        _apply(target.progress.cues, update)
        target.progress.resume_ms = max(target.progress.resume_ms, sentence.end_ms)
    if update.replaced is None and not update.added:
        return
    try:
        if not run.item.live:
            run.journal.append(target.target, target.progress, update.replaced, update.added)
        for track in target.plan.tracks:
            track.apply(update)
    except OutputError as error:
        run.output_error = error
        return
    target.sentences += 1
    run.emit(
        CueWritten(
            run.item.path,
            sentence.target,
            sentence.sentence_id,
            sentence.transcript,
            sentence.translation,
            update.added,
            update.replaced,
            target.plan.paths,
            laid_out.begin_ms,
            laid_out.end_ms,
            run.latency_ms(sentence.end_ms),
            round((time.monotonic() - sentence.received_s) * 1000, 3)
            if sentence.received_s
            else None,
        )
    )


def _apply(cues: list[Cue], update: LayoutUpdate) -> None:
    if update.replaced is not None and cues:
        cues[-1] = update.replaced
    cues.extend(update.added)
