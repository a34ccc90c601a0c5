"""whisper-asr-webservice's endpoints (Bazarr's Whisper provider) and our own `/subtitles`:
an upload in, the engine run on it, one track (or Whisper's shape of it) out.

- `POST /asr?task=transcribe|translate&language=xx&output=srt|vtt|txt|json|tsv&encode=...`
- `POST /detect-language?encode=...`
- `POST /subtitles?target=en&source=zh&track=bilingual|source|target&format=srt|vtt|ass|ttml`
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from aiohttp import web

from subtitler.engine.context import RunContext
from subtitler.engine.input import NO_SPEECH
from subtitler.engine.langid import LANGUAGE_NAMES, identify
from subtitler.engine.plan import plan_tracks
from subtitler.engine.runner import run_input, was_not_started
from subtitler.events import CueWritten, Event, Status
from subtitler.languages import (
    SOURCE_LANGUAGES,
    TRANSLATION_TARGETS,
    Recognizer,
    recognizer_sources,
)
from subtitler.layout.cues import Cue, join_lines
from subtitler.options import Layout, RunOptions, TrackFormat, parse_formats
from subtitler.serve.problems import RequestProblem, choice, flag
from subtitler.serve.uploads import Upload, uploaded
from subtitler.sources.inputs import InputFile
from subtitler.tracks import UNDETERMINED
from subtitler.tracks.base import SOURCE, TARGET, Track, cue_lines

DETECT_SECONDS = 30
OUTPUTS = ("txt", "vtt", "srt", "tsv", "json")
CONTENT_TYPES = {
    "srt": "application/x-subrip",
    "vtt": "text/vtt",
    "ass": "text/x-ssa",
    "ttml": "application/ttml+xml",
    "txt": "text/plain",
    "tsv": "text/tab-separated-values",
    "json": "application/json",
}


class WhisperEndpoints:
    """The upload endpoints: each request's tracks made in a folder of its own, by the
    service's one engine context (its pacer and `--jobs` slots)."""

    def __init__(self, options: RunOptions, context: RunContext, max_upload_bytes: int) -> None:
        self.options = options
        self.context = context
        self.max_upload_bytes = max_upload_bytes

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/asr", self._asr)
        router.add_post("/detect-language", self._detect_language)
        router.add_post("/subtitles", self._subtitles)

    async def _asr(self, request: web.Request) -> web.Response:
        task = choice(request, "task", "transcribe", ("transcribe", "translate"))
        output = choice(request, "output", "txt", OUTPUTS)
        encode = flag(request, "encode", True)
        source = self._source(request.query.get("language"))
        if task == "translate" and source != "en":
            target, track = "en", "target"
        else:  # the transcript; Gummy needs a translation target too, its lines are dropped
            target = TRANSLATION_TARGETS[source][0] if source else "en"
            track = "source"
        async with uploaded(request, encode, None, self.max_upload_bytes) as (upload, wav):
            formats = (TrackFormat.SRT, TrackFormat.VTT)
            written = await self._subtitle(wav, upload, source, target, track, formats)
            body = await asyncio.to_thread(_render, written, output)
        shown = Path(upload.filename).stem or "audio"
        return web.Response(
            body=body.encode("utf-8"),
            content_type=CONTENT_TYPES[output],
            charset="utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="{_quote(shown)}.{output}"',
                "Asr-Engine": "subtitler-gummy",
            },
        )

    async def _detect_language(self, request: web.Request) -> web.Response:
        encode = flag(request, "encode", True)
        heard: list[str] = []

        def hear(event: Event) -> None:
            if isinstance(event, CueWritten):
                heard.append(event.transcript)

        limit_s = DETECT_SECONDS
        async with uploaded(request, encode, limit_s, self.max_upload_bytes) as (upload, wav):
            await self._subtitle(wav, upload, None, "en", "source", (TrackFormat.SRT,), hear)
        found = identify(" ".join(heard))
        if found is None:
            raise RequestProblem(422, "no speech in the first 30 s to tell the language from")
        return web.json_response(
            {
                "detected_language": found.name,
                "language_code": found.code,
                "confidence": found.confidence,
            }
        )

    async def _subtitles(self, request: web.Request) -> web.Response:
        target = request.query.get("target", "").strip().lower()
        if not target:
            raise RequestProblem(422, "target: give the translation language, e.g. target=en")
        source = self._source(request.query.get("source"))
        self.options.for_targets((target,), source)  # a pair nobody translates: a 422 now
        track = choice(request, "track", "bilingual", ("bilingual", "source", "target"))
        (format_,) = parse_formats(choice(request, "format", "srt", ("srt", "vtt", "ass", "ttml")))
        encode = flag(request, "encode", True)
        async with uploaded(request, encode, None, self.max_upload_bytes) as (upload, wav):
            written = await self._subtitle(wav, upload, source, target, track, (format_,))
            path = written.paths[format_]
            body = await asyncio.to_thread(path.read_bytes)
        shown = Path(upload.filename).stem or "audio"
        name = f"{_quote(shown)}{path.name[len(wav.stem) :]}"
        return web.Response(
            body=body,
            content_type=CONTENT_TYPES[format_.value],
            charset="utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    def _source(self, language: str | None) -> str | None:
        """Whisper's `language` (absent or empty: detect) as a Gummy source language."""
        if language is None or not language.strip() or language.strip().lower() == "auto":
            return None
        code = language.strip().lower()
        known = recognizer_sources(self.options.recognizer)
        if code not in known:
            heard_by = "Gummy" if self.options.recognizer is Recognizer.GUMMY else "Fun-ASR"
            raise RequestProblem(
                422, f"language={code!r}: {heard_by} recognises {', '.join(known)}"
            )
        return code

    async def _subtitle(
        self,
        wav: Path,
        upload: Upload,
        source: str | None,
        target: str,
        track: str,
        formats: tuple[TrackFormat, ...],
        hear: Callable[[Event], None] | None = None,
    ) -> Written:
        """Run the engine on the WAV (its events to `hear` too); the track asked for, in each
        of `formats`, as the engine planned, named and wrote it, and its cues from the events
        (never read back from the files)."""
        layout = Layout.BILINGUAL if track == "bilingual" else Layout.SEPARATE
        options = replace(
            self.options.for_targets((target,), source),
            layout=layout,
            formats=formats,
            out_dir=None,
            overwrite=True,
        )
        updates: list[CueWritten] = []

        def collect(event: Event) -> None:
            if isinstance(event, CueWritten):
                updates.append(event)
            if hear is not None:
                hear(event)

        item = InputFile(wav, Path(), label_text=upload.filename)  # its name in notes, messages
        result = await run_input(item, self.context.with_request(options, collect))
        if result.status is Status.SKIPPED and result.reason == NO_SPEECH:
            # The engine leaves no empty track beside a file; a request still gets its answer.
            language = source or UNDETERMINED
            empty = _planned(item, options, language)
            await self.context.disk.run([planned.restore([]) for planned in empty])
            written = {planned.path for planned in empty}
        elif was_not_started(result):
            raise RequestProblem(503, "not started: the service is stopping")
        elif result.status is not Status.DONE:
            reason = result.reason.replace(str(wav), upload.filename)
            raise RequestProblem(502, f"the subtitling failed: {reason}")
        else:
            written = set(result.tracks)
            language = source or _named(item, options, written)
        chosen = _chosen(_planned(item, options, language), written, track, language == target)
        if len(chosen) != len(formats):
            raise RequestProblem(500, "the engine wrote no track for this request")
        cues: list[Cue] = []
        for update in updates:
            _apply(cues, update)
        languages = chosen[0].languages
        shown = [cue for cue in (cue.only(languages) for cue in cues) if cue is not None]
        return Written(
            paths={format_: made.path for format_, made in zip(formats, chosen, strict=True)},
            language=None if language == UNDETERMINED else language,
            cues=tuple(shown),
        )


@dataclass(frozen=True)
class Written:
    """The track a request asked for: its file, the language spoken in the input (None:
    undetermined) and its cues, as the engine's events told them (only its languages)."""

    paths: dict[TrackFormat, Path]
    """Its file in each format asked for."""
    language: str | None
    cues: tuple[Cue, ...]


TRACK_LANGUAGES = {"bilingual": (SOURCE, TARGET), "source": (SOURCE,), "target": (TARGET,)}
"""Each kind of track a request may ask for, as the cue positions the engine writes in it."""


def _planned(item: InputFile, options: RunOptions, language: str) -> list[Track]:
    """The engine's tracks for the input when its source is named `language`."""
    return [track for plan in plan_tracks(item, options, language) for track in plan.tracks]


def _named(item: InputFile, options: RunOptions, written: set[Path]) -> str:
    """The language the engine named an input's tracks after (`-s auto`): the one whose plan
    names exactly the tracks it wrote (a subset would not do: `zh` speech translated to `en`
    writes `x.zh.srt` and `x.en.srt`, `en` speech only `x.en.srt`)."""
    for language in dict.fromkeys((*SOURCE_LANGUAGES, *LANGUAGE_NAMES, UNDETERMINED)):
        if written == {track.path for track in _planned(item, options, language)}:
            return language
    return UNDETERMINED


def _chosen(
    tracks: list[Track], written: set[Path], kind: str, spoken_is_target: bool
) -> list[Track]:
    """The written tracks of that kind (one per format, in the order the formats were asked
    for); the source tracks for the target's when the speech is already in the target
    language (the engine then writes only those)."""
    wanted = [TRACK_LANGUAGES[kind]]
    if kind == "target" and spoken_is_target:
        wanted.append(TRACK_LANGUAGES["source"])
    for languages in wanted:
        found = [t for t in tracks if t.languages == languages and t.path in written]
        if found:
            return found
    return []


def _apply(cues: list[Cue], update: CueWritten) -> None:
    """A finished sentence's change to the cues, as the tracks applied it."""
    if update.revised is not None and cues:
        cues[-1] = update.revised
    cues.extend(update.cues)


def _quote(name: str) -> str:
    return "".join(c if c.isprintable() and c not in '"\\' else "_" for c in name)


def _render(written: Written, output: str) -> str:
    """whisper-asr-webservice's outputs: srt and vtt as written (pysrt, webvtt-py), txt one
    line per cue, tsv `start\tend\ttext` in ms, json Whisper's result shape (`text`,
    `segments` with `start`/`end` in seconds, `language`), from the cues the engine wrote."""
    if output in ("srt", "vtt"):
        return written.paths[TrackFormat(output)].read_text(encoding="utf-8")
    segments = [(cue.begin_ms, cue.end_ms, join_lines(cue_lines(cue))) for cue in written.cues]
    if output == "txt":
        return "".join(text + "\n" for _, _, text in segments)
    if output == "tsv":
        rows = ["start\tend\ttext"]
        rows += [f"{b}\t{e}\t{text.replace(chr(9), ' ')}" for b, e, text in segments]
        return "\n".join(rows) + "\n"
    document = {
        "text": join_lines([text for _, _, text in segments]),
        "segments": [
            {"id": index, "start": b / 1000, "end": e / 1000, "text": text}
            for index, (b, e, text) in enumerate(segments)
        ],
        "language": written.language,
    }
    return json.dumps(document, ensure_ascii=False)
