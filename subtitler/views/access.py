"""Who may use a served page: the API token (a Bearer header for programs, an HttpOnly cookie for
browsers) and the origin check that keeps another site's page from changing anything.

Shared by `serve` (its console and job API) and `review`: one place decides, so the two cannot
drift. The token is compared in constant time and never written anywhere but the cookie.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from aiohttp import web
from yarl import URL

__all__ = [
    "COOKIE_NAME",
    "HostNames",
    "cross_origin",
    "forwarded",
    "is_loopback",
    "misdirected",
    "presented_token",
    "sign_in_cookie",
    "sign_out_cookie",
    "token_ok",
    "trusted_networks",
]

COOKIE_NAME = "subtitler_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
"""Methods that change nothing: never refused for their origin (a link or a reload sends them)."""
_DEFAULT_PORTS = {"http": 80, "https": 443}


LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def _bare_host(host: str) -> str:
    """A Host header's name without its port or brackets, lower case, no trailing dot."""
    host = host.strip().lower()
    if host.startswith("["):  # [::1]:9000
        return host[1:].partition("]")[0]
    if host.count(":") == 1:  # name:port (an IPv6 literal without brackets has several)
        host = host.partition(":")[0]
    return host.rstrip(".")


def host_name(host: str) -> str:
    """A Host header's name alone (what `--allowed-host` takes)."""
    return _bare_host(host)


def _address(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        return None


def is_loopback(host: str) -> bool:
    """Whether a listening address or a Host header names this machine only (127.0.0.0/8, ::1,
    localhost): nobody else can reach it."""
    name = _bare_host(host)
    address = _address(name)
    if address is not None:
        return address.is_loopback
    return name in LOOPBACK_NAMES or name.endswith(".localhost")


@dataclass(frozen=True)
class HostNames:
    """The names a browser may call this server by (DNS rebinding: another site's name that
    resolves to this server makes the browser treat the server as that site, so its page could
    read and change everything; a name not listed gets 421 before anything).

    Loopback names, any IP literal (a page at an address is that address's own: no rebinding
    goes through one), the address listened on, and the names given (`--allowed-host`)."""

    names: frozenset[str] = frozenset()

    @classmethod
    def of(cls, listen_host: str, allowed: Iterable[str] = ()) -> HostNames:
        return cls(frozenset(_bare_host(name) for name in (listen_host, *allowed) if name.strip()))

    def admits(self, host: str) -> bool:
        name = _bare_host(host)
        return _address(name) is not None or is_loopback(name) or name in self.names


BROWSER_HEADERS = ("Origin", "Sec-Fetch-Site", "Sec-Fetch-Mode", "Cookie")
"""What a browser's request carries and a server-to-server client's (Bazarr, a media server's
webhook, curl) does not: every browser since 2021-2023 sends Sec-Fetch-* on every request."""


def misdirected(request: web.Request, hosts: HostNames) -> bool:
    """A browser's request whose Host is not one of this server's names (answer 421): DNS
    rebinding works through a browser only. Clients that are not browsers (Bazarr, Jellyfin,
    curl) call a server by whatever name their network gives it (`http://subtitler:9000` in
    a Compose file) and are not refused here; the token guards them as before."""
    if "Host" not in request.headers:
        return False
    if not any(name in request.headers for name in BROWSER_HEADERS):
        return False
    return not hosts.admits(request.host)  # the forwarded host when a trusted proxy said it


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def trusted_networks(addresses: Iterable[str]) -> tuple[Network, ...]:
    """`--trusted-proxy` values (an address or a network: 10.0.0.0/8); ValueError on another."""
    return tuple(ipaddress.ip_network(address.strip(), strict=False) for address in addresses)


def forwarded(request: web.Request, proxies: tuple[Network, ...]) -> web.Request:
    """The request as the proxy's client sent it: the scheme of `X-Forwarded-Proto` and the host
    of `X-Forwarded-Host` (the first, the client's), believed only when the connection comes
    from one of `proxies` (anyone else could claim them). Behind a TLS proxy the origin check
    then sees https, and the sign-in cookie is Secure."""
    peer = _address(request.remote or "") if proxies else None
    if isinstance(peer, ipaddress.IPv6Address) and peer.ipv4_mapped is not None:
        peer = peer.ipv4_mapped  # an IPv4 proxy seen by a dual-stack (`--host ::`) listener
    if peer is None or not any(peer in network for network in proxies):
        return request
    proto = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    host = request.headers.get("X-Forwarded-Host", "").split(",")[0].strip()
    changes: dict[str, str] = {}
    if proto in ("http", "https"):
        changes["scheme"] = proto
    if host:
        changes["host"] = host
    if not changes:
        return request
    clone = request.clone(**changes)  # type: ignore[arg-type]
    assert isinstance(clone, web.Request)
    return clone


def presented_token(request: web.Request) -> str:
    """The `Authorization: Bearer` token, else the sign-in cookie, else ""."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.cookies.get(COOKIE_NAME, "")


def token_ok(request: web.Request, token: str | None) -> bool:
    """True when no token is needed (None) or the request presents it (constant time)."""
    if token is None:
        return True
    presented = presented_token(request)
    return bool(presented) and hmac.compare_digest(presented.encode(), token.encode())


def _origin_of(url_text: str) -> tuple[str, str, int | None] | None:
    """(scheme, host, port) with the default port filled in; None for "null" or garbage."""
    try:
        url = URL(url_text)
    except ValueError:
        return None
    if not url.scheme or not url.host:
        return None
    scheme = url.scheme.lower()
    return scheme, url.host.lower(), url.port or _DEFAULT_PORTS.get(scheme)


def cross_origin(request: web.Request) -> bool:
    """A state-changing request sent by a page of another origin (refuse it: 403).

    The browser's `Sec-Fetch-Site` when it says cross-site or same-site, else `Origin` (or, absent,
    `Referer`) against this server's own scheme://host. A request with none of them (curl,
    Bazarr, a media server's webhook) comes from no page and is not refused here (the token
    guards it), unless the sign-in cookie is all it presents: then one of them is required."""
    if request.method.upper() in SAFE_METHODS:
        return False
    if request.headers.get("Sec-Fetch-Site", "").lower() in ("cross-site", "same-site"):
        return True
    claimed = request.headers.get("Origin") or request.headers.get("Referer")
    if claimed is None:
        # Said nothing: a program (its Bearer header or no credential at all), unless only the
        # sign-in cookie speaks for it, which a browser adds to a request no page vouches for.
        return "Sec-Fetch-Site" not in request.headers and _by_cookie_only(request)
    own = _origin_of(f"{request.scheme}://{request.host}")
    return own is None or _origin_of(claimed) != own


def _by_cookie_only(request: web.Request) -> bool:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    has_bearer = scheme.lower() == "bearer" and bool(value.strip())
    return not has_bearer and bool(request.cookies.get(COOKIE_NAME))


def sign_in_cookie(response: web.StreamResponse, token: str, *, secure: bool) -> None:
    """The token in a cookie no script can read and no other site's request carries."""
    response.set_cookie(
        COOKIE_NAME, token, path="/", httponly=True, samesite="Strict", secure=secure or None
    )


def sign_out_cookie(response: web.StreamResponse) -> None:
    response.del_cookie(COOKIE_NAME, path="/")
