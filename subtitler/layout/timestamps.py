"""Times as SRT and WebVTT write them, and WebVTT's text escapes: formatted only at the edge."""

from __future__ import annotations


def srt_timestamp(ms: int) -> str:
    hours, rest = divmod(max(0, ms), 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d},{millis:03d}"


def vtt_timestamp(ms: int) -> str:
    return srt_timestamp(ms).replace(",", ".")


def escape_vtt(line: str) -> str:
    """A line of WebVTT cue text: `&`, `<` and `>` as the character references it requires."""
    return line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
