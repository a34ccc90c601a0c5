"""One input through the flow: ffmpeg PCM -> one Gummy task per target -> cues -> tracks.

`prepare` claims the input, plans its tracks and restores an unfinished run's state; `stream`
decodes once (from the earliest resume point) into an `AudioBuffer` read by one `TargetTask` per
target, paced to the chosen speed; `conclude` finishes the tracks and says how it went. Never
raises for a problem of this input: the result says it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from subtitler.engine import journal as resume_state
from subtitler.engine.audio import AudioBuffer
from subtitler.engine.claim import Claim, claim_path
from subtitler.engine.context import RunContext
from subtitler.engine.naming import SourceNamer
from subtitler.engine.pairing import Cursor, Ledger
from subtitler.engine.plan import Need, TargetWork, TrackPlan, plan_tracks, plan_work
from subtitler.engine.subtitled import choose_audio, sidecar_languages, subtitled_reason
from subtitler.engine.task import TargetTask, send_bytes
from subtitler.engine.writer import TargetWriter
from subtitler.errors import MediaError, OutputError, SubtitlerError
from subtitler.events import AudioProgress, InputResult, InputStarted, Status
from subtitler.gummy.client import ClientKind
from subtitler.gummy.cost import Estimate
from subtitler.languages import SOURCE_LANGUAGES, language_of_tag
from subtitler.layout.cues import Cue, CueLayout
from subtitler.layout.frames import FrameRate, timecode_offset_ms
from subtitler.layout.shots import DEFAULT_THRESHOLD, ShotRules, parse_scdet
from subtitler.layout.shots import read_list as read_shot_list
from subtitler.options import RunOptions
from subtitler.sources.inputs import InputFile
from subtitler.sources.media import BYTES_PER_MS, AsyncPcmDecoder, MediaInfo, detect_scenes
from subtitler.tracks import Picture, Track
from subtitler.tracks.durable import FileOp

PROGRESS_EVERY_MS = 1000
MAX_LEAD_MS = 30_000
"""With the native client, decoding stays at most this far ahead of the slowest target's last
finished sentence: the service's own pace is the flow control, and the PCM kept for resumes
stays small (about 1 MB) whatever the input's length and speed. (A sentence longer than this is
ended by the stall rule.)"""
IN_PROGRESS = "in progress in another run"
NO_SPEECH = "no speech"
"""The reason an input with no speech is skipped: no empty track is left beside it."""


@dataclass
class _Decided:
    """What an input needs, from its journal and the tracks that exist."""

    state: resume_state.InputState
    previous: resume_state.InputState | None
    """The journal continued (resumed, or finished targets kept), if any."""
    state_file: Path
    named: str | None
    """The source language the tracks are named after, when known before any speech."""
    plans: dict[str, TrackPlan]
    """Every planned track, by target (named after `named`)."""
    work: list[TargetWork]
    sidecars: dict[str, str] = dataclasses.field(default_factory=dict)
    """`--skip-subtitled`: language → a subtitle file beside the input that has it."""

    def of(self, need: Need) -> list[TargetWork]:
        return [work for work in self.work if work.need is need]

    @property
    def resumed(self) -> bool:
        """It continues an interrupted run (not only adds a target to a finished one)."""
        previous = self.previous
        if previous is None:
            return False
        if not previous.targets:
            return True  # stopped before its first sentence
        running = [previous.targets.get(work.target) for work in self.of(Need.RUN)]
        return any(progress is not None and not progress.finished for progress in running)


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
    decided: _Decided
    namer: SourceNamer | None = None
    """`-s auto` while the language is not named yet."""
    rendered: tuple[Path, ...] = ()
    """Tracks of finished targets rendered from the journal."""
    note: str = ""
    """Said with the result (the audio stream used when none had the language asked for)."""
    ledger: Ledger | None = None
    """Several targets: the transcript the first one's task recognises, for the others."""


class _Skip(Exception):
    """Not to be started after all, once its streams and duration are known (`--skip-subtitled`:
    an embedded subtitle stream; `--budget`: its estimate would pass it)."""


async def subtitle_isolated(item: InputFile, context: RunContext) -> InputResult:
    """`subtitle_input`, a bug in it a failed result (one bad input fails alone: the batch,
    the watch and the job queue go on)."""
    try:
        return await subtitle_input(item, context)
    except Exception as error:
        reason = f"{item.label}: internal error: {error!r}"
        return InputResult(item.path, Status.FAILED, reason, label=item.label)


async def subtitle_input(item: InputFile, context: RunContext) -> InputResult:
    started_s = time.monotonic()
    options = context.options
    plans = plan_tracks(item, options, options.gummy.source_language)
    folder = plans[0].paths[0].parent

    def ended(status: Status, reason: str = "", tracks: tuple[Path, ...] = ()) -> InputResult:
        return InputResult(
            item.path,
            status,
            reason=reason,
            wall_s=time.monotonic() - started_s,
            tracks=tracks,
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
            decided = await decide(item, context, folder)
            if options.skip_subtitled and not item.live:
                decided.sidecars = await context.disk.call(subtitle_sidecars, item, decided)
                reason = subtitled_reason(options.targets, decided.sidecars)
                if reason is not None:
                    return ended(Status.SKIPPED, reason)
            running = decided.of(Need.RUN)
            picture = _journaled_picture(decided.previous)
            rendered = await _render_finished(item, context, decided, picture)
            if not running:
                return await _settled(decided, rendered, ended, context)
            prepared = await _prepare(item, context, decided, rendered)
        except _Skip as skip:
            return ended(Status.SKIPPED, str(skip))
        except SubtitlerError as error:
            return ended(Status.FAILED, str(error))
        except OSError as error:
            return ended(Status.FAILED, f"{folder}: {error.strerror or error}")
        undecided = prepared.namer is not None
        paths = () if undecided else _paths_of(prepared)
        resumed_at = prepared.start_ms if decided.resumed else None
        context.emit(
            InputStarted(item.path, item.label, prepared.info.duration_ms, paths, resumed_at)
        )
        return await _stream_and_conclude(item, context, prepared, started_s)
    finally:
        claim.release()


async def _settled(
    decided: _Decided,
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
    existing = await context.disk.call(_existing_track, planned)  # a folder listing
    return ended(Status.SKIPPED, f"tracks exist ({existing.name}); --overwrite replaces them", ())


async def decide(item: InputFile, context: RunContext, folder: Path) -> _Decided:
    """Read the journal and what exists: per target, keep, render or run."""
    options = context.options
    source = options.gummy.source_language
    audio: int | str = options.audio_stream
    if options.audio_languages:  # the stream is chosen by its tag: the same one on every run
        audio = "language " + ",".join(options.audio_languages)
    settings = {"source_language": source, "audio_stream": audio}
    state_file = resume_state.state_path(folder, item.path.stem)
    fresh = options.overwrite or item.live  # a live stream cannot be resumed by seeking
    previous = None if fresh else await context.disk.call(resume_state.load, state_file)
    identity = None if item.live else resume_state.SourceIdentity.of(item.path)
    if previous is not None and previous.stale_for(identity):
        previous = None  # the source was replaced: its journal says nothing of it
    if previous is not None and not previous.matches(settings):
        if previous.unfinished:
            raise OutputError(
                str(state_file),
                "an unfinished run with other options is here; "
                "run it again with those options, or use --overwrite",
            )
        previous = None  # a finished record of other options: the tracks alone count
    named = source or (previous.named_source if previous is not None else None)
    if named is None and not fresh:
        named = await context.disk.call(_language_of_existing, plan_tracks(item, options, None))
    plans = plan_tracks(item, options, named)
    progress = previous.targets if previous is not None else {}
    work = plan_work(plans, progress, fresh, Path.exists)
    state = previous or resume_state.InputState(
        item.path.name, settings, {}, identity=identity, named_source=None
    )
    return _Decided(state, previous, state_file, named, {p.target: p for p in plans}, work)


def _journaled_picture(state: resume_state.InputState | None) -> Picture | None:
    described = state.picture if state is not None else None
    if not described:
        return None
    rate = described.get("frame_rate")
    return Picture(
        int(described["width"]),
        int(described["height"]),
        Fraction(rate) if rate else None,
        described.get("timecode"),
    )


async def _shot_changes(
    item: InputFile, given: Path | str, frames: FrameRate, context: RunContext
) -> tuple[int, ...]:
    """The input's shot changes as frames: detected by ffmpeg (a file with video), or read from
    the list given. MediaError naming what failed."""
    if isinstance(given, Path):
        try:
            return await context.disk.call(read_shot_list, given, frames)
        except (OSError, ValueError) as error:
            raise MediaError(str(given), str(error).removeprefix(f"{given}:")) from error
    if item.live:
        return ()  # a stream cannot be scanned ahead
    log = await detect_scenes(item.path, DEFAULT_THRESHOLD)
    return parse_scdet(log, frames)


def timecode_offset(options: RunOptions, picture: Picture | None, where: Path) -> int:
    """`--timecode-start` for this input (its frame grid, its own timecode tag); an
    OutputError naming `where` when the timecode counts frames and the input has none."""
    rate = picture.frame_rate if picture is not None else None
    tag = picture.timecode if picture is not None else None
    try:
        return timecode_offset_ms(options.timecode_start, options.frames_for(rate), tag)
    except ValueError as error:
        raise OutputError(str(where), str(error)) from error


async def _render_finished(
    item: InputFile, context: RunContext, decided: _Decided, picture: Picture | None
) -> tuple[Path, ...]:
    """The missing tracks of targets an earlier run finished, from the journal's cues: no
    decoding, no service call. A target with no cue (no speech) gets no empty track."""
    chosen: list[tuple[Track, list[Cue]]] = []
    for work in decided.of(Need.RENDER):
        cues = decided.state.targets[work.target].cues
        chosen.extend((track, cues) for track in work.tracks if cues)
    if not chosen:  # a fresh input: its picture (and frame rate) is not known yet
        return ()
    offset_ms = timecode_offset(context.options, picture, item.path)
    for track, _ in chosen:
        track.describe(picture, offset_ms)

    def render() -> list[FileOp]:  # on the writer thread: a long journal renders for a while
        return [op for track, cues in chosen for op in (track.restore(cues), track.finish())]

    await context.disk.render_and_run(render)
    return tuple(track.path for track, _ in chosen)


async def _prepare(
    item: InputFile, context: RunContext, decided: _Decided, rendered: tuple[Path, ...]
) -> _Prepared:
    """Start the decoder from the earliest resume point of the targets that run."""
    options = context.options
    state = decided.state
    no_progress = resume_state.TargetProgress()
    start_ms = min(
        state.targets.get(work.target, no_progress).resume_ms for work in decided.of(Need.RUN)
    )
    speed = 1.0 if item.live else options.speed  # live inputs go at 1x

    def decoder_of(audio_stream: int) -> AsyncPcmDecoder:
        # Resume points are stream times; ffmpeg seeks on the media timeline (late audio).
        return AsyncPcmDecoder(
            item.path,
            audio_stream,
            start_ms=start_ms + state.start_offset_ms if start_ms > 0 else 0,
            frame_bytes=send_bytes(speed),
            live_source=item.live_source,
            input_format=item.input_format,
            label=item.label,
            hls=options.hls,
        )

    decoder = decoder_of(options.audio_stream)
    told = await decoder.start()
    note = ""
    try:
        if told is not None and options.skip_subtitled:
            reason = subtitled_reason(options.targets, decided.sidecars, told.subtitle_streams)
            if reason is not None:
                raise _Skip(reason)
        if told is not None and options.audio_languages:
            chosen, found_note = choose_audio(
                told.audio_streams, options.audio_languages, options.audio_stream
            )
            note = found_note or ""
            if chosen != options.audio_stream:  # a second ffmpeg, only when the pick differs
                await decoder.aclose()
                decoder = decoder_of(chosen)
                told = await decoder.start()
            tagged = language_of_tag(told.audio_streams[chosen].language) if told else None
            if (
                decided.named is None
                and tagged in SOURCE_LANGUAGES
                and options.gummy.source_language is None
            ):
                decided.named = tagged  # the stream's tag names the source: no identification
                decided.plans = {plan.target: plan for plan in plan_tracks(item, options, tagged)}
        if told is not None and context.budget is not None:
            running = len(decided.of(Need.RUN))
            remaining_ms = max(0, (told.duration_ms or 0) - start_ms)
            targets = [work.target for work in decided.of(Need.RUN)]
            recognising = finished_transcript(decided.state, targets) is None
            estimate = Estimate(remaining_ms, running, options.prices, recognising)
            over = context.budget.reserve(estimate)
            if over is not None:
                raise _Skip(over)
        prepared = await _prepare_writers(item, context, decided, told, decoder, start_ms, rendered)
    except BaseException:
        await decoder.aclose()
        raise
    prepared.note = note
    return prepared


async def _prepare_writers(
    item: InputFile,
    context: RunContext,
    decided: _Decided,
    told: MediaInfo | None,
    decoder: AsyncPcmDecoder,
    start_ms: int,
    rendered: tuple[Path, ...],
) -> _Prepared:
    options = context.options
    state, previous = decided.state, decided.previous
    if told is None:  # live: nothing is waited for
        info = MediaInfo(item.path, None, (), 0)
    elif previous is None:
        info = told
        state.start_offset_ms = told.start_offset_ms
    else:  # a resumed decode starts mid-stream: the journal knows where the stream starts
        info = dataclasses.replace(told, start_offset_ms=previous.start_offset_ms)
    video = info.video
    picture = None
    if video is not None:
        picture = Picture(video.width, video.height, video.frame_rate, video.timecode)
    if previous is None and picture is not None:
        rate = picture.frame_rate
        state.picture = {"width": picture.width, "height": picture.height}
        if rate is not None:
            state.picture["frame_rate"] = f"{rate.numerator}/{rate.denominator}"
        if picture.timecode is not None:
            state.picture["timecode"] = picture.timecode
    elif previous is not None:
        picture = _journaled_picture(previous) or picture
    frames = options.frames_for(picture.frame_rate if picture is not None else None)
    rules = options.rules
    if frames is not None:
        shots = None
        if options.shot_changes is not None and not (item.live and picture is None):
            detected = (previous.picture or {}).get("shot_changes") if previous else None
            if options.shot_changes == "detect" and detected is not None:
                changes = tuple(int(frame) for frame in detected)  # scanned by an earlier run
            else:
                changes = await _shot_changes(item, options.shot_changes, frames, context)
                if options.shot_changes == "detect" and previous is None and state.picture:
                    state.picture["shot_changes"] = list(changes)  # a resume scans no more
            shots = ShotRules(frames, changes, options.rules.timing.min_gap_frames)
        timing = dataclasses.replace(rules.timing, frames=frames, shots=shots)
        rules = dataclasses.replace(rules, timing=timing)
    if info.duration_ms is not None:  # a file: no cue is shown after it ends
        timing = dataclasses.replace(rules.timing, media_end_ms=info.duration_ms)
        rules = dataclasses.replace(rules, timing=timing)
    journal = resume_state.Journal(decided.state_file)
    if not item.live and previous is None:
        await context.disk.run([journal.begin(state)])
    named = decided.named
    namer = SourceNamer() if named is None else None
    writers = []
    for work in decided.of(Need.RUN):
        progress = state.targets.setdefault(work.target, resume_state.TargetProgress())
        progress.finished = False  # --overwrite, or a target added to a finished journal
        layout = CueLayout(rules, None if named == "und" else named, work.target)
        layout.resume_after(progress.cues[-1] if progress.cues else None)
        writers.append(
            TargetWriter(
                path=item.path,
                label=item.label,
                target=work.target,
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
    known = finished_transcript(state, [writer.target for writer in writers])
    ledger = _recognise_once(writers, info.start_offset_ms, known)
    return _Prepared(
        info, decoder, start_ms, picture, journal, writers, decided, namer, rendered, ledger=ledger
    )


def finished_transcript(state: resume_state.InputState, running: list[str]) -> list[Cue] | None:
    """The whole transcript of the input, when a target that is not running has heard all of
    it (its journal is finished and its cues carry source lines): the running targets then
    need no recognition at all (`-t en` then `-t en,ja`: the ja task only translates)."""
    for target, progress in state.targets.items():
        if target in running or not progress.finished:
            continue
        if any(cue.texts and cue.texts[0].lines for cue in progress.cues):
            return progress.cues
    return None


def _recognise_once(
    writers: list[TargetWriter], media_offset_ms: int, known: list[Cue] | None
) -> Ledger | None:
    """One task recognises for the input: the first running target's, the others translating
    only and taking its transcript by time (recognition is billed per task). A resumed input's
    transcript so far comes from the first target's journaled cues. With the whole transcript
    already journaled (`known`), no task recognises."""
    if len(writers) < 2 and known is None:
        return None
    ledger = Ledger()
    if known is not None:
        ledger.seed(known, max((cue.end_ms for cue in known), default=0))
        ledger.close(complete=True)
        translating = writers
    else:
        first, translating = writers[0], writers[1:]
        ledger.seed(first.progress.cues, first.progress.resume_ms + media_offset_ms)
        first.publish = ledger
    for writer in translating:
        writer.transcripts = Cursor(ledger, writer.progress.resume_ms + media_offset_ms)
    return ledger


async def _open_tracks(item: InputFile, context: RunContext, prepared: _Prepared) -> None:
    """Open the tracks beside the streaming, on the writer thread: at once when the language is
    known (a resume restores every cue the journal holds: about 1 s for 10 h in four formats,
    while the service's task starts), else (`-s auto`) once the namer has named it, which is
    journaled. Sentences that finish meanwhile are held and written in order after. A write
    error fails every writer of the input."""
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
            if not item.live:
                kept = tuple(sorted({p.name for p in planned[writer.target].paths}
                                    - {p.name for p in plan.paths}))  # fmt: skip
                writer.progress.kept = kept
                await context.disk.run([prepared.journal.started(writer.target, kept)])
            await writer.open(plan, None if language == "und" else language)
    except OutputError as error:
        for writer in prepared.writers:
            writer.error = writer.error or error


def subtitle_sidecars(item: InputFile, decided: _Decided) -> dict[str, str]:
    """Subtitle files beside the input, by language; this tool's own tracks of an input it has
    a journal for are its own business (kept, rendered or resumed), not a reason to skip."""
    ours = set()
    if decided.previous is not None:
        ours = {path.name for plan in decided.plans.values() for path in plan.paths}
    try:
        names = [name for name in os.listdir(item.path.parent) if name not in ours]
    except OSError:
        return {}
    return sidecar_languages(item.path.stem, names)


def _missing_only(plan: TrackPlan) -> TrackPlan:
    return TrackPlan(plan.target, tuple(t for t in plan.tracks if not t.path.exists()))


def _without(plan: TrackPlan, names: tuple[str, ...]) -> TrackPlan:
    return TrackPlan(plan.target, tuple(t for t in plan.tracks if t.path.name not in names))


def _language_of_existing(plans: list[TrackPlan]) -> str | None:
    """`-s auto` with no journal: the language an earlier run named the tracks after
    (`x.zh-en.srt` for the planned `x.und-en.srt`), if any."""
    for plan in plans:
        for path in plan.paths:
            found = _named_elsewhere(path)
            if found is not None:
                stem, _, rest = path.name.partition(".und")
                return found.name[len(stem) + 1 : len(found.name) - len(rest)]
    return None


def _paths_of(prepared: _Prepared) -> tuple[Path, ...]:
    """The tracks it writes (those known before the language is named)."""
    planned = prepared.decided.plans
    return prepared.rendered + tuple(
        path for writer in prepared.writers for path in planned[writer.target].paths
    )


def _named_elsewhere(path: Path) -> Path | None:
    """`-s auto`: a track of this input named after an identified language (`x.zh-en.srt`
    for the planned `x.und-en.srt`), if one exists. One listing of the folder, matched by a
    pattern compiled once per call (a glob per language-code length cost twice that)."""
    stem, _, rest = path.name.partition(".und")
    if not rest:
        return None
    named = re.compile(re.escape(stem) + r"\.[a-z]{2,3}" + re.escape(rest))  # a language code
    try:
        names = os.listdir(path.parent)
    except OSError:
        return None
    found = sorted(name for name in names if named.fullmatch(name))
    return path.parent / found[0] if found else None


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
    translating_only = dataclasses.replace(
        options, gummy=dataclasses.replace(options.gummy, transcription_enabled=False)
    )
    tasks = [
        TargetTask(
            writer.target,
            options if writer.transcripts is None else translating_only,
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
    if prepared.ledger is not None and prepared.writers[0].publish is not None:
        runners[0] = asyncio.create_task(_recognising(runners[0], tasks[0], prepared.ledger))
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


async def _recognising(run: asyncio.Task[None], task: TargetTask, ledger: Ledger) -> None:
    """The recognising target's task; when it ends, the others' last translations pair."""
    try:
        await run
    finally:
        ledger.close(complete=task.complete)


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
    writers = prepared.writers
    try:
        for writer in writers:
            await writer.finish()
        errors += [writer.error for writer in writers if writer.error is not None]
        complete = complete and not errors
        journal = prepared.journal
        ended = [journal.finished(w.target) for w in writers] if complete else []
        if item.live:  # no journal
            ended = []
        await context.disk.run([*ended, journal.close()])  # kept: the record of the cues
    except OutputError as error:
        errors.append(error)
        complete = False
    status, reason = Status.DONE, prepared.note
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
        streaming_s=_streaming_s(tasks),
        label=item.label,
        resumed_at_ms=resumed_at,
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
