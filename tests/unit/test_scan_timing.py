"""Time in the real scan stack (AwsScanApi → Transport → httpx2), on trio's autojump clock.

A fake AWS answers inside httpx2 (MockTransport, no sockets); sleeps cost nothing and
times are exact, so timeouts, pacing and deadlines are checked to the preset's values.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import re
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

import httpx2
import pytest
import trio
import trio.testing

from ekstrio.aws.endpoints import Endpoint
from ekstrio.aws.transport import CallStats, Transport
from ekstrio.model import SsoSession
from ekstrio.scan import ScanRequest, run_scan
from ekstrio.scan_aws import AwsScanApi, transport_settings
from ekstrio.scan_records import ScanCollector, ScanReport
from ekstrio.settings import Preset, load_preset

SESSION = SsoSession("https://d-1234567890.awsapps.com/start", "us-east-1")
PORTAL = Endpoint("https://portal.sso.us-east-1.amazonaws.com", "us-east-1", "aws")
REGIONS = ("eu-west-1", "us-east-1")

Handler = Callable[[httpx2.Request], Awaitable[httpx2.Response]]


pytestmark = pytest.mark.usefixtures("live_retries")


def eks_endpoint(region: str) -> Endpoint:
    return Endpoint(f"https://eks.{region}.amazonaws.com", region, "aws")


class FakeAws:
    """Accounts 1..n, one role each, ``clusters`` clusters per account-region.

    ``hook(kind, account, region, name)`` runs before each answer; it may sleep (a hang)
    or return an httpx2.Response to send instead (a throttle).
    """

    def __init__(self, accounts: int = 2, clusters: int = 3) -> None:
        self.ids = [f"{i:012d}" for i in range(1, accounts + 1)]
        self.clusters = clusters
        self.hook: Callable[..., Awaitable[httpx2.Response | None]] | None = None
        self.sent: dict[tuple[str, str], list[float]] = defaultdict(list)

    def names(self, region: str) -> list[str]:
        return [f"{region}-c{k}" for k in range(self.clusters)]

    async def __call__(self, request: httpx2.Request) -> httpx2.Response:
        path = request.url.path
        params = dict(request.url.params)
        if path.startswith("/clusters"):
            key = request.headers["Authorization"].split("Credential=")[1].split("/")[0]
            account = key.removeprefix("ASIA")
            region = request.url.host.split(".")[1]
            name = path.removeprefix("/clusters").strip("/")
            self.sent[(account, region)].append(trio.current_time())
            if self.hook is not None:
                answer = await self.hook("describe" if name else "list", account, region, name)
                if answer is not None:
                    return answer
            if not name:
                return httpx2.Response(200, json={"clusters": self.names(region)})
            return httpx2.Response(200, json={"cluster": {
                "name": name, "arn": f"arn:aws:eks:{region}:{account}:cluster/{name}",
                "status": "ACTIVE", "version": "1.31", "createdAt": 1700000000}})
        if path == "/assignment/accounts":
            return httpx2.Response(200, json={"accountList": [
                {"accountId": a, "accountName": f"acct{a[-1]}", "emailAddress": ""}
                for a in self.ids]})
        if path == "/assignment/roles":
            return httpx2.Response(200, json={"roleList": [
                {"roleName": "AdministratorAccess", "accountId": params["account_id"]}]})
        if path == "/federation/credentials":
            return httpx2.Response(200, json={"roleCredentials": {
                "accessKeyId": f"ASIA{params['account_id']}", "secretAccessKey": "s",
                "sessionToken": "t", "expiration": 4102444800000}})
        return httpx2.Response(404, json={"message": path})


def throttle() -> httpx2.Response:
    return httpx2.Response(429, headers={"x-amzn-ErrorType": "ThrottlingException"},
                          content=json.dumps({"message": "Rate exceeded"}).encode())


async def scan(fake: FakeAws, preset: Preset, **request: Any) -> ScanReport:
    rates, policy = transport_settings(preset)
    async with httpx2.AsyncClient(transport=httpx2.MockTransport(fake)) as client:
        transport = Transport(client, limiter=trio.CapacityLimiter(preset.workers),
                              rates=rates, policy=policy, stats=CallStats())

        async def token() -> str:
            return "sso-token"

        api = AwsScanApi(transport, session=SESSION, access_token=token,
                         portal_endpoint=PORTAL, eks_endpoint=eks_endpoint, refresh=True,
                         use_list_cache=False)
        return await run_scan(ScanRequest(regions=REGIONS, **request), api,
                              collector=ScanCollector(stats=transport.stats))


def preset(**values: Any) -> Preset:
    # No pacing unless a test asks: infinite rates; no backoff jitter surprises.
    base = dataclasses.replace(load_preset("default"), portal_rps=math.inf, eks_rps=math.inf,
                               backoff_initial=0.0, backoff_max=0.0)
    return dataclasses.replace(base, **values)


async def test_a_hung_call_times_out_at_exactly_the_presets_values(
        autojump_clock: trio.testing.MockClock) -> None:
    fake = FakeAws(accounts=2)

    async def hook(kind: str, account: str, region: str, name: str) -> None:
        if (kind, account, name) == ("describe", fake.ids[1], "eu-west-1-c1"):
            await trio.sleep_forever()

    fake.hook = hook
    t0 = trio.current_time()
    report = await scan(fake, preset(call_timeout=7.0, attempts=3))
    # Three attempts of 7 s each, no backoff: the scan ends at exactly 21 s.
    assert trio.current_time() - t0 == pytest.approx(21.0)
    assert [(e.account_id, e.region, e.stage, e.code) for e in report.errors] == [
        (fake.ids[1], "eu-west-1", "describe_cluster", "CallTimeoutError")]
    assert "7 s" in report.errors[0].message
    assert len(report.clusters) == 2 * 2 * 3 - 1
    assert report.retries == 2


async def test_the_conservative_preset_waits_longer_before_giving_up(
        autojump_clock: trio.testing.MockClock) -> None:
    fake = FakeAws(accounts=1)

    async def hook(kind: str, account: str, region: str, name: str) -> None:
        if kind == "list" and region == "us-east-1":
            await trio.sleep_forever()

    fake.hook = hook
    slow = load_preset("conservative")
    t0 = trio.current_time()
    report = await scan(fake, dataclasses.replace(slow, portal_rps=math.inf, eks_rps=math.inf,
                                                  backoff_initial=0.0, backoff_max=0.0))
    assert trio.current_time() - t0 == pytest.approx(slow.call_timeout * slow.attempts)
    assert [e.stage for e in report.errors] == ["list_clusters"]


async def test_overall_deadline_cuts_hung_calls_and_keeps_the_rest(
        autojump_clock: trio.testing.MockClock) -> None:
    fake = FakeAws(accounts=3)

    async def hook(kind: str, account: str, region: str, name: str) -> None:
        if account == fake.ids[2] and region == "us-east-1":
            await trio.sleep_forever()

    fake.hook = hook
    t0 = trio.current_time()
    report = await scan(fake, preset(call_timeout=100.0), timeout=12.5)
    assert trio.current_time() - t0 == pytest.approx(12.5)
    assert report.timed_out
    assert [(e.account_id, e.region, e.code) for e in report.errors] == [
        (fake.ids[2], "us-east-1", "ScanTimeout")]
    assert len(report.clusters) == 3 * 2 * 3 - 3


async def test_a_scope_sends_evenly_at_its_rate_without_a_burst(
        autojump_clock: trio.testing.MockClock) -> None:
    fake = FakeAws(accounts=1, clusters=20)
    await scan(fake, preset(eks_rps=10.0))
    times = fake.sent[(fake.ids[0], "eu-west-1")]
    assert len(times) == 21  # ListClusters + 20 DescribeCluster
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) == pytest.approx(0.1)
    assert times[-1] - times[0] == pytest.approx(2.0)


async def test_a_throttled_scope_slows_down_while_the_others_keep_their_pace(
        autojump_clock: trio.testing.MockClock) -> None:
    fake = FakeAws(accounts=2, clusters=30)
    throttled = fake.ids[0]
    seen: dict[str, int] = defaultdict(int)

    async def hook(kind: str, account: str, region: str, name: str) -> httpx2.Response | None:
        if account == throttled and region == "eu-west-1" and kind == "describe":
            seen[name] += 1
            if seen[name] == 1:  # every describe is throttled once, then answered
                return throttle()
        return None

    fake.hook = hook
    report = await scan(fake, preset(eks_rps=10.0, attempts=3, throttle_recovery_s=30.0))
    assert report.errors == ()
    assert len(report.clusters) == 2 * 2 * 30
    assert report.throttles == 30

    def span(account: str, region: str) -> float:
        times = fake.sent[(account, region)]
        return times[-1] - times[0]

    # The untouched scopes keep 10 requests/s: 31 calls in 3 s.
    for account, region in ((throttled, "us-east-1"), (fake.ids[1], "eu-west-1"),
                            (fake.ids[1], "us-east-1")):
        assert span(account, region) == pytest.approx(3.0)
    # The throttled one sent twice the calls at a halved (slowly recovering) rate.
    assert span(throttled, "eu-west-1") > 2 * 6.0 * 0.8


def test_scan_pacing_is_even_starts_and_one_seconds_worth_of_slots_per_scope() -> None:
    # The transport's mechanism is tested in test_transport.py; here: the scan asks for it.
    rates, _ = transport_settings(preset(portal_rps=20.0, eks_rps=7.5))
    assert rates.burst == 1.0
    assert rates.in_flight_for(("portal", "digest")) == 20
    assert rates.in_flight_for(("eks", "1", "eu-west-1")) == 8  # ceil(7.5)
    unlimited, _ = transport_settings(preset())
    assert unlimited.in_flight_for(("eks", "1", "eu-west-1")) is None


def test_host_regex_sanity() -> None:
    # The fake reads the region from the EKS host name; guard that assumption.
    assert re.match(r"eks\.[a-z0-9-]+\.amazonaws\.com", eks_endpoint("eu-west-1").url[8:])
