"""aws/transport: per-scope rate limits, retries, per-attempt timeouts, counters.

Time is trio's autojump clock: sleeps cost nothing and times are exact.
"""

from __future__ import annotations

import math
import ssl
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

import certifi
import httpx2
import pytest
import trio
from wire_fakes import aws_error, make_transport

from ekstrio.aws.call_stats import CallStats
from ekstrio.aws.endpoints import Endpoint
from ekstrio.aws.transport import (
    CallPolicy,
    RateLimits,
    ScopeBucket,
    Transport,
    make_http_client,
)
from ekstrio.aws.wire import WireRequest
from ekstrio.errors import (
    AccessDeniedError,
    CallTimeoutError,
    ConfigError,
    InvalidRequestError,
    ThrottlingError,
    TransportError,
)

ENDPOINT = Endpoint("https://api.test", "us-east-1", "aws")
Handler = Callable[[httpx2.Request], Awaitable[httpx2.Response]]


pytestmark = pytest.mark.usefixtures("live_retries")


def client_for(handler: Handler) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(transport=httpx2.MockTransport(handler))


def policy(**overrides: float) -> CallPolicy:
    values: dict[str, float] = {"call_timeout": 30.0, "attempts": 5, "backoff_initial": 1.0,
                                "backoff_max": 1.0, "backoff_jitter": 0.0}
    values.update(overrides)
    return CallPolicy(**values)  # type: ignore[arg-type]


def get(path: str) -> WireRequest:
    return WireRequest("GET", path)


async def test_success_returns_json_and_counts_one_call() -> None:
    async def handler(request: httpx2.Request) -> httpx2.Response:
        assert request.headers["x-test"] == "1"
        assert request.url.query == b"a=x%2By"
        return httpx2.Response(200, json={"ok": True})

    async with client_for(handler) as client:
        t = make_transport(client, policy=policy())
        doc = await t.call(ENDPOINT, WireRequest("GET", "/p", (("a", "x+y"),), (("x-test", "1"),)),
                           service="eks", scope=("eks", "1", "us-east-1"))
    assert doc == {"ok": True}
    assert (t.stats.calls, t.stats.retries, t.stats.throttles, t.stats.errors) == (1, 0, 0, 0)


async def test_a_request_header_replaces_the_clients_default_of_that_name() -> None:
    seen: list[httpx2.Request] = []

    async def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, json={})

    async with httpx2.AsyncClient(transport=httpx2.MockTransport(handler),
                                  headers={"User-Agent": "ekstrio/test"}) as client:
        t = make_transport(client, policy=policy())
        await t.call(ENDPOINT, WireRequest("GET", "/p", (), (("Accept", "application/json"),)),
                     service="sts", scope=("sts", "1"))
    assert seen[0].headers.get_list("accept") == ["application/json"]
    assert seen[0].headers.get_list("user-agent") == ["ekstrio/test"]


async def test_throttled_scope_slows_down_while_another_keeps_its_pace(
    autojump_clock: trio.testing.MockClock,
) -> None:
    calls = {"/a": 0, "/b": 0}

    async def handler(request: httpx2.Request) -> httpx2.Response:
        calls[request.url.path] += 1
        if request.url.path == "/a" and calls["/a"] == 1:
            return aws_error("TooManyRequestsException", 429)
        return httpx2.Response(200, json={})

    finished: dict[str, float] = {}
    async with client_for(handler) as client:
        t = make_transport(client, policy=policy(backoff_initial=0.1, backoff_max=0.1),
                           rates=RateLimits(default_rate=1.0, rates={"a": 10.0, "b": 10.0}))

        async def run(kind: str) -> None:
            for _ in range(40):
                await t.call(ENDPOINT, get(f"/{kind}"), service="x", scope=(kind, "k"))
            finished[kind] = trio.current_time()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(run, "a")
            nursery.start_soon(run, "b")
    # b: a burst of 10, then 30 more at 10/s, exactly as if a did not exist.
    assert finished["b"] == pytest.approx(3.0)
    # a: halved to 5/s with its burst dropped, climbing back slowly: clearly slower.
    assert finished["a"] > 5.0
    assert t.bucket(("a", "k")).rate < 10.0
    assert t.bucket(("b", "k")).rate == 10.0
    assert (t.stats.throttles, t.stats.retries, t.stats.calls) == (1, 1, 81)


async def test_throttled_scope_recovers_gradually(autojump_clock: trio.testing.MockClock) -> None:
    bucket = ScopeBucket(8.0, floor=0.5, recovery_s=30.0)  # climbs (8 - 0.5) / 30 = 0.25/s
    await bucket.acquire()
    bucket.throttled()
    assert (bucket.rate, bucket.tokens) == (4.0, 0.0)
    # More throttles within the same second do not cut again (one burst = one signal).
    bucket.throttled()
    assert bucket.rate == 4.0
    await trio.sleep(2.0)
    bucket.throttled()
    assert bucket.rate == pytest.approx((4.0 + 2 * 0.25) / 2)
    # Never below the floor, however often it is cut.
    for _ in range(10):
        await trio.sleep(1.0)
        bucket.throttled()
    assert bucket.rate == 0.5
    # Then it climbs back linearly, up to its configured rate and no further.
    await trio.sleep(6.0)
    await bucket.acquire()
    assert bucket.rate == pytest.approx(0.5 + 6 * 0.25)
    await trio.sleep(60.0)
    await bucket.acquire()
    assert bucket.rate == 8.0


async def test_timeout_fires_at_exactly_call_timeout(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async def handler(request: httpx2.Request) -> httpx2.Response:
        await trio.sleep_forever()
        raise AssertionError("unreachable")

    async with client_for(handler) as client:
        t = make_transport(client, policy=policy(call_timeout=7.0, attempts=1))
        start = trio.current_time()
        with pytest.raises(CallTimeoutError, match="7 s"):
            await t.call(ENDPOINT, get("/slow"), service="eks", scope=("eks", "1", "r"))
        assert trio.current_time() - start == 7.0
        assert (t.stats.calls, t.stats.errors) == (1, 1)


async def test_each_attempt_has_its_own_timeout_then_backoff(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async def handler(request: httpx2.Request) -> httpx2.Response:
        await trio.sleep_forever()
        raise AssertionError("unreachable")

    async with client_for(handler) as client:
        t = make_transport(client, policy=policy(call_timeout=5.0, attempts=3,
                                                 backoff_initial=1.0, backoff_max=1.0))
        with pytest.raises(CallTimeoutError):
            await t.call(ENDPOINT, get("/slow"), service="eks", scope=("eks", "1", "r"))
        # 5 s + 1 s backoff + 5 s + 1 s backoff + 5 s.
        assert trio.current_time() == 17.0
        assert (t.stats.calls, t.stats.retries, t.stats.errors) == (3, 2, 1)


async def test_retry_honours_retry_after(autojump_clock: trio.testing.MockClock) -> None:
    seen: list[tuple[str, float]] = []

    async def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append((request.url.path, trio.current_time()))
        if len(seen) == 1:
            return aws_error("TooManyRequestsException", 429, headers={"Retry-After": "3"})
        return httpx2.Response(200, json={})

    async with client_for(handler) as client:
        t = make_transport(client, policy=policy(backoff_initial=0.1, backoff_max=0.1))

        async def later(path: str, scope: tuple[str, str]) -> None:
            await trio.sleep(1.0)
            await t.call(ENDPOINT, get(path), service="sso", scope=scope)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(partial(t.call, ENDPOINT, get("/first"), service="sso",
                                       scope=("portal", "t1")))
            nursery.start_soon(later, "/same-scope", ("portal", "t1"))
            nursery.start_soon(later, "/other-scope", ("portal", "t2"))
    assert sorted(seen, key=lambda item: (item[1], item[0])) == [
        ("/first", 0.0),
        # Another scope is not held back by t1's Retry-After ...
        ("/other-scope", 1.0),
        # ... the retry waits the 3 s asked, not the 0.1 s backoff, and the
        # scope's other callers wait with it.
        ("/first", 3.0),
        ("/same-scope", 3.0),
    ]
    assert (t.stats.calls, t.stats.retries, t.stats.throttles) == (4, 1, 1)


async def test_server_errors_and_transport_errors_are_retried(
    autojump_clock: trio.testing.MockClock,
) -> None:
    answers: list[httpx2.Response | Exception] = [
        aws_error("ServiceUnavailableException", 503),
        httpx2.ConnectError("Connection refused"),
        httpx2.RemoteProtocolError("peer closed"),
        httpx2.Response(200, json={"done": 1}),
    ]

    async def handler(request: httpx2.Request) -> httpx2.Response:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async with client_for(handler) as client:
        t = make_transport(client, policy=policy(backoff_initial=0.5, backoff_max=2.0))
        assert await t.call(ENDPOINT, get("/x"), service="eks", scope=("eks", "1", "r")) == {
            "done": 1}
    # Exponential backoff between attempts: 0.5 + 1 + 2.
    assert trio.current_time() == 3.5
    assert (t.stats.calls, t.stats.retries, t.stats.throttles, t.stats.errors) == (4, 3, 0, 0)


async def test_retries_are_bounded_by_attempts(autojump_clock: trio.testing.MockClock) -> None:
    async def handler(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("Connection refused")

    async with client_for(handler) as client:
        t = make_transport(client, policy=policy(attempts=4, backoff_initial=0.1))
        with pytest.raises(TransportError, match="Connection refused"):
            await t.call(ENDPOINT, get("/x"), service="eks", scope=("eks", "1", "r"))
    assert (t.stats.calls, t.stats.retries, t.stats.errors) == (4, 3, 1)


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        (aws_error("AccessDeniedException", 403), AccessDeniedError),
        (aws_error("InvalidParameterException", 400), InvalidRequestError),
        (aws_error("UnrecognizedClientException", 403), AccessDeniedError),
    ],
)
async def test_final_errors_are_not_retried(answer: httpx2.Response, kind: type[Exception],
                                            autojump_clock: trio.testing.MockClock) -> None:
    async def handler(request: httpx2.Request) -> httpx2.Response:
        return answer

    async with client_for(handler) as client:
        t = make_transport(client, policy=policy())
        with pytest.raises(kind):
            await t.call(ENDPOINT, get("/x"), service="eks", scope=("eks", "1", "r"))
    assert (t.stats.calls, t.stats.retries, t.stats.errors) == (1, 0, 1)
    assert trio.current_time() == 0.0


async def test_throttle_after_all_attempts_surfaces_as_throttling_error(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async def handler(request: httpx2.Request) -> httpx2.Response:
        return aws_error("TooManyRequestsException", 429)

    async with client_for(handler) as client:
        t = make_transport(client, policy=policy(attempts=3, backoff_initial=0.1))
        with pytest.raises(ThrottlingError) as info:
            await t.call(ENDPOINT, get("/x"), service="sso", scope=("portal", "t"))
    assert info.value.request_id == "req-123"
    assert (t.stats.calls, t.stats.retries, t.stats.throttles, t.stats.errors) == (3, 2, 3, 1)


async def test_capacity_limiter_bounds_requests_in_flight(
    autojump_clock: trio.testing.MockClock,
) -> None:
    in_flight = 0
    peak = 0

    async def handler(request: httpx2.Request) -> httpx2.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await trio.sleep(1.0)
        in_flight -= 1
        return httpx2.Response(200, json={})

    async with client_for(handler) as client:
        t = make_transport(client, policy=policy(), in_flight=3)
        async with trio.open_nursery() as nursery:
            for i in range(10):
                nursery.start_soon(partial(t.call, ENDPOINT, get("/x"), service="eks",
                                               scope=("eks", str(i), "r")))
    assert peak == 3
    assert trio.current_time() == 4.0


async def test_an_unqueued_scope_does_not_wait_behind_the_limiter(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # The portal is a cold scan's critical path: with the limiter full of EKS calls, a
    # portal call still goes out at once (bounded by its own scope's in-flight slots).
    started: dict[str, float] = {}

    async def handler(request: httpx2.Request) -> httpx2.Response:
        started[request.url.path] = trio.current_time()
        await trio.sleep(1.0)
        return httpx2.Response(200, json={})

    async with client_for(handler) as client:
        t = Transport(client, limiter=trio.CapacityLimiter(2),
                      rates=RateLimits(default_rate=math.inf), policy=policy(),
                      stats=CallStats(), unqueued=("portal",))
        async with trio.open_nursery() as nursery:
            for i in range(4):
                nursery.start_soon(partial(t.call, ENDPOINT, get(f"/eks{i}"), service="eks",
                                           scope=("eks", str(i), "r")))
            await trio.sleep(0.5)
            nursery.start_soon(partial(t.call, ENDPOINT, get("/portal"), service="sso",
                                       scope=("portal", "t")))
            nursery.start_soon(partial(t.call, ENDPOINT, get("/eks-late"), service="eks",
                                       scope=("eks", "late", "r")))
    assert started["/portal"] == 0.5  # not behind the four queued EKS calls
    assert started["/eks-late"] == 2.0  # EKS calls still queue: two at a time
    assert sorted(started[f"/eks{i}"] for i in range(4)) == [0.0, 0.0, 1.0, 1.0]


async def test_rate_wait_does_not_eat_into_the_call_timeout(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async def handler(request: httpx2.Request) -> httpx2.Response:
        await trio.sleep(1.5)
        return httpx2.Response(200, json={})

    async with client_for(handler) as client:
        # 1 request/s, burst 1: the 4th request waits 3 s for its token, then
        # still gets its full 2 s to answer.
        t = make_transport(client, policy=policy(call_timeout=2.0, attempts=1),
                           rates=RateLimits(default_rate=1.0))
        async with trio.open_nursery() as nursery:
            for _ in range(4):
                nursery.start_soon(partial(t.call, ENDPOINT, get("/x"), service="eks",
                                               scope=("eks", "1", "r")))
    assert t.stats.errors == 0
    assert trio.current_time() == 4.5


async def test_cancellation_is_not_retried_or_counted(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async def handler(request: httpx2.Request) -> httpx2.Response:
        await trio.sleep_forever()
        raise AssertionError("unreachable")

    async with client_for(handler) as client:
        t = make_transport(client, policy=policy(call_timeout=100.0))
        with trio.move_on_after(3.0) as scope:
            await t.call(ENDPOINT, get("/x"), service="eks", scope=("eks", "1", "r"))
    assert scope.cancelled_caught
    assert (t.stats.calls, t.stats.retries, t.stats.errors) == (1, 0, 0)


def test_rate_limits_pick_rate_by_scope_kind() -> None:
    limits = RateLimits(default_rate=3.0, rates={"portal": 20.0, "eks": 10.0})
    assert limits.rate_for(("portal", "abc")) == 20.0
    assert limits.rate_for(("eks", "1", "r")) == 10.0
    assert limits.rate_for(("sts", "1")) == 3.0
    assert limits.rate_for("portal") == 20.0
    assert limits.rate_for(()) == 3.0
    assert math.isinf(RateLimits(default_rate=math.inf).rate_for(("x",)))


async def test_make_http_client_defaults() -> None:
    async with make_http_client() as client:
        assert client.trust_env
        assert client.timeout.connect is None
        assert client.headers["User-Agent"].startswith("ekstrio/")


async def test_make_http_client_ca_bundle(monkeypatch: pytest.MonkeyPatch,
                                          tmp_path: Path) -> None:
    seen: list[str | None] = []
    real = ssl.create_default_context

    def spy(*args: object, cafile: str | None = None, **kw: object) -> ssl.SSLContext:
        seen.append(cafile)
        return real(cafile=cafile)

    monkeypatch.setattr(ssl, "create_default_context", spy)
    async with make_http_client(ca_bundle=certifi.where()):
        pass
    monkeypatch.setenv("AWS_CA_BUNDLE", certifi.where())
    async with make_http_client():
        pass
    assert seen[:2] == [certifi.where(), certifi.where()]
    with pytest.raises(ConfigError, match=r"missing\.pem"):
        make_http_client(ca_bundle=str(tmp_path / "missing.pem"))


# Pacing a scope: burst and scope_in_flight (what the scan sets).


async def test_burst_one_spaces_call_starts_exactly_one_over_rate(
    autojump_clock: trio.testing.MockClock,
) -> None:
    starts: dict[str, list[float]] = {"even": [], "burst": []}

    async def handler(request: httpx2.Request) -> httpx2.Response:
        starts[request.url.path.strip("/")].append(trio.current_time())
        return httpx2.Response(200, json={})

    async with client_for(handler) as client:
        even = make_transport(client, rates=RateLimits(default_rate=4.0, burst=1.0))
        plain = make_transport(client, rates=RateLimits(default_rate=4.0))
        async with trio.open_nursery() as nursery:
            for _ in range(9):
                nursery.start_soon(partial(even.call, ENDPOINT, get("/even"), service="eks",
                                           scope=("eks", "1", "r")))
                nursery.start_soon(partial(plain.call, ENDPOINT, get("/burst"), service="eks",
                                           scope=("eks", "1", "r")))
    # No initial burst: one start every 1/4 s from the first.
    assert starts["even"] == pytest.approx([k * 0.25 for k in range(9)], abs=1e-9)
    # The default keeps today's one-second burst: four at once, then 1/4 s apart.
    assert starts["burst"] == pytest.approx([0.0] * 4 + [k * 0.25 for k in range(1, 6)],
                                            abs=1e-9)


async def test_burst_one_bucket_still_halves_on_a_throttle(
    autojump_clock: trio.testing.MockClock,
) -> None:
    bucket = ScopeBucket(10.0, floor=0.5, recovery_s=1e9, burst=1.0)
    assert bucket.capacity == 1.0
    await bucket.acquire()
    await bucket.acquire()
    assert trio.current_time() == pytest.approx(0.1)
    bucket.throttled()
    assert (bucket.rate, bucket.capacity, bucket.tokens) == (5.0, 1.0, 0.0)
    await bucket.acquire()
    await bucket.acquire()
    assert trio.current_time() == pytest.approx(0.1 + 2 * 0.2)


async def test_scope_in_flight_bounds_each_scope_separately(
    autojump_clock: trio.testing.MockClock,
) -> None:
    in_flight: dict[str, int] = {"a": 0, "b": 0}
    peak: dict[str, int] = {"a": 0, "b": 0}

    async def handler(request: httpx2.Request) -> httpx2.Response:
        kind = request.url.path.strip("/")
        in_flight[kind] += 1
        peak[kind] = max(peak[kind], in_flight[kind])
        await trio.sleep(1.0)
        in_flight[kind] -= 1
        return httpx2.Response(200, json={})

    async with client_for(handler) as client:
        # No rate limit at all: only the per-scope bound holds calls back.
        t = make_transport(client, rates=RateLimits(default_rate=math.inf, scope_in_flight=3))
        async with trio.open_nursery() as nursery:
            for _ in range(10):
                for kind in ("a", "b"):
                    nursery.start_soon(partial(t.call, ENDPOINT, get(f"/{kind}"), service="eks",
                                               scope=(kind, "k")))
    assert peak == {"a": 3, "b": 3}
    assert trio.current_time() == 4.0  # ceil(10 / 3) rounds of 1 s, both scopes in parallel
    assert t.stats.calls == 20


async def test_a_scope_with_every_slot_hung_does_not_hold_back_another(
    autojump_clock: trio.testing.MockClock,
) -> None:
    sent: dict[str, list[float]] = {"a": [], "b": []}

    async def handler(request: httpx2.Request) -> httpx2.Response:
        kind = request.url.path.strip("/")
        sent[kind].append(trio.current_time())
        if kind == "a":
            await trio.sleep_forever()
        await trio.sleep(0.05)
        return httpx2.Response(200, json={})

    done_b: list[float] = []
    async with client_for(handler) as client:
        # 0 = ceil(rate) slots per scope: 2 for kind "a", 4 for kind "b".
        t = make_transport(client, policy=policy(call_timeout=1000.0),
                           rates=RateLimits(default_rate=1.0, rates={"a": 2.0, "b": 4.0},
                                            burst=1.0, scope_in_flight=0))

        async def run_b() -> None:
            for _ in range(12):
                await t.call(ENDPOINT, get("/b"), service="eks", scope=("b", "k"))
            done_b.append(trio.current_time())

        async with trio.open_nursery() as nursery:
            for _ in range(6):
                nursery.start_soon(partial(t.call, ENDPOINT, get("/a"), service="eks",
                                           scope=("a", "k")))
            nursery.start_soon(run_b)
            await trio.sleep(100.0)
            nursery.cancel_scope.cancel()
    # a: its two slots stay taken by hung calls, so only two requests ever left.
    assert sent["a"] == pytest.approx([0.0, 0.5])
    # b: one call at a time, each start 1/4 s after the previous (its answer
    # takes 0.05 s, less than the spacing), undisturbed by a's hung calls.
    assert sent["b"] == pytest.approx([k * 0.25 for k in range(12)], abs=1e-9)
    assert done_b == pytest.approx([11 * 0.25 + 0.05])


async def test_a_call_backing_off_does_not_hold_its_scope_slot(
    autojump_clock: trio.testing.MockClock,
) -> None:
    answered: dict[str, float] = {}
    first = True

    async def handler(request: httpx2.Request) -> httpx2.Response:
        nonlocal first
        path = request.url.path
        if path == "/flaky" and first:
            first = False
            return aws_error("ServiceUnavailableException", 503)
        await trio.sleep(0.5)
        answered[path] = trio.current_time()
        return httpx2.Response(200, json={})

    async with client_for(handler) as client:
        t = make_transport(client, policy=policy(backoff_initial=2.0, backoff_max=2.0),
                           rates=RateLimits(default_rate=math.inf, scope_in_flight=1))
        async with trio.open_nursery() as nursery:
            nursery.start_soon(partial(t.call, ENDPOINT, get("/flaky"), service="eks",
                                       scope=("eks", "1", "r")))
            await trio.sleep(0.1)
            nursery.start_soon(partial(t.call, ENDPOINT, get("/steady"), service="eks",
                                       scope=("eks", "1", "r")))
    # The one slot is free while /flaky sleeps its 2 s backoff: /steady goes at once
    # (holding the slot across retries would answer /steady only at 3.0).
    assert answered == pytest.approx({"/steady": 0.6, "/flaky": 2.5})
    assert (t.stats.calls, t.stats.retries) == (3, 1)


def test_rate_limits_in_flight_rule_and_validation() -> None:
    limits = RateLimits(default_rate=3.0, rates={"portal": 20.0, "eks": 2.5, "free": math.inf},
                        scope_in_flight=0)
    assert limits.in_flight_for(("portal", "t")) == 20
    assert limits.in_flight_for(("eks", "1", "r")) == 3  # ceil(2.5)
    assert limits.in_flight_for(("sts", "1")) == 3
    assert limits.in_flight_for(("free",)) is None
    assert RateLimits(default_rate=3.0).in_flight_for(("eks",)) is None
    assert RateLimits(default_rate=3.0, scope_in_flight=7).in_flight_for(("eks",)) == 7
    with pytest.raises(ValueError, match="scope_in_flight"):
        RateLimits(scope_in_flight=-1)
    with pytest.raises(ValueError, match="burst"):
        RateLimits(burst=0.5)


# ------------------------------------------------ the direct path's header lines (httpx2's)
@pytest.mark.parametrize(("method", "url", "headers", "content"), [
    ("GET", "https://eks.us-east-1.amazonaws.com/clusters?maxResults=100", [("A", "1")], b""),
    ("GET", "http://127.0.0.1:8443/x", [], b""),
    ("POST", "https://sts.amazonaws.com/", [("Content-Type", "application/x-www-form-urlencoded"),
                                           ("Accept", "application/json")], b"Action=X"),
    ("POST", "https://oidc.us-east-1.amazonaws.com/token", [("content-type", "x")], b""),
    ("PUT", "https://h.example/p", [], b""),
    ("PATCH", "https://h.example/p", [("Content-Length", "3")], b"abc"),
    ("POST", "https://h.example/p", [("Transfer-Encoding", "chunked")], b""),
    ("DELETE", "https://h.example/p", [], b"{}"),
    ("GET", "https://h.example:444/p", [("host", "other.example"), ("X-A", "1"), ("x-a", "2")],
     b""),
])
def test_request_headers_are_what_httpx2_would_write(
        method: str, url: str, headers: list[tuple[str, str]], content: bytes) -> None:
    from ekstrio.aws.http_client import request_headers
    from ekstrio.aws.lean_http import destination

    target = httpx2.URL(url)
    expected = httpx2.Request(method, target, headers=headers, content=content).headers.raw
    assert request_headers(method, destination(target).host, headers, content) == expected


def test_request_headers_refuse_what_httpx2_refuses() -> None:
    from ekstrio.aws.http_client import request_headers

    with pytest.raises(UnicodeEncodeError):
        httpx2.Request("GET", "https://h.example/", headers=[("x-t", "é")])
    with pytest.raises(UnicodeEncodeError):
        request_headers("GET", b"h.example", [("x-t", "é")], b"")


@pytest.mark.parametrize("url", [
    "https://eks.eu-west-1.amazonaws.com/clusters?maxResults=100",
    "https://EKS.example:443/x/%2F?a=%20b",  # default port, case, escapes
    "http://h.example:80/",
    "http://127.0.0.1:4566/base/clusters?x",
    "http://[::1]:8080/a?b=c",
])
def test_a_destination_is_what_httpx2_would_send_to(url: str) -> None:
    from ekstrio.aws.lean_http import destination

    target = httpx2.URL(url)
    where = destination(target)
    request = httpx2.Request("GET", target)
    assert where.host == request.headers.raw[0][1]  # httpx2's Host line
    assert where.target == target.raw_path
    assert where.origin == (target.raw_scheme, target.raw_host,
                            target.port or {b"http": 80, b"https": 443}[target.raw_scheme])


def test_a_destination_needs_http_or_https() -> None:
    from ekstrio.aws.lean_http import destination

    with pytest.raises(httpx2.UnsupportedProtocol, match="ftp"):
        destination(httpx2.URL("ftp://h.example/x"))
