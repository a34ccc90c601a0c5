"""YouTube Live's caption ingestion: captions POSTed as YouTube's spec says.

Each post: `seq` grows by one for new caption data and stays the same for a retry; a
`text/plain` UTF-8 body of captions, each a UTC time line `YYYY-MM-DDTHH:MM:SS.mmm` (when the
caption's speech is heard on the stream's timeline, `CaptionTimeline`, plus `--caption-offset`)
then its text, `<br>` between lines, ending with a newline; at most one post a second (captions
that arrive faster share one). The reply is the server's time, which corrects the clock's drift.
Errors and timeouts are retried with backoff; a refusal (not live yet) is said once and retried
quietly. The URL holds the stream's key: it is never printed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import itertools
import math
import re
import time
from collections.abc import Callable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import aiohttp

from subtitler.events import Event, InputEnded, InputStarted
from subtitler.outputs.captions import Caption, CaptionChoice
from subtitler.outputs.delivery import LiveOutput, backoff

POSTS_EVERY_S = 1.0
MAX_CAPTIONS_PER_POST = 20
"""After an outage the backlog goes out in posts of this many, not one ever-growing body."""
_SERVER_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?")


def utc_stamp(unix_s: float) -> str:
    moment = dt.datetime.fromtimestamp(unix_s, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


class CaptionTimeline:
    """The stream's one timeline (pure): each input's media time from where its audio started
    to be sent. At 1x that is when the speech reached the tool; sent faster (files: 10x by
    default), captions are timed ahead of their sending with the media's own gaps, as a stream
    playing the input from the start of its sending would reach them; a live input that stalled
    goes on from when it was heard again. An input starts after the media of those that ended
    before it (a file sent at 10x ends long before its media does); inputs sent at once share
    the clock. Within an input, times never go backwards."""

    def __init__(self) -> None:
        self._origins_s: dict[str, float] = {}
        """Per input, Unix time of its media time 0 on the timeline."""
        self._ends_s: dict[str, float] = {}
        """Per input, where its media ends on the timeline (as far as is known)."""
        self._durations_s: dict[str, float] = {}
        self._after_s = -math.inf
        """Where the media of the inputs that ended ends: a later input starts no earlier."""

    def started(
        self, source: str, *, now_s: float, duration_ms: int | None, resumed_at_ms: int | None
    ) -> None:
        """An input starts to be sent: from now, or after the inputs that ended before it."""
        self._origins_s[source] = max(now_s, self._after_s) - (resumed_at_ms or 0) / 1000
        if duration_ms is not None:
            self._durations_s[source] = duration_ms / 1000
        self._extend(source, -math.inf)

    def ended(self, source: str) -> None:
        """An input is over: the next to start goes after its media."""
        self._after_s = max(self._after_s, self._ends_s.get(source, -math.inf))

    def place(self, caption: Caption) -> Caption:
        """The caption with its input's origin on the timeline (its time: `heard_at_s`). The
        origin only moves later: when the input is sent slower than real time or stalled."""
        origin_s = max(self._origins_s.get(caption.source, -math.inf), caption.media_origin_s)
        self._origins_s[caption.source] = origin_s
        placed = dataclasses.replace(caption, media_origin_s=origin_s)
        self._extend(caption.source, placed.heard_at_s)
        return placed

    def _extend(self, source: str, heard_at_s: float) -> None:
        end_s = max(self._ends_s.get(source, -math.inf), heard_at_s)
        duration_s = self._durations_s.get(source)
        if duration_s is not None:
            end_s = max(end_s, self._origins_s[source] + duration_s)
        self._ends_s[source] = end_s


def post_times(captions: list[Caption], clock_offset_s: float, not_before_s: float) -> list[float]:
    """Each caption's time on the server's clock (pure): its time on the timeline plus the
    offset, never before the last one posted (a correction of the clock moves no time back)."""
    times_s = []
    for caption in captions:
        not_before_s = max(not_before_s, caption.heard_at_s + clock_offset_s)
        times_s.append(not_before_s)
    return times_s


def post_body(captions: list[Caption], times_s: list[float]) -> str:
    """The body of one post (pure)."""
    return "".join(
        f"{utc_stamp(time_s)}\n{'<br>'.join(caption.lines)}\n"
        for caption, time_s in zip(captions, times_s, strict=True)
    )


def with_seq(url: str, seq: int) -> str:
    parts = urlsplit(url)
    query = [(key, value) for key, value in parse_qsl(parts.query) if key != "seq"]
    return urlunsplit(parts._replace(query=urlencode([*query, ("seq", str(seq))])))


def server_time(reply: str) -> float | None:
    """The server's clock from its reply, as Unix time (UTC), if it gave one."""
    found = _SERVER_TIME.search(reply)
    if found is None:
        return None
    stamp = found.group(0)
    parsed = dt.datetime.fromisoformat(stamp).replace(tzinfo=dt.UTC)
    return parsed.timestamp()


class YouTubeCaptions(LiveOutput):
    name = "YouTube"

    def __init__(
        self,
        url: str,
        choice: CaptionChoice,
        say: Callable[[str], None],
        offset_s: float = 0.0,
        timeout_s: float = 5.0,
    ) -> None:
        super().__init__(choice, say)
        self._url = url
        self.offset_s = offset_s
        self.timeout_s = timeout_s
        self.seq = 1
        self.clock_correction_s = 0.0
        """The server's clock minus ours (from its replies)."""
        self.timeline = CaptionTimeline()
        self._last_time_s = -math.inf
        """The time of the last caption posted (the server's clock)."""

    def __call__(self, event: Event) -> None:
        if isinstance(event, InputStarted):
            self.timeline.started(
                str(event.path),
                now_s=time.time(),
                duration_ms=event.duration_ms,
                resumed_at_ms=event.resumed_at_ms,
            )
        super().__call__(event)
        if isinstance(event, InputEnded):
            self.timeline.ended(str(event.result.path))

    def placed(self, caption: Caption) -> Caption:
        return self.timeline.place(caption)

    async def _deliver_forever(self) -> None:
        timeout = aiohttp.ClientTimeout(total=self.timeout_s)
        async with aiohttp.ClientSession(timeout=timeout, trust_env=True) as session:
            last_post_s = -POSTS_EVERY_S
            while True:
                await self.next_caption()
                wait_s = last_post_s + POSTS_EVERY_S - time.monotonic()
                if wait_s > 0:
                    await asyncio.sleep(wait_s)  # the rate limit itself is what is waited for
                batch = list(itertools.islice(self.pending, MAX_CAPTIONS_PER_POST))
                offset_s = self.offset_s + self.clock_correction_s
                times_s = post_times(batch, offset_s, self._last_time_s)
                self._last_time_s = times_s[-1]
                body = post_body(batch, times_s)
                attempt = 0
                while True:
                    last_post_s = time.monotonic()
                    if await self._post(session, body):
                        break
                    await asyncio.sleep(backoff(attempt))
                    attempt += 1
                self.seq += 1
                for _ in batch:
                    self.delivered_one()

    async def _post(self, session: aiohttp.ClientSession, body: str) -> bool:
        sent_s = time.time()
        try:
            async with session.post(
                with_seq(self._url, self.seq),
                data=body.encode("utf-8"),
                headers={"Content-Type": "text/plain; charset=utf-8"},
            ) as reply:
                text = await reply.text(errors="replace")
                if 200 <= reply.status < 300:
                    self._correct_clock(text, sent_s, time.time())
                    return True
                first = text.strip().splitlines()[0][:120] if text.strip() else reply.reason
                kind = "refused" if reply.status < 500 else "server error"
                self.failed(kind, f"HTTP {reply.status} {first}")
        except TimeoutError:
            self.failed("timeout", f"no answer within {self.timeout_s:g} s")
        except aiohttp.ClientError as error:
            self.failed("connection", f"cannot post ({type(error).__name__})")
        return False

    def _correct_clock(self, reply: str, sent_s: float, received_s: float) -> None:
        theirs = server_time(reply)
        if theirs is not None:
            self.clock_correction_s = theirs - (sent_s + received_s) / 2
