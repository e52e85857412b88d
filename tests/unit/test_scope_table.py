"""aws/scope_table: a scope's pacing state is forgotten only at rest, and a table of many
scopes stays small. Time is trio's autojump clock."""

from __future__ import annotations

import itertools

import httpx2
import pytest
import trio
import trio.testing
from wire_fakes import aws_error, make_transport

from ekstrio.aws.endpoints import Endpoint
from ekstrio.aws.pacing import RateLimits, ScopeBucket
from ekstrio.aws.scope_table import ScopeTable
from ekstrio.aws.transport import CallPolicy
from ekstrio.aws.wire import WireRequest

# The scan's settings: starts 1/rate apart, ceil(rate) calls of a scope in flight.
RATES = RateLimits(default_rate=10.0, burst=1.0, scope_in_flight=0)


async def test_a_used_bucket_is_at_rest_once_refilled(
    autojump_clock: trio.testing.MockClock,
) -> None:
    bucket = ScopeBucket(10.0, floor=0.5, recovery_s=30.0, burst=1.0)
    assert bucket.at_rest(trio.current_time())
    await bucket.acquire()
    assert not bucket.at_rest(trio.current_time())  # its token is spent
    await trio.sleep(0.1)
    assert bucket.at_rest(trio.current_time())


async def test_a_throttled_bucket_is_not_at_rest_until_it_has_recovered(
    autojump_clock: trio.testing.MockClock,
) -> None:
    bucket = ScopeBucket(10.0, floor=0.5, recovery_s=30.0, burst=1.0)
    bucket.throttled(retry_after=5.0)
    await trio.sleep(4.0)
    assert not bucket.at_rest(trio.current_time())  # paused by Retry-After
    await trio.sleep(2.0)
    assert not bucket.at_rest(trio.current_time())  # still climbing back to 10/s
    await trio.sleep(30.0)
    assert bucket.at_rest(trio.current_time())


async def test_a_bucket_with_a_queue_is_not_at_rest(
    autojump_clock: trio.testing.MockClock,
) -> None:
    bucket = ScopeBucket(1.0, floor=0.5, recovery_s=30.0, burst=1.0)
    async with trio.open_nursery() as nursery:
        for _ in range(2):
            nursery.start_soon(bucket.acquire)
        await trio.testing.wait_all_tasks_blocked()
        # One took the token at once, the other waits for the next one under the lock.
        assert bucket._lock.locked()
        assert not bucket.at_rest(trio.current_time())
    assert not bucket.at_rest(trio.current_time())  # the second token was just spent
    await trio.sleep(1.0)
    assert bucket.at_rest(trio.current_time())


async def test_sweep_forgets_only_scopes_at_rest(autojump_clock: trio.testing.MockClock) -> None:
    table = ScopeTable(RATES)
    idle, spent, held = ("eks", "1", "a"), ("eks", "1", "b"), ("eks", "1", "c")
    table.get(idle)
    bucket, _ = table.get(spent)
    await bucket.acquire()
    _, slots = table.get(held)
    assert slots is not None
    slots.acquire_nowait()
    assert table.sweep(trio.current_time()) == 1
    assert len(table) == 2
    kept = table.get(spent)[0]
    assert kept is bucket  # the spent token is remembered: the next call still waits 1/rate
    await trio.sleep(0.1)
    assert table.sweep(trio.current_time()) == 1  # refilled: forgotten; the slot is still held
    assert table.get(held)[1] is slots
    slots.release()
    assert table.sweep(trio.current_time()) == 1
    assert len(table) == 0


async def test_the_table_is_swept_when_it_reaches_its_limit(
    autojump_clock: trio.testing.MockClock,
) -> None:
    table = ScopeTable(RATES, keep=4)
    buckets = [table.get(("eks", "1", str(i)))[0] for i in range(4)]
    await buckets[0].acquire()  # scope 0 busy, 1-3 at rest
    assert len(table) == 4
    table.get(("eks", "1", "new"))  # the 5th sweeps first
    assert len(table) == 2
    assert table.get(("eks", "1", "0"))[0] is buckets[0]


ENDPOINT = Endpoint("https://api.test", "us-east-1", "aws")


async def test_many_scopes_through_a_transport_keep_their_pacing(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Thousands of scopes called once each leave a small table, while a throttled scope
    keeps its lowered rate through every sweep and a busy scope stays paced."""

    async def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.path == "/throttle":
            return aws_error("TooManyRequestsException", 429)
        return httpx2.Response(200, json={})

    policy = CallPolicy(call_timeout=30.0, attempts=1, backoff_initial=0.1, backoff_max=0.1)
    starts: list[float] = []
    async with httpx2.AsyncClient(transport=httpx2.MockTransport(handler)) as client:
        t = make_transport(client, policy=policy, rates=RATES)
        with pytest.raises(Exception, match="TooManyRequests"):
            await t.call(ENDPOINT, WireRequest("GET", "/throttle"), service="eks",
                         scope=("eks", "slow", "r"))

        async def busy() -> None:
            for _ in range(30):
                await t.call(ENDPOINT, WireRequest("GET", "/"), service="eks",
                             scope=("eks", "busy", "r"))
                starts.append(trio.current_time())

        async def many() -> None:
            for i in range(3000):
                await t.call(ENDPOINT, WireRequest("GET", "/"), service="eks",
                             scope=("eks", str(i), "r"))
                if i % 100 == 0:
                    await trio.sleep(0.05)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(busy)
            nursery.start_soon(many)
        assert t.bucket(("eks", "slow", "r")).rate == pytest.approx(5.0, abs=0.5)
        assert len(t._scopes) < 1100
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert min(gaps) == pytest.approx(0.1)
