"""The scan's nursery tree over an in-memory organisation (no sockets)."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
import trio
import trio.testing

from ekstrio.errors import (
    AccessDeniedError,
    AuthError,
    AwsError,
    NotFoundError,
    ServerError,
    TransportError,
)
from ekstrio.filters import ClusterFilter
from ekstrio.model import Account, Cluster, ClusterInfo, Role, RoleCredentials
from ekstrio.scan import ScanRequest, run_scan
from ekstrio.scan_records import AccountFound, Record, ScanCollector, ScanError, Skipped

# --- an in-memory organisation behind the ScanApi protocol ---------------------------


@dataclass
class FakeOrg:
    accounts: list[Account] = field(default_factory=list)
    roles: dict[str, list[str]] = field(default_factory=dict)
    # (account, region) -> cluster names; info made up from the name
    clusters: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    tags: dict[str, dict[str, str]] = field(default_factory=dict)
    # (account, role) pairs that EKS denies, and that the portal denies credentials for
    eks_denied: set[tuple[str, str]] = field(default_factory=set)
    creds_denied: set[tuple[str, str]] = field(default_factory=set)
    disabled: set[tuple[str, str]] = field(default_factory=set)
    # (account, region) a previous scan found disabled (the API's cache), and found now
    known_disabled: set[tuple[str, str]] = field(default_factory=set)
    found_disabled: set[tuple[str, str]] = field(default_factory=set)
    # (account, region) -> clusters named by a listing that went to its end (ScanApi.listed)
    listed: dict[tuple[str, str], int] = field(default_factory=dict)
    # (account, role) whose cached credentials were revoked: EKS says UnrecognizedClient
    stale_cached: set[tuple[str, str]] = field(default_factory=set)
    # a hook run before every call: (operation, args) -> None; may raise or sleep
    fault: Callable[[str, tuple[str, ...]], object] | None = None
    latency: float = 0.0
    page_size: int = 2
    calls: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)

    async def _call(self, op: str, *args: str) -> None:
        self.calls.append((op, args))
        if self.latency:
            await trio.sleep(self.latency)
        if self.fault is not None:
            result = self.fault(op, args)
            if hasattr(result, "__await__"):
                await result  # type: ignore[misc]
        await trio.lowlevel.checkpoint()

    async def accounts_pages(self) -> AsyncIterator[list[Account]]:
        for start in range(0, len(self.accounts), self.page_size):
            await self._call("accounts", str(start))
            yield self.accounts[start : start + self.page_size]



class FakeApi:
    def __init__(self, org: FakeOrg) -> None:
        self.org = org

    def accounts(self) -> AsyncIterator[list[Account]]:
        return self.org.accounts_pages()

    async def roles(self, account_id: str) -> list[Role]:
        await self.org._call("roles", account_id)
        return [Role(account_id, r) for r in self.org.roles.get(account_id, [])]

    async def credentials(
        self, account_id: str, role_name: str, *, fresh: bool = False
    ) -> RoleCredentials:
        await self.org._call("credentials", account_id, role_name)
        if (account_id, role_name) in self.org.creds_denied:
            raise AccessDeniedError("ForbiddenException", "No access", status=403, service="sso")
        # Without ``fresh``, stale ones come "from a cache" when the org says so.
        stale = not fresh and (account_id, role_name) in self.org.stale_cached
        return RoleCredentials(f"AKIA{account_id}{role_name}", "secret",
                               "stale" if stale else "token",
                               datetime.now(UTC) + timedelta(hours=1))

    def from_cache(self, creds: RoleCredentials) -> bool:
        return creds.session_token == "stale"

    def priority(self, account_id: str, region: str) -> int:
        return 0

    def listed(self, account_id: str, region: str, count: int) -> None:
        self.org.listed[(account_id, region)] = count

    def known_disabled(self, account_id: str) -> frozenset[str]:
        return frozenset(r for a, r in self.org.known_disabled if a == account_id)

    def found_disabled(self, account_id: str, region: str) -> None:
        self.org.found_disabled.add((account_id, region))

    async def cluster_names(
        self, creds: RoleCredentials, account_id: str, region: str
    ) -> AsyncIterator[list[str]]:
        role = creds.access_key_id.removeprefix(f"AKIA{account_id}")
        names = sorted(self.org.clusters.get((account_id, region), []))
        for start in range(0, max(len(names), 1), self.org.page_size):
            await self.org._call("list_clusters", account_id, region, role)
            if (account_id, region) in self.org.disabled or creds.session_token == "stale":
                raise AwsError("UnrecognizedClientException",
                               "The security token included in the request is invalid.",
                               status=403, service="eks")
            if (account_id, role) in self.org.eks_denied:
                raise AccessDeniedError("AccessDeniedException", "not authorized",
                                        status=403, service="eks")
            yield names[start : start + self.org.page_size]

    async def describe(
        self, creds: RoleCredentials, account_id: str, region: str, name: str
    ) -> ClusterInfo:
        await self.org._call("describe", account_id, region, name)
        if name not in self.org.clusters.get((account_id, region), []):
            raise NotFoundError("ResourceNotFoundException", "gone", status=404, service="eks")
        return ClusterInfo(
            name=name,
            arn=f"arn:aws:eks:{region}:{account_id}:cluster/{name}",
            status="ACTIVE",
            endpoint=f"https://{name}.{region}.eks.example",
            version="1.31",
            tags=self.org.tags.get(name, {}),
        )


def simple_org(n_accounts: int = 3, regions: tuple[str, ...] = ("eu-west-1", "us-east-1"),
               clusters_per_region: int = 3) -> FakeOrg:
    org = FakeOrg()
    for i in range(n_accounts):
        account_id = f"{100000000000 + i}"
        org.accounts.append(Account(account_id, f"acct-{i}"))
        org.roles[account_id] = ["ReadOnly", "AdministratorAccess"]
        for region in regions:
            org.clusters[(account_id, region)] = [
                f"c{i}-{region}-{k}" for k in range(clusters_per_region)
            ]
    return org


REGIONS = ("eu-west-1", "us-east-1")


def truth(org: FakeOrg) -> set[tuple[str, str, str]]:
    return {(a, r, n) for (a, r), names in org.clusters.items() for n in names}


def found(report) -> set[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    return {(c.account_id, c.region, c.name) for c in report.clusters}


async def test_finds_every_cluster_with_the_preferred_role() -> None:
    org = simple_org(n_accounts=5)
    report = await run_scan(ScanRequest(regions=REGIONS), FakeApi(org))
    assert found(report) == truth(org)
    assert {c.roles for c in report.clusters} == {("AdministratorAccess",)}
    assert report.errors == ()
    assert report.complete
    assert report.accounts == 5
    assert len(report.completed) == 5 * len(REGIONS)
    one = next(c for c in report.clusters if c.name == "c0-eu-west-1-0")
    assert one.account_name == "acct-0"
    assert one.info.arn == "arn:aws:eks:eu-west-1:100000000000:cluster/c0-eu-west-1-0"
    # ReadOnly is never asked for credentials: AdministratorAccess came first and worked.
    assert not [c for c in org.calls if c[0] == "credentials" and c[1][1] == "ReadOnly"]


async def test_credentials_fetched_once_per_account_not_per_region() -> None:
    org = simple_org(n_accounts=2, regions=("a-1", "b-1", "c-1", "d-1"))
    await run_scan(ScanRequest(regions=("a-1", "b-1", "c-1", "d-1")), FakeApi(org))
    creds = [c for c in org.calls if c[0] == "credentials"]
    assert sorted(creds) == [("credentials", ("100000000000", "AdministratorAccess")),
                             ("credentials", ("100000000001", "AdministratorAccess"))]


async def test_eks_denial_falls_back_to_the_next_role() -> None:
    org = simple_org(n_accounts=2)
    org.eks_denied.add(("100000000000", "AdministratorAccess"))
    report = await run_scan(ScanRequest(regions=REGIONS), FakeApi(org))
    assert found(report) == truth(org)
    roles = {c.account_id: c.roles for c in report.clusters}
    assert roles == {"100000000000": ("ReadOnly",), "100000000001": ("AdministratorAccess",)}
    assert report.errors == ()


async def test_credentials_denial_falls_back_and_is_not_an_error() -> None:
    org = simple_org(n_accounts=1)
    org.creds_denied.add(("100000000000", "AdministratorAccess"))
    report = await run_scan(ScanRequest(regions=REGIONS), FakeApi(org))
    assert found(report) == truth(org)
    assert {c.roles for c in report.clusters} == {("ReadOnly",)}
    assert report.errors == ()


async def test_all_roles_denied_by_eks_is_one_account_skip() -> None:
    org = simple_org(n_accounts=2)
    org.eks_denied |= {("100000000001", "AdministratorAccess"), ("100000000001", "ReadOnly")}
    report = await run_scan(ScanRequest(regions=REGIONS), FakeApi(org))
    reason = "EKS denied every role (tried AdministratorAccess, ReadOnly)"
    assert report.skipped == (Skipped("100000000001", None, reason),)
    assert report.errors == ()
    assert {a for a, _, _ in found(report)} == {"100000000000"}


async def test_role_flag_orders_and_restricts() -> None:
    org = simple_org(n_accounts=1)
    report = await run_scan(ScanRequest(regions=REGIONS, roles=("read*",)), FakeApi(org))
    assert {c.roles for c in report.clusters} == {("ReadOnly",)}
    report = await run_scan(ScanRequest(regions=REGIONS, roles=("Nope",)), FakeApi(org))
    assert report.clusters == ()
    assert report.skipped == (Skipped("100000000000", None, "no matching role"),)


async def test_all_roles_merges_one_cluster_with_its_roles() -> None:
    org = simple_org(n_accounts=2)
    org.eks_denied.add(("100000000001", "ReadOnly"))
    records: list[Record] = []
    report = await run_scan(ScanRequest(regions=REGIONS, all_roles=True), FakeApi(org),
                            on_record=records.append)
    assert found(report) == truth(org)
    roles = {c.account_id: c.roles for c in report.clusters}
    assert roles == {"100000000000": ("AdministratorAccess", "ReadOnly"),
                     "100000000001": ("AdministratorAccess",)}
    # Streamed once per cluster, already merged (NDJSON shows each cluster once).
    streamed = [r for r in records if isinstance(r, Cluster)]
    assert len(streamed) == len(truth(org))


async def test_disabled_regions_are_skipped_not_errors() -> None:
    org = simple_org(n_accounts=2)
    org.disabled.add(("100000000000", "us-east-1"))
    report = await run_scan(ScanRequest(regions=REGIONS), FakeApi(org))
    assert Skipped("100000000000", "us-east-1", "region not enabled") in report.skipped
    assert report.regions_skipped == 1
    assert report.errors == ()
    assert report.complete
    assert ("100000000000", "us-east-1") not in report.completed
    assert found(report) == truth(org) - {k for k in truth(org) if k[:2] == ("100000000000",
                                                                           "us-east-1")}


async def test_regions_found_disabled_are_told_to_the_api_and_not_asked_again() -> None:
    org = simple_org(n_accounts=2)
    org.disabled.add(("100000000000", "us-east-1"))
    first = await run_scan(ScanRequest(regions=REGIONS), FakeApi(org))
    assert org.found_disabled == {("100000000000", "us-east-1")}
    # The next scan, with the API remembering it: the same report, one call fewer.
    calls = len(org.calls)
    org.calls.clear()
    org.known_disabled = set(org.found_disabled)
    second = await run_scan(ScanRequest(regions=REGIONS), FakeApi(org))
    assert len(org.calls) == calls - 1
    assert ("list_clusters", ("100000000000", "us-east-1", "AdministratorAccess")) \
        not in org.calls
    assert second.skipped == first.skipped
    assert found(second) == found(first)
    assert second.complete


async def test_a_region_known_disabled_is_skipped_even_if_it_was_enabled_since() -> None:
    # What the cache trades: until it expires (with the account list) or --refresh, a region
    # opted in since the last scan stays reported as not enabled.
    org = simple_org(n_accounts=1)
    org.known_disabled = {("100000000000", "eu-west-1")}
    report = await run_scan(ScanRequest(regions=REGIONS), FakeApi(org))
    assert Skipped("100000000000", "eu-west-1", "region not enabled") in report.skipped
    assert all(k[1] != "eu-west-1" for k in found(report))


async def test_failures_are_records_for_their_account_and_region_and_siblings_go_on() -> None:
    org = simple_org(n_accounts=4)

    def fault(op: str, args: tuple[str, ...]) -> None:
        if op == "roles" and args[0] == "100000000001":
            raise ServerError("InternalFailure", "boom", status=500, service="sso")
        if op == "list_clusters" and args[:2] == ("100000000002", "eu-west-1"):
            raise TransportError("connection reset")
        if op == "describe" and args[2] == "c3-us-east-1-1":
            raise ServerError("ServerException", "bad", status=500, service="eks")

    org.fault = fault
    report = await run_scan(ScanRequest(regions=REGIONS), FakeApi(org))
    errors = {(e.account_id, e.region, e.stage, e.code) for e in report.errors}
    assert errors == {
        ("100000000001", None, "list_roles", "InternalFailure"),
        ("100000000002", "eu-west-1", "list_clusters", "TransportError"),
        ("100000000003", "us-east-1", "describe_cluster", "ServerException"),
    }
    lost = {k for k in truth(org)
            if k[0] == "100000000001" or k[:2] == ("100000000002", "eu-west-1")
            or k[2] == "c3-us-east-1-1"}
    assert found(report) == truth(org) - lost
    assert not report.complete
    # A region with a failed describe is not "completed": prune must not trust it.
    assert ("100000000003", "us-east-1") not in report.completed
    assert ("100000000003", "eu-west-1") in report.completed


async def test_listings_that_end_are_told_to_the_api_with_every_name_they_gave() -> None:
    # The next scan's priority hints: only a listing read to its end counts, and it counts
    # every name listed (here over two pages), whether or not a filter keeps it.
    org = simple_org(n_accounts=4, regions=("a-1", "b-1", "c-1"), clusters_per_region=3)
    org.clusters[("100000000000", "c-1")] = []
    org.disabled.add(("100000000001", "b-1"))
    org.eks_denied.add(("100000000002", "AdministratorAccess"))  # falls back to ReadOnly
    pages: dict[tuple[str, str], int] = {}

    def fault(op: str, args: tuple[str, ...]) -> None:
        if op == "list_clusters":
            key = (args[0], args[1])
            pages[key] = pages.get(key, 0) + 1
            if key == ("100000000003", "a-1") and pages[key] == 2:
                raise TransportError("connection reset")  # the second page fails

    org.fault = fault
    request = ScanRequest(regions=("a-1", "b-1", "c-1"),
                          filter=ClusterFilter(name_regex="-0$"))
    report = await run_scan(request, FakeApi(org))
    expected = dict.fromkeys(org.clusters, 3)
    expected[("100000000000", "c-1")] = 0
    del expected[("100000000001", "b-1")]  # disabled: no listing
    del expected[("100000000003", "a-1")]  # failed on its second page
    assert org.listed == expected
    assert {(e.account_id, e.region) for e in report.errors} == {("100000000003", "a-1")}
    # The filter still decided what was described: one name per region.
    assert {c.name for c in report.clusters if c.account_id == "100000000002"} == {
        "c2-a-1-0", "c2-b-1-0", "c2-c-1-0"}


async def test_account_list_failure_is_an_accounts_error() -> None:
    org = simple_org(n_accounts=5)

    def fault(op: str, args: tuple[str, ...]) -> None:
        if op == "accounts" and args[0] == "2":
            raise ServerError("InternalFailure", "", status=503, service="sso")

    org.fault = fault
    report = await run_scan(ScanRequest(regions=REGIONS), FakeApi(org))
    assert report.accounts == 2  # the first page made it
    assert [(e.stage, e.account_id) for e in report.errors] == [("accounts", None)]


def token_refused() -> AccessDeniedError:
    # The portal's answer to an SSO token that is gone (401): nothing else can work.
    return AccessDeniedError("UnauthorizedException", "Session token not found or invalid",
                             status=401, service="sso")


async def assert_stops_with_an_auth_error(org: FakeOrg) -> None:
    # The AuthError leaves run_scan in trio's exception group (cli.py unwraps it).
    with pytest.raises(ExceptionGroup) as info:
        await run_scan(ScanRequest(regions=REGIONS), FakeApi(org))
    assert info.group_contains(AuthError, match="ekstrio login")


async def test_portal_refusing_the_token_is_an_auth_error() -> None:
    org = simple_org(n_accounts=1)

    def fault(op: str, args: tuple[str, ...]) -> None:
        if op == "accounts":
            raise token_refused()

    org.fault = fault
    await assert_stops_with_an_auth_error(org)


async def test_filters_accounts_names_and_tags() -> None:
    org = simple_org(n_accounts=4)
    org.tags["c2-eu-west-1-1"] = {"team": "web"}
    request = ScanRequest(regions=REGIONS, filter=ClusterFilter(
        accounts=("acct-[12]",), exclude_accounts=("100000000001",),
        name_regex="eu-west", tags=(("team", "web"),)))
    report = await run_scan(request, FakeApi(org))
    assert found(report) == {("100000000002", "eu-west-1", "c2-eu-west-1-1")}
    # The name filter applies before DescribeCluster: no describe outside eu-west-1.
    described = {c[1][1] for c in org.calls if c[0] == "describe"}
    assert described == {"eu-west-1"}
    assert report.accounts == 1
    # A filtered scan proves nothing about absent clusters: nothing "completed".
    assert report.completed == ()


async def test_accounts_start_while_later_pages_are_still_coming(
    autojump_clock: trio.testing.MockClock,
) -> None:
    org = simple_org(n_accounts=6)
    org.page_size = 2
    started: dict[str, float] = {}

    async def fault(op: str, args: tuple[str, ...]) -> None:
        if op == "accounts":
            await trio.sleep(10)  # slow ListAccounts pages
        if op == "roles":
            started[args[0]] = trio.current_time()

    org.fault = fault
    t0 = trio.current_time()
    await run_scan(ScanRequest(regions=REGIONS), FakeApi(org))
    # The first page's accounts started after 10 s, not after all three pages (30 s).
    assert started["100000000000"] - t0 == pytest.approx(10)
    assert started["100000000005"] - t0 == pytest.approx(30)


async def test_deadline_ends_the_scan_with_results_so_far_and_records_unfinished(
    autojump_clock: trio.testing.MockClock,
) -> None:
    org = simple_org(n_accounts=3)

    async def fault(op: str, args: tuple[str, ...]) -> None:
        # Account 2 hangs in us-east-1; everything else is quick.
        if op == "list_clusters" and args[:2] == ("100000000002", "us-east-1"):
            await trio.sleep_forever()

    org.fault = fault
    records: list[Record] = []
    t0 = trio.current_time()
    report = await run_scan(ScanRequest(regions=REGIONS, timeout=30.0), FakeApi(org),
                            on_record=records.append)
    assert trio.current_time() - t0 == pytest.approx(30.0)
    assert report.timed_out
    assert not report.complete
    assert found(report) == {k for k in truth(org) if k[:2] != ("100000000002", "us-east-1")}
    assert [(e.account_id, e.region, e.stage, e.code) for e in report.errors] == [
        ("100000000002", "us-east-1", "list_clusters", "ScanTimeout")]
    assert ("100000000002", "us-east-1") not in report.completed
    # The unfinished record was streamed too (NDJSON readers see it).
    assert any(isinstance(r, ScanError) and r.code == "ScanTimeout" for r in records)


async def test_a_deadline_while_clusters_are_described_names_that_stage(
    autojump_clock: trio.testing.MockClock,
) -> None:
    org = simple_org(n_accounts=2)

    async def fault(op: str, args: tuple[str, ...]) -> None:
        # One DescribeCluster never answers: its region was listed, and is describing.
        if op == "describe" and args[2] == "c1-eu-west-1-2":
            await trio.sleep_forever()

    org.fault = fault
    report = await run_scan(ScanRequest(regions=REGIONS, timeout=30.0), FakeApi(org))
    assert report.timed_out
    assert [(e.account_id, e.region, e.stage, e.code) for e in report.errors] == [
        ("100000000001", "eu-west-1", "describe_cluster", "ScanTimeout")]
    # Its listing did end: the next scan still learns how busy it is (busiest first).
    assert org.listed[("100000000001", "eu-west-1")] == 3


async def test_outer_cancel_leaves_no_task_and_keeps_partial_results(
    autojump_clock: trio.testing.MockClock,
) -> None:
    org = simple_org(n_accounts=4)

    async def fault(op: str, args: tuple[str, ...]) -> None:
        if op == "list_clusters" and args[0] in ("100000000002", "100000000003"):
            await trio.sleep_forever()

    org.fault = fault
    collector = ScanCollector()
    records: list[Record] = []
    before = len(trio.lowlevel.current_task().child_nurseries)
    with trio.move_on_after(5) as scope:  # a Ctrl-C arriving at t=5
        await run_scan(ScanRequest(regions=REGIONS), FakeApi(org), collector=collector,
                       on_record=records.append)
    assert scope.cancelled_caught
    # Every task of the scan has ended: trio nurseries cannot exit otherwise, and no
    # nursery of ours is left open under this task.
    assert len(trio.lowlevel.current_task().child_nurseries) == before
    report = collector.finish(interrupted=True, on_record=records.append)
    assert report.interrupted
    assert not report.complete
    assert {k[0] for k in found(report)} == {"100000000000", "100000000001"}
    unfinished = {(e.account_id, e.region, e.code) for e in report.errors}
    assert unfinished == {(a, r, "Interrupted") for a in ("100000000002", "100000000003")
                          for r in REGIONS}
    assert sum(isinstance(r, AccountFound) for r in records) == 4


async def test_one_consumer_sees_records_in_order_from_many_producers() -> None:
    org = simple_org(n_accounts=10, clusters_per_region=5)
    seen: list[Record] = []
    report = await run_scan(ScanRequest(regions=REGIONS), FakeApi(org), on_record=seen.append)
    assert sum(isinstance(r, Cluster) for r in seen) == len(report.clusters) == 100
    # Each account is announced before any of its clusters.
    first_found = {r.account.account_id: i for i, r in enumerate(seen)
                   if isinstance(r, AccountFound)}
    for i, r in enumerate(seen):
        if isinstance(r, Cluster):
            assert first_found[r.account_id] < i


async def test_concurrency_is_real(autojump_clock: trio.testing.MockClock) -> None:
    # 20 accounts × 2 regions × 3 clusters with 1 s per call: sequential would take
    # hundreds of seconds; the tree's critical path is 5 calls deep (accounts, roles,
    # credentials, list, describe; list has 2 pages here).
    org = simple_org(n_accounts=20, clusters_per_region=3)
    org.latency = 1.0
    org.page_size = 100
    t0 = trio.current_time()
    report = await run_scan(ScanRequest(regions=REGIONS), FakeApi(org))
    assert len(report.clusters) == 120
    assert trio.current_time() - t0 == pytest.approx(5.0)


def test_empty_org() -> None:
    async def main() -> None:
        report = await run_scan(ScanRequest(regions=REGIONS), FakeApi(FakeOrg()))
        assert report.clusters == ()
        assert report.complete
        assert report.accounts == 0

    trio.run(main)


async def test_accounts_with_no_roles_are_skipped() -> None:
    org = FakeOrg(accounts=[Account("111111111111", "lonely")])
    report = await run_scan(ScanRequest(regions=REGIONS), FakeApi(org))
    assert report.skipped == (Skipped("111111111111", None, "no roles assigned"),)
    assert math.isfinite(report.duration_s)


async def test_active_regions_bounds_the_frontier(autojump_clock: trio.testing.MockClock) -> None:
    org = simple_org(n_accounts=4, regions=("a-1", "b-1", "c-1"), clusters_per_region=1)
    org.page_size = 100
    active = 0
    most = 0

    async def fault(op: str, args: tuple[str, ...]) -> None:
        nonlocal active, most
        if op == "list_clusters":
            active += 1
            most = max(most, active)
            await trio.sleep(1)
            active -= 1

    org.fault = fault
    t0 = trio.current_time()
    report = await run_scan(ScanRequest(regions=("a-1", "b-1", "c-1"), active_regions=3),
                            FakeApi(org))
    assert len(report.clusters) == 12
    assert most == 3
    assert trio.current_time() - t0 == pytest.approx(4.0)  # 12 region lists, 3 at a time


class _RegionTasks(trio.abc.Instrument):
    """The most region tasks alive at once."""

    def __init__(self) -> None:
        self.alive = self.most = 0

    def task_spawned(self, task: trio.lowlevel.Task) -> None:
        if task.name.endswith("_admitted_region"):
            self.alive += 1
            self.most = max(self.most, self.alive)

    def task_exited(self, task: trio.lowlevel.Task) -> None:
        if task.name.endswith("_admitted_region"):
            self.alive -= 1


async def test_a_region_task_starts_only_with_its_slot(
        autojump_clock: trio.testing.MockClock) -> None:
    # Waiting regions are items of their account's loop, not tasks: on a 2,000-account scan
    # every region started at once was ~70 MB of coroutine frames.
    regions = tuple(f"r{i}-1" for i in range(12))
    org = simple_org(n_accounts=6, regions=regions, clusters_per_region=1)
    org.latency = 0.05
    tasks = _RegionTasks()
    trio.lowlevel.add_instrument(tasks)
    try:
        report = await run_scan(ScanRequest(regions=regions, active_regions=4), FakeApi(org))
    finally:
        trio.lowlevel.remove_instrument(tasks)
    assert found(report) == truth(org)
    assert tasks.most == 4


async def test_revoked_cached_credentials_are_renewed_not_taken_for_disabled_regions() -> None:
    org = simple_org(n_accounts=2)
    org.stale_cached.add(("100000000000", "AdministratorAccess"))
    report = await run_scan(ScanRequest(regions=REGIONS), FakeApi(org))
    assert found(report) == truth(org)
    assert report.skipped == ()
    assert report.complete
    # Renewed once for the account, not once per region.
    fetches = [c for c in org.calls if c[0] == "credentials" and c[1][0] == "100000000000"]
    assert len(fetches) == 2


async def test_portal_accounts_keeps_roles_and_credentials_together(
        autojump_clock: trio.testing.MockClock) -> None:
    org = simple_org(n_accounts=8, clusters_per_region=1)
    org.page_size = 100
    org.latency = 0.05
    await run_scan(ScanRequest(regions=REGIONS, portal_accounts=2), FakeApi(org))
    portal = [(op, args[0]) for op, args in org.calls if op in ("roles", "credentials")]
    # Account 0's credentials come before the roles of the last accounts, not after all.
    assert portal.index(("credentials", "100000000000")) < portal.index(("roles", "100000000007"))
    # Unbounded, every roles call is queued first.
    org.calls.clear()
    await run_scan(ScanRequest(regions=REGIONS), FakeApi(org))
    portal = [op for op, _ in org.calls if op in ("roles", "credentials")]
    assert portal == ["roles"] * 8 + ["credentials"] * 8


@pytest.mark.parametrize("op", ["roles", "credentials"])
async def test_token_refused_mid_scan_stops_with_an_auth_error(op: str) -> None:
    org = simple_org(n_accounts=4)

    def fault(name: str, args: tuple[str, ...]) -> None:
        if name == op and args[0] == "100000000002":
            raise token_refused()

    org.fault = fault
    await assert_stops_with_an_auth_error(org)


def test_failure_classification() -> None:
    from ekstrio.scan_failures import error_record, is_region_not_enabled, token_refused

    disabled = AwsError("UnrecognizedClientException",
                        "The security token included in the request is invalid.",
                        status=403, service="eks")
    assert is_region_not_enabled(disabled)
    assert not is_region_not_enabled(AccessDeniedError("AccessDeniedException", "no",
                                                       status=403, service="eks"))
    assert not is_region_not_enabled(TransportError("reset"))
    assert token_refused(AccessDeniedError("UnauthorizedException", "", status=401,
                                           service="sso")) is not None
    # A role the user lacks is 403 Forbidden on GetRoleCredentials: not a token problem.
    assert token_refused(AccessDeniedError("ForbiddenException", "", status=403,
                                           service="sso")) is None
    assert token_refused(AccessDeniedError("UnauthorizedException", "", status=401,
                                           service="eks")) is None
    record = error_record(Account("1", "a"), "eu-west-1", "R", "list_clusters",
                          TransportError("connection reset"))
    assert (record.code, record.message) == ("TransportError", "connection reset")


async def test_busiest_regions_from_last_time_start_first(
        autojump_clock: trio.testing.MockClock) -> None:
    org = simple_org(n_accounts=5, regions=("a-1", "b-1", "c-1"), clusters_per_region=1)
    org.page_size = 100  # one ListAccounts page (as from the cache): sorted as a whole

    class HintedApi(FakeApi):
        def priority(self, account_id: str, region: str) -> int:
            return 50 if (account_id, region) == ("100000000003", "c-1") else 0

    await run_scan(ScanRequest(regions=("a-1", "b-1", "c-1"), active_regions=1,
                               portal_accounts=1), HintedApi(org))
    lists = [args[:2] for op, args in org.calls if op == "list_clusters"]
    assert lists[0] == ("100000000003", "c-1")
    roles = [args[0] for op, args in org.calls if op == "roles"]
    # The busy account first; the others keep the order they were listed in.
    assert roles == ["100000000003", "100000000000", "100000000001", "100000000002",
                     "100000000004"]
