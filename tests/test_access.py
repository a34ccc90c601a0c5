"""Who may use a served page: the token from a header or the cookie, and the origin check, on
requests built in memory (pure: no server)."""

from __future__ import annotations

from unittest.mock import Mock

from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from subtitler.views.access import (
    COOKIE_NAME,
    HostNames,
    cross_origin,
    forwarded,
    is_loopback,
    misdirected,
    presented_token,
    sign_in_cookie,
    sign_out_cookie,
    token_ok,
    trusted_networks,
)


def request(method: str = "GET", **headers: str) -> web.Request:
    headers.setdefault("Host", "127.0.0.1:9000")
    peer = Mock()  # the connection's far end, as a socket would say
    peer.get_extra_info.side_effect = lambda name, default=None: (
        ("127.0.0.1", 50000) if name == "peername" else default
    )
    return make_mocked_request(
        method,
        "/jobs",
        headers={k.replace("_", "-"): v for k, v in headers.items()},
        transport=peer,
    )


def test_the_bearer_header_then_the_cookie_then_nothing() -> None:
    assert presented_token(request(Authorization="Bearer s3cret ")) == "s3cret"
    assert presented_token(request(Authorization="bearer s3cret")) == "s3cret"
    assert presented_token(request(Cookie=f"{COOKIE_NAME}=fromcookie")) == "fromcookie"
    both = request(Authorization="Bearer header", Cookie=f"{COOKIE_NAME}=cookie")
    assert presented_token(both) == "header"
    assert presented_token(request(Authorization="Basic abc")) == ""
    assert presented_token(request(Authorization="Bearer ")) == ""
    assert presented_token(request()) == ""


def test_the_token_is_needed_only_when_one_is_set() -> None:
    assert token_ok(request(), None)
    assert token_ok(request(Authorization="Bearer s3cret"), "s3cret")
    assert token_ok(request(Cookie=f"{COOKIE_NAME}=s3cret"), "s3cret")
    assert not token_ok(request(Authorization="Bearer wrong"), "s3cret")
    assert not token_ok(request(Cookie=f"{COOKIE_NAME}=s3cret2"), "s3cret")
    assert not token_ok(request(), "s3cret")
    assert not token_ok(request(Authorization="Bearer "), "")  # an empty token is never presented


def test_reads_are_never_refused_for_their_origin() -> None:
    for method in ("GET", "HEAD", "OPTIONS"):
        assert not cross_origin(request(method, Origin="https://evil.example"))
        assert not cross_origin(request(method, Sec_Fetch_Site="cross-site"))


def test_a_change_from_another_origin_is_refused() -> None:
    for method in ("POST", "DELETE", "PUT", "PATCH"):
        assert cross_origin(request(method, Origin="https://evil.example"))
    assert cross_origin(request("POST", Origin="http://127.0.0.1:9001"))  # another port
    assert cross_origin(request("POST", Origin="https://127.0.0.1:9000"))  # another scheme
    assert cross_origin(request("POST", Origin="null"))  # a sandboxed page or a data: URL
    assert cross_origin(request("POST", Referer="http://evil.example/page"))
    assert cross_origin(request("POST", Origin="http://127.0.0.1:9000", Sec_Fetch_Site="same-site"))
    assert cross_origin(
        request("POST", Origin="http://127.0.0.1:9000", Sec_Fetch_Site="cross-site")
    )


def test_a_change_from_this_origin_or_from_no_page_is_let_through() -> None:
    assert not cross_origin(request("POST", Origin="http://127.0.0.1:9000"))
    assert not cross_origin(request("POST", Origin="HTTP://127.0.0.1:9000"))
    assert not cross_origin(request("POST", Referer="http://127.0.0.1:9000/review/?path=a"))
    assert not cross_origin(
        request("POST", Origin="http://127.0.0.1:9000", Sec_Fetch_Site="same-origin")
    )
    assert not cross_origin(request("POST", Sec_Fetch_Site="none"))  # typed by the user
    assert not cross_origin(request("POST"))  # curl, Bazarr, a webhook: the token guards them
    default_port = make_mocked_request(
        "POST", "/", headers={"Host": "media.lan", "Origin": "http://media.lan:80"}
    )
    assert not cross_origin(default_port)


def test_the_cookie_is_http_only_strict_and_secure_over_https() -> None:
    response = web.Response()
    sign_in_cookie(response, "s3cret", secure=False)
    morsel = response.cookies[COOKIE_NAME]
    assert morsel.value == "s3cret"
    assert morsel["httponly"] and morsel["samesite"] == "Strict" and morsel["path"] == "/"
    assert not morsel["secure"]
    secure = web.Response()
    sign_in_cookie(secure, "s3cret", secure=True)
    assert secure.cookies[COOKIE_NAME]["secure"]


def test_signing_out_expires_the_cookie() -> None:
    response = web.Response()
    sign_out_cookie(response)
    morsel = response.cookies[COOKIE_NAME]
    assert morsel.value == "" and morsel["max-age"] == "0" and morsel["path"] == "/"


def test_loopback_is_this_machine_only() -> None:
    for host in ("127.0.0.1", "127.1.2.3", "::1", "[::1]:9000", "localhost", "LOCALHOST.",
                 "localhost:9000", "app.localhost"):  # fmt: skip
        assert is_loopback(host), host
    for host in ("0.0.0.0", "::", "192.168.1.5", "nas.lan", "localhost.evil.example"):
        assert not is_loopback(host), host


def test_only_this_servers_names_are_answered() -> None:
    """DNS rebinding: evil.example resolved to this server sends Host: evil.example."""
    listening = HostNames.of("0.0.0.0", ["nas.lan", "Subs.Example.org."])
    for host in ("127.0.0.1:9000", "localhost:9000", "[::1]:9000", "192.168.1.5:9000",
                 "[fe80::1]:9000", "nas.lan:9000", "NAS.LAN", "subs.example.org"):  # fmt: skip
        assert listening.admits(host), host
    for host in ("evil.example", "evil.example:9000", "nas.lan.evil.example", "lan", ""):
        assert not listening.admits(host), host
    assert HostNames.of("media.box").admits("media.box:9000")  # --host given as a name
    assert not HostNames.of("127.0.0.1").admits("media.box:9000")


def test_a_request_for_another_name_is_misdirected() -> None:
    hosts = HostNames.of("127.0.0.1")
    assert misdirected(
        request("POST", Host="evil.example:9000", Origin="http://evil.example:9000"), hosts
    )
    # A rebound page's read: the browser thinks it same-origin, and says so (Sec-Fetch-Site).
    rebound = request("GET", Host="evil.example:9000", Sec_Fetch_Site="same-origin")
    assert misdirected(rebound, hosts)
    assert not misdirected(request("POST", Host="127.0.0.1:9000"), hosts)
    # Bazarr, a media server's webhook, curl: no browser's headers, any name their network gives.
    assert not misdirected(request("POST", Host="subtitler:9000"), hosts)
    assert misdirected(request("GET", Host="subtitler:9000", Cookie="subtitler_token=x"), hosts)
    bare = make_mocked_request("GET", "/jobs", headers={})
    assert not misdirected(bare, hosts)  # no Host header: HTTP/1.0, no browser


def test_an_ipv4_proxy_is_trusted_through_a_dual_stack_listener() -> None:
    """`serve --host ::` sees an IPv4 proxy as ::ffff:a.b.c.d: still the proxy listed."""
    sent = make_mocked_request(
        "POST", "/jobs",
        headers={"Host": "[::1]:9000", "X-Forwarded-Proto": "https",
                 "X-Forwarded-Host": "subs.example.org"},
        transport=_peer("::ffff:172.18.0.2"),
    )  # fmt: skip
    behind = forwarded(sent, trusted_networks(["172.18.0.0/16"]))
    assert (behind.scheme, behind.host) == ("https", "subs.example.org")


def _peer(address: str) -> Mock:
    peer = Mock()
    peer.get_extra_info.side_effect = lambda name, default=None: (
        (address, 50000) if name == "peername" else default
    )
    return peer


def test_a_proxys_forwarded_headers_are_believed_from_it_only() -> None:
    sent = request("POST", X_Forwarded_Proto="https, http", X_Forwarded_Host="subs.example.org",
                   Origin="https://subs.example.org")  # fmt: skip
    assert sent.remote == "127.0.0.1"
    behind = forwarded(sent, trusted_networks(["127.0.0.1"]))
    assert (behind.scheme, behind.host, behind.secure) == ("https", "subs.example.org", True)
    assert not cross_origin(behind)
    for proxies in ((), trusted_networks(["10.0.0.0/8", "::1"])):  # not from the proxy
        same = forwarded(sent, proxies)
        assert (same.scheme, same.host) == ("http", "127.0.0.1:9000") and cross_origin(same)
    odd = forwarded(request("GET", X_Forwarded_Proto="gopher"), trusted_networks(["127.0.0.1"]))
    assert odd.scheme == "http"


def test_a_change_the_cookie_alone_authorises_must_say_where_it_comes_from() -> None:
    cookie = f"{COOKIE_NAME}=s3cret"
    assert cross_origin(request("POST", Cookie=cookie))  # no Origin, Referer or Sec-Fetch-Site
    assert cross_origin(request("DELETE", Cookie=cookie))
    assert not cross_origin(request("POST", Cookie=cookie, Origin="http://127.0.0.1:9000"))
    assert not cross_origin(request("POST", Cookie=cookie, Sec_Fetch_Site="same-origin"))
    assert not cross_origin(request("POST", Cookie=cookie, Authorization="Bearer s3cret"))
    assert not cross_origin(request("GET", Cookie=cookie))  # reads change nothing
