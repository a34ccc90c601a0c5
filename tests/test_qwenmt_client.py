"""The Qwen-MT client against a small Qwen-MT server written here from the reference (research
A4-A8): it refuses what the service refuses (a bad key, a system message or a second message, a
missing or unknown language), answers in both APIs, streams as each model does, and plays the
faults a test scripts (429 bursts, 500s, an answer that never comes, a dropped connection)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from subtitler.qwenmt.client import QwenMt, TranslationFailed
from subtitler.qwenmt.protocol import MtSettings, Translated, TranslationRequest
from tests.fakes import FakeClock

KEY = "sk-test-key-5f0c1e"
NAMES = frozenset({"English", "Chinese", "Spanish", "French", "Arabic", "Thai", "Japanese"})
COMPATIBLE = "/compatible-mode/v1/chat/completions"
NATIVE = "/api/v1/services/aigc/text-generation/generation"
INCREMENTAL = ("qwen-mt-flash", "qwen-mt-lite")
MODELS = frozenset({"qwen-mt-flash", "qwen-mt-lite", "qwen-mt-plus", "qwen-mt-turbo"})


@dataclass(frozen=True)
class Fault:
    """What the server does with one request instead of answering it."""

    status: int = 0
    body: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False
    drop: bool = False
    cut: str = ""
    """"drop": stream the first chunk, then drop the connection; "end": end the stream there."""


def throttled(retry_after: str | None = None) -> Fault:
    headers = {"Retry-After": retry_after} if retry_after else {}
    body = {
        "code": "Throttling.RateQuota",
        "message": "Requests rate limit exceeded, please try again later.",
        "request_id": "r",
    }
    return Fault(status=429, body=body, headers=headers)


class MtServer:
    def __init__(self) -> None:
        self.faults: list[Fault] = []
        self.received: list[dict[str, Any]] = []
        self.release = asyncio.Event()
        self.runner: web.AppRunner | None = None
        self.base = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post(COMPATIBLE, self.compatible)
        app.router.add_post(NATIVE, self.native)
        self.runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.base = f"http://127.0.0.1:{self.runner.addresses[0][1]}"

    async def stop(self) -> None:
        self.release.set()
        assert self.runner is not None
        await self.runner.cleanup()

    def settings(self, **changes: Any) -> MtSettings:
        base: dict[str, Any] = {
            "api_key": KEY,
            "compatible_url": f"{self.base}/compatible-mode/v1",
            "http_url": f"{self.base}/api/v1",
            "rpm": 0,
            "tpm": 0,
        }
        base.update(changes)
        return MtSettings(**base)

    async def compatible(self, request: web.Request) -> web.StreamResponse:
        return await self._answer(request, native=False)

    async def native(self, request: web.Request) -> web.StreamResponse:
        return await self._answer(request, native=True)

    async def _answer(self, request: web.Request, *, native: bool) -> web.StreamResponse:
        data = await request.json()
        self.received.append(data)
        if request.headers.get("Authorization") != f"Bearer {KEY}":
            if native:
                return _error(401, "InvalidApiKey", "Invalid API-key provided.", native)
            return _error(401, "invalid_api_key", "Incorrect API key provided.", native)
        fault = self.faults.pop(0) if self.faults else Fault()
        if fault != Fault():
            if fault.hang:
                await self.release.wait()
            if fault.drop:
                assert request.transport is not None
                request.transport.close()
                return web.Response()
            if fault.status:
                return web.json_response(fault.body, status=fault.status, headers=fault.headers)
        model = data.get("model")
        messages = (data.get("input") or {}).get("messages") if native else data.get("messages")
        parameters = data.get("parameters") or {} if native else data
        options = parameters.get("translation_options") or {}
        if model not in MODELS:
            return _error(400, "InvalidParameter", "Model not exist.", native)
        if not isinstance(messages, list) or any(m.get("role") != "user" for m in messages):
            return _error(
                400, "invalid_parameter_error", "Role must be in [user, assistant].", native
            )
        if len(messages) != 1:
            return _error(
                400, "invalid_parameter_error", "The messages must hold one user message.", native
            )
        if options.get("target_lang") not in NAMES:
            return _error(
                400, "InvalidParameter", "target_lang is missing or not supported", native
            )
        if options.get("source_lang") not in {*NAMES, "auto"}:
            return _error(400, "InvalidParameter", "source_lang is not supported", native)
        text = f"[{options['target_lang']}] {messages[0]['content']}"
        usage = (53, len(text.split()))
        streaming = (
            request.headers.get("X-DashScope-SSE") == "enable"
            if native
            else bool(data.get("stream"))
        )
        if not streaming:
            return web.json_response(_whole(text, usage, native))
        incremental = model in INCREMENTAL and (
            not native or bool(parameters.get("incremental_output"))
        )
        return await self._stream(
            request, text, usage, native=native, incremental=incremental, cut=fault.cut
        )

    async def _stream(
        self,
        request: web.Request,
        text: str,
        usage: tuple[int, int],
        *,
        native: bool,
        incremental: bool,
        cut: str,
    ) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        words = text.split(" ")
        pieces = [w if i == 0 else " " + w for i, w in enumerate(words)]
        so_far = ""
        for index, piece in enumerate(pieces):
            so_far += piece
            content = piece if incremental else so_far
            last = index == len(pieces) - 1
            if native:
                chunk = {
                    "output": {
                        "choices": [
                            {
                                "message": {"role": "assistant", "content": content},
                                "finish_reason": "stop" if last else "null",
                            }
                        ]
                    },
                    "usage": {"input_tokens": usage[0], "output_tokens": index + 1},
                    "request_id": "r",
                }
                await response.write(
                    f"id:{index + 1}\nevent:result\n:HTTP_STATUS/200\ndata:"
                    f"{json.dumps(chunk)}\n\n".encode()
                )
            else:
                chunk = {
                    "choices": [
                        {
                            "delta": {"content": content},
                            "index": 0,
                            "finish_reason": "stop" if last else None,
                        }
                    ]
                }
                await response.write(f"data: {json.dumps(chunk)}\n\n".encode())
            if cut == "drop":
                assert request.transport is not None
                request.transport.close()
                return response
            if cut == "end":
                break
        if not native and not cut:
            final = {
                "choices": [],
                "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1]},
            }
            await response.write(f"data: {json.dumps(final)}\n\ndata: [DONE]\n\n".encode())
        await response.write_eof()
        return response


def _error(status: int, code: str, message: str, native: bool) -> web.Response:
    if native:
        return web.json_response(
            {"code": code, "message": message, "request_id": "r"}, status=status
        )
    return web.json_response(
        {
            "error": {
                "code": code,
                "message": message,
                "type": "invalid_request_error",
                "param": None,
            },
            "request_id": "r",
        },
        status=status,
    )


def _whole(text: str, usage: tuple[int, int], native: bool) -> dict[str, Any]:
    message = {"role": "assistant", "content": text}
    if native:
        return {
            "status_code": 200,
            "request_id": "r",
            "code": "",
            "message": "",
            "output": {
                "text": None,
                "finish_reason": "stop",
                "choices": [{"finish_reason": "stop", "message": message}],
            },
            "usage": {"input_tokens": usage[0], "output_tokens": usage[1]},
        }
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "qwen-mt-flash",
        "choices": [{"index": 0, "finish_reason": "stop", "message": message}],
        "usage": {
            "prompt_tokens": usage[0],
            "completion_tokens": usage[1],
            "total_tokens": sum(usage),
        },
    }


Scenario = Callable[[MtServer, FakeClock], Awaitable[None]]


def run(scenario: Scenario) -> None:
    async def main() -> None:
        server = MtServer()
        await server.start()
        try:
            await scenario(server, FakeClock())
        finally:
            await server.stop()

    asyncio.run(main())


def client(server: MtServer, clock: FakeClock, **changes: Any) -> QwenMt:
    return QwenMt(server.settings(**changes), clock=clock, sleep=clock.sleep, jitter=lambda: 0.0)


def sentence(text: str = "Good morning, everyone.", target: str = "es") -> TranslationRequest:
    return TranslationRequest(source="en", target=target, text=text)


@pytest.mark.parametrize("api", ["compatible", "native"])
def test_a_sentence_is_translated_in_either_api(api: str) -> None:
    async def scenario(server: MtServer, clock: FakeClock) -> None:
        mt = client(server, clock, api=api)
        try:
            answer = await mt.translate(sentence())
        finally:
            await mt.aclose()
        assert answer == Translated(
            text="[Spanish] Good morning, everyone.", input_tokens=53, output_tokens=4
        )
        assert (mt.usage.requests, mt.usage.retries) == (1, 0)
        assert (mt.usage.input_tokens, mt.usage.output_tokens) == (53, 4)

    run(scenario)


@pytest.mark.parametrize(
    ("api", "model"),
    [
        ("compatible", "qwen-mt-flash"),
        ("compatible", "qwen-mt-plus"),
        ("native", "qwen-mt-lite"),
        ("native", "qwen-mt-turbo"),
    ],
)
def test_streams_give_the_text_so_far_and_the_whole_answer(api: str, model: str) -> None:
    async def scenario(server: MtServer, clock: FakeClock) -> None:
        mt = client(server, clock, api=api, model=model, stream=True)
        partials: list[str] = []
        try:
            answer = await mt.translate(sentence("Thank you all."), on_partial=partials.append)
        finally:
            await mt.aclose()
        assert partials == [
            "[Spanish]",
            "[Spanish] Thank",
            "[Spanish] Thank you",
            "[Spanish] Thank you all.",
        ]
        assert answer.text == "[Spanish] Thank you all."
        assert answer.input_tokens == 53

    run(scenario)


def test_a_429_burst_is_retried_honouring_retry_after() -> None:
    async def scenario(server: MtServer, clock: FakeClock) -> None:
        server.faults = [throttled("3"), throttled(), throttled()]
        mt = client(server, clock)
        try:
            answer = await mt.translate(sentence())
        finally:
            await mt.aclose()
        assert answer.text == "[Spanish] Good morning, everyone."
        assert (mt.usage.requests, mt.usage.retries) == (4, 3)
        assert clock.slept == [3.0, 0.5, 1.0]  # Retry-After, then backoff (no jitter here)
        assert len(server.received) == 4

    run(scenario)


def test_500s_are_retried_then_reported_once() -> None:
    async def scenario(server: MtServer, clock: FakeClock) -> None:
        error = {"code": "InternalError", "message": "An internal error has occured."}
        server.faults = [Fault(status=500, body=error)] * 3
        mt = client(server, clock, retries=2)
        try:
            with pytest.raises(TranslationFailed) as raised:
                await mt.translate(sentence())
            assert (raised.value.code, raised.value.fatal, raised.value.attempts) == (
                "InternalError",
                False,
                3,
            )
            assert len(server.received) == 3
            assert clock.slept == [0.25, 0.5]
            server.faults = [Fault(status=503, body={})]
            assert (await mt.translate(sentence("Next."))).text == "[Spanish] Next."
        finally:
            await mt.aclose()

    run(scenario)


def test_an_answer_slower_than_the_timeout_is_retried() -> None:
    async def scenario(server: MtServer, clock: FakeClock) -> None:
        server.faults = [Fault(hang=True)]
        mt = client(server, clock, timeout_s=0.3)
        try:
            answer = await mt.translate(sentence())
        finally:
            await mt.aclose()
        assert answer.text == "[Spanish] Good morning, everyone."
        assert (mt.usage.requests, mt.usage.retries) == (2, 1)

    run(scenario)


def test_a_dropped_connection_is_retried() -> None:
    async def scenario(server: MtServer, clock: FakeClock) -> None:
        server.faults = [Fault(drop=True)]
        mt = client(server, clock)
        try:
            answer = await mt.translate(sentence())
        finally:
            await mt.aclose()
        assert answer.text == "[Spanish] Good morning, everyone."
        assert mt.usage.retries == 1

    run(scenario)


@pytest.mark.parametrize("cut", ["drop", "end"])
@pytest.mark.parametrize("api", ["compatible", "native"])
def test_a_stream_cut_short_is_retried(api: str, cut: str) -> None:
    async def scenario(server: MtServer, clock: FakeClock) -> None:
        server.faults = [Fault(cut=cut)]
        partials: list[str] = []
        async with client(server, clock, api=api, stream=True, rpm=0, tpm=6000) as mt:
            answer = await mt.translate(sentence("Thank you."), on_partial=partials.append)
        assert answer.text == "[Spanish] Thank you."
        # The cut attempt was processed: its 51 reserved tokens stay spent, the retry's 51 are
        # corrected to the 56 its answer reports (100 tokens a second, 10 % margin).
        assert mt.pacer.schedule.tokens_due_s == pytest.approx((51 + 56) * 1.1 / 100)
        assert partials == ["[Spanish]", "[Spanish]", "[Spanish] Thank", "[Spanish] Thank you."]
        assert mt.usage.retries == 1

    run(scenario)


def test_a_refusal_gives_back_its_reserved_tokens() -> None:
    async def scenario(server: MtServer, clock: FakeClock) -> None:
        refused = {"code": "InvalidParameter", "message": "no"}
        server.faults = [Fault(status=400, body=refused)]
        async with client(server, clock, rpm=0, tpm=6000) as mt:
            with pytest.raises(TranslationFailed):
                await mt.translate(sentence())
            assert mt.pacer.schedule.tokens_due_s == pytest.approx(0.0)
            await mt.translate(sentence())
            used_s = (53 + 4) * 1.1 / 100  # the answer's usage at 100 tokens a second
            assert mt.pacer.schedule.tokens_due_s == pytest.approx(used_s)

    run(scenario)


def test_a_400_is_not_retried_and_fails_only_that_sentence() -> None:
    async def scenario(server: MtServer, clock: FakeClock) -> None:
        refused = {
            "code": "DataInspectionFailed",
            "message": "Input data may contain inappropriate content.",
        }
        server.faults = [Fault(status=400, body=refused)]
        mt = client(server, clock)
        try:
            with pytest.raises(TranslationFailed) as raised:
                await mt.translate(sentence())
            assert (raised.value.code, raised.value.fatal, raised.value.attempts) == (
                "DataInspectionFailed",
                False,
                1,
            )
            assert len(server.received) == 1
            assert (await mt.translate(sentence("Next."))).text == "[Spanish] Next."
        finally:
            await mt.aclose()

    run(scenario)


@pytest.mark.parametrize("api", ["compatible", "native"])
def test_a_bad_key_is_fatal_reported_once_and_never_shown(api: str) -> None:
    async def scenario(server: MtServer, clock: FakeClock) -> None:
        mt = QwenMt(server.settings(api=api, api_key="sk-wrong-key-9876"), sleep=clock.sleep)
        try:
            with pytest.raises(TranslationFailed) as raised:
                await mt.translate(sentence())
        finally:
            await mt.aclose()
        assert raised.value.fatal
        assert raised.value.code in ("InvalidApiKey", "invalid_api_key")
        assert len(server.received) == 1
        for shown in (str(raised.value), repr(raised.value), repr(mt), repr(mt.settings)):
            assert "sk-wrong-key-9876" not in shown

    run(scenario)


def test_the_key_is_kept_out_of_an_error_that_echoes_it() -> None:
    async def scenario(server: MtServer, clock: FakeClock) -> None:
        echo = {"code": "InvalidParameter", "message": f"bad header Bearer {KEY}"}
        server.faults = [Fault(status=400, body=echo)]
        mt = client(server, clock)
        try:
            with pytest.raises(TranslationFailed) as raised:
                await mt.translate(sentence())
        finally:
            await mt.aclose()
        assert KEY not in str(raised.value)
        assert KEY not in repr(raised.value)

    run(scenario)


def test_requests_go_paced_in_the_order_they_were_asked() -> None:
    async def scenario(server: MtServer, clock: FakeClock) -> None:
        texts = [f"Sentence {n}." for n in range(4)]
        async with client(server, clock, rpm=60, tpm=0) as mt:
            answers = await asyncio.gather(*(mt.translate(sentence(t)) for t in texts))
        assert [a.text for a in answers] == [f"[Spanish] {t}" for t in texts]
        assert sorted(r["messages"][0]["content"] for r in server.received) == texts
        assert clock.slept == pytest.approx([1.1, 1.1, 1.1])

    run(scenario)


def test_the_server_refuses_what_the_service_refuses() -> None:
    """The server above is only as good as its refusals: a system message, two messages, no
    target language."""

    async def scenario(server: MtServer, clock: FakeClock) -> None:
        url = server.base + COMPATIBLE
        auth = {"Authorization": f"Bearer {KEY}"}
        options = {"source_lang": "auto", "target_lang": "English"}
        bodies = [
            {
                "model": "qwen-mt-flash",
                "translation_options": options,
                "messages": [
                    {"role": "system", "content": "Translate."},
                    {"role": "user", "content": "你好"},
                ],
            },
            {
                "model": "qwen-mt-flash",
                "translation_options": options,
                "messages": [{"role": "user", "content": "你好"}] * 2,
            },
            {
                "model": "qwen-mt-flash",
                "translation_options": {"source_lang": "auto"},
                "messages": [{"role": "user", "content": "你好"}],
            },
        ]
        async with aiohttp.ClientSession() as session:
            for sent in bodies:
                async with session.post(url, json=sent, headers=auth) as response:
                    assert response.status == 400
                    assert (await response.json())["error"]["code"] in (
                        "invalid_parameter_error",
                        "InvalidParameter",
                    )

    run(scenario)
