"""Qwen-MT's protocol on values alone: request bodies as the reference gives them (research A4,
A5, A7), answers, refusals and both kinds of stream read back."""

from __future__ import annotations

import json
from typing import Any

import pytest

from subtitler.errors import UsageError
from subtitler.qwenmt.protocol import (
    MtRefused,
    MtSettings,
    StreamReader,
    Translated,
    TranslationRequest,
    body,
    classify,
    estimated_tokens,
    headers,
    read_answer,
    refusal,
    url,
)

KEY = "sk-secret-0123456789"


def settings(**changes: Any) -> MtSettings:
    base: dict[str, Any] = {
        "api_key": KEY,
        "compatible_url": "https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
        "http_url": "https://dashscope-intl.aliyuncs.com/api/v1/",
    }
    base.update(changes)
    return MtSettings(**base)


def request(**changes: Any) -> TranslationRequest:
    base: dict[str, Any] = {"source": None, "target": "en", "text": "我看到这个视频后没有笑"}
    base.update(changes)
    return TranslationRequest(**base)


def test_the_minimal_compatible_request_is_the_reference_one() -> None:
    assert body(settings(), request()) == {
        "model": "qwen-mt-flash",
        "messages": [{"role": "user", "content": "我看到这个视频后没有笑"}],
        "translation_options": {"source_lang": "auto", "target_lang": "English"},
    }
    assert url(settings()) == (
        "https://dashscope-intl.aliyuncs.com/compatible-mode/v1/chat/completions"
    )
    assert headers(settings()) == {
        "Authorization": f"Bearer {KEY}",
        "Content-Type": "application/json",
    }


def test_native_puts_messages_under_input_and_options_under_parameters() -> None:
    native = settings(api="native", model="qwen-mt-plus")
    assert body(native, request(source="zh", target="es")) == {
        "model": "qwen-mt-plus",
        "input": {"messages": [{"role": "user", "content": "我看到这个视频后没有笑"}]},
        "parameters": {"translation_options": {"source_lang": "Chinese", "target_lang": "Spanish"}},
    }
    assert url(native) == (
        "https://dashscope-intl.aliyuncs.com/api/v1/services/aigc/text-generation/generation"
    )


def test_context_terms_and_domains_go_into_translation_options() -> None:
    memory = tuple((f"s{i}", f"t{i}") for i in range(5))
    terms = (("biosensor", "biosensor-es"), ("absent", "ausente"), ("GPU", "GPU"))
    sent = body(
        settings(domains="A university lecture, spoken style.", context_pairs=2),
        request(
            source="en", target="es", text="The Biosensor on the gpu.", memory=memory, terms=terms
        ),
    )
    assert sent["messages"] == [{"role": "user", "content": "The Biosensor on the gpu."}]
    assert sent["translation_options"] == {
        "source_lang": "English",
        "target_lang": "Spanish",
        "terms": [
            {"source": "biosensor", "target": "biosensor-es"},
            {"source": "GPU", "target": "GPU"},
        ],
        "tm_list": [{"source": "s3", "target": "t3"}, {"source": "s4", "target": "t4"}],
        "domains": "A university lecture, spoken style.",
    }
    assert (
        "tm_list"
        not in body(settings(context_pairs=0), request(memory=memory))["translation_options"]
    )


def test_exactly_one_user_message_whatever_the_context() -> None:
    for api in ("compatible", "native"):
        sent = body(settings(api=api), request(memory=(("a", "b"),) * 4))
        messages = sent["messages"] if api == "compatible" else sent["input"]["messages"]
        assert messages == [{"role": "user", "content": request().text}]


@pytest.mark.parametrize(
    ("tag", "model", "name"),
    [
        ("zh-TW", "qwen-mt-flash", "Traditional Chinese"),
        ("zh_tw", "qwen-mt-flash", "Traditional Chinese"),
        ("ar", "qwen-mt-flash", "Arabic"),
        ("th", "qwen-mt-plus", "Thai"),
        ("fa", "qwen-mt-flash", "Western Persian"),
        ("fa", "qwen-mt-lite", "Persian"),
    ],
)
def test_languages_are_sent_by_their_english_names(tag: str, model: str, name: str) -> None:
    options = body(settings(model=model), request(source="en", target=tag))["translation_options"]
    assert options["target_lang"] == name


def test_a_target_it_does_not_know_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="xx"):
        body(settings(), request(target="xx"))


def test_streams_ask_for_usage_and_native_incremental_only_for_flash_and_lite() -> None:
    compatible = body(settings(stream=True), request())
    assert compatible["stream"] is True
    assert compatible["stream_options"] == {"include_usage": True}
    flash = settings(api="native", stream=True)
    assert body(flash, request())["parameters"]["incremental_output"] is True
    assert headers(flash)["X-DashScope-SSE"] == "enable"
    plus = settings(api="native", stream=True, model="qwen-mt-plus")
    assert "incremental_output" not in body(plus, request())["parameters"]
    assert "X-DashScope-SSE" not in headers(settings(stream=True))


def test_the_estimate_counts_text_context_terms_and_the_template() -> None:
    sent = request(text="abcd", memory=(("xy", "z"),), terms=(("bc", "B"), ("no", "N")))
    assert estimated_tokens(settings(), sent) == 4 + 3 + 3 + 41
    assert estimated_tokens(settings(context_pairs=0), sent) == 4 + 3 + 41


def test_the_key_is_not_in_the_settings_repr() -> None:
    assert KEY not in repr(settings())


COMPATIBLE_ANSWER = {
    "id": "chatcmpl-999a5d8a-f646-4039-968a-167743ae0f22",
    "choices": [
        {
            "finish_reason": "stop",
            "index": 0,
            "logprobs": None,
            "message": {
                "content": "I didn't laugh after watching this video.",
                "refusal": None,
                "role": "assistant",
                "annotations": None,
                "audio": None,
                "function_call": None,
                "tool_calls": None,
            },
        }
    ],
    "created": 1762346157,
    "model": "qwen-mt-plus",
    "object": "chat.completion",
    "service_tier": None,
    "system_fingerprint": None,
    "usage": {
        "completion_tokens": 9,
        "prompt_tokens": 53,
        "total_tokens": 62,
        "completion_tokens_details": None,
        "prompt_tokens_details": None,
    },
}
NATIVE_ANSWER = {
    "status_code": 200,
    "request_id": "9b4ec3b2-0000",
    "code": "",
    "message": "",
    "output": {
        "text": None,
        "finish_reason": "stop",
        "choices": [
            {
                "finish_reason": "stop",
                "message": {
                    "role": "assistant",
                    "content": "I didn't laugh after watching this video.",
                },
            }
        ],
        "model_name": "qwen-mt-plus",
    },
    "usage": {"input_tokens": 53, "output_tokens": 9, "total_tokens": 62},
}


@pytest.mark.parametrize("answer", [COMPATIBLE_ANSWER, NATIVE_ANSWER])
def test_answers_of_both_apis_are_read(answer: dict[str, Any]) -> None:
    assert read_answer(200, json.dumps(answer).encode()) == Translated(
        text="I didn't laugh after watching this video.", input_tokens=53, output_tokens=9
    )


def _error(code: str, message: str) -> bytes:
    return json.dumps(
        {"error": {"code": code, "message": message, "type": "invalid_request_error"}}
    ).encode()


@pytest.mark.parametrize(
    ("status", "data", "code", "retryable", "fatal"),
    [
        (
            400,
            _error("invalid_parameter_error", "Role must be in [user, assistant]."),
            "invalid_parameter_error",
            False,
            False,
        ),
        (
            400,
            b'{"code":"DataInspectionFailed","message":"Input data may contain '
            b'inappropriate content.","request_id":"r"}',
            "DataInspectionFailed",
            False,
            False,
        ),
        (400, b'{"code":"Arrearage","message":"Access denied."}', "Arrearage", False, True),
        (
            401,
            b'{"code":"InvalidApiKey","message":"Invalid API-key provided."}',
            "InvalidApiKey",
            False,
            True,
        ),
        (
            401,
            _error("invalid_api_key", "Incorrect API key provided."),
            "invalid_api_key",
            False,
            True,
        ),
        (
            429,
            b'{"code":"Throttling.RateQuota","message":"Requests rate limit exceeded"}',
            "Throttling.RateQuota",
            True,
            False,
        ),
        (
            400,
            b'{"code":"Throttling.RateQuota","message":"Requests rate limit exceeded"}',
            "Throttling.RateQuota",
            True,
            False,
        ),
        (
            429,
            b'{"code":"Throttling.AllocationQuota","message":"Allocated quota exceeded"}',
            "Throttling.AllocationQuota",
            True,
            False,
        ),
        (
            429,
            b'{"code":"PrepaidBillOverdue","message":"bill overdue"}',
            "PrepaidBillOverdue",
            False,
            True,
        ),
        (500, b'{"code":"InternalError","message":"oops"}', "InternalError", True, False),
        (503, b"<html>Service Unavailable</html>", "HTTP503", True, False),
        (404, b"not here", "HTTP404", False, True),
        (418, b"", "HTTP418", False, False),
    ],
)
def test_refusals_are_classified_by_code_then_status(
    status: int, data: bytes, code: str, retryable: bool, fatal: bool
) -> None:
    refused = refusal(status, data)
    assert (refused.code, refused.status, refused.retryable, refused.fatal) == (
        code,
        status,
        retryable,
        fatal,
    )
    with pytest.raises(MtRefused) as raised:
        read_answer(status, data)
    assert raised.value.code == code
    assert code in str(raised.value)


def test_classification_ignores_spelling() -> None:
    assert classify("data_inspection_failed", 400) == (False, False)
    assert classify("Throttling", 429) == (True, False)
    assert classify("AccessDenied.Unpurchased", 403) == (False, True)


def test_an_answer_without_a_translation_is_a_retryable_refusal() -> None:
    for data in (b"not json", b"[]", b'{"choices": []}'):
        with pytest.raises(MtRefused) as raised:
            read_answer(200, data)
        assert raised.value.retryable


def _compatible_chunk(content: str | None, finish: str | None = None) -> bytes:
    choices = (
        []
        if content is None
        else [{"delta": {"content": content}, "finish_reason": finish, "index": 0}]
    )
    usage = {"prompt_tokens": 53, "completion_tokens": 9, "total_tokens": 62}
    chunk = {"choices": choices, "usage": usage if content is None else None}
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"


def test_an_incremental_stream_concatenates_its_deltas() -> None:
    reader = StreamReader(incremental=True)
    data = b"".join(
        [
            _compatible_chunk("I"),
            _compatible_chunk(" didn't"),
            _compatible_chunk(" laugh.", "stop"),
            _compatible_chunk(None),
            b"data: [DONE]\n\n",
        ]
    )
    updates = []
    for cut in range(0, len(data), 7):  # chunks cut anywhere, as the network delivers them
        updates += reader.feed(data[cut : cut + 7])
    assert updates == ["I", "I didn't", "I didn't laugh."]
    assert reader.finish() == Translated(text="I didn't laugh.", input_tokens=53, output_tokens=9)


def _native_event(index: int, content: str, finish: str, output_tokens: int) -> bytes:
    chunk = {
        "output": {
            "choices": [
                {"message": {"content": content, "role": "assistant"}, "finish_reason": finish}
            ]
        },
        "usage": {"input_tokens": 53, "output_tokens": output_tokens, "total_tokens": 0},
        "request_id": "r",
    }
    return (
        f"id:{index}\r\nevent:result\r\n:HTTP_STATUS/200\r\ndata:".encode()
        + json.dumps(chunk).encode()
        + b"\r\n\r\n"
    )


def test_a_cumulative_stream_keeps_the_last_text() -> None:
    reader = StreamReader(incremental=False)
    updates = reader.feed(
        _native_event(1, "I", "null", 1)
        + _native_event(2, "I didn", "null", 3)
        + _native_event(3, "I didn't laugh.", "stop", 9)
    )
    assert updates == ["I", "I didn", "I didn't laugh."]
    assert reader.finish() == Translated(text="I didn't laugh.", input_tokens=53, output_tokens=9)


def test_a_stream_cut_short_is_retryable() -> None:
    reader = StreamReader(incremental=True)
    reader.feed(_compatible_chunk("I"))
    with pytest.raises(MtRefused) as raised:
        reader.finish()
    assert raised.value.retryable


def test_an_error_event_in_a_stream_is_a_refusal() -> None:
    reader = StreamReader(incremental=True)
    with pytest.raises(MtRefused) as raised:
        reader.feed(
            b"id:1\nevent:error\n:HTTP_STATUS/429\n"
            b'data:{"code":"Throttling.RateQuota","message":"Requests rate limit exceeded"}\n\n'
        )
    assert (raised.value.code, raised.value.status, raised.value.retryable) == (
        "Throttling.RateQuota",
        429,
        True,
    )


def test_a_message_without_content_is_no_translation() -> None:
    empty = {"choices": [{"index": 0, "finish_reason": "stop", "message": {"content": None}}]}
    with pytest.raises(MtRefused) as raised:
        read_answer(200, json.dumps(empty).encode())
    assert raised.value.code == "BadAnswer"
    native = {"output": {"text": "Hola.", "finish_reason": "stop"}, "usage": {}}
    assert read_answer(200, json.dumps(native).encode()).text == "Hola."
