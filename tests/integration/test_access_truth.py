"""Every (cluster, role) AWS-side verdict against the organisation's ground truth (--dump-org
``clusterAccess``): all three authentication modes, cluster and namespace-scoped policies,
group-only and empty entries, roles denied ListAccessEntries, the path in Identity Center ARNs.

In-process: the real scan, then the real access pass (STS GetCallerIdentity and the three EKS
access-entry calls) over the Transport, speaking HTTP to the sim on 127.0.0.1.
"""

from __future__ import annotations

from typing import Any

import pytest
import trio
from test_scan_sim import FAST, sim_options

from ekstrio.access import AccessState, UnknownReason
from ekstrio.access_aws import AccessStats
from ekstrio.access_record import RoleAccess
from ekstrio.access_scan import check_access
from ekstrio.aws.endpoints import resolve
from ekstrio.model import RoleCredentials
from ekstrio.sim.testing import SimHandle, run_sim_in_thread
from sim_fixtures import scan_api, scan_report

pytestmark = pytest.mark.usefixtures("live_retries")

Access = dict[tuple[str, str, str], dict[str, RoleAccess]]


def scan_with_access(sim: SimHandle) -> tuple[Access, AccessStats, int, int]:
    async def main() -> tuple[Access, AccessStats, int, int]:
        async with scan_api(sim, FAST) as api:
            report = await scan_report(api, sim, all_roles=True)
            scan_calls = api.t.stats.calls
            stats = AccessStats()

            async def credentials(account_id: str, role: str) -> RoleCredentials | None:
                return api.used_credentials(account_id, role)

            access = await check_access(
                report.clusters, transport=api.eks_transport, eks_endpoint=api.eks_endpoint,
                sts_endpoint=lambda r: resolve("sts", r, env=sim.env),
                credentials=credentials, sso_region=sim.sso_region, stats=stats)
            return access, stats, scan_calls, api.t.stats.calls

    return trio.run(main)


def expected_state(entry: dict[str, Any]) -> tuple[AccessState, str]:
    """The verdict an entry of the dump should give, worked out from the dump alone."""
    policies = entry.get("associatedAccessPolicies") or []
    names = {p["policyArn"].rsplit("/", 1)[1]: p["accessScope"] for p in policies}
    cluster_wide = {n for n, s in names.items() if s["type"] == "cluster"}
    if "AmazonEKSClusterAdminPolicy" in cluster_wide:
        return AccessState.ADMIN, "admin"
    if cluster_wide:
        return AccessState.CLUSTER, ""
    if names:
        short = {"AmazonEKSViewPolicy": "view", "AmazonEKSEditPolicy": "edit"}
        parts = [f"{short.get(n, n)}: {', '.join(sorted(s['namespaces']))}"
                 for n, s in sorted(names.items())]
        return AccessState.NAMESPACED, f"namespaced({'; '.join(parts)})"
    if entry.get("kubernetesGroups"):
        return AccessState.GROUPS, f"groups({', '.join(entry['kubernetesGroups'])})"
    return AccessState.NO_RIGHTS, "no-rights"


def check_against_truth(sim: SimHandle, access: Access) -> dict[str, int]:
    seen: dict[str, int] = {}
    for account in sim.org["accounts"]:
        endpoint = {(region, c["name"]): c.get("endpoint")
                    for region, listed in account["clusters"].items() for c in listed}
        for region, clusters in account.get("clusterAccess", {}).items():
            for name, truth in clusters.items():
                got = access.get((account["accountId"], region, name))
                assert got is not None, (account["accountId"], region, name)
                assert set(got) == set(truth["verdicts"])
                mode = truth["authenticationMode"]
                for role, want in truth["verdicts"].items():
                    verdict = got[role].verdict
                    where = (account["accountId"], region, name, role, want["aws"], mode)
                    seen[f"{want['aws']}/{mode}"] = seen.get(f"{want['aws']}/{mode}", 0) + 1
                    if not endpoint[(region, name)]:
                        # No endpoint to get into: no call is made (the dump's live says so).
                        assert (verdict.state, verdict.reason) == (
                            AccessState.UNKNOWN, UnknownReason.NO_ENDPOINT), where
                        assert want["live"] == "no-endpoint", where
                    elif want["aws"] == "entry":
                        entry = next(e for e in truth["accessEntries"]
                                     if e["principalArn"] == want["principalArn"])
                        state, label = expected_state(entry)
                        assert verdict.state is state, where
                        if label:
                            assert verdict.label == label, where
                        assert verdict.principal_arn == want["principalArn"], where
                    elif want["aws"] == "no-entry":
                        expected = (AccessState.NO_ENTRY, None) if mode == "API" else (
                            AccessState.UNKNOWN, UnknownReason.AWS_AUTH)
                        assert (verdict.state, verdict.reason) == expected, where
                        # The ARN an administrator must add: the role's, with its path.
                        assert verdict.principal_arn == want["principalArn"], where
                    elif want["aws"] == "not-api-mode" or mode == "CONFIG_MAP":
                        # No access-entry call is made for a CONFIG_MAP cluster, so a role that
                        # may not make one is not asked: aws-auth is what decides there.
                        assert (verdict.state, verdict.reason) == (
                            AccessState.UNKNOWN, UnknownReason.CONFIG_MAP), where
                    else:
                        assert want["aws"] == "denied"
                        assert (verdict.state, verdict.reason, verdict.detail) == (
                            AccessState.UNKNOWN, UnknownReason.DENIED,
                            "AccessDeniedException"), where
    return seen


@pytest.mark.parametrize("seed", [7, 23])
def test_every_verdict_matches_the_ground_truth(seed: int) -> None:
    with run_sim_in_thread(sim_options(seed=seed, accounts=12)) as sim:
        access, stats, scan_calls, all_calls = scan_with_access(sim)
    seen = check_against_truth(sim, access)
    # The organisation exercises every case this test is about.
    for case in ("entry/API", "entry/API_AND_CONFIG_MAP", "no-entry/API",
                 "no-entry/API_AND_CONFIG_MAP", "not-api-mode/CONFIG_MAP", "denied/API"):
        assert seen.get(case, 0) > 0 or (case == "denied/API"
                                         and seen.get("denied/API_AND_CONFIG_MAP", 0) > 0), seen
    assert stats.checked == sum(len(roles) for roles in access.values())
    assert stats.denied > 0
    assert stats.errors == 0
    assert all_calls > scan_calls
