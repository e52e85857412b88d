"""The scan against the local organisation, compared with its ground truth (the org dump).

In-process: run_scan over the real Transport, portal and EKS code, speaking HTTP to the
sim on 127.0.0.1, for organisations of 1, 50 and 300 accounts and with faults on.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest
import trio

from ekstrio.scan_entries import ClusterEntry
from ekstrio.scan_records import ScanReport
from ekstrio.settings import Preset, load_preset
from ekstrio.sim.options import SimOptions
from ekstrio.sim.testing import SimHandle, run_sim_in_thread
from sim_fixtures import scan_api, scan_report

# No pacing: these tests check what is found, not how fast; the sim's quotas are off too.
FAST = dataclasses.replace(load_preset("aggressive"), workers=64, portal_rps=10_000.0,
                           eks_rps=10_000.0, call_timeout=5.0, attempts=5,
                           backoff_initial=0.01, backoff_max=0.05)


pytestmark = pytest.mark.usefixtures("live_retries")


def sim_options(**overrides: Any) -> SimOptions:
    base = {"seed": 7, "regions": ("eu-west-1", "us-east-1", "ap-south-2", "me-south-1"),
            "portal_rps": 0.0, "eks_rps": 0.0, "large_lists": 0}
    return SimOptions(**(base | overrides))


def scan_sim(sim: SimHandle, preset: Preset = FAST, *, cold: bool = True,
             **request: Any) -> ScanReport:
    """One scan in-process against ``sim`` (``cold``: no list or credential cache)."""

    async def main() -> ScanReport:
        async with scan_api(sim, preset, cold=cold) as api:
            return await scan_report(api, sim, **request)

    return trio.run(main)


def visible_truth(org: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    """Every cluster a role of the user can see: accounts with an EKS-capable role."""
    out = {}
    for account in org["accounts"]:
        if not any(role["eksAccess"] for role in account["roles"]):
            continue
        for region, clusters in account["clusters"].items():
            for cluster in clusters:
                out[(account["accountId"], region, cluster["name"])] = cluster | {
                    "_account_name": account["accountName"]}
    return out


def expected_record(c: dict[str, Any]) -> dict[str, Any]:
    """What the scan's JSON must say about a sim cluster."""
    created = datetime.fromtimestamp(int(c["createdAt"]), UTC)
    return {
        "account_name": c["_account_name"],
        "name": c["name"], "arn": c["arn"], "status": c["status"], "version": c["version"],
        "platform_version": c["platformVersion"], "endpoint": c.get("endpoint"),
        "certificate_authority_data": c.get("certificateAuthority", {}).get("data"),
        "tags": c["tags"], "authentication_mode": c["accessConfig"]["authenticationMode"],
        "created_at": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def check_exact(report: ScanReport, org: dict[str, Any]) -> None:
    truth = visible_truth(org)
    got = {(c.account_id, c.region, c.name): c for c in report.clusters}
    assert set(got) == set(truth)
    for key, cluster in got.items():
        record = ClusterEntry.from_cluster(cluster).to_json()
        for field, value in expected_record(truth[key]).items():
            assert record[field] == value, (key, field)
        account = next(a for a in org["accounts"] if a["accountId"] == key[0])
        eks_roles = {r["roleName"] for r in account["roles"] if r["eksAccess"]}
        assert set(record["roles"]) <= eks_roles
        assert record["roles"]


def check_disabled_regions_skipped(report: ScanReport, org: dict[str, Any],
                                   regions: tuple[str, ...]) -> None:
    skipped = {(s.account_id, s.region) for s in report.skipped if s.region}
    for account in org["accounts"]:
        if not any(role["eksAccess"] for role in account["roles"]):
            continue
        for region in account["disabledRegions"]:
            if region in regions:
                assert (account["accountId"], region) in skipped


def test_one_account() -> None:
    with run_sim_in_thread(sim_options(accounts=1, clusters=5)) as sim:
        report = scan_sim(sim)
    check_exact(report, sim.org)
    assert report.errors == ()
    assert report.complete
    assert report.accounts == 1


def test_fifty_accounts_exactly_the_visible_clusters_with_correct_fields() -> None:
    with run_sim_in_thread(sim_options(accounts=50)) as sim:
        report = scan_sim(sim)
    check_exact(report, sim.org)
    check_disabled_regions_skipped(report, sim.org, tuple(sim.org["regions"]))
    assert report.errors == ()
    assert report.complete
    no_eks = [a["accountId"] for a in sim.org["accounts"]
              if not any(r["eksAccess"] for r in a["roles"])]
    assert no_eks  # the sim always has one: its denial is a skip for the whole account
    assert {s.account_id for s in report.skipped if s.region is None} == set(no_eks)


@pytest.mark.slow
def test_three_hundred_accounts_with_large_lists() -> None:
    # One region and fewer clusters keep it to ~1,200 calls; the size under test is the
    # account fan-out (300 account tasks, ~600 portal calls).
    options = sim_options(accounts=300, regions=("eu-west-1",), clusters=320, large_lists=1)
    with run_sim_in_thread(options) as sim:
        report = scan_sim(sim)
    check_exact(report, sim.org)
    assert report.errors == ()
    # More than 100 clusters in one account-region: ListClusters paginated.
    assert max(sum(1 for c in report.clusters if (c.account_id, c.region) == pair)
               for pair in {(c.account_id, c.region) for c in report.clusters}) > 100


def test_all_roles_lists_every_eks_role_per_cluster() -> None:
    with run_sim_in_thread(sim_options(accounts=12)) as sim:
        report = scan_sim(sim, all_roles=True)
    check_exact(report, sim.org)
    for cluster in report.clusters:
        account = next(a for a in sim.org["accounts"] if a["accountId"] == cluster.account_id)
        assert set(cluster.roles) == {r["roleName"] for r in account["roles"] if r["eksAccess"]}


def test_faults_every_reachable_cluster_found_and_every_failure_attributed() -> None:
    options = sim_options(accounts=30, fault_rate=0.15, reset_rate=0.05, hang_rate=0.01)
    preset = dataclasses.replace(FAST, call_timeout=0.5, attempts=3)
    with run_sim_in_thread(options) as sim:
        report = scan_sim(sim, preset)
    truth = visible_truth(sim.org)
    got = {(c.account_id, c.region, c.name) for c in report.clusters}
    assert got <= set(truth)  # never a cluster that does not exist
    failed_accounts = {e.account_id for e in report.errors if e.region is None}
    failed_regions = {(e.account_id, e.region) for e in report.errors if e.region}
    for key in set(truth) - got:
        # Every cluster not found is explained by a failure of its account or region.
        assert key[0] in failed_accounts or key[:2] in failed_regions, key
    for error in report.errors:
        assert error.account_id
        assert error.stage
        assert error.code
    # With three attempts per call most of the organisation still comes through.
    assert len(got) >= 0.6 * len(truth)
    assert report.retries > 0
    completed = set(report.completed)
    assert not completed & failed_regions


def test_low_quotas_throttle_and_the_scan_still_finds_everything() -> None:
    # The sim enforces 5 portal rps and 2 EKS rps; the client is set well above that, so
    # it gets 429s, slows the throttled scopes, retries, and still finds every cluster.
    options = sim_options(accounts=6, portal_rps=5.0, eks_rps=2.0,
                          regions=("eu-west-1", "us-east-1"))
    preset = dataclasses.replace(FAST, portal_rps=40.0, eks_rps=20.0, attempts=8,
                                 backoff_initial=0.05, backoff_max=0.5)
    with run_sim_in_thread(options) as sim:
        report = scan_sim(sim, preset)
    check_exact(report, sim.org)
    assert report.errors == ()
    assert report.throttles > 0


def test_cached_credentials_another_sim_never_issued_are_renewed() -> None:
    # Same organisation (seed), new process: the role credentials cached by the first
    # scan are unknown to the second sim, which answers UnrecognizedClientException, as
    # AWS does for revoked keys and for regions that are not enabled.
    options = sim_options(accounts=5)
    with run_sim_in_thread(options) as first:
        warm_up = scan_sim(first, cold=False)
    with run_sim_in_thread(options) as second:
        report = scan_sim(second, cold=False)
    check_exact(warm_up, first.org)
    check_exact(report, second.org)
    assert report.errors == ()
    assert report.regions_skipped == warm_up.regions_skipped


def test_a_warm_scan_does_not_ask_again_about_regions_found_disabled() -> None:
    with run_sim_in_thread(sim_options(accounts=12)) as sim:
        first = scan_sim(sim, cold=False)
        second = scan_sim(sim, cold=False)
        fresh = scan_sim(sim, cold=True)  # --refresh asks again
    regions = tuple(sim.org["regions"])
    for report in (first, second, fresh):
        check_exact(report, sim.org)
        check_disabled_regions_skipped(report, sim.org, regions)
        assert report.errors == ()
    assert set(second.skipped) == set(first.skipped) == set(fresh.skipped)
    disabled = sum(1 for s in first.skipped if s.reason == "region not enabled")
    assert disabled > 0
    # The first scan asked the portal and every region; the second neither the portal
    # (lists and credentials cached) nor the regions it knows are off.
    assert second.api_calls <= first.api_calls - disabled
    assert fresh.api_calls >= first.api_calls


def test_scp_region_denies_are_skipped_never_errors() -> None:
    """Control Tower style denies (every EKS call in a region refused, whatever the role):
    each is a skipped region of that account, the scan still finds every visible cluster."""
    with run_sim_in_thread(sim_options(accounts=30, clusters=40)) as sim:
        report = scan_sim(sim, all_roles=True)
    check_exact(report, sim.org)
    assert report.errors == ()
    denied = {(a["accountId"], r) for a in sim.org["accounts"] for r in a["scpDeniedRegions"]
              if any(role["eksAccess"] for role in a["roles"])}
    assert denied  # the org has some
    skipped = {(s.account_id, s.region): s.reason for s in report.skipped if s.region}
    for key in denied:
        assert key in skipped
        assert "denied" in skipped[key]
