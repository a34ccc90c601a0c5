"""Where the service is: one region for every endpoint, the SDK's variables, --endpoint."""

from __future__ import annotations

import pytest

from subtitler.errors import UsageError
from subtitler.gummy.environment import REGIONS, Region, resolve_endpoint, resolve_region

VARIABLES = (
    "SUBTITLER_REGION",
    "DASHSCOPE_WEBSOCKET_BASE_URL",
    "DASHSCOPE_HTTP_BASE_URL",
    "DASHSCOPE_COMPATIBLE_BASE_URL",
)
LOCAL = "ws://127.0.0.1:8765/api-ws/v1/inference"


@pytest.fixture(autouse=True)
def clean(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_regions_are_the_documented_hosts() -> None:
    assert REGIONS["cn"] == Region(
        name="cn",
        websocket_url="wss://dashscope.aliyuncs.com/api-ws/v1/inference",
        http_url="https://dashscope.aliyuncs.com/api/v1",
        compatible_url="https://dashscope.aliyuncs.com/compatible-mode/v1",
        has_gummy=True,
    )
    assert REGIONS["intl"] == Region(
        name="intl",
        websocket_url="wss://dashscope-intl.aliyuncs.com/api-ws/v1/inference",
        http_url="https://dashscope-intl.aliyuncs.com/api/v1",
        compatible_url="https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
        has_gummy=False,
    )


def test_option_then_variable_then_cn(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_region(None, None) == REGIONS["cn"]
    assert resolve_region("intl", None) == REGIONS["intl"]
    assert resolve_region("INTL", None) == REGIONS["intl"]
    monkeypatch.setenv("SUBTITLER_REGION", "intl")
    assert resolve_region(None, None) == REGIONS["intl"]
    assert resolve_region("cn", None) == REGIONS["cn"]


def test_an_unknown_region_names_where_it_came_from(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UsageError, match=r"^--region: 'eu' is not a region \(cn, intl\)$"):
        resolve_region("eu", None)
    monkeypatch.setenv("SUBTITLER_REGION", "mars")
    with pytest.raises(UsageError, match=r"^SUBTITLER_REGION: 'mars' is not a region"):
        resolve_region(None, None)


@pytest.mark.parametrize(
    ("variable", "field"),
    [
        ("DASHSCOPE_WEBSOCKET_BASE_URL", "websocket_url"),
        ("DASHSCOPE_HTTP_BASE_URL", "http_url"),
        ("DASHSCOPE_COMPATIBLE_BASE_URL", "compatible_url"),
    ],
)
def test_each_sdk_variable_overrides_its_own_url(
    monkeypatch: pytest.MonkeyPatch, variable: str, field: str
) -> None:
    scheme = "wss" if field == "websocket_url" else "https"
    url = f"{scheme}://dashscope-intl.aliyuncs.com/custom/path"
    monkeypatch.setenv(variable, url if field == "websocket_url" else url + "/")
    region = resolve_region("intl", None)
    assert getattr(region, field) == url
    for other in ("websocket_url", "http_url", "compatible_url"):
        if other != field:
            assert getattr(region, other) == getattr(REGIONS["intl"], other)


def test_endpoint_moves_every_url_to_its_host() -> None:
    region = resolve_region(None, LOCAL)
    assert region == Region(
        name="cn",
        websocket_url=LOCAL,
        http_url="http://127.0.0.1:8765/api/v1",
        compatible_url="http://127.0.0.1:8765/compatible-mode/v1",
        has_gummy=True,
    )
    intl = resolve_region("intl", LOCAL)  # the emulator playing Singapore: Fun-ASR there
    assert intl.name == "intl" and not intl.has_gummy
    assert intl.compatible_url == "http://127.0.0.1:8765/compatible-mode/v1"
    secure = resolve_region(None, "wss://proxy.example:9443/api-ws/v1/inference")
    assert secure.http_url == "https://proxy.example:9443/api/v1"
    assert secure.compatible_url == "https://proxy.example:9443/compatible-mode/v1"


def test_the_websocket_variable_moves_them_too_unless_told(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DASHSCOPE_WEBSOCKET_BASE_URL", LOCAL)
    region = resolve_region(None, None)
    assert region.websocket_url == LOCAL
    assert region.http_url == "http://127.0.0.1:8765/api/v1"
    monkeypatch.setenv("DASHSCOPE_HTTP_BASE_URL", "http://127.0.0.1:9000/api/v1")
    monkeypatch.setenv("DASHSCOPE_COMPATIBLE_BASE_URL", "http://127.0.0.1:9001/compatible-mode/v1")
    region = resolve_region(None, "ws://127.0.0.1:7000/api-ws/v1/inference")  # option first
    assert region.websocket_url == "ws://127.0.0.1:7000/api-ws/v1/inference"
    assert region.http_url == "http://127.0.0.1:9000/api/v1"
    assert region.compatible_url == "http://127.0.0.1:9001/compatible-mode/v1"


def test_regions_are_never_mixed() -> None:
    intl_host = REGIONS["intl"].websocket_url
    assert resolve_region(None, intl_host) == REGIONS["intl"]  # the host says which
    with pytest.raises(UsageError, match=r"^--endpoint: .* is in region intl, not cn"):
        resolve_region("cn", intl_host)
    with pytest.raises(UsageError, match=r"is in region cn, not intl"):
        resolve_region("intl", "wss://ws-1a2b.cn-beijing.maas.aliyuncs.com/api-ws/v1/inference")
    workspace = resolve_region(
        None, "wss://ws-9.ap-southeast-1.maas.aliyuncs.com/api-ws/v1/inference"
    )
    assert workspace.name == "intl" and not workspace.has_gummy
    assert workspace.compatible_url == (
        "https://ws-9.ap-southeast-1.maas.aliyuncs.com/compatible-mode/v1"
    )


def test_a_bad_endpoint_names_where_it_came_from(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UsageError, match=r"^--endpoint: 'http://x' is not a ws"):
        resolve_endpoint("http://x")
    monkeypatch.setenv("DASHSCOPE_WEBSOCKET_BASE_URL", "https://x")
    with pytest.raises(UsageError, match=r"^DASHSCOPE_WEBSOCKET_BASE_URL: 'https://x' is not"):
        resolve_region(None, None)
