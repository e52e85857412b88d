"""Both HTTP transports (the lean one and httpx2's own) over real sockets: same tests, same
answers, same exception types; TLS against a trustme-made CA; the body cap."""

from __future__ import annotations

import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

import httpx2
import pytest
import trio
import trustme
from h11_server import Action, Seen, Server, serve

from ekstrio.aws.endpoints import Endpoint
from ekstrio.aws.http_client import (
    MAX_BODY,
    HttpTransportKind,
    direct_transport,
    make_http_client,
    read_capped,
    transport_kind,
)
from ekstrio.aws.lean_http import LeanTransport
from ekstrio.aws.portal import list_accounts_request
from ekstrio.aws.transport import CallPolicy, CallStats, RateLimits, Transport
from ekstrio.aws.wire import WireRequest
from ekstrio.errors import ConfigError, ResponseTooLargeError, TransportError

KINDS = list(HttpTransportKind)


@pytest.fixture(params=KINDS, ids=[k.value for k in KINDS])
def kind(request: pytest.FixtureRequest) -> HttpTransportKind:
    return request.param  # type: ignore[no-any-return]


@asynccontextmanager
async def running(handler: Callable[[Seen], Action], **kwargs: object) -> AsyncIterator[Server]:
    async with trio.open_nursery() as nursery:
        server: Server = await nursery.start(lambda task_status: serve(
            handler, task_status=task_status, **kwargs))  # type: ignore[arg-type]
        yield server
        nursery.cancel_scope.cancel()


def ok(seen: Seen) -> Action:
    return Action(body=b'{"path": "%s"}' % seen.target)


async def test_round_trip_sends_exactly_what_was_asked_and_keeps_the_connection(
        kind: HttpTransportKind) -> None:
    async with running(ok) as server, make_http_client(transport=kind) as client:
        for n in range(5):
            response = await client.post(f"{server.url}/p%2Fq?a=x%2By&n={n}",
                                         content=b'{"k": 1}', headers={"X-Test": "1"})
            assert response.status_code == 200
            assert response.json() == {"path": f"/p%2Fq?a=x%2By&n={n}"}
    assert [s.target for s in server.seen] == [f"/p%2Fq?a=x%2By&n={n}".encode() for n in range(5)]
    assert {s.body for s in server.seen} == {b'{"k": 1}'}
    first = server.seen[0].headers
    assert first[b"x-test"] == b"1"
    assert first[b"accept-encoding"] == b"identity"
    assert first[b"user-agent"].startswith(b"ekstrio/")
    assert first[b"host"] == server.url.split("//")[1].encode()
    assert server.connections == 1  # keep-alive: five requests, one connection


async def test_concurrent_requests_reuse_their_connections(kind: HttpTransportKind) -> None:
    async with running(ok) as server, make_http_client(transport=kind) as client:
        async def one(n: int) -> None:
            assert (await client.get(f"{server.url}/{n}")).status_code == 200

        for _ in range(3):
            async with trio.open_nursery() as nursery:
                for n in range(20):
                    nursery.start_soon(one, n)
    assert len(server.seen) == 60
    assert server.connections <= 20


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_connection_closed_by_the_server_while_idle_is_replaced(
        kind: HttpTransportKind, method: str) -> None:
    def close_after(seen: Seen) -> Action:
        return Action(close_after=True)

    async with running(close_after) as server, make_http_client(transport=kind) as client:
        for _ in range(3):
            response = await client.request(method, f"{server.url}/x", content=b"{}")
            assert response.status_code == 200
            await trio.sleep(0.05)  # the server's close reaches the client's socket
    assert (len(server.seen), server.connections) == (3, 3)


async def test_no_answer_is_a_remote_protocol_error(kind: HttpTransportKind) -> None:
    async with running(lambda seen: Action(no_answer=True)) as server, \
            make_http_client(transport=kind) as client:
        with pytest.raises(httpx2.RemoteProtocolError):
            await client.post(f"{server.url}/x", content=b"{}")
    # A request that reached the server on a fresh connection is never sent twice here:
    # whether to retry is the caller's policy.
    assert len(server.seen) == 1


async def test_refused_connection_is_a_connect_error(kind: HttpTransportKind) -> None:
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = listeners[0].socket.getsockname()[1]
    await listeners[0].aclose()  # nothing listens there now
    async with make_http_client(transport=kind) as client:
        with pytest.raises(httpx2.ConnectError):
            await client.get(f"http://127.0.0.1:{port}/")


async def test_cancelled_exchange_never_returns_its_connection(kind: HttpTransportKind) -> None:
    def stall_first(seen: Seen) -> Action:
        return Action(stall=True) if seen.target == b"/stall" else Action()

    async with running(stall_first) as server, make_http_client(transport=kind) as client:
        with trio.move_on_after(0.2) as scope:
            response = await client.get(f"{server.url}/stall")
        assert scope.cancelled_caught
        response = await client.get(f"{server.url}/next")
        assert response.status_code == 200
    assert server.connections == 2


# ------------------------------------------------------------------------------------- TLS
@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@asynccontextmanager
async def tls_server(ca: trustme.CA) -> AsyncIterator[Server]:
    import ssl

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(context)
    async with running(ok, tls=context) as server:
        yield server


@pytest.mark.parametrize("how", ["AWS_CA_BUNDLE", "ca_bundle", "SSL_CERT_FILE"])
async def test_tls_with_the_configured_ca(kind: HttpTransportKind, ca: trustme.CA,
                                          ca_file: Path, how: str,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    if how != "ca_bundle":
        monkeypatch.setenv(how, str(ca_file))
    bundle = str(ca_file) if how == "ca_bundle" else None
    async with tls_server(ca) as server, \
            make_http_client(ca_bundle=bundle, transport=kind) as client:
        for _ in range(3):
            assert (await client.get(f"{server.url}/tls")).json() == {"path": "/tls"}
    assert server.connections == 1


async def test_tls_refuses_a_server_the_ca_rules_do_not_trust(kind: HttpTransportKind,
                                                              ca: trustme.CA) -> None:
    async with tls_server(ca) as server, make_http_client(transport=kind) as client:
        with pytest.raises(httpx2.ConnectError) as caught:
            await client.get(f"{server.url}/tls")
    assert server.seen == []
    if kind is HttpTransportKind.LEAN:  # httpx2's own transport says nothing ('')
        assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value)


# ----------------------------------------------------------------------------------- proxies
async def test_proxied_urls_go_through_the_proxy_and_no_proxy_is_honoured(
        kind: HttpTransportKind, monkeypatch: pytest.MonkeyPatch) -> None:
    # The test server plays the proxy: a proxied http:// request arrives in absolute form.
    async with running(ok) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        async with make_http_client(transport=kind) as client:
            response = await client.get("http://aws.example.invalid/x?y=1")
        assert response.json() == {"path": "http://aws.example.invalid/x?y=1"}
        monkeypatch.setenv("NO_PROXY", "aws.example.invalid")
        async with make_http_client(transport=kind) as client:
            with pytest.raises(httpx2.ConnectError):  # direct, and the name does not resolve
                await client.get("http://aws.example.invalid/x")
    assert len(proxy.seen) == 1


async def test_the_transport_sends_proxied_calls_through_the_proxy_and_the_rest_direct(
        kind: HttpTransportKind, monkeypatch: pytest.MonkeyPatch) -> None:
    # The Transport skips httpx2's client layer only when no proxy covers any URL.
    endpoint = Endpoint(url="http://aws.example.invalid", signing_region="us-east-1",
                        partition="aws")

    def transport(client: httpx2.AsyncClient) -> Transport:
        return Transport(client, limiter=trio.CapacityLimiter(4),
                         rates=RateLimits(default_rate=float("inf")),
                         policy=CallPolicy(attempts=1), stats=CallStats())

    async with running(ok) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        async with make_http_client(transport=kind) as client:
            assert direct_transport(client) is None
            answer = await transport(client).call(endpoint, list_accounts_request("t"),
                                                  service="sso", scope="portal")
        assert answer["path"].startswith("http://aws.example.invalid/assignment/accounts?")
        assert len(proxy.seen) == 1
        monkeypatch.delenv("HTTP_PROXY")
        monkeypatch.setenv("NO_PROXY", "aws.example.invalid")  # NO_PROXY alone: all direct
        async with make_http_client(transport=kind) as client:
            direct = direct_transport(client)
            assert (direct is client._transport) if kind is HttpTransportKind.LEAN \
                else direct is None
            with pytest.raises(TransportError):  # direct, and the name does not resolve
                await transport(client).call(endpoint, list_accounts_request("t"),
                                             service="sso", scope="portal")
        assert len(proxy.seen) == 1


def test_transport_kind_from_the_environment() -> None:
    assert transport_kind({}) is HttpTransportKind.LEAN
    assert transport_kind({"EKSTRIO_HTTP_TRANSPORT": "HTTPX2"}) is HttpTransportKind.HTTPX2
    with pytest.raises(ConfigError, match="EKSTRIO_HTTP_TRANSPORT='curl': use 'lean' or"):
        transport_kind({"EKSTRIO_HTTP_TRANSPORT": "curl"})


async def test_lean_is_used_for_direct_connections_only(monkeypatch: pytest.MonkeyPatch) -> None:
    async with make_http_client(transport=HttpTransportKind.LEAN) as client:
        assert isinstance(client._transport, LeanTransport)
    async with make_http_client(transport=HttpTransportKind.HTTPX2) as client:
        assert not isinstance(client._transport, LeanTransport)


# ---------------------------------------------------------------------------------- body cap
@pytest.fixture(params=["client", "transport"])
def via(request: pytest.FixtureRequest) -> str:
    """How a body is read: ``read_capped`` over ``client.send``, or a whole
    ``Transport.call`` (over the lean transport, its direct path: no httpx2 models)."""
    return request.param  # type: ignore[no-any-return]


async def read(client: httpx2.AsyncClient, url: str, limit: int = MAX_BODY,
               via: str = "client") -> bytes:
    if via == "transport":
        base, _, path = url.partition("/x/")
        answer = await capped_transport(client, limit).call(
            Endpoint(base, "us-east-1", "aws"), WireRequest("GET", f"/x/{path}"),
            service="eks", scope=("eks", "1", "us-east-1"), decode=lambda body: {"body": body})
        return answer["body"]  # type: ignore[no-any-return]
    request = client.build_request("GET", url)
    response = await client.send(request, stream=True)
    try:
        return await read_capped(response, limit, service="eks")
    finally:
        await response.aclose()


def capped_transport(client: httpx2.AsyncClient, limit: int = MAX_BODY) -> Transport:
    return Transport(client, limiter=trio.CapacityLimiter(4),
                     rates=RateLimits(default_rate=float("inf")), policy=CallPolicy(attempts=1),
                     stats=CallStats(), max_body=limit)


async def test_a_coded_answer_is_decoded_and_a_plain_one_read_as_sent(
        kind: HttpTransportKind, via: str) -> None:
    # ekstrio asks for identity; a server that compresses anyway is still understood.
    import gzip

    def coded(seen: Seen) -> Action:
        if seen.target == b"/x/gzip":
            return Action(body=gzip.compress(b'{"coded": true}'),
                          headers=((b"content-type", b"application/json"),
                                   (b"content-encoding", b"gzip")))
        return Action(body=b'{"coded": false}')

    async with running(coded) as server, make_http_client(transport=kind) as client:
        assert await read(client, f"{server.url}/x/gzip", via=via) == b'{"coded": true}'
        assert await read(client, f"{server.url}/x/plain", via=via) == b'{"coded": false}'


async def test_an_endless_body_fails_the_call_with_bounded_memory(
        kind: HttpTransportKind, via: str) -> None:
    def endless(seen: Seen) -> Action:
        return Action(endless=True) if seen.target == b"/x/endless" else Action()

    async with running(endless) as server, make_http_client(transport=kind) as client:
        tracemalloc.start()
        try:
            with pytest.raises(ResponseTooLargeError,
                               match=r"eks: the answer went past 1,048,576 bytes"):
                await read(client, f"{server.url}/x/endless", via=via)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        # The call held at most the cap plus a chunk or two, never what the server sent.
        assert peak < 3 * MAX_BODY
        # The half-read connection is not reused: the next call gets a fresh one.
        assert await read(client, f"{server.url}/x/after", via=via) == b"{}"
    assert server.connections == 2


async def test_a_declared_length_over_the_cap_is_refused_unread(kind: HttpTransportKind,
                                                               via: str) -> None:
    big = MAX_BODY + 1

    async with running(lambda seen: Action(content_length=big, body=b"x")) as server, \
            make_http_client(transport=kind) as client:
        with pytest.raises(ResponseTooLargeError, match="1,048,577 bytes, more than"):
            await read(client, f"{server.url}/x/big", via=via)


async def test_a_body_at_the_cap_is_read_whole(kind: HttpTransportKind, via: str) -> None:
    body = b"y" * 4096
    async with running(lambda seen: Action(body=body)) as server, \
            make_http_client(transport=kind) as client:
        assert await read(client, f"{server.url}/x/exact", len(body), via) == body
        with pytest.raises(ResponseTooLargeError):
            await read(client, f"{server.url}/x/over", len(body) - 1, via)


# ------------------------------------------------------------------------- lean transport only
def lean_client(**kwargs: float) -> httpx2.AsyncClient:
    import ssl

    return httpx2.AsyncClient(transport=LeanTransport(ssl.create_default_context(), **kwargs))


@pytest.mark.parametrize(("method", "sent"), [("GET", 2), ("POST", 1)])
async def test_lean_sends_again_after_a_close_it_could_not_see_only_when_safe(
        monkeypatch: pytest.MonkeyPatch, method: str, sent: int) -> None:
    # The server closes after each answer; pretend the idle check missed it (the close
    # raced the request): an idempotent request goes again on a fresh connection, a POST
    # that may have reached the server does not.
    monkeypatch.setattr("ekstrio.aws.lean_http._Connection.readable", lambda self: False)
    async with running(lambda seen: Action(close_after=True)) as server, lean_client() as client:
        await client.request(method, f"{server.url}/1", content=b"{}")
        await trio.sleep(0.05)
        if method == "GET":
            assert (await client.get(f"{server.url}/2")).status_code == 200
        else:
            with pytest.raises(httpx2.RemoteProtocolError):
                await client.post(f"{server.url}/2", content=b"{}")
    assert (len(server.seen), server.connections) == (sent, sent)


async def test_lean_closes_connections_idle_past_their_expiry(
        autojump_clock: trio.testing.MockClock) -> None:
    async with running(ok) as server, lean_client(keepalive_expiry=5.0) as client:
        await client.get(f"{server.url}/1")
        await trio.sleep(1.0)
        await client.get(f"{server.url}/2")  # reused
        await trio.sleep(6.0)
        await client.get(f"{server.url}/3")  # expired: a new connection
    assert server.connections == 2


async def test_lean_keeps_at_most_max_idle_connections() -> None:
    async with running(ok) as server, lean_client(max_idle=3) as client:
        async with trio.open_nursery() as nursery:
            for n in range(8):
                nursery.start_soon(client.get, f"{server.url}/{n}")
        assert client._transport.idle_connections() == 3  # type: ignore[attr-defined]


# ------------------------------------------------------------- the body cap, Transport and scan
def endless_for(prefix: bytes) -> Callable[[Seen], Action]:
    def handler(seen: Seen) -> Action:
        return Action(endless=True) if seen.target.startswith(prefix) else Action()
    return handler


async def test_transport_fails_an_endless_answer_once_without_retrying(
        kind: HttpTransportKind) -> None:
    from ekstrio.aws.endpoints import Endpoint
    from ekstrio.aws.transport import CallPolicy, CallStats, RateLimits, Transport
    from ekstrio.aws.wire import WireRequest

    async with running(endless_for(b"/clusters")) as server, \
            make_http_client(transport=kind) as client:
        t = Transport(client, limiter=trio.CapacityLimiter(4),
                      rates=RateLimits(default_rate=float("inf")),
                      policy=CallPolicy(attempts=5, backoff_initial=0.0, backoff_max=0.0),
                      stats=CallStats(), max_body=256 * 1024)
        with pytest.raises(ResponseTooLargeError, match="eks: the answer went past 262,144"):
            await t.call(Endpoint(server.url, "us-east-1", "aws"), WireRequest("GET", "/clusters"),
                         service="eks", scope=("eks", "1", "us-east-1"))
        assert (t.stats.calls, t.stats.retries, t.stats.errors) == (1, 0, 1)
        # The same Transport goes on working.
        assert await t.call(Endpoint(server.url, "us-east-1", "aws"), WireRequest("GET", "/x"),
                            service="eks", scope=("eks", "1", "us-east-1")) == {}


async def test_a_scan_reports_endless_answers_as_errors_and_finishes(
        kind: HttpTransportKind, sim: object, monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    from ekstrio.model import SsoSession
    from ekstrio.scan import ScanRequest, run_scan
    from ekstrio.scan_aws import open_scan
    from ekstrio.scan_records import ScanCollector
    from ekstrio.settings import load_preset
    from ekstrio.sim.testing import SimHandle

    assert isinstance(sim, SimHandle)
    monkeypatch.setenv("EKSTRIO_HTTP_TRANSPORT", kind.value)
    preset = dataclasses.replace(load_preset("aggressive"), workers=8, portal_rps=10_000.0,
                                 eks_rps=10_000.0, call_timeout=10.0, attempts=3,
                                 backoff_initial=0.01, backoff_max=0.05)
    session = SsoSession(sim.start_url, sim.sso_region)
    token = sim.issue_token()

    async def access_token() -> str:
        return token

    async with running(endless_for(b"/clusters")) as eks:
        env = {**sim.env, "AWS_ENDPOINT_URL_EKS": eks.url}
        async with open_scan(session, preset, access_token=lambda _t: access_token, env=env,
                             refresh=True, use_list_cache=False) as (api, _):
            report = await run_scan(ScanRequest(regions=("us-east-1",)), api,
                                    collector=ScanCollector(stats=api.t.stats))
    assert report.clusters == ()
    assert report.errors
    assert {(e.stage, e.code) for e in report.errors} == {("list_clusters",
                                                           "ResponseTooLargeError")}
    assert all("1,048,576 bytes" in e.message for e in report.errors)
    assert not report.complete
    assert len(eks.seen) == len(report.errors)  # one call each: not retried


async def test_ekstrio_token_reads_at_most_the_cap_too() -> None:
    # `ekstrio token`'s cold path fetches role credentials with urllib (no httpx2 on kubectl's
    # path); an endless answer fails it with the same typed error instead of filling memory.
    from ekstrio import token_credentials
    from ekstrio.aws import urllib_send
    from ekstrio.exec_plugin import TokenArgs

    args = TokenArgs(cluster="c", region="us-east-1", account_id="111122223333",
                     role="Admin", sso_region="us-east-1")
    async with running(endless_for(b"/federation/credentials")) as portal:
        env = {"AWS_ENDPOINT_URL_SSO": portal.url}
        with pytest.raises(ResponseTooLargeError, match="went past 1,048,576 bytes"):
            await trio.to_thread.run_sync(token_credentials.fetch_role_credentials, args, "tok",
                                          "us-east-1", env)
    assert urllib_send.MAX_BODY == MAX_BODY


# ------------------------------------------------- answers written byte by byte (the codec)
@asynccontextmanager
async def serving(serve_one: Callable[[trio.SocketStream], Awaitable[None]]
                  ) -> AsyncIterator[str]:
    """``serve_one`` on each connection to a loopback port; yields the port's URL."""
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, serve_one, 0, host="127.0.0.1"))
        yield f"http://127.0.0.1:{listeners[0].socket.getsockname()[1]}"
        nursery.cancel_scope.cancel()


async def read_head(stream: trio.SocketStream, buffer: bytes) -> tuple[bytes, bytes] | None:
    """A request head (without its empty line) and the bytes after it; None at EOF."""
    while b"\r\n\r\n" not in buffer:
        data = await stream.receive_some(65536)
        if not data:
            return None
        buffer += data
    head, rest = buffer.split(b"\r\n\r\n", 1)
    return head, rest


@asynccontextmanager
async def raw_server(answers: list[bytes]) -> AsyncIterator[tuple[str, list[int]]]:
    """A server that reads each request head and writes the next of ``answers`` as given
    (a ``b""`` after an answer closes the connection right after it). Yields its URL and a
    list counting its connections."""
    connections: list[int] = []
    queue = list(answers)

    async def serve_one(stream: trio.SocketStream) -> None:
        connections.append(1)
        buffer = b""
        async with stream:
            while queue:
                read = await read_head(stream, buffer)
                if read is None:
                    return
                _, buffer = read
                answer = queue.pop(0)
                for piece in (answer[:7], answer[7:]):  # never the whole head in one read
                    await stream.send_all(piece)
                    await trio.sleep(0.01)
                if queue and not queue[0]:
                    queue.pop(0)
                    return

    async with serving(serve_one) as url:
        yield url, connections


async def test_chunked_informational_and_close_delimited_answers_read_alike(
        kind: HttpTransportKind) -> None:
    answers = [
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"4;x=y\r\nchun\r\n3\r\nked\r\n0\r\nTrailer: t\r\n\r\n",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nafter",
        b"HTTP/1.1 204 No Content\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n\r\nuntil the close",  # close-delimited: the server closes next
        b"",
    ]
    async with raw_server(answers) as (url, connections), \
            make_http_client(transport=kind) as client:
        assert (await client.get(f"{url}/1")).content == b"chunked"
        assert (await client.get(f"{url}/2")).content == b"after"
        assert (await client.get(f"{url}/3")).status_code == 204
        with trio.fail_after(5):
            assert (await client.get(f"{url}/4")).content == b"until the close"
    assert len(connections) == 1  # the first three on one kept-alive connection


@pytest.mark.parametrize("answer", [
    b"HTTP/1.1 2OO OK\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nBad Header: x\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",  # then the server closes
])
async def test_malformed_answers_are_remote_protocol_errors(kind: HttpTransportKind,
                                                            answer: bytes) -> None:
    async with raw_server([answer, b""]) as (url, _), make_http_client(transport=kind) as client:
        with trio.fail_after(5), pytest.raises(httpx2.RemoteProtocolError):
            await client.get(f"{url}/x")


async def test_lean_never_reuses_a_connection_with_bytes_after_the_answer() -> None:
    answers = [b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA",
               b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"]
    async with raw_server(answers) as (url, connections), lean_client() as client:
        assert (await client.get(f"{url}/1")).content == b"ok"
        assert (await client.get(f"{url}/2")).content == b"ok"
    assert len(connections) == 2


async def test_lean_refuses_to_write_a_header_that_would_split_the_request() -> None:
    async with raw_server([]) as (url, connections), lean_client() as client:
        with pytest.raises(httpx2.LocalProtocolError):
            await client.get(f"{url}/x", headers={"x-token": "a\rb"})
    assert connections == []


# ------------------------------------------------------ the Transport's direct path (no models)
@asynccontextmanager
async def recording_server() -> AsyncIterator[tuple[str, list[bytes]]]:
    """A server that records each request exactly as its bytes arrived (head and body) and
    answers ``{}``. Yields its URL and the list of requests."""
    requests: list[bytes] = []

    async def serve_one(stream: trio.SocketStream) -> None:
        buffer = b""
        async with stream:
            while True:
                read = await read_head(stream, buffer)
                if read is None:
                    return
                head, buffer = read
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.lower() == b"content-length":
                        length = int(value)
                while len(buffer) < length:
                    buffer += await stream.receive_some(65536)
                requests.append(head + b"\r\n\r\n" + buffer[:length])
                buffer = buffer[length:]
                await stream.send_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")

    async with serving(serve_one) as url:
        yield url, requests


def three_paths() -> list[tuple[str, httpx2.AsyncClient]]:
    """The three ways a Transport reaches the network: the direct path (no httpx2 models),
    the same lean transport under a client make_http_client did not make (client.send and
    httpx2's request model), and httpx2's own transport."""
    import ssl

    lean = make_http_client(transport=HttpTransportKind.LEAN)
    modelled = httpx2.AsyncClient(transport=LeanTransport(ssl.create_default_context()),
                                  headers=lean.headers)
    paths = [("direct", lean), ("modelled", modelled),
             ("httpx2", make_http_client(transport=HttpTransportKind.HTTPX2))]
    for name, client in paths:
        assert (direct_transport(client) is not None) == (name == "direct")
    return paths


async def test_the_direct_path_writes_the_bytes_httpx2s_client_path_writes() -> None:
    from datetime import UTC, datetime, timedelta

    from ekstrio.aws.sigv4_auth import SigV4Auth
    from ekstrio.model import RoleCredentials

    creds = RoleCredentials("ASIAEXAMPLEKEY000000", "secret" * 7, "token" * 20,
                            datetime.now(UTC) + timedelta(hours=1))
    auth = SigV4Auth(creds, "eks", "us-east-1", clock=lambda: 1_700_000_000.0)
    calls = [
        WireRequest("GET", "/clusters", query=(("maxResults", "100"), ("nextToken", "a/b+c="))),
        WireRequest("POST", "/", headers=(("Content-Type", "application/x-amz-json-1.1"),
                                          ("Accept", "application/json")), body=b'{"k": 1}'),
        WireRequest("POST", "/empty"),
        WireRequest("GET", "/h", headers=(("User-Agent", "mine"),)),
    ]
    seen: dict[str, list[bytes]] = {}
    async with recording_server() as (url, requests):
        for name, client in three_paths():
            async with client:
                transport = capped_transport(client)
                for request in calls:
                    assert await transport.call(Endpoint(url, "us-east-1", "aws"), request,
                                                service="eks", scope=("eks", "1", "us-east-1"),
                                                auth=auth) == {}
            seen[name], requests[:] = list(requests), []
    assert len(seen["direct"]) == len(calls)
    assert b"Authorization: AWS4-HMAC-SHA256" in seen["direct"][0]
    assert seen["direct"] == seen["modelled"] == seen["httpx2"]


@pytest.mark.parametrize("kind", [HttpTransportKind.LEAN])
async def test_the_direct_path_reads_every_framing_and_refuses_malformed_answers(
        kind: HttpTransportKind) -> None:
    answers = [
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"4;x=y\r\nchun\r\n3\r\nked\r\n0\r\nTrailer: t\r\n\r\n",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nafter",
        b"HTTP/1.1 204 No Content\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n\r\nuntil the close",
        b"",
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        b"",
    ]
    async with raw_server(answers) as (url, connections), \
            make_http_client(transport=kind) as client:
        assert direct_transport(client) is not None
        with trio.fail_after(5):
            assert await read(client, f"{url}/x/1", via="transport") == b"chunked"
            assert await read(client, f"{url}/x/2", via="transport") == b"after"
            assert await read(client, f"{url}/x/3", via="transport") == b""
            assert await read(client, f"{url}/x/4", via="transport") == b"until the close"
            with pytest.raises(TransportError, match="RemoteProtocolError"):
                await read(client, f"{url}/x/5", via="transport")
    assert len(connections) == 2  # the first three on one kept-alive connection


async def test_lean_socket_io_writes_without_a_scheduler_trip_and_reads_at_a_checkpoint(
) -> None:
    import socket

    from ekstrio.aws.lean_http import _SocketIO

    left, right = socket.socketpair()
    writer, reader = _SocketIO(left), _SocketIO(right)

    class Steps(trio.abc.Instrument):
        count = 0

        def before_task_step(self, task: trio.lowlevel.Task) -> None:
            self.count += 1

    steps = Steps()
    trio.lowlevel.add_instrument(steps)
    try:
        await writer.send_all(b"request")
        assert steps.count == 0  # never left the task: no trip through the scheduler
        with trio.testing.assert_checkpoints():  # the answer was there already: still one
            assert await reader.receive_some() == b"request"
        assert steps.count == 1
    finally:
        trio.lowlevel.remove_instrument(steps)
    with trio.CancelScope() as scope:
        scope.cancel()
        with pytest.raises(trio.Cancelled):
            await writer.send_all(b"never")
    assert not scope.cancelled_caught
    # Closing wakes a task waiting to read, as trio's own sockets do.
    async with trio.open_nursery() as nursery:
        async def wait_for_answer() -> None:
            with pytest.raises(trio.ClosedResourceError):
                await reader.receive_some()
        nursery.start_soon(wait_for_answer)
        await trio.testing.wait_all_tasks_blocked()
        reader.close()
    writer.close()
    with pytest.raises(OSError, match="Bad file descriptor"):
        await writer.send_all(b"closed")


async def test_an_error_answer_reads_alike_on_the_direct_modelled_and_httpx2_paths() -> None:
    """The direct path reads an error's headers from the lean transport's raw lines (no
    httpx2.Headers): names in any case, the first of a repeated one, as httpx2's paths do."""

    from ekstrio.errors import ThrottlingError

    body = b'{"message": "slow down"}'
    answer = (b"HTTP/1.1 429 Too Many Requests\r\nX-Amzn-RequestId: first-id\r\n"
              b"x-amzn-requestid: second-id\r\nRETRY-AFTER: 7\r\n"
              b"x-amzn-ErrorType: ThrottlingException:http://internal.amazon.com/\r\n"
              b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    async with raw_server([answer] * 3) as (url, _):
        for name, client in three_paths():
            async with client:
                with trio.fail_after(5), pytest.raises(ThrottlingError) as info:
                    await capped_transport(client).call(
                        Endpoint(url, "us-east-1", "aws"), WireRequest("GET", "/x"),
                        service="eks", scope=("eks", "1", "us-east-1"))
            error = info.value
            assert (name, error.code, error.status, error.request_id, error.retry_after,
                    str(error.message)) == (name, "ThrottlingException", 429, "first-id", 7.0,
                                            "slow down")
