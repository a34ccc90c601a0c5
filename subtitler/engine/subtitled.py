"""What an input already has, for `--skip-subtitled` and `--audio-language` (pure).

A target counts as subtitled by an embedded subtitle stream tagged with its language (ISO 639-1
or -2, not forced) or by a sidecar named after the video with the language in any of the usual
forms (`Movie.en.srt`, `Movie.eng.srt`, `Movie.English.srt`, `Movie.en.sdh.srt`; `.forced.`
ones do not count), as Jellyfin, Plex and Bazarr name them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from subtitler.languages import LANGUAGE_TAGS, TRADITIONAL_CHINESE, language_of_tag
from subtitler.sources.media import AudioStream, SubtitleStream

SUBTITLE_SUFFIXES = (
    ".srt", ".ass", ".ssa", ".vtt", ".ttml", ".dfxp", ".scc", ".sub", ".sup",
)  # fmt: skip
_PAIR = re.compile(r"([a-z]{2,3})-([a-z]{2,3})")
TRADITIONAL_TAGS = frozenset(
    {"zh-tw", "zh-hant", "zh-hant-tw", "zh-hant-hk", "zh-mo", "cht", "zht", "zh_tw"}
)
"""A sidecar in Traditional Chinese (`Movie.zh-TW.srt`, `Movie.cht.srt`): subtitles for the
`zh-TW` target, not for `zh` (Simplified), which the audio's tags do not tell apart."""


def sidecar_languages(stem: str, names: Iterable[str]) -> dict[str, str]:
    """Language → the first sidecar (by name) of the video `stem` that carries it."""
    found: dict[str, str] = {}
    for name in sorted(names):
        lowered = name.lower()
        suffix = next((s for s in SUBTITLE_SUFFIXES if lowered.endswith(s)), None)
        if suffix is None or not name.startswith(stem + "."):
            continue
        parts = [part for part in lowered[len(stem) + 1 : -len(suffix)].split(".") if part]
        if "forced" in parts:
            continue
        for part in parts:
            for code in _languages_of(part):
                found.setdefault(code, name)
    return found


def _languages_of(part: str) -> list[str]:
    if part in TRADITIONAL_TAGS:
        return [TRADITIONAL_CHINESE]
    single = language_of_tag(part)
    pair = _PAIR.fullmatch(part)
    if pair and part not in {n for names in LANGUAGE_TAGS.values() for n in names}:
        both = [language_of_tag(pair.group(1)), language_of_tag(pair.group(2))]
        if all(both):
            return [code for code in both if code]  # a bilingual track: `zh-en`
    return [single] if single else []


def subtitled_reason(
    targets: tuple[str, ...],
    sidecars: dict[str, str],
    embedded: tuple[SubtitleStream, ...] = (),
) -> str | None:
    """The skip reason when every target already has subtitles; None when one has none."""
    found = []
    for target in targets:
        stream = next(
            (s for s in embedded if not s.forced and language_of_tag(s.language) == target), None
        )
        if stream is not None:
            found.append(f"has {target} subtitles: embedded stream {stream.index}")
        elif target in sidecars:
            found.append(f"has {target} subtitles: {sidecars[target]}")
        else:
            return None
    return "; ".join(found)


@dataclass(frozen=True, kw_only=True)
class AudioChoice:
    """The audio stream an input is heard from, and why (said in `started`)."""

    audio_index: int
    """Among the input's audio streams (`--audio-stream`'s numbering)."""
    reason: str
    fallback: bool = False
    """No stream had a language asked for: `reason` is also said with the result."""


def default_audio(audio_stream: int) -> AudioChoice:
    return AudioChoice(audio_index=audio_stream, reason=f"--audio-stream {audio_stream}")


def choose_audio(
    streams: tuple[AudioStream, ...], languages: tuple[str, ...], fallback: int
) -> AudioChoice:
    """The audio stream for the first language present (then the next); none tagged so: the
    fallback stream, with a one-line note saying so."""
    asked = ",".join(languages)
    for wanted in languages:
        for stream in streams:
            if language_of_tag(stream.language) == language_of_tag(wanted):
                reason = f"tagged {stream.language} (--audio-language {asked})"
                return AudioChoice(audio_index=stream.audio_index, reason=reason)
    tagged = ", ".join(f"{s.audio_index}: {s.language or 'untagged'}" for s in streams)
    note = (
        f"no audio stream is tagged {' or '.join(languages)} ({tagged}): "
        f"audio stream {fallback} is used"
    )
    return AudioChoice(audio_index=fallback, reason=note, fallback=True)
