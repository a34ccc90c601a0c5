"""How `serve` refuses a request (a status and one line, answered as JSON `detail` by the edge),
and the query values every endpoint parses the same way."""

from __future__ import annotations

from aiohttp import web


class RequestProblem(Exception):
    """A request the service cannot take: its status and a one-line reason."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def flag(request: web.Request, name: str, default: bool) -> bool:
    value = request.query.get(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise RequestProblem(422, f"{name}={value!r}: expected true or false")


def choice(request: web.Request, name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = request.query.get(name, default).strip().lower() or default
    if value not in allowed:
        raise RequestProblem(422, f"{name}={value!r}: expected one of {', '.join(allowed)}")
    return value
