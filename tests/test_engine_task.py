"""One target's task owner (`engine.task.TargetTask`) against a fake transport: scripted events,
no sockets, no ffmpeg. Resumes, retries, stalls and the service's own timeouts."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from subtitler.engine.audio import AudioBuffer
from subtitler.engine.control import RunControl
from subtitler.engine.pacing import StartPacer
from subtitler.engine.task import Phase, TargetTask
from subtitler.gummy.protocol import (
    BAD_RESULT,
    DISCONNECTED,
    ClientEvent,
    GummySettings,
    Sentence,
    TaskFailed,
    TaskFinished,
    TaskStarted,
)
from subtitler.options import RunOptions
from subtitler.sources.media import BYTES_PER_MS

SILENCE_MS = 10_000


@dataclass
class FakeWriter:
    """Stands in for the track writer: records what it is given, keeps the resume point."""

    path: Path = Path("fake.mp4")
    resume_ms: int = 0
    written: list[tuple[int, Sentence]] = field(default_factory=list)

    async def write(self, sentence: Sentence, task_start_ms: int, *_: Any) -> None:
        self.written.append((task_start_ms, sentence))
        self.resume_ms = max(self.resume_ms, task_start_ms + sentence.end_ms)


class FakeClient:
    """A task whose service is a script: `on_audio(client)` and `on_finish(client)` return the
    events the service would send."""

    def __init__(self, script: Script, sink: Callable[[ClientEvent], None]) -> None:
        self.script = script
        self.sink = sink
        self.index = len(script.clients)
        self.received = bytearray()
        self.over = False
        script.clients.append(self)

    @property
    def task_id(self) -> str:
        return f"task-{self.index}"

    @property
    def received_ms(self) -> int:
        return len(self.received) // BYTES_PER_MS

    async def start(self, turn: Callable[[], Awaitable[None]]) -> None:
        await turn()
        self._emit(self.script.on_start(self))

    async def send(self, pcm: bytes) -> bool:
        if self.over:
            return False
        self.received += pcm
        self._emit(self.script.on_audio(self))
        return not self.over

    async def finish(self) -> None:
        self._emit(self.script.on_finish(self))

    async def close(self) -> None:
        self.over = True

    def _emit(self, events: list[ClientEvent]) -> None:
        for event in events:
            if isinstance(event, TaskFailed | TaskFinished):
                self.over = True
            self.sink(event)


@dataclass
class Script:
    on_audio: Callable[[FakeClient], list[ClientEvent]] = lambda client: []
    on_finish: Callable[[FakeClient], list[ClientEvent]] = lambda client: [TaskFinished("t")]
    on_start: Callable[[FakeClient], list[ClientEvent]] = lambda client: [TaskStarted("t")]
    clients: list[FakeClient] = field(default_factory=list)


def options(**changes: Any) -> RunOptions:
    base: dict[str, Any] = {
        "targets": ("en",),
        "gummy": GummySettings(api_key="k"),
        "retries": 2,
        "retry_delay_s": 0.001,
    }
    return RunOptions(**{**base, **changes})


async def run_target(
    script: Script, audio: AudioBuffer, run_options: RunOptions, live: bool = False
) -> tuple[TargetTask, FakeWriter]:
    writer = FakeWriter()
    task = TargetTask(
        target="en",
        options=run_options,
        audio=audio,
        writer=writer,  # type: ignore[arg-type]
        pacer=StartPacer(None),
        control=RunControl(),
        emit=lambda _event: None,
        label="fake.mp4",
        live=live,
        new_client=lambda _kind, _settings, _target, sink: FakeClient(script, sink),
    )
    await task.run()
    return task, writer


def ended_audio(ms: int = SILENCE_MS) -> AudioBuffer:
    audio = AudioBuffer(0)
    audio.append(b"\0" * ms * BYTES_PER_MS)
    audio.end()
    return audio


def sentence(sentence_id: int, begin_ms: int, end_ms: int) -> Sentence:
    return Sentence(sentence_id, begin_ms, end_ms, f"s{sentence_id}", f"t{sentence_id}", ())


def test_a_drop_resumes_from_the_last_sentence_replaying_its_audio() -> None:
    def on_audio(client: FakeClient) -> list[ClientEvent]:
        if client.index == 0 and client.received_ms >= 4000:
            return [sentence(0, 500, 3000), TaskFailed(DISCONNECTED, "lost")]
        return []

    def on_finish(client: FakeClient) -> list[ClientEvent]:
        return [sentence(0, 1000, 2000), TaskFinished("t")]

    script = Script(on_audio=on_audio, on_finish=on_finish)
    task, writer = asyncio.run(run_target(script, ended_audio(), options()))
    assert task.phase is Phase.DONE and task.complete and task.resumes == 1
    assert [(start, s.begin_ms) for start, s in writer.written] == [(0, 500), (3000, 1000)]
    assert script.clients[1].received_ms == SILENCE_MS - 3000, "replayed from the resume point"


def test_an_unreadable_result_is_retried_then_fails_loudly() -> None:
    script = Script(on_audio=lambda client: [TaskFailed(BAD_RESULT, "unreadable result (x)")])
    task, writer = asyncio.run(run_target(script, ended_audio(), options(retries=2)))
    assert task.phase is Phase.FAILED and not task.complete
    assert task.error is not None and "gave up after 2 retries" in str(task.error)
    assert len(script.clients) == 3 and writer.written == []


def test_a_task_that_ends_without_task_finished_is_not_a_success() -> None:
    finished_wrongly = Script(on_finish=lambda client: [TaskFailed(DISCONNECTED, "closed")])
    task, _ = asyncio.run(run_target(finished_wrongly, ended_audio(), options(retries=1)))
    assert task.phase is Phase.FAILED and not task.complete


def test_the_services_idle_timeout_resumes_without_counting() -> None:
    def on_audio(client: FakeClient) -> list[ClientEvent]:
        if client.index < 4 and client.received_ms >= 1000:
            return [TaskFailed("CLIENT_ERROR", "request timeout after 23 seconds.")]
        return []

    script = Script(on_audio=on_audio)
    task, _ = asyncio.run(run_target(script, ended_audio(), options(retries=0)))
    assert task.phase is Phase.DONE and task.complete and len(script.clients) == 5


def test_throttling_waits_and_is_never_counted() -> None:
    def on_start(client: FakeClient) -> list[ClientEvent]:
        if client.index < 3:
            return [TaskFailed("Throttling.RateQuota", "Requests rate limit exceeded.")]
        return [TaskStarted("t")]

    script = Script(on_start=on_start)
    task, _ = asyncio.run(run_target(script, ended_audio(), options(retries=0)))
    assert task.phase is Phase.DONE and task.complete


def test_a_stalled_source_gets_a_clean_finish_and_a_new_task_on_the_same_timeline() -> None:
    async def main() -> tuple[TargetTask, FakeWriter, Script]:
        audio = AudioBuffer(0)
        audio.append(b"\0" * 2000 * BYTES_PER_MS)
        finishes: list[int] = []

        def on_finish(client: FakeClient) -> list[ClientEvent]:
            finishes.append(client.received_ms)
            if len(finishes) == 1:  # the stall: more audio comes after the clean finish
                asyncio.get_running_loop().call_soon(resume_audio)
            return [sentence(0, 100, 900), TaskFinished("t")]

        def resume_audio() -> None:
            audio.append(b"\0" * 1000 * BYTES_PER_MS)
            audio.end()

        script = Script(on_finish=on_finish)
        task, writer = await run_target(script, audio, options(stall_finish_s=0.05), live=True)
        return task, writer, script

    task, writer, script = asyncio.run(main())
    assert task.phase is Phase.DONE and task.complete and task.stalls == 1
    assert [c.received_ms for c in script.clients] == [2000, 1000]
    assert [start for start, _ in writer.written] == [0, 2000], "the second task starts at 2 s"
