"""The emulator's Qwen-MT, over HTTP as a client sees it: both APIs, their refusals, limits,
faults and stream kinds (research any-pair.md, A)."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from subtitler.emulator.admission import MtLimits
from subtitler.emulator.qwenmt import (
    COMPATIBLE_PATH,
    NATIVE_PATH,
    TEMPLATE_OVERHEAD_TOKENS,
    count_tokens,
)
from subtitler.emulator.server import BackgroundEmulator
from tests.support import TEST_KEY

LECTURE = "Good morning, and welcome to the first lecture of the course."
NEWS = "研究人员发布了一种新的语音翻译模型。"
Answer = tuple[int, dict[str, str], bytes]


def base(emulator: BackgroundEmulator) -> str:
    return f"http://{emulator.server.host}:{emulator.server.port}"


def compatible(text: str = LECTURE, target: str = "Spanish", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": "qwen-mt-flash",
        "messages": [{"role": "user", "content": text}],
        "translation_options": {"source_lang": "auto", "target_lang": target},
    }
    body.update(extra)
    return body


def native(text: str = LECTURE, target: str = "Spanish", **parameters: Any) -> dict[str, Any]:
    return {
        "model": parameters.pop("model", "qwen-mt-flash"),
        "input": {"messages": [{"role": "user", "content": text}]},
        "parameters": {
            "translation_options": {"source_lang": "auto", "target_lang": target},
            **parameters,
        },
    }


async def _post(url: str, body: Any, headers: dict[str, str]) -> Answer:
    async with aiohttp.ClientSession() as session:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        async with session.post(url, data=data, headers=headers) as response:
            return response.status, dict(response.headers), await response.read()


def post(
    emulator: BackgroundEmulator,
    body: Any,
    path: str = COMPATIBLE_PATH,
    key: str | None = TEST_KEY,
    **headers: str,
) -> Answer:
    sent = {"Content-Type": "application/json", **headers}
    if key is not None:
        sent["Authorization"] = f"Bearer {key}"
    return asyncio.run(_post(base(emulator) + path, body, sent))


def as_json(answer: Answer) -> Any:
    return json.loads(answer[2])


def events(answer: Answer) -> list[Any]:
    """The `data:` payloads of a server-sent event stream, `[DONE]` kept as a string."""
    found = []
    for line in answer[2].decode().splitlines():
        if line.startswith("data:"):
            data = line[len("data:") :].strip()
            found.append(data if data == "[DONE]" else json.loads(data))
    return found


def test_compatible_answer_has_the_reference_shape_and_canned_text(
    emulator: BackgroundEmulator,
) -> None:
    status, headers, _ = answer = post(emulator, compatible())
    body = as_json(answer)
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    assert body["object"] == "chat.completion" and body["model"] == "qwen-mt-flash"
    (choice,) = body["choices"]
    assert choice["finish_reason"] == "stop" and choice["index"] == 0
    assert choice["message"]["role"] == "assistant"
    assert choice["message"]["content"] == (
        "Buenos días y bienvenidos a la primera clase del curso."
    )
    usage = body["usage"]
    assert usage["prompt_tokens"] == TEMPLATE_OVERHEAD_TOKENS + count_tokens(LECTURE)
    assert usage["completion_tokens"] == count_tokens(choice["message"]["content"])
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_native_answer_has_the_reference_shape(emulator: BackgroundEmulator) -> None:
    status, _, _ = answer = post(emulator, native(NEWS, "French"), NATIVE_PATH)
    body = as_json(answer)
    assert status == 200
    assert body["output"]["choices"][0]["finish_reason"] == "stop"
    assert body["output"]["choices"][0]["message"] == {
        "role": "assistant",
        "content": "Des chercheurs ont publié un nouveau modèle de traduction vocale.",
    }
    assert set(body["usage"]) == {"input_tokens", "output_tokens", "total_tokens"}
    assert body["request_id"]


def test_the_canned_fixture_translations_exist_in_every_promised_language(
    emulator: BackgroundEmulator,
) -> None:
    for text, targets in (
        (LECTURE, ("Spanish", "French", "Arabic", "Thai")),
        (NEWS, ("Spanish", "French")),
    ):
        for target in targets:
            content = as_json(post(emulator, compatible(text, target)))["choices"][0]
            translated = content["message"]["content"]
            assert translated and translated != text and not translated.startswith("[")


def test_unknown_text_gets_a_deterministic_stand_in_with_terms_applied(
    emulator: BackgroundEmulator,
) -> None:
    terms = [{"source": "biosensor", "target": "biosensor-ES"}]
    body = compatible(
        "The biosensor works.",
        translation_options={"source_lang": "English", "target_lang": "Spanish", "terms": terms},
    )
    first = as_json(post(emulator, body))["choices"][0]["message"]["content"]
    again = as_json(post(emulator, body))["choices"][0]["message"]["content"]
    assert first == again == "[Spanish] The biosensor-ES works."


def test_terms_render_in_a_canned_translation(emulator: BackgroundEmulator) -> None:
    body = compatible(
        NEWS,
        translation_options={
            "source_lang": "Chinese",
            "target_lang": "English",
            "terms": [{"source": "语音翻译模型", "target": "voice translation model"}],
        },
    )
    content = as_json(post(emulator, body))["choices"][0]["message"]["content"]
    assert content == "Researchers have released a new voice translation model."


def test_tm_list_and_terms_count_as_prompt_tokens(emulator: BackgroundEmulator) -> None:
    plain = as_json(post(emulator, compatible("Hello there.")))["usage"]["prompt_tokens"]
    options = {
        "source_lang": "auto",
        "target_lang": "Spanish",
        "tm_list": [{"source": "Good night.", "target": "Buenas noches."}],
        "terms": [{"source": "there", "target": "allí"}],
        "domains": "A university lecture, spoken style.",
    }
    richer = as_json(post(emulator, compatible("Hello there.", translation_options=options)))
    assert richer["usage"]["prompt_tokens"] > plain + 10


@pytest.mark.parametrize("path", [COMPATIBLE_PATH, NATIVE_PATH])
def test_a_missing_or_refused_key_is_401(
    make_emulator: Callable[..., BackgroundEmulator], path: str
) -> None:
    emulator = make_emulator(api_key=TEST_KEY)
    body = compatible() if path == COMPATIBLE_PATH else native()
    for key in (None, "sk-wrong"):
        status, _, _ = answer = post(emulator, body, path, key=key)
        assert status == 401
        code = as_json(answer)["code"] if path == NATIVE_PATH else as_json(answer)["error"]["code"]
        assert code == ("InvalidApiKey" if path == NATIVE_PATH else "invalid_api_key")
    assert post(emulator, body, path)[0] == 200
    seen = emulator.server.stats.mt_requests
    assert len(seen) == 3 and all("authorization" not in r.headers for r in seen)


def test_a_system_message_is_refused_as_the_service_does(emulator: BackgroundEmulator) -> None:
    body = compatible()
    body["messages"].insert(0, {"role": "system", "content": "Translate to Spanish."})
    status, _, _ = answer = post(emulator, body)
    assert status == 400
    assert as_json(answer)["error"] == {
        "code": "invalid_parameter_error",
        "message": "Role must be in [user, assistant].",
        "type": "invalid_request_error",
        "param": None,
    }


def _options(body: dict[str, Any]) -> dict[str, Any]:
    options: dict[str, Any] = body["translation_options"]
    return options


def _lite(target: str) -> Callable[[dict[str, Any]], Any]:
    def change(body: dict[str, Any]) -> None:
        body["model"] = "qwen-mt-lite"
        _options(body)["target_lang"] = target

    return change


MALFORMED: dict[str, Callable[[dict[str, Any]], Any]] = {
    "two-messages": lambda b: b["messages"].append({"role": "assistant", "content": "Hola."}),
    "assistant-only": lambda b: b.update(messages=[{"role": "assistant", "content": "Hi"}]),
    "no-message": lambda b: b.update(messages=[]),
    "empty-content": lambda b: b["messages"][0].update(content=""),
    "no-translation-options": lambda b: b.pop("translation_options"),
    "no-target-lang": lambda b: _options(b).pop("target_lang"),
    "no-source-lang": lambda b: _options(b).pop("source_lang"),
    "unknown-target": lambda b: _options(b).update(target_lang="Klingon"),
    "a-code-not-a-name": lambda b: _options(b).update(target_lang="es"),
    "unknown-source": lambda b: _options(b).update(source_lang="Norwegian"),
    "lite-names-fa-persian": _lite("Western Persian"),
    "lite-knows-31": _lite("Welsh"),
    "options-not-top-level": lambda b: b.update(parameters=b.pop("translation_options")),
}


@pytest.mark.parametrize("case", MALFORMED)
def test_malformed_compatible_requests_are_400(emulator: BackgroundEmulator, case: str) -> None:
    body = compatible()
    MALFORMED[case](body)
    status, _, _ = answer = post(emulator, body)
    assert status == 400, answer
    assert as_json(answer)["error"]["code"] == "invalid_parameter_error"


def test_native_refusals_use_the_native_shape(emulator: BackgroundEmulator) -> None:
    body = native()
    body["input"]["messages"].insert(0, {"role": "system", "content": "Be brief."})
    status, _, _ = answer = post(emulator, body, NATIVE_PATH)
    refusal = as_json(answer)
    assert status == 400 and refusal["code"] == "InvalidParameter"
    assert refusal["message"] == "Role must be in [user, assistant]." and refusal["request_id"]
    no_target = native()
    del no_target["parameters"]["translation_options"]["target_lang"]
    assert post(emulator, no_target, NATIVE_PATH)[0] == 400


def test_unknown_models_are_refused_per_api(emulator: BackgroundEmulator) -> None:
    status, _, _ = answer = post(emulator, compatible(model="qwen-mt-huge"))
    assert status == 404 and as_json(answer)["error"]["code"] == "model_not_found"
    status, _, _ = answer = post(emulator, native(model="qwen-mt-huge"), NATIVE_PATH)
    assert status == 400 and as_json(answer)["code"] == "InvalidParameter"


def test_codes_are_accepted_only_when_configured(
    make_emulator: Callable[..., BackgroundEmulator],
) -> None:
    emulator = make_emulator(mt_accept_codes=True)
    answer = post(emulator, compatible(LECTURE, "es"))
    assert answer[0] == 200
    assert as_json(answer)["choices"][0]["message"]["content"].startswith("Buenos días")


def test_lite_names_fa_persian(emulator: BackgroundEmulator) -> None:
    body = compatible(
        model="qwen-mt-lite", translation_options={"source_lang": "auto", "target_lang": "Persian"}
    )
    assert post(emulator, body)[0] == 200
    body["model"] = "qwen-mt-plus"
    assert post(emulator, body)[0] == 400


def test_over_the_rpm_is_429_rate_quota_per_model(
    make_emulator: Callable[..., BackgroundEmulator],
) -> None:
    emulator = make_emulator(mt_rpm=2)
    statuses = [post(emulator, compatible())[0] for _ in range(2)]
    status, _, _ = answer = post(emulator, compatible())
    assert statuses == [200, 200] and status == 429
    assert as_json(answer)["error"]["code"] == "Throttling.RateQuota"
    assert as_json(answer)["error"]["message"].startswith("Requests rate limit exceeded")
    assert post(emulator, compatible(model="qwen-mt-plus"))[0] == 200  # another model's quota
    status, _, _ = answer = post(emulator, native(), NATIVE_PATH)
    assert status == 429 and as_json(answer)["code"] == "Throttling.RateQuota"


def test_over_the_tpm_is_429_allocation_quota(
    make_emulator: Callable[..., BackgroundEmulator],
) -> None:
    emulator = make_emulator(mt_tpm=150)
    assert post(emulator, compatible())[0] == 200
    status, _, _ = answer = post(emulator, compatible())
    assert status == 429 and as_json(answer)["error"]["code"] == "Throttling.AllocationQuota"


def test_the_limits_slide_over_a_minute() -> None:
    now = [0.0]
    limits = MtLimits(rpm=1, tpm=None, clock=lambda: now[0])
    assert limits.check("key", "qwen-mt-flash", 10) is None
    assert limits.check("key", "qwen-mt-flash", 10) == "rpm"
    assert limits.check("other key", "qwen-mt-flash", 10) is None
    now[0] = 60.0
    assert limits.check("key", "qwen-mt-flash", 10) is None


def test_injected_faults_come_in_order_then_answers(
    make_emulator: Callable[..., BackgroundEmulator],
) -> None:
    emulator = make_emulator(mt_throttle_burst=2, mt_internal_errors=1)
    answers = [post(emulator, compatible()) for _ in range(4)]
    assert [a[0] for a in answers] == [429, 429, 500, 200]
    assert as_json(answers[2])["error"]["code"] == "InternalError"
    assert [r.code for r in emulator.server.stats.mt_requests] == [
        "Throttling.RateQuota", "Throttling.RateQuota", "InternalError", "",
    ]  # fmt: skip


def test_a_slow_answer_outlasts_a_client_timeout(
    make_emulator: Callable[..., BackgroundEmulator],
) -> None:
    emulator = make_emulator(mt_slow_answers=1, mt_slow_s=30.0)

    async def with_timeout() -> None:
        timeout = aiohttp.ClientTimeout(total=0.5)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            url = base(emulator) + COMPATIBLE_PATH
            headers = {"Authorization": f"Bearer {TEST_KEY}"}
            async with session.post(url, json=compatible(), headers=headers) as response:
                await response.read()

    with pytest.raises(TimeoutError):
        asyncio.run(with_timeout())
    assert post(emulator, compatible())[0] == 200  # the next one is not slow


def test_requests_are_recorded_with_their_bodies(
    make_emulator: Callable[..., BackgroundEmulator],
) -> None:
    emulator = make_emulator()
    post(emulator, compatible())
    post(emulator, b"not json")
    first, second = emulator.server.stats.mt_requests
    assert first.method == "POST" and first.path == COMPATIBLE_PATH and first.status == 200
    assert first.body["translation_options"]["target_lang"] == "Spanish"
    assert second.body == "not json" and second.status == 400


def test_flash_streams_increments_with_a_usage_chunk(emulator: BackgroundEmulator) -> None:
    options = {"stream": True, "stream_options": {"include_usage": True}}
    answer = post(emulator, compatible(**options))
    assert answer[0] == 200 and answer[1]["Content-Type"].startswith("text/event-stream")
    chunks = events(answer)
    assert chunks[-1] == "[DONE]"
    usage_chunk = chunks[-2]
    assert usage_chunk["choices"] == [] and usage_chunk["usage"]["completion_tokens"] > 0
    deltas = [c["choices"][0]["delta"].get("content", "") for c in chunks[:-2]]
    assert len([d for d in deltas if d]) > 1
    assert "".join(deltas) == "Buenos días y bienvenidos a la primera clase del curso."
    assert chunks[-3]["choices"][0]["finish_reason"] == "stop"


def test_plus_streams_cumulatively_without_usage_unless_asked(
    emulator: BackgroundEmulator,
) -> None:
    chunks = events(post(emulator, compatible(model="qwen-mt-plus", stream=True)))
    assert chunks[-1] == "[DONE]" and all(c == "[DONE]" or c["choices"] for c in chunks)
    texts = [c["choices"][0]["delta"]["content"] for c in chunks[1:-1]]
    assert texts[-1] == "Buenos días y bienvenidos a la primera clase del curso."
    assert all(later.startswith(earlier) for earlier, later in itertools.pairwise(texts))
    assert len(texts) > 1


@pytest.mark.parametrize(
    ("model", "incremental_output", "incremental"),
    [
        ("qwen-mt-flash", True, True),
        ("qwen-mt-flash", False, False),
        ("qwen-mt-turbo", True, False),  # plus and turbo cannot stream deltas
    ],
)
def test_native_sse_streams(
    emulator: BackgroundEmulator, model: str, incremental_output: bool, incremental: bool
) -> None:
    body = native(model=model, incremental_output=incremental_output)
    answer = post(emulator, body, NATIVE_PATH, **{"X-DashScope-SSE": "enable"})
    assert answer[0] == 200 and answer[1]["Content-Type"].startswith("text/event-stream")
    chunks = events(answer)
    contents = [c["output"]["choices"][0]["message"]["content"] for c in chunks]
    finishes = [c["output"]["choices"][0]["finish_reason"] for c in chunks]
    assert finishes[-1] == "stop" and set(finishes[:-1]) == {"null"}
    whole = "Buenos días y bienvenidos a la primera clase del curso."
    assert ("".join(contents) if incremental else contents[-1]) == whole
    assert chunks[-1]["usage"]["output_tokens"] == count_tokens(whole)
