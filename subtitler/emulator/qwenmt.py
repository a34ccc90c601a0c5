"""Qwen-MT text translation, server side, with no sockets (sans-I/O).

Both request shapes of the reference: the OpenAI-compatible `chat/completions` (top-level
`messages` and `translation_options`, `stream`, `stream_options.include_usage`) and DashScope's
native `text-generation/generation` (`input.messages`, `parameters.translation_options`,
`parameters.incremental_output`, SSE when the `X-DashScope-SSE: enable` header is sent).
`check_request` refuses what the service refuses (a system message, several messages, no
`target_lang`, an unknown language or model); `answer` and `stream_frames` give the bodies the
service gives, with `usage` counting a hidden prompt template as the service's does.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from http import HTTPStatus
from typing import Any

from subtitler.emulator.config import (
    INTERNAL_ERROR,
    INTERNAL_ERROR_MESSAGE,
    INVALID_PARAMETER,
    THROTTLING,
    THROTTLING_MESSAGE,
)
from subtitler.emulator.mt_languages import language_code
from subtitler.emulator.scripts import KnownSentence

COMPATIBLE_PATH = "/compatible-mode/v1/chat/completions"
NATIVE_PATH = "/api/v1/services/aigc/text-generation/generation"
MT_PATHS = {COMPATIBLE_PATH: "compatible", NATIVE_PATH: "native"}

CUMULATIVE_MODELS = frozenset({"qwen-mt-plus", "qwen-mt-turbo"})
"""Stream the whole text so far in every chunk, whatever the request asks."""
INCREMENTAL_MODELS = frozenset({"qwen-mt-flash", "qwen-mt-lite"})
"""Stream deltas (native: only with `incremental_output`)."""
MODELS = CUMULATIVE_MODELS | INCREMENTAL_MODELS

TEMPLATE_OVERHEAD_TOKENS = 42
"""The hidden prompt template the service adds: the reference's 11-character example costs 53
prompt tokens."""
ENTRY_OVERHEAD_TOKENS = 4
"""Per `terms` / `tm_list` entry, for the template's markup around it."""
MAX_INPUT_TOKENS = 8192

RATE_QUOTA = THROTTLING
RATE_QUOTA_MESSAGE = THROTTLING_MESSAGE
ALLOCATION_QUOTA = "Throttling.AllocationQuota"
ALLOCATION_QUOTA_MESSAGE = "Allocated quota exceeded, please increase your quota limit."
ROLE_MESSAGE = "Role must be in [user, assistant]."

_TOKEN = re.compile(
    r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff]"
    r"|[^\W\u2e80-\u9fff\uac00-\ud7af\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff]+|[^\w\s]"
)


def count_tokens(text: str) -> int:
    """A deterministic stand-in for the tokenizer: a CJK, Thai, Lao, Burmese or Khmer
    character is one token, a run of other letters one per six, a punctuation mark one."""
    return sum(
        math.ceil(len(piece) / 6) if piece[0].isalnum() and len(piece) > 1 else 1
        for piece in _TOKEN.findall(text)
    )


class Refusal(Enum):
    """What went wrong, spelled per API by `error_answer`."""

    INVALID = "invalid"
    API_KEY = "api-key"
    MODEL = "model"
    RATE = "rate"
    ALLOCATION = "allocation"
    INTERNAL = "internal"


class MtRefused(Exception):
    def __init__(self, refusal: Refusal, message: str) -> None:
        super().__init__(message)
        self.refusal = refusal
        self.message = message


_REQUEST = "invalid_request_error"
# refusal -> (HTTP status native, native code, HTTP status compatible, compatible code, type)
_SPELLING: dict[Refusal, tuple[int, str, int, str, str]] = {
    Refusal.INVALID: (400, INVALID_PARAMETER, 400, "invalid_parameter_error", _REQUEST),
    Refusal.API_KEY: (401, "InvalidApiKey", 401, "invalid_api_key", _REQUEST),
    Refusal.MODEL: (400, INVALID_PARAMETER, 404, "model_not_found", _REQUEST),
    Refusal.RATE: (429, RATE_QUOTA, 429, RATE_QUOTA, "limit_requests"),
    Refusal.ALLOCATION: (429, ALLOCATION_QUOTA, 429, ALLOCATION_QUOTA, "limit_requests"),
    Refusal.INTERNAL: (500, INTERNAL_ERROR, 500, INTERNAL_ERROR, "internal_error"),
}  # fmt: skip

STANDARD_MESSAGES = {
    Refusal.API_KEY: ("Invalid API-key provided.", "Incorrect API key provided. "),
    Refusal.RATE: (RATE_QUOTA_MESSAGE, RATE_QUOTA_MESSAGE),
    Refusal.ALLOCATION: (ALLOCATION_QUOTA_MESSAGE, ALLOCATION_QUOTA_MESSAGE),
    Refusal.INTERNAL: (INTERNAL_ERROR_MESSAGE, INTERNAL_ERROR_MESSAGE),
}


def refused(refusal: Refusal, api: str) -> MtRefused:
    """A refusal with the service's standard message for it in `api`'s spelling."""
    native, compatible = STANDARD_MESSAGES[refusal]
    return MtRefused(refusal, native if api == "native" else compatible)


def error_answer(api: str, error: MtRefused, request_id: str) -> tuple[int, bytes]:
    """The HTTP status and body of a refusal: `{"error": {...}, "request_id"}` in the
    compatible API, `{"code", "message", "request_id"}` in the native one."""
    native_status, native_code, status, code, kind = _SPELLING[error.refusal]
    if api == "native":
        body: dict[str, Any] = {
            "code": native_code,
            "message": error.message,
            "request_id": request_id,
        }
        return native_status, _json(body)
    body = {
        "error": {"code": code, "message": error.message, "type": kind, "param": None},
        "request_id": request_id,
    }
    return status, _json(body)


@dataclass(frozen=True, kw_only=True)
class MtCall:
    """One translation request, checked as the service checks it."""

    api: str
    """"compatible" or "native"."""
    model: str
    text: str
    source_code: str | None
    """None for "auto"."""
    target_name: str
    target_code: str
    terms: tuple[tuple[str, str], ...]
    memory: tuple[tuple[str, str], ...]
    domains: str | None
    stream: bool
    incremental: bool
    """Streamed chunks are deltas (else each is the whole text so far)."""
    include_usage: bool
    prompt_tokens: int


def check_request(
    api: str, headers: Mapping[str, str], body: bytes, *, accept_codes: bool
) -> MtCall:
    """The call a request makes, or MtRefused as the service refuses it (the key is checked
    before, by the caller, as the gateway does)."""
    try:
        request = json.loads(body)
    except ValueError:
        raise MtRefused(Refusal.INVALID, "The request body is not valid JSON.") from None
    if not isinstance(request, dict):
        raise MtRefused(Refusal.INVALID, "The request body must be a JSON object.")
    model = request.get("model")
    if not isinstance(model, str) or not model:
        raise MtRefused(Refusal.INVALID, "Model not specified.")
    if model not in MODELS:
        message = (
            "Model not exist."
            if api == "native"
            else f"The model `{model}` does not exist or you do not have access to it."
        )
        raise MtRefused(Refusal.MODEL, message)
    if api == "native":
        given = request.get("input")
        messages = given.get("messages") if isinstance(given, dict) else None
        parameters = request.get("parameters")
        if parameters is None:
            parameters = {}
        if not isinstance(parameters, dict):
            raise MtRefused(Refusal.INVALID, "parameters must be an object.")
        options = parameters.get("translation_options")
        stream = headers.get("x-dashscope-sse", "").lower() == "enable"
        incremental = stream and model in INCREMENTAL_MODELS
        incremental = incremental and parameters.get("incremental_output") is True
        include_usage = True
    else:
        messages = request.get("messages")
        options = request.get("translation_options")
        stream = request.get("stream", False)
        if not isinstance(stream, bool):
            raise MtRefused(Refusal.INVALID, "stream must be a boolean.")
        stream_options = request.get("stream_options") or {}
        if not isinstance(stream_options, dict):
            raise MtRefused(Refusal.INVALID, "stream_options must be an object.")
        incremental = model in INCREMENTAL_MODELS
        include_usage = stream_options.get("include_usage") is True
    text = _one_user_message(messages)
    if not isinstance(options, dict):
        raise MtRefused(Refusal.INVALID, "translation_options is required for qwen-mt models.")
    target_name = options.get("target_lang")
    if not isinstance(target_name, str) or not target_name:
        raise MtRefused(Refusal.INVALID, "translation_options.target_lang is required.")
    target_code = language_code(target_name, model, accept_codes=accept_codes)
    if target_code is None:
        raise MtRefused(Refusal.INVALID, f"The target_lang {target_name!r} is not supported.")
    source_name = options.get("source_lang")
    if not isinstance(source_name, str) or not source_name:
        raise MtRefused(Refusal.INVALID, "translation_options.source_lang is required.")
    source_code = None
    if source_name != "auto":
        source_code = language_code(source_name, model, accept_codes=accept_codes)
        if source_code is None:
            raise MtRefused(Refusal.INVALID, f"The source_lang {source_name!r} is not supported.")
    terms = _pairs(options.get("terms"), "terms")
    memory = _pairs(options.get("tm_list"), "tm_list")
    domains = options.get("domains")
    if domains is not None and not isinstance(domains, str):
        raise MtRefused(Refusal.INVALID, "translation_options.domains must be a string.")
    prompt_tokens = (
        TEMPLATE_OVERHEAD_TOKENS
        + count_tokens(text)
        + sum(ENTRY_OVERHEAD_TOKENS + count_tokens(s) + count_tokens(t) for s, t in terms + memory)
        + (count_tokens(domains) if domains else 0)
    )
    if prompt_tokens > MAX_INPUT_TOKENS:
        raise MtRefused(
            Refusal.INVALID, f"Range of input length should be [1, {MAX_INPUT_TOKENS}]."
        )
    return MtCall(
        api=api,
        model=model,
        text=text,
        source_code=source_code,
        target_name=target_name,
        target_code=target_code,
        terms=terms,
        memory=memory,
        domains=domains,
        stream=stream,
        incremental=incremental,
        include_usage=include_usage,
        prompt_tokens=prompt_tokens,
    )


def _one_user_message(messages: Any) -> str:
    if not isinstance(messages, list) or not messages:
        raise MtRefused(Refusal.INVALID, "messages must be a non-empty list.")
    for message in messages:
        role = message.get("role") if isinstance(message, dict) else None
        if role not in ("user", "assistant"):
            raise MtRefused(Refusal.INVALID, ROLE_MESSAGE)
    if len(messages) != 1 or messages[0]["role"] != "user":
        raise MtRefused(
            Refusal.INVALID, "Qwen-MT takes exactly one user message (no multi-turn dialogue)."
        )
    content = messages[0].get("content")
    if not isinstance(content, str):
        raise MtRefused(Refusal.INVALID, "The message content must be a string.")
    if not content.strip():
        raise MtRefused(Refusal.INVALID, "Input should not be empty.")
    return content


def _pairs(value: Any, name: str) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise MtRefused(Refusal.INVALID, f"translation_options.{name} must be a list.")
    pairs = []
    for entry in value:
        source = entry.get("source") if isinstance(entry, dict) else None
        target = entry.get("target") if isinstance(entry, dict) else None
        if not isinstance(source, str) or not isinstance(target, str):
            raise MtRefused(
                Refusal.INVALID, f"translation_options.{name} entries need source and target."
            )
        pairs.append((source, target))
    return tuple(pairs)


def stand_in(call: MtCall) -> str:
    """A deterministic translation of text no fixture knows: never the input itself."""
    text = call.text.strip()
    for source, target in call.terms:
        text = text.replace(source, target)
    return f"[{call.target_name}] {text}"


def answer(call: MtCall, text: str, request_id: str, created_s: int) -> bytes:
    """The whole (unstreamed) answer body."""
    usage = _usage(call, text)
    if call.api == "native":
        return _json(_native_body(call, text, "stop", usage, request_id))
    body = {
        "id": f"chatcmpl-{request_id}",
        "choices": [
            {
                "finish_reason": "stop",
                "index": 0,
                "logprobs": None,
                "message": {
                    "content": text,
                    "refusal": None,
                    "role": "assistant",
                    "annotations": None,
                    "audio": None,
                    "function_call": None,
                    "tool_calls": None,
                },
            }
        ],
        "created": created_s,
        "model": call.model,
        "object": "chat.completion",
        "service_tier": None,
        "system_fingerprint": None,
        "usage": usage,
    }
    return _json(body)


def stream_frames(call: MtCall, text: str, request_id: str, created_s: int) -> list[bytes]:
    """The server-sent events of a streamed answer, in order."""
    pieces = _pieces(text)
    contents = (
        pieces
        if call.incremental
        else ["".join(pieces[:count]) for count in range(1, len(pieces) + 1)]
    )
    frames: list[bytes] = []
    if call.api == "native":
        so_far = ""
        for number, content in enumerate(contents, start=1):
            so_far = so_far + content if call.incremental else content
            last = number == len(contents)
            body = _native_body(
                call, content, "stop" if last else "null", _usage(call, so_far), request_id
            )
            frames.append(
                f"id:{number}\nevent:result\n:HTTP_STATUS/200\ndata:".encode()
                + _json(body)
                + b"\n\n"
            )
        return frames
    chunk_id = f"chatcmpl-{request_id}"

    def chunk(delta: dict[str, Any], finish: str | None) -> bytes:
        body = {
            "id": chunk_id,
            "choices": [{"delta": delta, "finish_reason": finish, "index": 0, "logprobs": None}],
            "created": created_s,
            "model": call.model,
            "object": "chat.completion.chunk",
            "service_tier": None,
            "system_fingerprint": None,
            "usage": None,
        }
        return b"data: " + _json(body) + b"\n\n"

    frames.append(chunk({"content": "", "role": "assistant"}, None))
    for number, content in enumerate(contents, start=1):
        frames.append(chunk({"content": content}, "stop" if number == len(contents) else None))
    if call.include_usage:
        body = {
            "id": chunk_id,
            "choices": [],
            "created": created_s,
            "model": call.model,
            "object": "chat.completion.chunk",
            "service_tier": None,
            "system_fingerprint": None,
            "usage": _usage(call, text),
        }
        frames.append(b"data: " + _json(body) + b"\n\n")
    frames.append(b"data: [DONE]\n\n")
    return frames


def _pieces(text: str) -> list[str]:
    """The text cut into four or so streamed pieces (at spaces where it has them)."""
    units = re.findall(r"\s*\S+", text) if " " in text.strip() else list(text)
    size = max(1, math.ceil(len(units) / 4))
    return ["".join(units[i : i + size]) for i in range(0, len(units), size)] or [""]


def _usage(call: MtCall, text: str) -> dict[str, Any]:
    output_tokens = count_tokens(text)
    total = call.prompt_tokens + output_tokens
    if call.api == "native":
        return {
            "input_tokens": call.prompt_tokens,
            "output_tokens": output_tokens,
            "total_tokens": total,
        }
    return {
        "completion_tokens": output_tokens,
        "prompt_tokens": call.prompt_tokens,
        "total_tokens": total,
        "completion_tokens_details": None,
        "prompt_tokens_details": None,
    }


def _native_body(
    call: MtCall, content: str, finish: str, usage: dict[str, Any], request_id: str
) -> dict[str, Any]:
    return {
        "status_code": HTTPStatus.OK.value,
        "request_id": request_id,
        "code": "",
        "message": "",
        "output": {
            "text": None,
            "finish_reason": finish,
            "choices": [
                {"finish_reason": finish, "message": {"role": "assistant", "content": content}}
            ],
            "model_name": call.model,
        },
        "usage": usage,
    }


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def translation_of(call: MtCall, known: KnownSentence | None) -> str:
    """The fixture's canned translation of a sentence it knows (its terms rendered as the
    request's `terms` say), else the stand-in."""
    if known is not None:
        wanted = call.target_code.replace("_", "-").lower()
        for language, canned in known.translations.items():
            if language.replace("_", "-").lower() == wanted:
                for source, target in call.terms:
                    rendered = known.terms.get(source, {}).get(language)
                    if source in known.text and rendered:
                        canned = canned.replace(rendered, target)
                return canned
    return stand_in(call)
