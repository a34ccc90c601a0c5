"""Where the service is and which key to use: from options and the environment, checked
before any work starts."""

from __future__ import annotations

import os
from urllib.parse import urlparse

from subtitler.errors import UsageError

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
LOCAL_KEY = "local-emulator"
"""Sent to a local endpoint when no key is set: the emulator accepts any key by default."""


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
    endpoint = option or os.environ.get("DASHSCOPE_WEBSOCKET_BASE_URL") or None
    if endpoint is not None and urlparse(endpoint).scheme not in ("ws", "wss"):
        raise UsageError("--endpoint", f"{endpoint!r} is not a ws:// or wss:// URL")
    return endpoint


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
