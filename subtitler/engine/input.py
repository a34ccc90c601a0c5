"""One input through the flow: ffmpeg PCM -> one Gummy task per target -> cues -> tracks.

`prepare` claims the input, plans its tracks and restores an unfinished run's state; `stream`
decodes once (from the earliest resume point) into an `AudioBuffer` read by one `TargetTask` per
target, paced to the chosen speed; `conclude` finishes the tracks and says how it went. Never
raises for a problem of this input: the result says it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import glob
import time
from dataclasses import dataclass
from pathlib import Path

from subtitler import state as resume_state
from subtitler.cues import CueLayout
from subtitler.engine.audio import AudioBuffer
from subtitler.engine.claim import Claim, claim_path
from subtitler.engine.context import RunContext
from subtitler.engine.naming import SourceNamer
from subtitler.engine.task import TargetTask, send_bytes
from subtitler.engine.writer import TargetWriter
from subtitler.errors import MediaError, OutputError, SubtitlerError
from subtitler.events import AudioProgress, InputResult, InputStarted, Status
from subtitler.gummy.client import ClientKind
from subtitler.inputs import InputFile
from subtitler.media import BYTES_PER_MS, AsyncPcmDecoder, MediaInfo
from subtitler.tracks import Picture, TrackPlan, plan_tracks

PROGRESS_EVERY_MS = 1000
MAX_LEAD_MS = 30_000
"""With the native client, decoding stays at most this far ahead of the slowest target's last
finished sentence: the service's own pace is the flow control, and the PCM kept for resumes
stays small (about 1 MB) whatever the input's length and speed. (A sentence longer than this is
ended by the stall rule.)"""
IN_PROGRESS = "in progress in another run"


@dataclass
class _Prepared:
    info: MediaInfo
    decoder: AsyncPcmDecoder
    """Started: it told `info` and its frames follow."""
    start_ms: int
    """Where its frames start in the stream (the earliest target's resume point)."""
    picture: Picture | None
    journal: resume_state.Journal
    writers: list[TargetWriter]
    namer: SourceNamer | None = None
    """`-s auto` while the language is not named yet."""
    named: str | None = None
    """The source language the tracks are named after, when known before any speech."""


async def subtitle_input(item: InputFile, context: RunContext) -> InputResult:
    started_s = time.monotonic()
    options = context.options
    plans = plan_tracks(item, options, options.gummy.source_language)
    paths = tuple(path for plan in plans for path in plan.paths)
    folder = plans[0].paths[0].parent

    def ended(status: Status, reason: str = "") -> InputResult:
        return InputResult(
            item.path,
            status,
            reason=reason,
            wall_s=time.monotonic() - started_s,
            tracks=paths,
            label=item.label,
        )

    claim = Claim(claim_path(folder, item.path.stem))
    try:
        _make_folder(folder)
        if not claim.acquire():
            return ended(Status.SKIPPED, f"{item.label}: {IN_PROGRESS}")
    except OutputError as error:
        return ended(Status.FAILED, str(error))
    try:
        try:
            prepared = await _prepare(item, context, plans, folder)
        except SubtitlerError as error:
            return ended(Status.FAILED, str(error))
        except OSError as error:
            return ended(Status.FAILED, f"{folder}: {error.strerror or error}")
        if prepared is None:
            existing = _existing_track(paths)
            reason = f"tracks exist ({existing.name}); --overwrite replaces them"
            return ended(Status.SKIPPED, reason)
        undecided = prepared.namer is not None
        context.emit(
            InputStarted(
                item.path, item.label, prepared.info.duration_ms, () if undecided else paths
            )
        )
        return await _stream_and_conclude(item, context, prepared, started_s)
    finally:
        claim.release()


async def _prepare(
    item: InputFile, context: RunContext, plans: list[TrackPlan], folder: Path
) -> _Prepared | None:
    """The input's state and writers; None when its tracks exist and nothing is to resume."""
    options = context.options
    source = options.gummy.source_language
    settings = {
        "targets": list(options.targets),
        "layout": options.layout.value,
        "source_language": source,
        "audio_stream": options.audio_stream,
    }
    state_file = resume_state.state_path(folder, item.path.stem)
    fresh = options.overwrite or item.live  # a live stream cannot be resumed by seeking
    previous = None if fresh else await context.disk.call(resume_state.load, state_file)
    tracks_exist = any(path.exists() for plan in plans for path in plan.paths)
    if source is None and not tracks_exist:  # named after the identified language, if any
        tracks_exist = any(_named_elsewhere(path) for plan in plans for path in plan.paths)
    if previous is None and not fresh and tracks_exist:
        return None
    if previous is not None and previous.settings != settings:
        raise OutputError(
            str(state_file),
            "an unfinished run with other options is here; "
            "run it again with those options, or use --overwrite",
        )
    state = previous or resume_state.InputState(
        item.path.name, settings, {t: resume_state.TargetProgress() for t in options.targets}
    )
    no_progress = resume_state.TargetProgress()
    start_ms = min(state.targets.get(t, no_progress).resume_ms for t in options.targets)
    speed = 1.0 if item.live else options.speed  # live inputs go at 1x
    # Resume points are stream times; ffmpeg seeks on the media timeline (late audio: + offset).
    decoder = AsyncPcmDecoder(
        item.path,
        options.audio_stream,
        start_ms=start_ms + state.start_offset_ms if start_ms > 0 else 0,
        frame_bytes=send_bytes(speed),
        live_source=item.live_source,
        input_format=item.input_format,
        label=item.label,
    )
    told = await decoder.start()
    try:
        return await _prepare_writers(
            item, context, state, previous, told, decoder, start_ms, state_file
        )
    except BaseException:
        await decoder.aclose()
        raise


async def _prepare_writers(
    item: InputFile,
    context: RunContext,
    state: resume_state.InputState,
    previous: resume_state.InputState | None,
    told: MediaInfo | None,
    decoder: AsyncPcmDecoder,
    start_ms: int,
    state_file: Path,
) -> _Prepared:
    options = context.options
    source = options.gummy.source_language
    if told is None:  # live: nothing is waited for
        info = MediaInfo(item.path, None, (), 0)
    elif previous is None:
        info = told
        state.start_offset_ms = told.start_offset_ms
    else:  # a resumed decode starts mid-stream: the journal knows where the stream starts
        info = dataclasses.replace(told, start_offset_ms=previous.start_offset_ms)
    journal = resume_state.Journal(state_file)
    if not item.live and previous is None:
        await context.disk.run([journal.begin(state)])
    video = info.video
    picture = None if video is None else Picture(video.width, video.height, video.frame_rate)
    named = source or state.named_source
    namer = SourceNamer() if named is None else None
    writers = []
    for target in options.targets:
        progress = state.targets.setdefault(target, resume_state.TargetProgress())
        layout = CueLayout(options.rules, None if named == "und" else named, target)
        layout.resume_after(progress.cues[-1] if progress.cues else None)
        writers.append(
            TargetWriter(
                path=item.path,
                label=item.label,
                target=target,
                plan=None,
                layout=layout,
                progress=progress,
                journal=None if item.live else journal,
                media_offset_ms=info.start_offset_ms,
                disk=context.disk,
                emit=context.emit,
                namer=namer,
            )
        )
    return _Prepared(info, decoder, start_ms, picture, journal, writers, namer, named)


async def _open_tracks(item: InputFile, context: RunContext, prepared: _Prepared) -> None:
    """Open the tracks beside the streaming, on the writer thread: at once when the language is
    known (a resume restores every cue the journal holds: about 1 s for 10 h in four formats,
    while the service's task starts), else (`-s auto`) once the namer has named it, which is
    journaled. Sentences that finish meanwhile are held and written in order after. A write
    error fails every writer of the input."""
    try:
        if prepared.namer is not None:
            language = await prepared.namer.named
            if not item.live:
                await context.disk.run([prepared.journal.name_source(language)])
        else:
            assert prepared.named is not None
            language = prepared.named
        plans = plan_tracks(item, context.options, language, prepared.picture)
        planned = {plan.target: plan for plan in plans}
        for writer in prepared.writers:
            await writer.open(planned[writer.target], None if language == "und" else language)
    except OutputError as error:
        for writer in prepared.writers:
            writer.error = writer.error or error


def _named_elsewhere(path: Path) -> Path | None:
    """`-s auto`: a track of this input named after an identified language (`x.zh-en.srt`
    for the planned `x.und-en.srt`), if one exists."""
    stem, _, rest = path.name.partition(".und")
    if not rest:
        return None
    found: list[Path] = []
    for code in ("[a-z][a-z]", "[a-z][a-z][a-z]"):  # a language code, not any name
        found += path.parent.glob(f"{glob.escape(stem)}.{code}{glob.escape(rest)}")
    return min(found, default=None)


def _existing_track(paths: tuple[Path, ...]) -> Path:
    for path in paths:
        if path.exists():
            return path
    found = [named for path in paths if (named := _named_elsewhere(path)) is not None]
    return found[0] if found else paths[0]


async def _stream_and_conclude(
    item: InputFile, context: RunContext, prepared: _Prepared, started_s: float
) -> InputResult:
    options = context.options
    audio = AudioBuffer(prepared.start_ms)
    opening = asyncio.create_task(_open_tracks(item, context, prepared))
    tasks = [
        TargetTask(
            writer.target,
            options,
            audio,
            writer,
            context.pacer,
            context.control,
            context.emit,
            item.label,
            item.live,
        )
        for writer in prepared.writers
    ]
    runners = [asyncio.create_task(task.run()) for task in tasks]
    decode_error: MediaError | None = None
    try:
        await _decode(item, context, audio, tasks, prepared.decoder)
    except MediaError as error:
        decode_error = error
    finally:
        if not audio.ended:
            audio.end(halted=True)
    await asyncio.gather(*runners)
    return await _conclude(item, context, prepared, tasks, opening, decode_error, audio, started_s)


async def _decode(
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
    next_progress_ms = position_ms + PROGRESS_EVERY_MS
    # The SDK reads results only while it has audio to send: holding audio back until results
    # come would stall it, so with the SDK client decoding is not bounded by them; nor is a
    # live source, which cannot wait.
    bounded = options.client is ClientKind.NATIVE and not item.live
    frames = decoder.frames()
    try:
        async for frame in frames:
            if speed is not None:
                delay_s = paced_from_s + (position_ms - start_ms) / 1000 / speed - loop.time()
                if delay_s > 0:
                    await asyncio.sleep(delay_s)  # pacing: the time itself is what is waited for
            if control.stopping or all(task.over for task in tasks):
                audio.end(halted=True)
                break
            audio.append(frame)
            position_ms += len(frame) // BYTES_PER_MS
            while (
                bounded and not control.stopping and position_ms - _slowest_ms(tasks) > MAX_LEAD_MS
            ):
                await audio.wait_consumed(timeout_s=1.0)
            audio.forget_before(min(task.resume_point_ms() for task in tasks))
            if position_ms >= next_progress_ms:
                context.emit(AudioProgress(item.path, position_ms, item.label))
                next_progress_ms += PROGRESS_EVERY_MS
        else:
            audio.end()
    finally:
        await frames.aclose()
        await decoder.aclose()
    context.emit(AudioProgress(item.path, position_ms, item.label))


def _slowest_ms(tasks: list[TargetTask]) -> int:
    kept = [task.resume_point_ms() for task in tasks if not task.over]
    return min(kept) if kept else 1 << 62


async def _conclude(
    item: InputFile,
    context: RunContext,
    prepared: _Prepared,
    tasks: list[TargetTask],
    opening: asyncio.Task[None],
    decode_error: MediaError | None,
    audio: AudioBuffer,
    started_s: float,
) -> InputResult:
    errors: list[SubtitlerError] = [decode_error] if decode_error else []
    errors += [task.error for task in tasks if task.error is not None]
    complete = not errors and all(task.complete for task in tasks)
    namer = prepared.namer
    if namer is not None and not namer.decided and (complete or namer.heard):
        namer.decide()  # it ended before there was enough to tell: name it with what there is
    if namer is None or namer.decided:
        await opening  # the tracks open and the held sentences are written
    else:
        opening.cancel()  # stopped before any speech: nothing to name; the rerun will
    try:
        for writer in prepared.writers:
            await writer.finish()
        errors += [writer.error for writer in prepared.writers if writer.error is not None]
        complete = complete and not errors
        journal = prepared.journal
        await context.disk.run([journal.remove() if complete else journal.close()])
    except OutputError as error:
        errors.append(error)
        complete = False
    if not complete and not errors:
        errors.append(SubtitlerError(item.label, "interrupted; run again to resume"))
    return InputResult(
        path=item.path,
        status=Status.DONE if complete else Status.FAILED,
        reason=str(errors[0]) if errors else "",
        sentences=max((writer.sentences for writer in prepared.writers), default=0),
        audio_ms=audio.decoded_ms,
        wall_s=time.monotonic() - started_s,
        tasks=tuple(task.metrics for task in tasks if task.metrics is not None),
        tracks=tuple(path for writer in prepared.writers for path in writer.paths),
        resumes=sum(task.resumes for task in tasks),
        streaming_s=_streaming_s(tasks),
        label=item.label,
    )


def _streaming_s(tasks: list[TargetTask]) -> float | None:
    firsts = [task.first_sent_s for task in tasks if task.first_sent_s is not None]
    return time.perf_counter() - min(firsts) if firsts else None


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
