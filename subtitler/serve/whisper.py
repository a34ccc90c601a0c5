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
from dataclasses import replace
from pathlib import Path

import pysrt
from aiohttp import web

from subtitler.engine.context import RunContext
from subtitler.engine.input import NO_SPEECH, subtitle_input
from subtitler.engine.langid import identify
from subtitler.engine.plan import plan_tracks
from subtitler.events import CueWritten, Event, Status
from subtitler.languages import SOURCE_LANGUAGES, TRANSLATION_TARGETS, check_pairs
from subtitler.layout.cues import join_lines
from subtitler.options import Layout, RunOptions, TrackFormat, parse_formats
from subtitler.serve.problems import RequestProblem, choice, flag
from subtitler.serve.uploads import Upload, uploaded
from subtitler.sources.inputs import InputFile
from subtitler.tracks import UNDETERMINED

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
            stem = await self._subtitle(wav, upload, source, target, track, formats)
            spoken = source or stem.name.rpartition(".")[2].split("-")[0]
            body = await asyncio.to_thread(
                _render, stem, output, None if spoken == "und" else spoken
            )
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
        check_pairs(source, (target,))
        track = choice(request, "track", "bilingual", ("bilingual", "source", "target"))
        (format_,) = parse_formats(choice(request, "format", "srt", ("srt", "vtt", "ass", "ttml")))
        encode = flag(request, "encode", True)
        async with uploaded(request, encode, None, self.max_upload_bytes) as (upload, wav):
            stem = await self._subtitle(wav, upload, source, target, track, (format_,))
            path = stem.with_name(f"{stem.name}.{format_.value}")
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
        if code not in SOURCE_LANGUAGES:
            raise RequestProblem(
                422, f"language={code!r}: Gummy recognises {', '.join(SOURCE_LANGUAGES)}"
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
    ) -> Path:
        """Run the engine on the WAV (its events to `hear`); the track asked for, without its
        format's suffix."""
        layout = Layout.BILINGUAL if track == "bilingual" else Layout.SEPARATE
        options = replace(
            self.options,
            targets=(target,),
            gummy=replace(self.options.gummy, source_language=source),
            layout=layout,
            formats=formats,
            out_dir=None,
            overwrite=True,
        )

        item = InputFile(wav, Path(), label_text=upload.filename)  # its name in notes, messages
        async with self.context.slots:
            result = await subtitle_input(item, self.context.with_request(options, hear))
        written = result.tracks
        if result.status is Status.SKIPPED and result.reason == NO_SPEECH:
            # The engine leaves no empty track beside a file; a request still gets its answer.
            planned = plan_tracks(item, options, source or UNDETERMINED)
            empty = [track for plan in planned for track in plan.tracks]
            await self.context.disk.run([track.restore([]) for track in empty])
            written = tuple(track.path for track in empty)
        elif result.status is not Status.DONE:
            reason = result.reason.replace(str(wav), upload.filename)
            raise RequestProblem(502, f"the subtitling failed: {reason}")
        # The engine names the tracks (with source=None, after the identified language).
        suffix = "." + formats[0].value
        names = [p.name[len(wav.stem) + 1 : -len(suffix)] for p in written
                 if p.name.startswith(wav.stem + ".") and p.name.endswith(suffix)]  # fmt: skip
        wanted = {
            "bilingual": [n for n in names if n.endswith(f"-{target}")],
            "source": sorted((n for n in names if "-" not in n), key=lambda n: n == target),
            "target": [n for n in names if n == target],
        }[track]
        if not wanted:
            raise RequestProblem(500, "the engine wrote no track for this request")
        return wav.with_name(f"{wav.stem}.{wanted[0]}")


def _quote(name: str) -> str:
    return "".join(c if c.isprintable() and c not in '"\\' else "_" for c in name)


def _render(stem: Path, output: str, language: str | None) -> str:
    """whisper-asr-webservice's outputs from the tracks: srt and vtt as written (pysrt,
    webvtt-py), txt one line per segment, tsv `start\tend\ttext` in ms, json Whisper's result
    shape (`text`, `segments` with `start`/`end` in seconds, `language`)."""
    if output in ("srt", "vtt"):
        return stem.with_name(f"{stem.name}.{output}").read_text(encoding="utf-8")
    items = pysrt.open(str(stem.with_name(f"{stem.name}.srt")))
    segments = [
        (item.start.ordinal, item.end.ordinal, join_lines(item.text.splitlines())) for item in items
    ]
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
        "language": language,
    }
    return json.dumps(document, ensure_ascii=False)
