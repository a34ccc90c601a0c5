"""Qwen-MT over HTTP: one aiohttp session per run on the run's event loop, shared by every input
and target; requests paced (`pacing`), each attempt bounded by `timeout_s`, retried with
backoff when a retry can help.

Retried: throttling (any `Throttling*` code, whatever the status), 5xx and `InternalError`,
timeouts and dropped connections; a `Retry-After` is honoured, and a throttled answer holds back
every request behind it. Not retried: what the request itself made the service refuse (400
`InvalidParameter`, `DataInspectionFailed`: that sentence fails, the next may pass) and what no
request can get past (401 `InvalidApiKey`, `Arrearage`: `TranslationFailed.fatal`, the run stops).
The SDK retries none of this for chat calls (research A8), hence this client. The key goes in
the `Authorization` header only and never into an error's text. aiohttp is imported when the
first sentence is translated: importing it costs more CPU than a run of Gummy targets spends
starting (`docs/performance.md`), and the engine imports this module for every run.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from subtitler.errors import ServiceError
from subtitler.gummy.environment import LOCAL_HOSTS
from subtitler.qwenmt.pacing import (
    BACKOFF_BASE_S,
    BACKOFF_MAX_S,
    Pacer,
    limits_for,
    parse_retry_after,
    retry_delay_s,
)
from subtitler.qwenmt.protocol import (
    SUBJECT,
    MtRefused,
    MtSettings,
    StreamReader,
    Translated,
    TranslationRequest,
    body,
    estimated_tokens,
    headers,
    read_answer,
    refusal,
    streams_incrementally,
    url,
)

if TYPE_CHECKING:
    import aiohttp

Partial = Callable[[str], None]
"""Called with the translation so far while a streamed answer arrives (the live preview)."""


@dataclass(frozen=True, kw_only=True)
class MtUsage:
    """What a run has used so far: billed tokens (from the answers) and requests sent."""

    input_tokens: int = 0
    output_tokens: int = 0
    requests: int = 0
    retries: int = 0


class TranslationFailed(ServiceError):
    """A sentence stays untranslated: refused for good, or still failing after the retries."""

    def __init__(self, code: str, message: str, *, fatal: bool = False, attempts: int = 1) -> None:
        after = f" (after {attempts} attempts)" if attempts > 1 else ""
        super().__init__(SUBJECT, f"{code}: {message}{after}", code=code, retryable=False)
        self.message = message
        self.fatal = fatal
        """No request can succeed (bad key, account in arrears): stop the run, not the sentence."""
        self.attempts = attempts


class _Answered(Exception):
    """An error answer and the pause it asked for."""

    def __init__(self, refused: MtRefused, retry_after_s: float | None) -> None:
        super().__init__(refused.code)
        self.refused = refused
        self.retry_after_s = retry_after_s


class QwenMt:
    """One per run; `translate` may be awaited by many tasks at once on the same loop."""

    def __init__(
        self,
        settings: MtSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
        backoff_base_s: float = BACKOFF_BASE_S,
        backoff_max_s: float = BACKOFF_MAX_S,
    ) -> None:
        self.settings = settings
        self._pacer = Pacer(limits_for(settings.rpm, settings.tpm), clock=clock, sleep=sleep)
        self._sleep = sleep
        self._jitter = jitter
        self._backoff_base_s = backoff_base_s
        self._backoff_max_s = backoff_max_s
        self._url = url(settings)
        self._headers = headers(settings)
        self._session: aiohttp.ClientSession | None = None
        self._usage = MtUsage()

    def __repr__(self) -> str:
        return f"QwenMt({self.settings!r})"

    @property
    def usage(self) -> MtUsage:
        return self._usage

    @property
    def pacer(self) -> Pacer:
        return self._pacer

    async def translate(
        self, request: TranslationRequest, on_partial: Partial | None = None
    ) -> Translated:
        """The translation of one sentence, or `TranslationFailed`."""
        import aiohttp  # on first use: a run without Qwen-MT targets never loads it

        data = json.dumps(body(self.settings, request), ensure_ascii=False).encode("utf-8")
        reserved = estimated_tokens(self.settings, request)
        attempt = 0
        while True:
            await self._pacer.acquire(reserved)
            self._count(requests=1)
            retry_after_s: float | None = None
            try:
                answer = await self._attempt(data, on_partial)
            except _Answered as answered:
                failure, retry_after_s = answered.refused, answered.retry_after_s
            except MtRefused as refused:
                failure = refused
            except TimeoutError:
                failure = MtRefused(
                    "Timeout", f"no answer within {self.settings.timeout_s:g} s", 0, True
                )
            except (aiohttp.ClientError, OSError) as error:
                failure = MtRefused("Disconnected", _describe(error), 0, True)
            else:
                if answer.input_tokens or answer.output_tokens:
                    self._pacer.correct(reserved, answer.input_tokens + answer.output_tokens)
                self._count(input_tokens=answer.input_tokens, output_tokens=answer.output_tokens)
                return answer
            if failure.status not in (0, 200):
                self._pacer.correct(reserved, 0)  # refused before any work: nothing billed
            if not failure.retryable or attempt >= self.settings.retries:
                raise TranslationFailed(
                    failure.code,
                    self._redacted(failure.message),
                    fatal=failure.fatal,
                    attempts=attempt + 1,
                ) from None
            delay_s = retry_delay_s(
                attempt,
                retry_after_s=retry_after_s,
                jitter=self._jitter(),
                base_s=self._backoff_base_s,
                max_s=self._backoff_max_s,
            )
            if retry_after_s is not None or failure.status == 429 or _throttled(failure.code):
                self._pacer.defer(delay_s)  # every request behind this one waits too
            else:
                await self._sleep(delay_s)
            self._count(retries=1)
            attempt += 1

    async def __aenter__(self) -> QwenMt:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _attempt(self, data: bytes, on_partial: Partial | None) -> Translated:
        session = self._open()
        async with (
            asyncio.timeout(self.settings.timeout_s),
            session.post(self._url, data=data, headers=self._headers) as response,
        ):
            if response.status != 200:
                retry_after_s = parse_retry_after(response.headers.get("Retry-After"), time.time())
                raise _Answered(refusal(response.status, await response.read()), retry_after_s)
            if not self.settings.stream or response.content_type == "application/json":
                return read_answer(response.status, await response.read())
            reader = StreamReader(incremental=streams_incrementally(self.settings.model))
            async for chunk in response.content.iter_any():
                for text in reader.feed(chunk):
                    if on_partial is not None:
                        on_partial(text)
            return reader.finish()

    def _open(self) -> aiohttp.ClientSession:
        import aiohttp

        if self._session is None:
            local = urlparse(self._url).hostname in LOCAL_HOSTS
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=None),
                trust_env=not local,  # proxies as the SDK honours them; loopback never proxied
            )
        return self._session

    def _count(
        self, *, input_tokens: int = 0, output_tokens: int = 0, requests: int = 0, retries: int = 0
    ) -> None:
        usage = self._usage
        self._usage = MtUsage(
            input_tokens=usage.input_tokens + input_tokens,
            output_tokens=usage.output_tokens + output_tokens,
            requests=usage.requests + requests,
            retries=usage.retries + retries,
        )

    def _redacted(self, text: str) -> str:
        key = self.settings.api_key
        return text.replace(key, "***") if len(key) >= 4 else text


def _throttled(code: str) -> bool:
    return code.lower().startswith("throttling")


def _describe(error: BaseException) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
