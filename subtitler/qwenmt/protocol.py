"""Qwen-MT's HTTP protocol, client side, with no sockets (sans-I/O).

Field for field from the reference as gathered in shared/research/any-pair.md (A4-A8): exactly one
user message (a system message or a second turn is refused), `translation_options` with the
languages' English names, at the body's top level in the OpenAI-compatible API and under
`parameters` in DashScope's native one; context goes in `tm_list` (multi-turn context is
refused), glossary terms in `terms`, a style hint in `domains` (English only). Answers and
refusals are read here too, and server-sent-event streams of both kinds: flash and lite send
each chunk as a delta, plus and turbo the whole text so far.

Refusals are classified by their `code` first and the HTTP status only when the code is unknown
(clients have seen "HTTP 400: Throttling.RateQuota" and 429 "PrepaidBillOverdue").
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from subtitler.errors import ServiceError
from subtitler.languages import mt_language_name, mt_source_name, normalise_target

DEFAULT_MODEL = "qwen-mt-flash"
MODELS = ("qwen-mt-flash", "qwen-mt-plus", "qwen-mt-lite", "qwen-mt-turbo")
"""The documented models; snapshots and regional variants (`qwen-mt-lite-us`) share a prefix."""

COMPATIBLE_PATH = "/chat/completions"
"""Under the region's compatible base URL (`.../compatible-mode/v1`)."""
NATIVE_PATH = "/services/aigc/text-generation/generation"
"""Under the region's HTTP base URL (`.../api/v1`)."""

TEMPLATE_OVERHEAD_TOKENS = 41
"""Prompt tokens the service's hidden template adds to every request: the reference's example
bills 53 prompt tokens for a 12-character sentence (research A7)."""

SUBJECT = "Qwen-MT"

Api = Literal["compatible", "native"]


@dataclass(frozen=True)
class MtSettings:
    """What every translation request of a run shares. The key is never printed."""

    api_key: str = field(repr=False)
    compatible_url: str
    """The region's OpenAI-compatible base, e.g. https://dashscope.aliyuncs.com/compatible-mode/v1."""
    http_url: str
    """The region's DashScope HTTP base, e.g. https://dashscope.aliyuncs.com/api/v1."""
    api: Api = "compatible"
    model: str = DEFAULT_MODEL
    domains: str | None = None
    """A style and domain hint in English (the service reads no other language here)."""
    stream: bool = False
    timeout_s: float = 10.0
    """Per attempt, the whole answer included."""
    retries: int = 5
    rpm: int | None = None
    """Requests per minute; None: the reference's default for the model; 0: not paced."""
    tpm: int | None = None
    """Tokens per minute; None: the reference's default for the model; 0: not paced."""
    context_pairs: int = 3
    """How many of a request's last sentence pairs go into `tm_list`."""
    batch_sentences: int = 1
    """At most this many waiting sentences of one track in one request, a line each (1, the
    default: one sentence per request, as the reference shows); the answer is split back by line
    and checked."""
    batch_chars: int = 1500
    """A batch's text stays under this many characters (the model's input is 8,192 tokens)."""

    def __post_init__(self) -> None:
        if self.api not in ("compatible", "native"):
            raise ValueError(f"api must be 'compatible' or 'native', not {self.api!r}")
        if not self.timeout_s > 0:
            raise ValueError("timeout_s must be positive")
        if self.batch_sentences < 1 or self.batch_chars < 1:
            raise ValueError("batch_sentences and batch_chars must be at least 1")
        for name in ("retries", "context_pairs"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        for name in ("rpm", "tpm"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must not be negative")


@dataclass(frozen=True, kw_only=True)
class TranslationRequest:
    """One sentence to translate. `source` None: the language is unknown ("auto")."""

    source: str | None
    target: str
    text: str
    memory: tuple[tuple[str, str], ...] = ()
    """Earlier (source, translation) pairs of the same track, oldest first."""
    terms: tuple[tuple[str, str], ...] = ()
    """Glossary (source term, target term) pairs for this target."""


@dataclass(frozen=True, kw_only=True)
class Translated:
    text: str
    input_tokens: int
    output_tokens: int
    """Both 0 when the answer did not say (a stream without its usage chunk)."""


class MtRefused(ServiceError):
    """The service answered with an error (or an answer that cannot be read)."""

    def __init__(
        self, code: str, message: str, status: int, retryable: bool, fatal: bool = False
    ) -> None:
        where = f" (HTTP {status})" if status else ""
        super().__init__(SUBJECT, f"{code}{where}: {message}", code=code, retryable=retryable)
        self.message = message
        self.status = status
        self.fatal = fatal
        """No request can succeed (a bad key, an account in arrears): stop the run."""


# -- languages --------------------------------------------------------------------------------


def source_name(tag: str | None, model: str) -> str:
    """The recognised language's English name; "auto" when unknown (the service detects it)."""
    return mt_source_name(normalise_target(tag) if tag else None, model)


def target_name(tag: str, model: str) -> str:
    """The English name `translation_options.target_lang` takes (the reference's table)."""
    return mt_language_name(normalise_target(tag), model)


# -- requests ---------------------------------------------------------------------------------


def streams_incrementally(model: str) -> bool:
    """flash and lite stream deltas; plus and turbo the whole text so far, which the reference
    says cannot be changed for now (research A6)."""
    return model.startswith(("qwen-mt-flash", "qwen-mt-lite"))


def url(settings: MtSettings) -> str:
    if settings.api == "native":
        return settings.http_url.rstrip("/") + NATIVE_PATH
    return settings.compatible_url.rstrip("/") + COMPATIBLE_PATH


def headers(settings: MtSettings) -> dict[str, str]:
    sent = {
        "Authorization": f"Bearer {settings.api_key}",
        "Content-Type": "application/json",
    }
    if settings.stream and settings.api == "native":
        sent["X-DashScope-SSE"] = "enable"
    return sent


def memory_sent(settings: MtSettings, request: TranslationRequest) -> tuple[tuple[str, str], ...]:
    """The last `context_pairs` pairs: context without paying for the whole track each time."""
    if settings.context_pairs == 0:
        return ()
    return request.memory[-settings.context_pairs :]


def terms_sent(request: TranslationRequest) -> tuple[tuple[str, str], ...]:
    """The glossary terms the sentence contains (case-insensitive): the others cannot intervene,
    and every term sent is billed as input."""
    text = request.text.casefold()
    return tuple((src, dst) for src, dst in request.terms if src and src.casefold() in text)


def translation_options(settings: MtSettings, request: TranslationRequest) -> dict[str, Any]:
    options: dict[str, Any] = {
        "source_lang": source_name(request.source, settings.model),
        "target_lang": target_name(request.target, settings.model),
    }
    terms = terms_sent(request)
    if terms:
        options["terms"] = [{"source": src, "target": dst} for src, dst in terms]
    memory = memory_sent(settings, request)
    if memory:
        options["tm_list"] = [{"source": src, "target": dst} for src, dst in memory]
    if settings.domains:
        options["domains"] = settings.domains
    return options


def body(settings: MtSettings, request: TranslationRequest) -> dict[str, Any]:
    """The request body: the compatible or the native shape, one user message either way."""
    messages = [{"role": "user", "content": request.text}]
    options = translation_options(settings, request)
    if settings.api == "native":
        parameters: dict[str, Any] = {"translation_options": options}
        if settings.stream and streams_incrementally(settings.model):
            parameters["incremental_output"] = True
        return {"model": settings.model, "input": {"messages": messages}, "parameters": parameters}
    sent: dict[str, Any] = {
        "model": settings.model,
        "messages": messages,
        "translation_options": options,
    }
    if settings.stream:
        sent["stream"] = True
        sent["stream_options"] = {"include_usage": True}
    return sent


def estimated_tokens(settings: MtSettings, request: TranslationRequest) -> int:
    """What a request is expected to cost in input tokens before it is sent (a character is
    taken as a token: close for Chinese, high for English), the hidden template included."""
    characters = len(request.text)
    for src, dst in memory_sent(settings, request) + terms_sent(request):
        characters += len(src) + len(dst)
    return characters + TEMPLATE_OVERHEAD_TOKENS


# -- answers ----------------------------------------------------------------------------------


def _normal(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


FATAL_CODES = frozenset(
    {
        "invalidapikey",  # 401 InvalidApiKey, compatible invalid_api_key
        "arrearage",
        "prepaidbilloverdue",
        "postpaidbilloverdue",
        "insufficientquota",
        "accessdenied",
        "accessdeniedunpurchased",
        "modelaccessdenied",
        "modelnotfound",
        "workspaceaccessdenied",
    }
)
"""No request of the run can succeed until the user acts (normalised: lower case, letters and
digits only)."""
RETRYABLE_CODES = frozenset(
    {
        "internalerror",
        "internalerroralgo",
        "serviceunavailable",
        "systemerror",
        "requesttimeout",
        "requesttimedout",
        "limitrequests",
        "limitburstrate",
        "ratelimitexceeded",
    }
)
FINAL_CODES = frozenset(
    {
        "invalidparameter",
        "invalidparametererror",
        "datainspectionfailed",
        "datainspectionerror",
    }
)
"""Refused for this request's content: a retry gets the same answer, the next one may not."""
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
FATAL_STATUSES = frozenset({401, 403, 404})


def classify(code: str, status: int) -> tuple[bool, bool]:
    """(retryable, fatal): by the code when it is known, by the status otherwise."""
    normal = _normal(code)
    if normal in FATAL_CODES or normal.startswith("accessdenied"):
        return False, True
    if normal.startswith("throttling") or normal in RETRYABLE_CODES:
        return True, False
    if normal in FINAL_CODES or normal.startswith("badrequest"):
        return False, False
    if status in FATAL_STATUSES:
        return False, True
    return status in RETRYABLE_STATUSES or status >= 500, False


def refusal(status: int, data: bytes) -> MtRefused:
    """An error answer: `{"error": {"code", "message", ...}}` (compatible) or `{"code",
    "message"}` (native); anything else (a proxy's HTML page) is named by its status."""
    code, message = "", ""
    try:
        parsed = json.loads(data)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        inner = parsed.get("error")
        error: dict[str, Any] = inner if isinstance(inner, dict) else parsed
        code = str(error.get("code") or "")
        message = str(error.get("message") or "")
    if not message:
        message = " ".join(data.decode("utf-8", "replace").split())[:200] or "no message"
    if not code:
        code = f"HTTP{status}"
    retryable, fatal = classify(code, status)
    return MtRefused(code, message, status, retryable, fatal)


def _bad_answer(why: str) -> MtRefused:
    return MtRefused("BadAnswer", why, 200, retryable=True)


def _content(message: Any) -> str | None:
    if isinstance(message, dict) and isinstance(message.get("content"), str):
        return str(message["content"])
    return None


def _choice(container: Any) -> dict[str, Any] | None:
    choices = container.get("choices") if isinstance(container, dict) else None
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        return choices[0]
    return None


def _usage(parsed: dict[str, Any]) -> tuple[int, int] | None:
    usage = parsed.get("usage")
    if not isinstance(usage, dict):
        return None
    given_in = usage.get("prompt_tokens", usage.get("input_tokens"))
    given_out = usage.get("completion_tokens", usage.get("output_tokens"))
    if not isinstance(given_in, int) or not isinstance(given_out, int):
        return None
    return given_in, given_out


def _answer_text(parsed: dict[str, Any]) -> str | None:
    """The text of a whole answer or of one stream chunk, in either API's shape; None when it
    holds none (a chunk with the role only, the usage chunk, a message without content)."""
    output = parsed.get("output")
    native = isinstance(output, dict)
    choice = _choice(output) if native else _choice(parsed)
    if choice is not None:
        for key in ("message", "delta"):
            text = _content(choice.get(key))
            if text is not None:
                return text
    if native and isinstance(output, dict) and isinstance(output.get("text"), str):
        return str(output["text"])
    return None


def read_answer(status: int, data: bytes) -> Translated:
    """A whole (not streamed) answer, or `MtRefused`."""
    if status != 200:
        raise refusal(status, data)
    try:
        parsed = json.loads(data)
    except ValueError:
        raise _bad_answer("the answer is not JSON") from None
    if not isinstance(parsed, dict):
        raise _bad_answer("the answer is not a JSON object")
    text = _answer_text(parsed)
    if text is None:
        if parsed.get("code") or isinstance(parsed.get("error"), dict):
            raise refusal(int(parsed.get("status_code") or 400), data)
        raise _bad_answer("the answer holds no translation")
    tokens_in, tokens_out = _usage(parsed) or (0, 0)
    return Translated(text=text, input_tokens=tokens_in, output_tokens=tokens_out)


# -- streams ----------------------------------------------------------------------------------


class StreamReader:
    """Server-sent events in, the text so far out (`feed`), the whole answer at the end
    (`finish`). Both APIs: compatible `data: {...}` chunks ending with `data: [DONE]` (usage in
    a last chunk with no choices), native `id:`/`event:`/`:HTTP_STATUS/200`/`data:{...}` chunks
    (usage in each, the last one counts). An error event raises `MtRefused`."""

    def __init__(self, *, incremental: bool) -> None:
        self.incremental = incremental
        self.text = ""
        self._buffer = b""
        self._data: list[str] = []
        self._event = ""
        self._status = 200
        self._usage: tuple[int, int] | None = None
        self._complete = False

    def feed(self, data: bytes) -> list[str]:
        """The text so far after each chunk with text that `data` completes."""
        self._buffer += data
        updates: list[str] = []
        while True:
            cut = self._buffer.find(b"\n")
            if cut < 0:
                return updates
            line = self._buffer[:cut].rstrip(b"\r").decode("utf-8", "replace")
            self._buffer = self._buffer[cut + 1 :]
            update = self._line(line)
            if update is not None:
                updates.append(update)

    def finish(self) -> Translated:
        """At the end of the body: the answer, or `MtRefused` for a stream cut short."""
        if self._buffer:
            self._line(self._buffer.rstrip(b"\r").decode("utf-8", "replace"))
            self._buffer = b""
        self._line("")
        if not self._complete:
            raise MtRefused(
                "Disconnected", "the stream ended before the translation did", 200, True
            )
        tokens_in, tokens_out = self._usage or (0, 0)
        return Translated(text=self.text, input_tokens=tokens_in, output_tokens=tokens_out)

    def _line(self, line: str) -> str | None:
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            comment = line[1:].strip()
            if comment.startswith("HTTP_STATUS/"):
                status = comment.removeprefix("HTTP_STATUS/")
                self._status = int(status) if status.isdigit() else self._status
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value.strip()
        return None

    def _dispatch(self) -> str | None:
        data, event, status = "\n".join(self._data), self._event, self._status
        self._data, self._event = [], ""
        if not data:
            return None
        if data.strip() == "[DONE]":
            self._complete = True
            return None
        try:
            parsed = json.loads(data)
        except ValueError:
            raise _bad_answer("a stream chunk is not JSON") from None
        if not isinstance(parsed, dict):
            raise _bad_answer("a stream chunk is not a JSON object")
        if event == "error" or status != 200 or isinstance(parsed.get("error"), dict):
            raise refusal(status if status != 200 else 400, data.encode())
        usage = _usage(parsed)
        if usage is not None:
            self._usage = usage
        if self._finished(parsed):
            self._complete = True
        text = _answer_text(parsed)
        if not text:
            return None
        self.text = self.text + text if self.incremental else text
        return self.text

    @staticmethod
    def _finished(parsed: dict[str, Any]) -> bool:
        choice = _choice(parsed) or _choice(parsed.get("output"))
        if choice is None:
            output = parsed.get("output")
            choice = output if isinstance(output, dict) else {}
        return choice.get("finish_reason") in ("stop", "length")
