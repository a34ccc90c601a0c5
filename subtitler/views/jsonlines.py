"""`--json`: one JSON object per line on stdout for every event, and nothing else there.

The schema is `subtitler/events.schema.json` (JSON Schema 2020-12), documented in the README.
Every object has `event` (its type), `at` (Unix time, seconds) and `input` (the path, URL,
`stdin` or device it is about). Strings are JSON-escaped by `json.dumps`, so any parser reads
every line (quotes, newlines and non-ASCII text included).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, TextIO

from subtitler.events import (
    AudioProgress,
    CueWritten,
    Event,
    InputEnded,
    InputQueued,
    InputResult,
    InputStarted,
    PartialText,
    Status,
    label_of,
)
from subtitler.layout.cues import Cue
from subtitler.views.output import LineOutput

SCHEMA_VERSION = 1


def _cue(cue: Cue) -> dict[str, Any]:
    return {
        "begin_ms": cue.begin_ms,
        "end_ms": cue.end_ms,
        "texts": [{"language": t.language, "lines": list(t.lines)} for t in cue.texts if t.lines],
    }


def event_objects(event: Event, label: str) -> list[dict[str, Any]]:
    """The JSON objects of one event (a finished sentence gives a `sentence` and its `cue`s)."""
    base: dict[str, Any] = {"at": round(time.time(), 3), "input": label}
    if isinstance(event, InputQueued):
        return [{"event": "queued", **base, "reason": event.reason}]
    if isinstance(event, InputStarted):
        return [
            {
                "event": "started",
                **base,
                "duration_ms": event.duration_ms,
                "tracks": [str(p) for p in event.tracks],
                "resumed_at_ms": event.resumed_at_ms,
                "audio_stream": event.audio_stream,
                "audio_reason": event.audio_reason,
            }
        ]
    if isinstance(event, AudioProgress):
        progress = {"event": "progress", **base, "sent_ms": event.sent_ms}
        return [progress if event.sending else {**progress, "sending": False}]
    if isinstance(event, PartialText):
        return [
            {
                "event": "partial",
                **base,
                "target": event.target,
                "sentence_id": event.sentence_id,
                "transcript": event.transcript,
                "translation": event.translation,
            }
        ]
    if isinstance(event, CueWritten):
        objects = [
            {
                "event": "sentence",
                **base,
                "target": event.target,
                "sentence_id": event.sentence_id,
                "begin_ms": event.begin_ms,
                "end_ms": event.end_ms,
                "transcript": event.transcript,
                "translation": event.translation,
                "latency_ms": event.latency_ms,
                "write_ms": event.write_ms,
            }
        ]
        tracks = [str(p) for p in event.tracks]
        if event.revised is not None:
            objects.append(
                {
                    "event": "cue",
                    **base,
                    "target": event.target,
                    "revised": True,
                    **_cue(event.revised),
                    "tracks": tracks,
                }
            )
        for cue in event.cues:
            objects.append(
                {
                    "event": "cue",
                    **base,
                    "target": event.target,
                    "revised": False,
                    **_cue(cue),
                    "tracks": tracks,
                }
            )
        return objects
    if isinstance(event, InputEnded):
        result = event.result
        if result.status is Status.DONE:
            return [
                {
                    "event": "finished",
                    **base,
                    "sentences": result.sentences,
                    "audio_ms": result.audio_ms,
                    **({} if result.sent_ms is None else {"sent_ms": result.sent_ms}),
                    "wall_s": round(result.wall_s, 3),
                    "streaming_s": None
                    if result.streaming_s is None
                    else round(result.streaming_s, 3),
                    "resumes": result.resumes,
                    "resumed_at_ms": result.resumed_at_ms,
                    "tasks": [
                        {
                            "target": t.target,
                            "request_id": t.request_id,
                            "first_package_delay_ms": t.first_package_delay_ms,
                            "last_package_delay_ms": t.last_package_delay_ms,
                        }
                        for t in result.tasks
                    ],
                    "tracks": [str(p) for p in result.tracks],
                    **_translation(result),
                }
            ]
        return [{"event": result.status.value, **base, "reason": result.reason}]
    return []


class JsonLinesView:
    """Writes every event as JSON lines; flushes after each so a pipeline sees it at once."""

    def __init__(self, stream: TextIO, on_closed: Callable[[], None] | None = None) -> None:
        self.output = LineOutput(stream, on_closed)

    def __call__(self, event: Event) -> None:
        for obj in event_objects(event, label_of(event)):
            self.output.line(json.dumps(obj, ensure_ascii=False))

    def summary(self, done: int, failed: int, skipped: int, interrupted: int = 0) -> None:
        obj = {
            "event": "summary",
            "at": round(time.time(), 3),
            "done": done,
            "failed": failed,
            "skipped": skipped,
            "interrupted": interrupted,
            "version": SCHEMA_VERSION,
        }
        self.output.line(json.dumps(obj))


def _translation(result: InputResult) -> dict[str, Any]:
    """Qwen-MT's requests and tokens, only for an input that had a target it translated."""
    usage = result.translation
    if usage is None:
        return {}
    return {
        "translation": {
            "requests": usage.requests,
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
        }
    }
