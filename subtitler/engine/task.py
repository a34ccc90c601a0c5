"""One target language of one input: its Gummy tasks, one after another, owned by one coroutine.

`TargetTask.run()` is the only code that starts, feeds, finishes or abandons this target's
tasks, and the only reader of their events, so its state (`Phase`) has one owner. A task has
succeeded only when `task-finished` arrived. Any other end is decided by `policy.decide`: the
next task resumes from the end of the last finished sentence, replaying the audio kept since
then, with its times offset so cues continue on the same timeline.

Three clean ends besides the end of the audio, each followed by a new task on the same timeline:
- stall: no audio for `stall_finish_s` (a live source paused): the task is finished before the
  service's 23 s limit, every result kept; the next starts where it stopped once audio flows;
- rollover: a task that has streamed `rollover_after_ms` gets audio up to the middle of the next
  pause in the speech and is finished there; the next task starts at the pause. With no pause
  within `ROLLOVER_GRACE` (music, noise), the task is finished where its audio stopped:
  sentences that end within an end-of-sentence silence of that point may have been cut by the
  stop, so they are dropped and the next task, from the last sentence kept, says them whole;
- halt (Ctrl-C, a refused key elsewhere): the task is finished; for a file, a sentence the stop
  cut short is dropped the same way (the resumed run recognises it whole).

With the speech gate (`--vad on`) a task's stream skips the stretches of non-speech
(`AudioBuffer.span`): the service's clock runs only while audio is sent, so the task keeps a
`TimeMap` and every time it reports is put back on the stream's timeline before the writer sees
it. The stall rule then counts the time since audio was last *sent*: a live intermission
finishes the task cleanly, and the next starts when speech returns.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Protocol

from subtitler.engine.attempts import Attempts
from subtitler.engine.audio import AudioBuffer, splice_pause_ms
from subtitler.engine.control import RunControl
from subtitler.engine.figures import TargetFigures, TaskTiming
from subtitler.engine.gate import TimeMap
from subtitler.engine.pacing import StartPacer
from subtitler.engine.phase import Phase, PhaseMachine
from subtitler.engine.policy import Action, RetryPolicy, decide
from subtitler.errors import OutputError, ServiceError, SubtitlerError
from subtitler.events import PartialText, TaskMetrics
from subtitler.gummy.client import GummyTask, new_task
from subtitler.gummy.protocol import (
    UNFINISHED,
    ClientEvent,
    Partial,
    Sentence,
    TaskFailed,
    TaskFinished,
    TaskStarted,
    Word,
)
from subtitler.options import RunOptions
from subtitler.sources.media import BYTES_PER_MS

START_TIMEOUT_S = 20.0
"""No `task-started` this long after `run-task`: the task failed."""
RESULT_TIMEOUT_S = 60.0
"""Finishing, and nothing from the service this long: the task failed."""
ROLLOVER_GRACE = 0.25
"""Past the rollover limit, a pause is looked for in this share of the limit (at most 30 s)."""
_AUDIO = object()  # inbox item: more audio, or its end


class SentenceSink(Protocol):
    """Where a task's finished sentences go: a target's `TargetWriter`, or the input's
    `TranscriptWriter` for a recognition-only task."""

    @property
    def path(self) -> Path: ...

    @property
    def resume_ms(self) -> int: ...

    async def write(
        self, sentence: Sentence, task_start_ms: int, latency_ms: float | None, received_s: float
    ) -> None: ...


class EndReason(Enum):
    END = "end of audio"
    STALL = "stall"
    PAUSE = "rollover at a pause"
    ROLLOVER = "rollover"


@dataclass(frozen=True)
class Finished:
    position_ms: int
    reason: EndReason


class TargetTask:
    def __init__(
        self,
        *,
        target: str,
        options: RunOptions,
        audio: AudioBuffer,
        writer: SentenceSink,
        pacer: StartPacer,
        control: RunControl,
        emit: Callable[[PartialText], None],
        label: str,
        live: bool,
        new_client: Callable[..., GummyTask] = new_task,
    ) -> None:
        self.target = target
        self.options = options
        self.audio = audio
        self.writer = writer
        self.pacer = pacer
        self.control = control
        self.label = label
        self.live = live
        self._emit = emit
        self._new_client = new_client
        """The client factory (`gummy.client.new_task`; a fake transport in unit tests)."""
        self._phases = PhaseMachine()
        self.error: SubtitlerError | None = None
        self.attempts = Attempts()
        self.figures = TargetFigures(target)
        self.complete = False
        """Every audio byte went through a task that finished (not stopped midway)."""
        self._safe_ms = 0
        self._inbox: asyncio.Queue[tuple[int, object, float]] = asyncio.Queue()
        self._audio_flagged = False
        self._send_bytes = send_bytes(None if live else options.speed)
        self._margin_ms = (options.gummy.max_end_silence_ms or 700) + 300
        self.sent_ms = 0
        """Audio sent to the service by all of this target's tasks (what it bills)."""
        self._last_sent_s = time.monotonic()
        self._times = TimeMap(0)
        self._pause_ms = splice_pause_ms(options.gummy.max_end_silence_ms)
        self._audio_since_splice = False
        """Stream audio was sent since the last stretch skipped (a pause goes at a splice)."""
        audio.listen(self._audio_changed)

    @property
    def resumes(self) -> int:
        return self.attempts.resumes

    @property
    def stalls(self) -> int:
        return self.attempts.stalls

    @property
    def metrics(self) -> TaskMetrics | None:
        return self.figures.metrics

    @property
    def first_sent_s(self) -> float | None:
        """`time.perf_counter()` when this target's first audio went out."""
        return self.figures.first_sent_s

    @property
    def phase(self) -> Phase:
        return self._phases.phase

    @property
    def over(self) -> bool:
        return self._phases.over

    def resume_point_ms(self) -> int:
        return max(self.writer.resume_ms, self._safe_ms, self.audio.start_ms)

    async def run(self) -> None:
        try:
            await self._run()
        except OutputError as error:
            self._fail(error)
        finally:
            self.audio.consumed()  # no longer read: the decoder must not wait for it

    async def _run(self) -> None:
        start_ms = self.resume_point_ms()
        while True:
            await self._wait_for_audio(start_ms)
            begin_ms, end_ms = self.audio.span(start_ms)
            nothing_left = self.audio.ended and begin_ms >= end_ms
            if nothing_left and (self.attempts.started or self.audio.halted):
                self.complete = not self.audio.halted or self.live
                self._phases.enter(Phase.DONE)
                return
            outcome = await self._one_task(start_ms)
            if isinstance(outcome, Finished):
                if outcome.reason is EndReason.END:
                    self.complete = not self.audio.halted or self.live
                    self._phases.enter(Phase.DONE)
                    return
                if outcome.reason is EndReason.STALL:
                    self.attempts.stalled()
                if outcome.reason is not EndReason.ROLLOVER:
                    self._safe_ms = outcome.position_ms  # every result up to here is in
                    self.audio.consumed()
                start_ms = self.resume_point_ms()
                continue
            if self.audio.halted and self.control.stopping:
                self._phases.enter(Phase.DONE)  # interrupted: the journal resumes it later
                return
            decision = decide(
                outcome,
                self.attempts.failures,
                self.attempts.throttled,
                RetryPolicy(self.options.retries, self.options.retry_delay_s),
                random.random(),
                self.options.gummy.endpoint,
                reached=self.control.service_reached,
            )
            if decision.action is Action.STOP_RUN:
                self.control.fail_all(
                    ServiceError(self.options.gummy.endpoint or "", decision.reason, decision.code)
                )
                self._fail(ServiceError(self.label, decision.reason, code=decision.code))
                return
            if decision.action is Action.FAIL:
                self._fail(ServiceError(self.label, decision.reason, code=outcome.code))
                return
            self.attempts.failed(decision)
            if decision.delay_s > 0:
                await self.control.wait_stopping(decision.delay_s)
            start_ms = self.resume_point_ms()

    async def _wait_for_audio(self, start_ms: int) -> None:
        """Until there is audio to send (with the gate: speech again), or it has ended."""
        self._phases.enter(Phase.WAITING_FOR_AUDIO)
        while not self.audio.ended:
            begin, end = self.audio.span(start_ms)
            if end > begin:
                return
            await self._next()

    async def _one_task(self, start_ms: int) -> Finished | TaskFailed:
        generation = self.attempts.start()

        def sink(event: ClientEvent) -> None:
            self._inbox.put_nowait((generation, event, time.perf_counter()))

        client = self._new_client(self.options.client, self.options.gummy, self.target, sink)
        self._phases.enter(Phase.STARTING)
        timing = self.figures.new_task()
        position_ms = start_ms
        self._times = TimeMap(start_ms)
        self._audio_since_splice = False
        task_sent_ms = 0
        cutoff_ms: int | None = None  # stream ms: sentences ending later are dropped
        reason: EndReason | None = None
        reached = False  # the service answered this task
        try:
            async with self.pacer.submission() as turn:
                await client.start(turn)
            while True:
                if self.phase is Phase.STREAMING and reason is None:
                    position_ms, reason, task_sent_ms = await self._send(
                        client, start_ms, position_ms, task_sent_ms, timing
                    )
                    if reason is not None:
                        if reason is EndReason.ROLLOVER or (self.audio.halted and not self.live):
                            cutoff_ms = position_ms - self._margin_ms
                        await self._finish(client, timing)
                try:
                    async with asyncio.timeout(self._timeout_s(position_ms)):
                        item_generation, item, arrived_s = await self._next()
                except TimeoutError:
                    if self.phase is Phase.STREAMING:
                        reason = EndReason.STALL  # finish before the service's 23 s rule
                        await self._finish(client, timing)
                        continue
                    waited = "task-started" if self.phase is Phase.STARTING else "task-finished"
                    return TaskFailed(UNFINISHED, f"no {waited} from the service in time")
                if item is _AUDIO or item_generation != generation:
                    continue
                if self._heard_from_service(item):
                    reached = self.control.service_reached = True
                if isinstance(item, TaskStarted):
                    self._phases.enter(Phase.STREAMING)
                    self._last_sent_s = time.monotonic()
                elif isinstance(item, Partial | Sentence):
                    if timing.first_result_s is None:
                        timing.first_result_s = arrived_s
                    await self._result(item, start_ms, cutoff_ms, arrived_s)
                elif isinstance(item, TaskFinished):
                    last_task = reason is EndReason.END
                    self.figures.record(client.task_id, timing, arrived_s, last_task)
                    return Finished(position_ms, reason or EndReason.END)
                elif isinstance(item, TaskFailed):
                    if reached:  # no request id for a task that never reached the service
                        self.figures.record(client.task_id, timing, None, last_task=False)
                    return item
        finally:
            await client.close()

    def _heard_from_service(self, item: object) -> bool:
        """An event only the service can cause (a client may report `TaskStarted` itself,
        before it has connected)."""
        if isinstance(item, TaskStarted):
            return not self.options.client.traits.reports_own_start
        return isinstance(item, Partial | Sentence | TaskFinished)

    async def _finish(self, task: GummyTask, timing: TaskTiming) -> None:
        """No more audio for this task: its last results and `task-finished` follow."""
        self._phases.enter(Phase.FINISHING)
        timing.finish_sent_s = time.perf_counter()
        await task.finish()

    async def _send(
        self, task: GummyTask, start_ms: int, position_ms: int, sent_ms: int, timing: TaskTiming
    ) -> tuple[int, EndReason | None, int]:
        """Send what has been decoded (and, with the gate, decided) past `position_ms`; where
        the task got to, why it should end if it should, and how much it has sent."""
        limit_ms = self.options.rollover_after_ms
        while True:
            size = self._send_bytes
            begin_ms, end_ms = self.audio.span(position_ms)
            if begin_ms > position_ms:  # a stretch of non-speech is skipped
                follows = not (self.audio.ended and begin_ms >= self.audio.end_ms)
                if self._audio_since_splice and follows:
                    if not await self._send_pause(task, timing, position_ms):
                        return position_ms, None, sent_ms
                    self._times.pause(sent_ms, self._pause_ms, begin_ms)
                    sent_ms += self._pause_ms
                else:
                    self._times.jump(sent_ms, begin_ms)
                self._audio_since_splice = False
                position_ms = begin_ms
                self.audio.consumed()
            if limit_ms is not None and position_ms - start_ms >= limit_ms:
                if timing.pause_ms is None:
                    timing.pause_ms = self.audio.quiet_point_ms(position_ms)
                if timing.pause_ms is not None and timing.pause_ms <= position_ms:
                    return position_ms, EndReason.PAUSE, sent_ms
                if timing.pause_ms is not None:
                    size = min(size, (timing.pause_ms - position_ms) * BYTES_PER_MS)
                grace_ms = min(30_000, round(limit_ms * ROLLOVER_GRACE))
                if position_ms - start_ms >= limit_ms + grace_ms:
                    return position_ms, EndReason.ROLLOVER, sent_ms
            if end_ms <= position_ms:
                break
            chunk = self.audio.read(position_ms, min(size, (end_ms - position_ms) * BYTES_PER_MS))
            if not chunk:
                break
            if not await task.send(chunk):
                return position_ms, None, sent_ms  # over: its TaskFailed is in the inbox
            position_ms += len(chunk) // BYTES_PER_MS
            sent_ms += len(chunk) // BYTES_PER_MS
            self.sent_ms += len(chunk) // BYTES_PER_MS
            self._last_sent_s = time.monotonic()
            self._audio_since_splice = True
            self.figures.sent(timing, position_ms, time.perf_counter())
            if not self._inbox.empty():
                break  # results first: a cue is written as soon as its sentence is final
        if self.audio.ended and position_ms >= self.audio.end_ms:
            return position_ms, EndReason.END, sent_ms
        return position_ms, None, sent_ms

    async def _send_pause(self, task: GummyTask, timing: TaskTiming, position_ms: int) -> bool:
        """The silence sent where a stretch is skipped (`splice_pause_ms`); False: the task is
        over."""
        silence = bytes(self._pause_ms * BYTES_PER_MS)
        for offset in range(0, len(silence), self._send_bytes):
            if not await task.send(silence[offset : offset + self._send_bytes]):
                return False
        self.sent_ms += self._pause_ms
        self._last_sent_s = time.monotonic()
        self.figures.sent(timing, position_ms, time.perf_counter())
        return True

    def _timeout_s(self, position_ms: int) -> float:
        if self.phase is Phase.STARTING:
            return START_TIMEOUT_S
        begin_ms, end_ms = self.audio.span(position_ms)
        if self.phase is Phase.STREAMING and begin_ms >= end_ms:
            # the service's 23 s count the time since it last got audio: with the gate, since
            # this task last sent some (an intermission is decoded but not sent)
            since_s = self._last_sent_s if self.audio.gate else self.audio.last_arrival_s
            idle_s = time.monotonic() - since_s
            return max(0.0, self.options.stall_finish_s - idle_s)
        return RESULT_TIMEOUT_S

    async def _result(
        self, item: Partial | Sentence, start_ms: int, cutoff_ms: int | None, arrived_s: float
    ) -> None:
        if isinstance(item, Partial):
            if cutoff_ms is None:
                self._emit(
                    PartialText(
                        path=self.writer.path,
                        target=self.target,
                        sentence_id=item.sentence_id,
                        transcript=item.transcript,
                        translation=item.translation,
                        label=self.label,
                    )
                )
            return
        item = self._on_stream(item, start_ms)
        if cutoff_ms is not None and start_ms + item.end_ms > cutoff_ms:
            return  # cut short by a rollover or a stop: the next task says it whole
        await self.writer.write(
            item, start_ms, self.figures.latency_ms(start_ms + item.end_ms), arrived_s
        )
        self.audio.consumed()  # the resume point moved: the decoder may go on

    def _on_stream(self, sentence: Sentence, start_ms: int) -> Sentence:
        """The sentence with its times (task-relative, as the service counts the audio it got)
        task-relative on the stream's timeline: stretches skipped are put back."""
        times = self._times
        if not times.spliced:
            return sentence

        def moved(begin_ms: int, end_ms: int) -> tuple[int, int]:
            begin = times.to_stream(begin_ms) - start_ms
            return begin, max(begin, times.to_stream(end_ms, ending=True) - start_ms)

        begin_ms, end_ms = moved(sentence.begin_ms, sentence.end_ms)
        words = tuple(Word(*moved(w.begin_ms, w.end_ms), w.text) for w in sentence.words)
        return dataclasses.replace(sentence, begin_ms=begin_ms, end_ms=end_ms, words=words)

    def _fail(self, error: SubtitlerError) -> None:
        self.error = error
        self._phases.enter(Phase.FAILED)

    async def _next(self) -> tuple[int, object, float]:
        item = await self._inbox.get()
        if item[1] is _AUDIO:
            self._audio_flagged = False
        return item

    def _audio_changed(self) -> None:
        if not self._audio_flagged:  # one wake-up however many frames arrived meanwhile
            self._audio_flagged = True
            self._inbox.put_nowait((0, _AUDIO, 0.0))


def send_bytes(speed: float | None) -> int:
    """How much audio one send carries: 100 ms at up to 2x (results come as early as the speech
    allows), 500 ms (16 000 bytes, the top of the service's advised 1 to 16 KB) faster than
    that, where fewer, larger messages cost less on both ends."""
    return 100 * BYTES_PER_MS if speed is not None and speed <= 2 else 500 * BYTES_PER_MS
