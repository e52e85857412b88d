"""The benchmark's lower-bound formula (bench/lower_bound.py), over tiny hand-made org dumps."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from ekstrio.filters import order_roles


def _load() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "bench" / "lower_bound.py"
    spec = importlib.util.spec_from_file_location("bench_lower_bound", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look the module up while building the class
    spec.loader.exec_module(module)
    return module


lb = _load()


def account(n: int, roles: dict[str, bool], clusters: dict[str, int] | None = None,
            disabled: tuple[str, ...] = (), closed: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "accountId": f"{n:012d}",
        "roles": [{"roleName": k, "eksAccess": v} for k, v in roles.items()],
        "disabledRegions": list(disabled),
        "scpDeniedRegions": list(closed),
        "clusters": {r: [{"name": f"c{i}"} for i in range(k)]
                     for r, k in (clusters or {}).items()},
    }


def bound(accounts: list[dict[str, Any]], regions: tuple[str, ...] = ("r1", "r2"),
          **kw: Any) -> Any:
    return lb.lower_bound({"accounts": accounts}, regions=regions, latency_s=0.05,
                          portal_rps=20.0, eks_rps=10.0, order=order_roles, **kw)


def test_one_account_counts_each_call_once() -> None:
    b = bound([account(1, {"AdministratorAccess": True}, {"r1": 3})])
    assert b.portal_calls == 3  # ListAccounts + ListAccountRoles + GetRoleCredentials
    assert b.eks_calls == (1 + 3) + 1  # r1: ListClusters + 3 Describe; r2: ListClusters
    assert b.busiest_scope_calls == 4
    # ListAccounts, ListAccountRoles, GetRoleCredentials, ListClusters, DescribeCluster
    assert b.critical_calls == 5
    assert b.critical_path_s == pytest.approx(0.25)
    assert b.portal_s == pytest.approx(3 / 20)
    assert b.seconds == pytest.approx(0.4)  # the busiest scope: 4 calls at 10 rps
    assert b.limited_by == "busiest EKS scope"
    assert b.fallback_credentials == 0


def test_account_without_eks_role_tries_every_role_and_finds_nothing() -> None:
    b = bound([account(1, {"BillingAccess": False, "SupportUser": False}, {"r1": 5})])
    assert b.portal_calls == 1 + 1 + 2
    assert b.fallback_credentials == 1
    assert b.busiest_scope_calls == 2  # one denied ListClusters per role, no Describe
    assert b.critical_calls == 2 + 2 * 2  # page, roles, then (credentials + list) per role


def test_preferred_role_is_tried_first_so_no_fallback() -> None:
    # BillingAccess sorts first by name, but the preference puts AdministratorAccess first.
    b = bound([account(1, {"BillingAccess": False, "AdministratorAccess": True})])
    assert b.portal_calls == 3
    assert b.fallback_credentials == 0


def test_long_cluster_list_takes_two_pages() -> None:
    b = bound([account(1, {"AdministratorAccess": True}, {"r1": 150})], regions=("r1",))
    assert b.busiest_scope_calls == 2 + 150
    assert b.critical_calls == 2 + 2 + 1 + 1
    assert b.seconds == pytest.approx(15.2)


def test_account_on_the_second_page_waits_for_both_pages() -> None:
    accounts = [account(i, {"AdministratorAccess": True}) for i in range(101)]
    b = bound(accounts, regions=("r1",))
    assert b.portal_calls == 2 + 101 * 2
    assert b.critical_calls == 2 + 1 + 2  # both pages, roles, credentials + list (empty)
    assert b.portal_s == pytest.approx(204 / 20)
    assert b.limited_by == "portal quota"


def test_disabled_region_costs_one_call() -> None:
    b = bound([account(1, {"AdministratorAccess": True}, {"r1": 1}, disabled=("r2",))])
    assert b.eks_calls == 2 + 1


def test_warm_scan_asks_nothing_about_a_region_it_knows_is_off() -> None:
    b = bound([account(1, {"AdministratorAccess": True}, {"r1": 1}, disabled=("r2",))],
              warm=True)
    assert b.eks_calls == 2


def test_a_region_closed_to_every_role_costs_every_role_a_call() -> None:
    # The role with EKS access is refused there too, so a complete scan asks every other role
    # (credentials once for the account, a ListClusters in each closed region).
    roles = {"AdministratorAccess": True, "ReadOnly": False, "Billing": False}
    b = bound([account(1, roles, {"r1": 1}, closed=("r2",))])
    assert b.eks_calls == 2 + 3
    assert b.portal_calls == 1 + 1 + 3
    assert b.fallback_credentials == 2
    open_only = bound([account(1, roles, {"r1": 1})])
    assert (open_only.eks_calls, open_only.portal_calls) == (2 + 1, 1 + 1 + 1)


def test_warm_scan_makes_no_portal_call() -> None:
    b = bound([account(1, {"AdministratorAccess": True}, {"r1": 3})], warm=True)
    assert b.portal_calls == 0
    assert b.critical_calls == 2  # ListClusters, DescribeCluster
    assert b.eks_calls == 5


def test_limit_scans_the_first_accounts_but_all_account_pages() -> None:
    accounts = [account(i, {"AdministratorAccess": True}) for i in range(150)]
    b = bound(accounts, regions=("r1",), limit=10)
    assert b.portal_calls == 2 + 10 * 2


def test_ground_truth_only_where_some_role_may_call_eks() -> None:
    org = {"accounts": [
        account(1, {"AdministratorAccess": True}, {"r1": 2, "r9": 1}),
        account(2, {"BillingAccess": False}, {"r1": 4}),
    ]}
    truth = lb.ground_truth(org, ("r1", "r2"))
    assert truth == {("000000000001", "r1", "c0"), ("000000000001", "r1", "c1")}
    assert lb.ground_truth(org, ("r1",), limit=0) == set()


def test_pages_of_an_empty_list_is_one_call() -> None:
    assert lb.pages(0, 100) == 1
    assert lb.pages(100, 100) == 1
    assert lb.pages(101, 100) == 2


def test_account_without_roles_still_costs_its_roles_call() -> None:
    b = bound([account(1, {})])
    assert b.portal_calls == 2
    assert b.eks_calls == 0


def test_in_order_client_waits_for_the_portal_to_reach_the_big_account() -> None:
    accounts = [account(i, {"AdministratorAccess": True}) for i in range(39)]
    accounts.append(account(39, {"AdministratorAccess": True}, {"r1": 50}))
    b = bound(accounts, regions=("r1",))
    assert b.portal_calls == 1 + 40 * 2
    assert b.seconds == pytest.approx(max(81 / 20, 51 / 10))
    # the big account's credentials are the last portal call: 81 / 20 s, then 51 calls at 10/s
    assert b.in_order_s == pytest.approx(81 / 20 + 51 / 10)
