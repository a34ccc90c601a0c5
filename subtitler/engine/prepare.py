"""Prepare one input's run: render finished targets from the journal, start the decoder from
the earliest resume point, choose the audio stream, and build one writer per running target."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from subtitler.engine import edits as review_journal
from subtitler.engine import journal as resume_state
from subtitler.engine.context import RunContext
from subtitler.engine.decide import Decided, finished_transcript
from subtitler.engine.estimate import estimate_input, pricing_of
from subtitler.engine.naming import SourceNamer
from subtitler.engine.pairing import Cursor, Heard, Ledger, Reader
from subtitler.engine.plan import Need, plan_tracks
from subtitler.engine.subtitled import AudioChoice, choose_audio, default_audio, subtitled_reason
from subtitler.engine.task import send_bytes
from subtitler.engine.transcript import TranscriptWriter
from subtitler.engine.writer import (
    Alone,
    FromTranscript,
    Recognising,
    Role,
    TargetWriter,
    Translating,
)
from subtitler.errors import MediaError, OutputError
from subtitler.languages import SOURCE_LANGUAGES, Translator, language_of_tag
from subtitler.layout.cues import Cue, CueLayout, join_lines
from subtitler.layout.frames import FrameRate, frame_grid, timecode_offset_ms
from subtitler.layout.rules import CueRules
from subtitler.layout.shots import DEFAULT_THRESHOLD, ShotRules, parse_scdet
from subtitler.layout.shots import read_list as read_shot_list
from subtitler.options import RunOptions
from subtitler.sources.inputs import InputFile
from subtitler.sources.media import AsyncPcmDecoder, MediaInfo, detect_scenes
from subtitler.tracks import Picture, Track
from subtitler.tracks.durable import FileOp


@dataclass(frozen=True, kw_only=True)
class Prepared:
    """What streaming an input needs, built complete by `prepare`."""

    info: MediaInfo
    decoder: AsyncPcmDecoder
    """Started: it told `info` and its frames follow."""
    start_ms: int
    """Where its frames start in the stream (the earliest target's resume point)."""
    picture: Picture | None
    journal: resume_state.Journal
    writers: list[TargetWriter]
    decided: Decided
    namer: SourceNamer | None = None
    """`-s auto` while the language is not named yet."""
    rendered: tuple[Path, ...] = ()
    """Tracks of finished targets rendered from the journal."""
    audio: AudioChoice
    """The audio stream heard, and why (a fallback is also said with the result)."""
    ledger: Ledger | None = None
    """Several targets, or a Qwen-MT one: the input's transcript, for the targets that take it."""
    transcriber: TranscriptWriter | None = None
    """No running target's task recognises (every one is Qwen-MT's): a recognition-only task
    feeds the transcript through this."""

    @property
    def listens(self) -> bool:
        """Some task hears the audio (none does when the transcript is journaled whole and every
        running target is Qwen-MT's: no decoding, no `run-task`)."""
        return self.transcriber is not None or any(
            not isinstance(writer.role, FromTranscript) for writer in self.writers
        )


class Skip(Exception):
    """Not to be started after all, once its streams and duration are known (`--skip-subtitled`:
    an embedded subtitle stream; `--budget`: its estimate would pass it)."""


def journaled_picture(state: resume_state.InputState | None) -> Picture | None:
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


async def shot_changes(
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
        return timecode_offset_ms(options.timecode_start, frame_grid(options.frame_rate, rate), tag)
    except ValueError as error:
        raise OutputError(str(where), str(error)) from error


async def render_finished(
    item: InputFile, context: RunContext, decided: Decided, picture: Picture | None
) -> tuple[Path, ...]:
    """The missing tracks of targets an earlier run finished, from the journal's cues: no
    decoding, no service call. A target with no cue (no speech) gets no empty track."""
    chosen: list[tuple[Track, list[Cue]]] = []
    for work in decided.of(Need.RENDER):
        cues = decided.state.targets[work.target].cues
        if decided.reviewed is not None:  # the review's cues: a new format shows its edits
            cues = review_journal.target_cues(decided.reviewed, decided.state, work.target)
        chosen.extend((track, cues) for track in work.tracks if cues)
    if not chosen:  # a fresh input: its picture (and frame rate) is not known yet
        return ()
    offset_ms = timecode_offset(context.options, picture, item.path)
    for track, _ in chosen:
        track.describe(picture, offset_ms)

    def render() -> list[FileOp]:  # on the writer thread: a long journal renders for a while
        return [op for track, cues in chosen for op in (track.restore(cues), track.finish())]

    await context.disk.render_and_run(render)
    if decided.behind is not None:  # the review's tracks hold its last version now
        await context.disk.run(review_journal.rendered(decided.behind.path, decided.behind.version))
    return tuple(track.path for track, _ in chosen)


async def prepare(
    item: InputFile, context: RunContext, decided: Decided, rendered: tuple[Path, ...]
) -> Prepared:
    """Start the decoder from the earliest resume point of the targets that run."""
    options = context.options
    state = decided.state
    running = [work.target for work in decided.of(Need.RUN)]
    known = known_transcript(state, running)  # read once: the journal may hold hours of it
    if known is not None and decided.reviewed is not None:
        known = review_journal.transcript(decided.reviewed)  # a new target: the edited source
    start_ms = listening_from_ms(options, state, running, known)
    speed = 1.0 if item.live else options.speed  # live inputs go at 1x

    def decoder_of(audio_stream: int) -> AsyncPcmDecoder:
        # Resume points are stream times; ffmpeg seeks on the media timeline (late audio).
        return context.transports.decoder(
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
    audio = default_audio(options.audio_stream)
    try:
        if told is not None and options.skip_subtitled:
            reason = subtitled_reason(options.targets, decided.sidecars, told.subtitle_streams)
            if reason is not None:
                raise Skip(reason)
        if told is not None and options.audio_languages:
            audio = choose_audio(told.audio_streams, options.audio_languages, options.audio_stream)
            chosen = audio.audio_index
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
                # The stream's tag names the source: no identification.
                plans = {plan.target: plan for plan in plan_tracks(item, options, tagged)}
                decided = dataclasses.replace(decided, named=tagged, plans=plans)
        if told is not None and context.budget is not None:
            remaining_ms = max(0, (told.duration_ms or 0) - start_ms)
            estimate = estimate_input(
                audio_ms=remaining_ms,
                running=running,
                recognising=known is None,
                pricing=pricing_of(options),
                source_language=decided.named,
            )
            over = context.budget.reserve(estimate)
            if over is not None:
                raise Skip(over)
        return await prepare_writers(
            item, context, decided, told, decoder, start_ms, rendered, audio, known
        )
    except BaseException:
        await decoder.aclose()
        raise


async def prepare_writers(
    item: InputFile,
    context: RunContext,
    decided: Decided,
    told: MediaInfo | None,
    decoder: AsyncPcmDecoder,
    start_ms: int,
    rendered: tuple[Path, ...],
    audio: AudioChoice,
    known: list[Heard] | None,
) -> Prepared:
    """What the decoder told, journaled; the cue rules on the input's frame grid; the journal
    begun; one writer per running target, each in its role (`known`: the whole transcript, when
    the journal has it)."""
    state, previous = decided.state, decided.previous
    info = _media_info(item, told, state, previous)
    picture = _picture_of(info, state, previous)
    rules = await _cue_rules(item, context, picture, state, previous)
    if info.duration_ms is not None:  # a file: no cue is shown after it ends
        timing = dataclasses.replace(rules.timing, media_end_ms=info.duration_ms)
        rules = dataclasses.replace(rules, timing=timing)
    journal = resume_state.Journal(decided.state_file)
    if not item.live and previous is None:
        await _set_review_aside(context, decided.state_file, item.path.stem)
        await context.disk.run([journal.begin(state)])
    named = decided.named
    namer = SourceNamer() if named is None else None
    running = [work.target for work in decided.of(Need.RUN)]
    progresses = []
    for target in running:
        progress = state.targets.setdefault(target, resume_state.TargetProgress())
        progress.finished = False  # --overwrite, or a target added to a finished journal
        progresses.append(progress)
    machine = [context.options.translator_of(target) is Translator.QWEN_MT for target in running]
    roles = recognise_once(progresses, machine, state, info.start_offset_ms, known)
    transcriber = None
    if roles.transcribing:
        assert roles.ledger is not None
        transcriber = TranscriptWriter(
            path=item.path,
            state=state,
            journal=None if item.live else journal,
            ledger=roles.ledger,
            media_offset_ms=info.start_offset_ms,
            disk=context.disk,
        )
    writers = []
    for target, progress, role in zip(running, progresses, roles.roles, strict=True):
        layout = CueLayout(rules, None if named == "und" else named, target)
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
                role=role,
                namer=namer,
            )
        )
    return Prepared(
        info=info,
        decoder=decoder,
        start_ms=start_ms,
        picture=picture,
        journal=journal,
        writers=writers,
        decided=decided,
        namer=namer,
        rendered=rendered,
        audio=audio,
        ledger=roles.ledger,
        transcriber=transcriber,
    )


async def _set_review_aside(context: RunContext, state_file: Path, stem: str) -> None:
    """A new hearing begins: a review of the old one is kept aside, said on stderr (its cues
    are not these; replayed over them it would misplace every edit)."""
    review_file = review_journal.review_path(state_file.parent, stem)
    aside = await context.disk.call(review_journal.set_aside, review_file)
    if aside is not None:
        logging.getLogger("subtitler").warning(
            "%s: a review of an earlier run is kept as %s; this run's tracks do not hold its "
            "edits", review_file.parent / stem, aside.name)  # fmt: skip


def _media_info(
    item: InputFile,
    told: MediaInfo | None,
    state: resume_state.InputState,
    previous: resume_state.InputState | None,
) -> MediaInfo:
    """The input as the decoder told it; where its audio stream starts is journaled by a fresh
    run and read back by a resumed one (a resumed decode starts mid-stream)."""
    if told is None:  # live: nothing is waited for
        return MediaInfo(item.path, None, (), 0)
    if previous is None:
        state.start_offset_ms = told.start_offset_ms
        return told
    return dataclasses.replace(told, start_offset_ms=previous.start_offset_ms)


def _picture_of(
    info: MediaInfo, state: resume_state.InputState, previous: resume_state.InputState | None
) -> Picture | None:
    """The video's picture (size, frame rate, timecode), journaled by a fresh run; a resumed
    run keeps the one its tracks were started with."""
    video = info.video
    picture = None
    if video is not None:
        picture = Picture(video.width, video.height, video.frame_rate, video.timecode)
    if previous is not None:
        return journaled_picture(previous) or picture
    if picture is not None:
        rate = picture.frame_rate
        state.picture = {"width": picture.width, "height": picture.height}
        if rate is not None:
            state.picture["frame_rate"] = f"{rate.numerator}/{rate.denominator}"
        if picture.timecode is not None:
            state.picture["timecode"] = picture.timecode
    return picture


async def _cue_rules(
    item: InputFile,
    context: RunContext,
    picture: Picture | None,
    state: resume_state.InputState,
    previous: resume_state.InputState | None,
) -> CueRules:
    """The cue rules for this input: on its frame grid, timed to its shot changes (scanned once:
    a resume reads them from the journal), when it has a grid."""
    options = context.options
    frames = frame_grid(options.frame_rate, picture.frame_rate if picture is not None else None)
    rules = options.rules
    if frames is None:
        return rules
    shots = None
    if options.shot_changes is not None and not (item.live and picture is None):
        detected = (previous.picture or {}).get("shot_changes") if previous else None
        if options.shot_changes == "detect" and detected is not None:
            changes = tuple(int(frame) for frame in detected)  # scanned by an earlier run
        else:
            changes = await shot_changes(item, options.shot_changes, frames, context)
            if options.shot_changes == "detect" and previous is None and state.picture:
                state.picture["shot_changes"] = list(changes)  # a resume scans no more
        shots = ShotRules(frames, changes, options.rules.timing.min_gap_frames)
    timing = dataclasses.replace(rules.timing, frames=frames, shots=shots)
    return dataclasses.replace(rules, timing=timing)


@dataclass(frozen=True)
class Roles:
    """Each running target's role, the input's transcript `Ledger` they share (None when a
    lone target needs none), and whether a recognition-only task must feed it."""

    roles: list[Role]
    ledger: Ledger | None
    transcribing: bool


def recognise_once(
    progresses: list[resume_state.TargetProgress],
    machine: list[bool],
    state: resume_state.InputState,
    media_offset_ms: int,
    known: list[Heard] | None,
) -> Roles:
    """Recognition once per input, billed once. The first running Gummy target's task
    recognises: the other Gummy targets translate only and take its transcript by time, the
    Qwen-MT targets (`machine`) translate its sentences. With no Gummy target running, a
    recognition-only task recognises. With the whole transcript journaled (`known`), nothing
    recognises. A resumed input's transcript so far is the journal's."""
    gummy = [i for i, is_machine in enumerate(machine) if not is_machine]
    if not any(machine) and len(gummy) < 2 and known is None:
        return Roles([Alone() for _ in progresses], None, False)
    ledger = Ledger()
    roles: list[Role] = []
    recogniser: int | None = None
    transcribing = False
    if known is not None:
        ledger.seed_heard(known, max((heard.end_ms for heard in known), default=0))
        ledger.close(complete=True)
    elif gummy:
        recogniser = gummy[0]
        first = progresses[recogniser]
        heard_until_ms = first.resume_ms + media_offset_ms
        if state.heard:  # sentence by sentence, as heard (what the recogniser will not repeat)
            ledger.seed_heard([h for h in state.heard if h.end_ms <= heard_until_ms],
                              heard_until_ms)  # fmt: skip
        else:
            ledger.seed(first.cues, heard_until_ms)
    else:
        transcribing = True
        ledger.seed_heard(state.heard, state.heard_resume_ms + media_offset_ms)
    for index, progress in enumerate(progresses):
        if index == recogniser:
            alone = len(gummy) == 1 and not any(machine)
            roles.append(Alone() if alone else Recognising(ledger))
        elif machine[index]:
            roles.append(FromTranscript(Reader(ledger, progress.resume_ms + media_offset_ms)))
        else:
            roles.append(Translating(Cursor(ledger, progress.resume_ms + media_offset_ms)))
    return Roles(roles, ledger, transcribing)


def known_transcript(state: resume_state.InputState, running: list[str]) -> list[Heard] | None:
    """The input's whole transcript when the journal has it: the sentences a finished
    recognition heard, or (journals from before those were kept) a finished target's cues."""
    if state.heard_finished:
        return list(state.heard)
    cues = finished_transcript(state, running)
    if cues is None:
        return None
    return [Heard(cue.begin_ms, cue.end_ms, join_lines(cue.texts[0].lines))
            for cue in cues if cue.texts and cue.texts[0].lines]  # fmt: skip


def listening_from_ms(
    options: RunOptions,
    state: resume_state.InputState,
    running: list[str],
    known: list[Heard] | None,
) -> int:
    """Where decoding starts: the earliest resume point of the tasks that hear the audio (the
    Gummy targets, or the recognition-only task when every running target is Qwen-MT's)."""
    no_progress = resume_state.TargetProgress()
    gummy = [t for t in running if options.translator_of(t) is not Translator.QWEN_MT]
    if gummy:
        return min(state.targets.get(target, no_progress).resume_ms for target in gummy)
    if known is not None:
        return 0  # nothing listens
    return state.heard_resume_ms


def paths_of(prepared: Prepared) -> tuple[Path, ...]:
    """The tracks it writes (those known before the language is named)."""
    planned = prepared.decided.plans
    return prepared.rendered + tuple(
        path for writer in prepared.writers for path in planned[writer.target].paths
    )
