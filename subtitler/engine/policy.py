"""What to do when a task ends without `task-finished`: a pure function of (failure, attempts).

- resume at once: the service's own no-audio timeout (the source stalled; nothing is wrong);
- retry after a delay: lost connections, internal errors, unreadable results, HTTP 5xx;
  counted, bounded by `retries`, exponential backoff with jitter;
- wait for the rate limit: throttling (`Throttling...`, "rate limit exceeded", HTTP 429);
  never counted, never fails an input;
- stop the run: the key was refused (HTTP 401/403); the endpoint answered 404 on the handshake
  (a wrong path); no connection could be made before any task of the run had reached the
  service (a wrong host or port: retrying each file would only repeat it);
- fail the input: anything else (bad parameters, unknown model, other HTTP statuses), with the
  service's code and message, and a word on the region when the endpoint is not Beijing's.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from urllib.parse import urlparse

from subtitler.gummy.environment import LOCAL_HOSTS
from subtitler.gummy.protocol import (
    BAD_RESULT,
    DEFAULT_ENDPOINT,
    DISCONNECTED,
    HANDSHAKE,
    UNFINISHED,
    UNREACHABLE,
    TaskFailed,
)

RETRYABLE_CODES = frozenset(
    {DISCONNECTED, UNREACHABLE, UNFINISHED, BAD_RESULT}
    | {"InternalError", "SERVER_ERROR", "MODEL_ERROR"}
    | {"Unknown"}
)
INVALID_KEY_STATUSES = frozenset({401, 403})
INVALID_KEY = "InvalidApiKey"
ENDPOINT_UNREACHABLE = "EndpointUnreachable"
ENDPOINT_NOT_FOUND = "EndpointNotFound"
SERVICE_PATH = urlparse(DEFAULT_ENDPOINT).path
BEIJING_HOST = "dashscope.aliyuncs.com"
MAX_BACKOFF_S = 30.0
MAX_THROTTLE_WAIT_S = 5.0


class Action(Enum):
    RESUME = "resume"
    RETRY = "retry"
    WAIT_FOR_RATE = "wait for rate"
    STOP_RUN = "stop run"
    FAIL = "fail"


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = 5
    """Counted failures (drops, internal errors) tolerated per target before the input fails."""
    first_delay_s: float = 0.5
    """First backoff; doubled after each counted failure (capped at 30 s), with jitter."""


@dataclass(frozen=True)
class Decision:
    action: Action
    delay_s: float = 0.0
    reason: str = ""
    """For FAIL and STOP_RUN: the one line a user reads (after the input's name, or for
    STOP_RUN the endpoint's)."""
    counted: bool = False
    code: str = ""
    """For STOP_RUN: why (`INVALID_KEY`, `ENDPOINT_UNREACHABLE`, `ENDPOINT_NOT_FOUND`)."""


def is_throttling(failure: TaskFailed) -> bool:
    return (
        failure.code.startswith("Throttling")
        or "rate limit" in failure.message.lower()
        or failure.status == 429
    )


def is_idle_timeout(failure: TaskFailed) -> bool:
    return failure.code == "CLIENT_ERROR" and "timeout" in failure.message.lower()


def decide(
    failure: TaskFailed,
    failures: int,
    throttled: int,
    policy: RetryPolicy,
    jitter: float,
    endpoint: str | None = None,
    reached: bool = True,
) -> Decision:
    """`failures`: counted failures so far (this one excluded); `throttled`: throttling waits so
    far; `jitter` in [0, 1) (random in use, fixed in tests); `reached`: a task of this run has
    reached the service before (a connection that fails now is a network problem, retried)."""
    if failure.status in INVALID_KEY_STATUSES:
        return Decision(
            Action.STOP_RUN, reason="the API key was refused (invalid key)", code=INVALID_KEY
        )
    if failure.code == HANDSHAKE and failure.status == 404:
        return Decision(Action.STOP_RUN, reason=not_found(endpoint), code=ENDPOINT_NOT_FOUND)
    if failure.code == UNREACHABLE and not reached:
        return Decision(
            Action.STOP_RUN,
            reason=f"{failure.message}; check --endpoint",
            code=ENDPOINT_UNREACHABLE,
        )
    if is_throttling(failure):
        delay = min(MAX_THROTTLE_WAIT_S, 0.2 * 2 ** min(throttled, 10))
        return Decision(Action.WAIT_FOR_RATE, delay * (0.5 + jitter / 2))
    if is_idle_timeout(failure):
        return Decision(Action.RESUME)
    retryable = failure.code in RETRYABLE_CODES or (
        failure.status is not None and 500 <= failure.status < 600
    )
    if retryable:
        if failures >= policy.retries:
            return Decision(
                Action.FAIL,
                reason=f"{describe(failure)} (gave up after {failures} retries)",
                counted=True,
            )
        delay = min(MAX_BACKOFF_S, policy.first_delay_s * 2**failures)
        return Decision(Action.RETRY, delay * (0.5 + jitter / 2), counted=True)
    return Decision(Action.FAIL, reason=describe(failure) + region_hint(endpoint))


def not_found(endpoint: str | None) -> str:
    """HTTP 404 on the handshake: the path is wrong; say which one the service serves."""
    parsed = urlparse(endpoint or DEFAULT_ENDPOINT)
    expected = parsed._replace(path=SERVICE_PATH, query="", fragment="").geturl()
    if parsed.path.rstrip("/") == SERVICE_PATH:
        return "no Gummy service at this address (HTTP 404 on the WebSocket handshake)"
    return (
        f"no Gummy service at this path (HTTP 404 on the WebSocket handshake); "
        f"the service listens at {SERVICE_PATH}: --endpoint {expected}"
    )


def describe(failure: TaskFailed) -> str:
    """The failure in words, with the service's own code and message."""
    if failure.code == HANDSHAKE:
        message = f": {failure.message}" if failure.message else ""
        return f"the service refused the connection (HTTP {failure.status}{message})"
    if failure.code in (DISCONNECTED, UNREACHABLE):
        return failure.message or "connection to the service was lost"
    if failure.code in (UNFINISHED, BAD_RESULT):
        return failure.message
    first_line = failure.message.splitlines()[0] if failure.message else "no message"
    return f"service error {failure.code}: {first_line}"


def region_hint(endpoint: str | None) -> str:
    """Gummy is served from the Beijing region only: say so when the endpoint is another one."""
    host = urlparse(endpoint).hostname if endpoint else BEIJING_HOST
    if host is None or host == BEIJING_HOST or host in LOCAL_HOSTS:
        return ""
    if host.endswith(".aliyuncs.com"):
        return (
            f" (Gummy is served from the Beijing region only, at {BEIJING_HOST}, with a "
            f"Beijing-region key; {host} is another region's endpoint)"
        )
    return ""
