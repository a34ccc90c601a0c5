"""Where the service is and which key to use: from options and the environment, checked
before any work starts."""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlparse, urlunparse

from subtitler.errors import UsageError

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
LOCAL_KEY = "local-emulator"
"""Sent to a local endpoint when no key is set: the emulator accepts any key by default."""
DEFAULT_REGION = "cn"
REGION_VARIABLE = "SUBTITLER_REGION"
WEBSOCKET_VARIABLE = "DASHSCOPE_WEBSOCKET_BASE_URL"
HTTP_VARIABLE = "DASHSCOPE_HTTP_BASE_URL"
COMPATIBLE_VARIABLE = "DASHSCOPE_COMPATIBLE_BASE_URL"


def parse_speed(text: str) -> float | None:
    if text.strip().lower() == "max":
        return None
    try:
        speed = float(text)
    except ValueError:
        speed = -1.0
    if not speed > 0:
        raise UsageError("--speed", f"{text!r} is not a positive number or max")
    return speed


def resolve_endpoint(option: str | None) -> str | None:
    """`--endpoint`, else DASHSCOPE_WEBSOCKET_BASE_URL; None: the region's own."""
    endpoint = option or os.environ.get(WEBSOCKET_VARIABLE, "").strip() or None
    if endpoint is not None and urlparse(endpoint).scheme not in ("ws", "wss"):
        subject = "--endpoint" if option else WEBSOCKET_VARIABLE
        raise UsageError(subject, f"{endpoint!r} is not a ws:// or wss:// URL")
    return endpoint


@dataclass(frozen=True)
class Region:
    """Every endpoint of one DashScope region: a key works in its own region only, so a run
    takes all its URLs from one region (or one local host), never mixed."""

    name: str
    websocket_url: str
    """The duplex inference WebSocket (Gummy, Fun-ASR)."""
    http_url: str
    """The HTTP API base (`.../api/v1`: customization, native text generation)."""
    compatible_url: str
    """The OpenAI-compatible base (`.../compatible-mode/v1`: Qwen-MT's chat completions)."""
    has_gummy: bool
    """Gummy is offered in Beijing only; elsewhere Fun-ASR recognises."""


def _region(name: str, host: str, has_gummy: bool) -> Region:
    return Region(
        name=name,
        websocket_url=f"wss://{host}/api-ws/v1/inference",
        http_url=f"https://{host}/api/v1",
        compatible_url=f"https://{host}/compatible-mode/v1",
        has_gummy=has_gummy,
    )


REGIONS = {
    "cn": _region("cn", "dashscope.aliyuncs.com", has_gummy=True),
    "intl": _region("intl", "dashscope-intl.aliyuncs.com", has_gummy=False),
}
"""Beijing (`cn`) and Singapore (`intl`), as Model Studio documents their base URLs."""
WORKSPACE_HOSTS = {
    "cn": ".cn-beijing.maas.aliyuncs.com",
    "intl": ".ap-southeast-1.maas.aliyuncs.com",
}
"""The newer per-workspace hosts (`{WorkspaceId}.<suffix>`), serving the same paths."""


def resolve_region(option: str | None, endpoint: str | None) -> Region:
    """The run's region: `--region` > SUBTITLER_REGION > the region of the endpoint's host >
    cn. The SDK's own variables override single URLs (DASHSCOPE_WEBSOCKET_BASE_URL, _HTTP_,
    _COMPATIBLE_); a WebSocket URL (`--endpoint`, else DASHSCOPE_WEBSOCKET_BASE_URL) on another
    host than the region's (the local emulator, a workspace host) also moves the HTTP and
    compatible URLs to its host and port, unless their variables say otherwise, so every
    request goes where the recognition goes. An endpoint of the other region is refused."""
    websocket = resolve_endpoint(endpoint)
    region = _named_region(option, websocket)
    websocket_url = websocket or region.websocket_url
    moved = _host(websocket_url) != _host(region.websocket_url)
    http_url = _variable(HTTP_VARIABLE) or (
        _beside(websocket_url, "/api/v1") if moved else region.http_url
    )
    compatible_url = _variable(COMPATIBLE_VARIABLE) or (
        _beside(websocket_url, "/compatible-mode/v1") if moved else region.compatible_url
    )
    return Region(
        name=region.name,
        websocket_url=websocket_url,
        http_url=http_url,
        compatible_url=compatible_url,
        has_gummy=region.has_gummy,
    )


def _named_region(option: str | None, websocket_url: str | None) -> Region:
    subject, name = "--region", (option or "").strip().lower()
    if not name:
        subject, name = REGION_VARIABLE, os.environ.get(REGION_VARIABLE, "").strip().lower()
    if name and name not in REGIONS:
        raise UsageError(subject, f"{name!r} is not a region ({', '.join(REGIONS)})")
    hosted = _region_of_host(websocket_url) if websocket_url else None
    if name and hosted is not None and hosted.name != name:
        raise UsageError(
            "--endpoint",
            f"{websocket_url!r} is in region {hosted.name}, not {name} ({subject}); a key "
            "works in its own region only",
        )
    return REGIONS[name] if name else hosted or REGIONS[DEFAULT_REGION]


def _region_of_host(url: str) -> Region | None:
    """The DashScope region a URL's host belongs to (its own host or a workspace host)."""
    host = urlparse(url).hostname or ""
    for name, region in REGIONS.items():
        if host == urlparse(region.websocket_url).hostname or host.endswith(WORKSPACE_HOSTS[name]):
            return region
    return None


def _variable(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value.rstrip("/") or None


def _host(url: str) -> str:
    return urlparse(url).netloc.lower()


def _beside(websocket_url: str, path: str) -> str:
    """The HTTP URL on the WebSocket's host and port (`wss` -> `https`, `ws` -> `http`)."""
    parts = urlparse(websocket_url)
    scheme = "https" if parts.scheme == "wss" else "http"
    return urlunparse((scheme, parts.netloc, path, "", "", ""))


def resolve_key(endpoint: str | None) -> str:
    """DASHSCOPE_API_KEY; a local endpoint may do without one (the emulator needs none)."""
    key = os.environ.get("DASHSCOPE_API_KEY", "").strip()
    if key:
        return key
    if endpoint is not None and urlparse(endpoint).hostname in LOCAL_HOSTS:
        return LOCAL_KEY
    raise UsageError(
        "DASHSCOPE_API_KEY",
        "no API key: set the DASHSCOPE_API_KEY environment variable (or use --endpoint with "
        "the local emulator: subtitler emulator)",
    )
