"""An HLS package with subtitle renditions, for self-hosted players (hls.js, Safari, VLC, ffmpeg).

The decoding ffmpeg remuxes the input's video and audio into `DIR/media/` (`media.HlsMedia`);
this observer writes WebVTT subtitle segments beside them, one rendition per language and one
bilingual rendition per target (`DIR/subs/<name>/`), and `DIR/master.m3u8` that ties them with
`EXT-X-MEDIA TYPE=SUBTITLES`. Each WebVTT segment carries `X-TIMESTAMP-MAP=MPEGTS:<pts>,LOCAL:
00:00:00.000` (RFC 8216 §3.5): the MPEG-TS timestamp of cue time 0, read from the first media
segment (`cue_zero_pts`), so players that place every stream by its timestamps put each cue
where its speech is, whichever first timestamp they take as their own zero.

`-s auto`: the renditions are announced (master and folders) once the first cue carries the
identified language, so they are named after it (`und` only when it could not be told).

A subtitle segment is listed once no new cue can start in it (`safe_ms`); a cue that arrives
after its segment was listed (a sentence open longer than `OPEN_MAX_MS`) goes into the next
segment with its own times. While the input plays the playlists are live (EVENT, or a sliding
window whose older segments are deleted); the end adds `EXT-X-ENDLIST`. Files are replaced
atomically, off the loop, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from subtitler.events import (
    AudioProgress,
    CueWritten,
    Event,
    InputEnded,
    InputStarted,
    PartialText,
)
from subtitler.layout.cues import Cue, escape_vtt, vtt_timestamp
from subtitler.tracks.durable import Replace, replace_file

HOLD_MS = 6000
"""Live: how far behind the audio sent a segment is listed when no sentence is open (a
sentence's first results come ~1-2 s after its speech starts)."""
OPEN_MAX_MS = 30_000
"""Live: the longest an open sentence (partial results, no final yet) holds the listing back,
so a sentence that never finishes (cut by a rollover) cannot stop the playlists."""
MPEGTS_HZ = 90_000
TS_PACKET = 188
BANDWIDTH = 2_000_000
"""The variant's advertised peak bit rate (required by the master playlist; players use it to
choose between variants, and there is one)."""


@dataclass(frozen=True)
class Rendition:
    """One subtitle rendition: which texts of which target's cues it shows."""

    name: str
    """Its folder and URI: `zh-en`, `zh`, `en`."""
    target: str
    positions: tuple[int, ...]
    """The cue texts shown (0: the transcript, 1: the translation)."""
    language: str | None
    title: str
    default: bool = False


def renditions(source: str | None, targets: tuple[str, ...]) -> list[Rendition]:
    """A bilingual rendition per target (the first one default), then the source language,
    then each target alone."""
    shown = source or "und"
    made = [
        Rendition(f"{shown}-{t}", t, (0, 1), t, f"{shown} + {t}", default=i == 0)
        for i, t in enumerate(targets)
    ]
    made.append(Rendition(shown, targets[0], (0,), source, shown))
    made += [Rendition(t, t, (1,), t, t) for t in targets if t != source]
    return made


def vtt_segment(cues: list[tuple[int, int, tuple[str, ...]]], mpegts: int) -> str:
    """One WebVTT segment with its timestamp map (pure)."""
    out = [f"WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:{mpegts},LOCAL:00:00:00.000\n"]
    for begin_ms, end_ms, lines in cues:
        body = "\n".join(escape_vtt(line) for line in lines)
        out.append(f"{vtt_timestamp(begin_ms)} --> {vtt_timestamp(end_ms)}\n{body}\n")
    return "\n".join(out)


def media_playlist(
    durations_s: list[float], first: int, target_s: float, window: int | None, ended: bool
) -> str:
    """A subtitle media playlist of segments `first`.. (pure)."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", f"#EXT-X-TARGETDURATION:{int(-(-target_s // 1))}"]
    start = max(0, len(durations_s) - window) if window is not None else 0
    lines.append(f"#EXT-X-MEDIA-SEQUENCE:{first + start}")
    if window is None:
        lines.append("#EXT-X-PLAYLIST-TYPE:EVENT")
    for number in range(start, len(durations_s)):
        lines += [f"#EXTINF:{durations_s[number]:.3f},", f"seg{first + number:05d}.vtt"]
    if ended:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def master_playlist(made: list[Rendition], media_uri: str, bandwidth: int = BANDWIDTH) -> str:
    lines = ["#EXTM3U", "#EXT-X-VERSION:3"]
    for rendition in made:
        language = f',LANGUAGE="{rendition.language}"' if rendition.language else ""
        lines.append(
            f'#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="{rendition.title}"{language},'
            f"DEFAULT={'YES' if rendition.default else 'NO'},AUTOSELECT=YES,"
            f'URI="subs/{rendition.name}/index.m3u8"'
        )
    lines += [f'#EXT-X-STREAM-INF:BANDWIDTH={bandwidth},SUBTITLES="subs"', media_uri]
    return "\n".join(lines) + "\n"


def first_pts(segment: bytes) -> dict[int, tuple[int, int]]:
    """The first PTS of each stream of an MPEG-TS segment, as PID: (PES stream id, PTS)."""
    firsts: dict[int, tuple[int, int]] = {}
    for offset in range(0, len(segment) - TS_PACKET + 1, TS_PACKET):
        packet = segment[offset : offset + TS_PACKET]
        if packet[0] != 0x47 or not packet[1] & 0x40:
            continue
        pid = (packet[1] & 0x1F) << 8 | packet[2]
        control = (packet[3] >> 4) & 3
        start = 4 + (1 + packet[4] if control in (2, 3) else 0)
        payload = packet[start:]
        if pid in firsts or control == 2 or len(payload) < 14 or payload[:3] != b"\x00\x00\x01":
            continue
        if payload[7] & 0x80:
            b = payload[9:14]
            firsts[pid] = (
                payload[3],
                ((b[0] >> 1) & 7) << 30 | b[1] << 22 | (b[2] >> 1) << 15 | b[3] << 7 | (b[4] >> 1),
            )
    return firsts


def cue_zero_pts(segment: bytes, live: bool) -> int | None:
    """The 90 kHz PTS of cue time 0 in the first media segment. Live, the cues count from the
    first audio sample decoded (there is no probe of a start offset): the audio stream's first
    PTS (the segment holds one video stream, PES ids 0xE0-0xEF, and the audio). A file's cues
    are on its media timeline, whose 0 is the earliest first timestamp of its streams. Never
    the video's first DTS or PTS for a live input: with B-frames or a late audio start they are
    not where the speech is."""
    firsts = first_pts(segment)
    audio = [pts for stream_id, pts in firsts.values() if not 0xE0 <= stream_id <= 0xEF]
    if live:
        return min(audio) if audio else None
    return min(pts for _, pts in firsts.values()) if firsts else None


_Cues = list[tuple[int, int, tuple[str, ...]]]
"""(begin_ms, end_ms, lines) on the media timeline."""
_Write = tuple[Path, str | _Cues | None]
"""A file to replace with a text or a segment's cues, or (None) to delete."""


@dataclass
class _Track:
    rendition: Rendition
    pending: _Cues = field(default_factory=list)
    durations_s: list[float] = field(default_factory=list)


class HlsSubtitles:
    """Observes the run; writes the subtitle renditions and the master playlist."""

    name = "HLS"

    def __init__(
        self,
        folder: Path,
        source: str | None,
        targets: tuple[str, ...],
        segment_s: float,
        window: int | None,
        live: bool,
    ) -> None:
        self.folder = folder
        self.segment_ms = round(segment_s * 1000)
        self.window = window
        self.live = live
        self.targets = targets
        self._source = source
        self.tracks: list[_Track] = []
        self.listed = 0
        """Segments listed in every rendition."""
        self.mpegts: int | None = None
        self._sentence_end_ms: dict[str, int] = {}
        self._open_since_ms: dict[tuple[str, int], int] = {}
        """Live: (target, sentence id) of sentences with partial results and no final yet, and
        how much audio had been sent when the first one came."""
        self._sent_ms = 0
        self._ended_ms: int | None = None
        self._closed_playlists = False
        self._writes: asyncio.Queue[_Write | None] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._failed = ""

    async def start(self) -> None:
        (self.folder / "media").mkdir(parents=True, exist_ok=True)
        self._writer = asyncio.create_task(self._write_forever())

    def __call__(self, event: Event) -> None:
        if isinstance(event, CueWritten):
            self._open_since_ms.pop((event.target, event.sentence_id), None)
            self._cue(event)
        elif isinstance(event, PartialText):
            self._open_since_ms.setdefault((event.target, event.sentence_id), self._sent_ms)
        elif isinstance(event, AudioProgress):
            self._sent_ms = max(self._sent_ms, event.sent_ms)
        elif isinstance(event, InputStarted) and not self.tracks and self._source is not None:
            self._begin(self._source)  # (`-s auto`: with the first cue, which names it)
        elif isinstance(event, InputEnded):
            self._ended_ms = max(self._sent_ms, event.result.audio_ms)
            if not self.tracks:  # nothing was said: the language stays undetermined
                self._begin(self._source)
        self._list_ready()

    async def close(self, grace_s: float) -> str | None:
        if self._ended_ms is None:
            self._ended_ms = self._sent_ms
        if not self.tracks:
            self._begin(self._source)
        self._list_ready()
        self._writes.put_nowait(None)
        if self._writer is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(grace_s + 30):  # the media's last segment first
                    await self._writer
            self._writer.cancel()
        return f"{self.name}: {self._failed}" if self._failed else None

    # -- state ------------------------------------------------------------------------------

    def _begin(self, source: str | None) -> None:
        self.tracks = [_Track(r) for r in renditions(source, self.targets)]
        made = [track.rendition for track in self.tracks]
        for track in self.tracks:
            (self.folder / "subs" / track.rendition.name).mkdir(parents=True, exist_ok=True)
        self._writes.put_nowait(
            (self.folder / "master.m3u8", master_playlist(made, "media/index.m3u8"))
        )
        for track in self.tracks:
            self._writes.put_nowait((self._playlist(track), self._playlist_text(track, False)))

    def _cue(self, event: CueWritten) -> None:
        if not self.tracks:
            named = next((t.language for c in event.cues for t in c.texts[:1] if t.language), None)
            self._begin(self._source or named)
        self._sentence_end_ms[event.target] = max(
            self._sentence_end_ms.get(event.target, 0), event.end_ms
        )
        cues: list[Cue] = list(event.cues)
        if event.revised is not None:
            cues.insert(0, event.revised)  # its new end (or merged text) goes out again
        for track in self.tracks:
            if track.rendition.target != event.target:
                continue
            for cue in cues:
                lines = tuple(
                    line
                    for position in track.rendition.positions
                    if position < len(cue.texts)
                    for line in cue.texts[position].lines
                )
                if lines:
                    track.pending.append((cue.begin_ms, cue.end_ms, lines))

    def _safe_ms(self) -> int:
        """Where the next cue can start at the earliest: after every target's last finished
        sentence; live, also at least `HOLD_MS` behind the audio sent unless a target has a
        sentence open (its partial results came, not its final), which may have started
        anywhere after that target's last sentence."""
        if self._ended_ms is not None:
            return 1 << 62
        open_targets = {
            target
            for (target, _), since_ms in self._open_since_ms.items()
            if self._sent_ms - since_ms < OPEN_MAX_MS
        }
        safe_ms = []
        for target in self.targets:
            sentences_ms = self._sentence_end_ms.get(target, 0)
            if self.live and target not in open_targets:
                sentences_ms = max(sentences_ms, self._sent_ms - HOLD_MS)
            safe_ms.append(sentences_ms)
        return min(safe_ms, default=0)

    def _list_ready(self) -> None:
        """List every segment no new cue can start in (all of them once the input ended)."""
        if not self.tracks:
            return
        safe_ms = self._safe_ms()
        end_ms = self._ended_ms
        while True:
            begin_ms = self.listed * self.segment_ms
            finish_ms = begin_ms + self.segment_ms
            if end_ms is not None:
                if begin_ms >= max(end_ms, 1):
                    break
                finish_ms = min(finish_ms, max(end_ms, begin_ms + 1))
            elif finish_ms > safe_ms:
                break
            self._write_segment(finish_ms)
        if end_ms is not None and not self._closed_playlists:  # once: ENDLIST
            self._closed_playlists = True
            for track in self.tracks:
                self._writes.put_nowait((self._playlist(track), self._playlist_text(track, True)))

    def _write_segment(self, finish_ms: int) -> None:
        number = self.listed
        begin_ms = number * self.segment_ms
        for track in self.tracks:
            due = [cue for cue in track.pending if cue[0] < finish_ms]
            track.pending = [cue for cue in track.pending if cue[0] >= finish_ms]
            track.durations_s.append((finish_ms - begin_ms) / 1000)
            folder = self.folder / "subs" / track.rendition.name
            self._writes.put_nowait((folder / f"seg{number:05d}.vtt", due))
            self._writes.put_nowait((self._playlist(track), self._playlist_text(track, False)))
            gone = number - 2 * self.window - 1 if self.window is not None else -1
            if gone >= 0:  # out of the window for as long as a playlist lasts (RFC 8216 6.2.2)
                self._writes.put_nowait((folder / f"seg{gone:05d}.vtt", None))
        self.listed += 1

    def _playlist(self, track: _Track) -> Path:
        return self.folder / "subs" / track.rendition.name / "index.m3u8"

    def _playlist_text(self, track: _Track, ended: bool) -> str:
        return media_playlist(track.durations_s, 0, self.segment_ms / 1000, self.window, ended)

    # -- files, off the loop, in order -----------------------------------------------------------

    async def _write_forever(self) -> None:
        while (item := await self._writes.get()) is not None:
            path, content = item
            try:
                if content is None:
                    await asyncio.to_thread(_delete_if_there, path)
                    continue
                text = content if isinstance(content, str) else await self._segment_text(content)
                await asyncio.to_thread(replace_file, Replace(path, text.encode("utf-8")))
            except OSError as error:
                self._failed = f"cannot write {path} ({error.strerror or error})"

    async def _segment_text(self, cues: _Cues) -> str:
        """A segment's text, once the timestamp map is known (the media segment holding the
        first audio exists: the first one, or a later one when the audio starts later)."""
        media = self.folder / "media"
        number = 0
        while self.mpegts is None:
            data = await asyncio.to_thread(_read_if_there, media / f"seg{number:05d}.ts")
            self.mpegts = cue_zero_pts(data, self.live) if data else None
            if self.mpegts is not None:
                break
            following = media / f"seg{number + 1:05d}.ts"
            later: bool = bool(data) and await asyncio.to_thread(following.exists)
            if later:
                number += 1  # a whole segment before the audio starts
            else:
                await asyncio.sleep(0.2)  # polling a file another process (ffmpeg) writes
        return vtt_segment(cues, self.mpegts)


def _read_if_there(path: Path) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return b""


def _delete_if_there(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
