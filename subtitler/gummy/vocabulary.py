"""DashScope's customization API (hot-word vocabularies), as this project's own HTTP client
(aiohttp, on the event loop) or through the SDK's `VocabularyService` (`--client sdk`).

Both speak `POST {base}/services/audio/asr/customization` with `{"model": "speech-biasing",
"input": {"action": ...}}` and the key as a bearer token. `base` is the HTTP API of the host
the WebSocket endpoint is on (`wss://host/api-ws/v1/inference` -> `https://host/api/v1`), or
DASHSCOPE_HTTP_BASE_URL, the SDK's own variable (or the run's region's `http_url`).
`ensure_vocabulary` turns a glossary into a vocabulary id for one recognition model (its
`target_model`: Gummy's or Fun-ASR's) without ever creating a second vocabulary for the same
content and model (an account holds 10); a Gummy vocabulary is never used for Fun-ASR.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlparse, urlunparse

from subtitler.errors import ServiceError
from subtitler.gummy.client import ClientKind
from subtitler.gummy.glossary import TARGET_MODEL, Glossary, GlossaryEntry, fingerprint

CUSTOMIZATION = "services/audio/asr/customization"
BIASING_MODEL = "speech-biasing"
DEFAULT_HTTP_BASE = "https://dashscope.aliyuncs.com/api/v1"
PAGE_SIZE = 10
ATTEMPTS = 3
"""A request that gets no answer (or a 5xx) is sent this many times, 0.5 s, 1 s apart."""


class VocabularyRefused(ServiceError):
    """The service answered a customization request with an error (its code and message)."""


@dataclass(frozen=True)
class VocabularySummary:
    vocabulary_id: str
    status: str
    created: str
    modified: str


@dataclass(frozen=True)
class VocabularyDetail:
    vocabulary_id: str
    target_model: str
    status: str
    entries: tuple[GlossaryEntry, ...]


def http_base(endpoint: str | None) -> str:
    """The HTTP API base beside a WebSocket endpoint (same host and port)."""
    configured = os.environ.get("DASHSCOPE_HTTP_BASE_URL", "").strip()
    if configured:
        return configured.rstrip("/")
    if not endpoint:
        return DEFAULT_HTTP_BASE
    parts = urlparse(endpoint)
    scheme = "https" if parts.scheme == "wss" else "http"
    return urlunparse((scheme, parts.netloc, "/api/v1", "", "", ""))


class Vocabularies(Protocol):
    """The five actions, whichever client speaks them."""

    async def call(self, action: str, **fields: Any) -> dict[str, Any]: ...


async def create(
    client: Vocabularies,
    prefix: str,
    entries: list[dict[str, Any]],
    target_model: str = TARGET_MODEL,
) -> str:
    output = await client.call(
        "create_vocabulary", target_model=target_model, prefix=prefix, vocabulary=entries
    )
    return str(output["vocabulary_id"])


async def list_all(client: Vocabularies, prefix: str | None = None) -> list[VocabularySummary]:
    """Every vocabulary (page by page), or those whose id starts with `prefix`'s."""
    found: list[VocabularySummary] = []
    for page in range(100):
        fields: dict[str, Any] = {"page_index": page, "page_size": PAGE_SIZE}
        if prefix:
            fields["prefix"] = prefix
        listed = (await client.call("list_vocabulary", **fields)).get("vocabulary_list") or []
        found += [
            VocabularySummary(
                str(item.get("vocabulary_id", "")),
                str(item.get("status", "")),
                str(item.get("gmt_create", "")),
                str(item.get("gmt_modified", "")),
            )
            for item in listed
        ]
        if len(listed) < PAGE_SIZE:
            break
    return found


async def query(client: Vocabularies, vocabulary_id: str) -> VocabularyDetail:
    output = await client.call("query_vocabulary", vocabulary_id=vocabulary_id)
    entries = tuple(GlossaryEntry.from_service(entry) for entry in output.get("vocabulary", []))
    return VocabularyDetail(
        vocabulary_id, str(output.get("target_model", "")), str(output.get("status", "")), entries
    )


async def delete(client: Vocabularies, vocabulary_id: str) -> None:
    await client.call("delete_vocabulary", vocabulary_id=vocabulary_id)


async def ensure_vocabulary(
    client: Vocabularies,
    glossary: Glossary,
    prefix: str | None = None,
    target_model: str = TARGET_MODEL,
) -> tuple[str, bool]:
    """The id of a vocabulary with exactly the glossary's entries for `target_model` (the
    model of the tasks that use it), and whether it was created now: one with the same
    content and model is reused, never made twice."""
    chosen = prefix or glossary.prefix_for(target_model)
    wanted = glossary.fingerprint_for(target_model)
    for summary in await list_all(client, chosen):
        detail = await query(client, summary.vocabulary_id)
        same = fingerprint(detail.entries, target_model) == wanted
        if same and detail.target_model == target_model and summary.status in ("OK", ""):
            return summary.vocabulary_id, False
    entries = glossary.vocabulary(target_model)
    return await create(client, chosen, entries, target_model), True


class NativeVocabularies:
    """This project's client: one aiohttp request per action, transient failures retried."""

    def __init__(self, api_key: str, base: str, retry_delay_s: float = 0.5) -> None:
        self._key = api_key
        self.base = base
        self._retry_delay_s = retry_delay_s

    async def call(self, action: str, **fields: Any) -> dict[str, Any]:
        import aiohttp

        body = {"model": BIASING_MODEL, "input": {"action": action, **fields}}
        url = f"{self.base}/{CUSTOMIZATION}"
        headers = {"Authorization": f"Bearer {self._key}"}
        delay_s = self._retry_delay_s
        timeout = aiohttp.ClientTimeout(total=30)
        for attempt in range(1, ATTEMPTS + 1):
            try:
                async with (
                    aiohttp.ClientSession(timeout=timeout) as session,
                    session.post(url, json=body, headers=headers) as response,
                ):
                    status = response.status
                    answer = await response.json(content_type=None)
            except (aiohttp.ClientError, TimeoutError, ValueError) as error:
                if attempt == ATTEMPTS:
                    raise ServiceError(
                        self.base, f"no answer from the customization API ({_reason(error)})"
                    ) from error
            else:
                if status == 200 and isinstance(answer, dict):
                    output = answer.get("output")
                    return output if isinstance(output, dict) else {}
                if status < 500 or attempt == ATTEMPTS:
                    raise _refusal(status, answer)
            await asyncio.sleep(delay_s)
            delay_s *= 2
        raise AssertionError("unreachable")


class SdkVocabularies:
    """The dashscope SDK's `VocabularyService`. Its calls block (requests), so each runs in
    a worker thread: the event loop never waits on the network."""

    def __init__(self, api_key: str, base: str) -> None:
        from dashscope.audio.asr import VocabularyService

        self.base = base
        self._service = VocabularyService(api_key=api_key, base_address=base)

    async def call(self, action: str, **fields: Any) -> dict[str, Any]:
        from dashscope.audio.asr.vocabulary import VocabularyServiceException

        service = self._service

        def blocking() -> Any:
            if action == "create_vocabulary":
                return {"vocabulary_id": service.create_vocabulary(**fields)}
            if action == "list_vocabulary":
                return {"vocabulary_list": service.list_vocabularies(**fields)}
            if action == "query_vocabulary":
                return service.query_vocabulary(fields["vocabulary_id"])
            if action == "update_vocabulary":
                service.update_vocabulary(**fields)
            else:
                service.delete_vocabulary(**fields)
            return {}

        try:
            output = await asyncio.to_thread(blocking)
        except VocabularyServiceException as error:
            message = _first_line(str(getattr(error, "_error_message", "")))
            raise VocabularyRefused(
                "customization API",
                f"{getattr(error, '_code', '')}: {message}",  # one line (not a whole HTML page)
                code=str(getattr(error, "_code", "")),
            ) from error
        except Exception as error:  # the SDK gives up on connection errors in its own ways
            raise ServiceError(
                self.base, f"no answer from the customization API ({_reason(error)})"
            ) from error
        return output if isinstance(output, dict) else {}


def vocabularies_for(
    client: ClientKind, api_key: str, endpoint: str | None, http_url: str | None = None
) -> Vocabularies:
    """The customization API's client at `http_url` (the run's `Region.http_url`), or beside
    the WebSocket endpoint."""
    base = http_url.rstrip("/") if http_url else http_base(endpoint)
    if client is ClientKind.SDK:
        return SdkVocabularies(api_key, base)
    return NativeVocabularies(api_key, base)


def _refusal(status: int, answer: Any) -> VocabularyRefused:
    code = message = ""
    if isinstance(answer, dict):
        code, message = str(answer.get("code", "")), str(answer.get("message", ""))
    return VocabularyRefused(
        "customization API", f"{code or f'HTTP {status}'}: {message or 'refused'}", code=code
    )


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0] if lines else ""


def _reason(error: BaseException) -> str:
    return type(error).__name__ if not str(error) else str(error).splitlines()[0]
