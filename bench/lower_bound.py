"""The fastest possible scan of an organisation, computed from the sim's ground truth (--dump-org).

Pure functions over the org dump; no I/O. The formula (docs/benchmarks.md shows it with figures)::

    bound = max(critical_path, portal_calls / portal_rps, busiest_eks_scope_calls / eks_rps)

* critical_path: the longest chain of calls that must happen one after another, times the mean
  latency. For each account and region: the ListAccounts pages up to the page listing the
  account, its ListAccountRoles pages, then for every role the scan must try (see below) one
  GetRoleCredentials and one ListClusters (the denied ones included), the remaining ListClusters
  pages, and one DescribeCluster when the region has clusters.
* portal_calls: ListAccounts pages + per account (ListAccountRoles pages + one
  GetRoleCredentials per role tried).
* busiest_eks_scope_calls: EKS throttles per account and region, so the scope with the most calls
  (ListClusters pages + one DescribeCluster per cluster, plus one denied ListClusters per role
  tried before the one that works) cannot go faster than its quota. The design note's formula
  has only the first two terms; this third one is added because on these orgs one
  account-region holds 100-400 clusters and its quota, not the portal's, can be the limit.

Roles tried: the scan's default preference (``ekstrio.filters.order_roles``) orders an account's
roles; the scan tries them in that order until EKS accepts one. So an account whose first
candidate may call EKS costs one GetRoleCredentials, and an account where no role may call EKS
costs one per role (every fallback is counted: the scan cannot know EKS will refuse them all
without asking). Each token bucket also allows a one-second burst, so a client could beat the
two rate terms by up to one second; the bound ignores that, as the design note does.

The sim adds ``latency + uniform(0, jitter)`` per call, so the mean latency is latency + jitter/2.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

ACCOUNTS_PAGE = 100  # the scan asks for max_result=100 (the portal's maximum)
ROLES_PAGE = 100
CLUSTERS_PAGE = 100  # EKS ListClusters' default and maximum


@dataclass(frozen=True)
class Bound:
    """The lower bound of one cold (or warm) scan and the terms it is the maximum of."""

    critical_path_s: float
    critical_calls: int  # length of the longest dependent chain, in calls
    portal_calls: int
    portal_s: float
    eks_calls: int
    busiest_scope_calls: int
    busiest_scope_s: float
    fallback_credentials: int  # GetRoleCredentials beyond the first, per account, summed
    # Not part of the bound: the best a client can do that serves the portal in listing order
    # (it cannot know which account holds the big list): for each scope, the portal calls up
    # to its account's credentials at the portal rate, then the scope's calls at its rate.
    in_order_s: float = 0.0

    @property
    def seconds(self) -> float:
        return max(self.critical_path_s, self.portal_s, self.busiest_scope_s)

    @property
    def limited_by(self) -> str:
        terms = {"critical path": self.critical_path_s, "portal quota": self.portal_s,
                 "busiest EKS scope": self.busiest_scope_s}
        return max(terms, key=lambda k: terms[k])

    @property
    def total_calls(self) -> int:
        return self.portal_calls + self.eks_calls


def pages(n: int, size: int) -> int:
    """Pages a list of ``n`` items takes (an empty list still takes one call)."""
    return max(1, math.ceil(n / size))


def roles_tried(roles: Sequence[dict[str, Any]],
                order: Callable[[list[str]], list[str]]) -> list[str]:
    """The roles a scan asks credentials for, in order: up to the first with EKS access."""
    access = {r["roleName"]: bool(r["eksAccess"]) for r in roles}
    candidates = order(list(access))
    tried: list[str] = []
    for name in candidates:
        tried.append(name)
        if access[name]:
            break
    return tried


def lower_bound(
    org: dict[str, Any],
    *,
    regions: Sequence[str],
    latency_s: float,
    portal_rps: float,
    eks_rps: float,
    order: Callable[[list[str]], list[str]],
    limit: int | None = None,
    warm: bool = False,
) -> Bound:
    """The bound for scanning ``regions`` of ``org`` (the first ``limit`` accounts, if given).

    ``warm``: role credentials and the account/role lists are cached, so no portal call is
    made and each chain starts at ListClusters.
    """
    all_accounts = org["accounts"]
    accounts = all_accounts[:limit] if limit is not None else all_accounts
    account_pages = pages(len(all_accounts), ACCOUNTS_PAGE)
    portal = 0 if warm else account_pages
    eks_total = 0
    busiest = 0
    longest = 0
    fallbacks = 0
    in_order = 0.0
    wanted = set(regions)
    for index, account in enumerate(accounts):
        tried = roles_tried(account["roles"], order)
        role_pages = pages(len(account["roles"]), ROLES_PAGE)
        disabled = set(account.get("disabledRegions", ()))
        # Regions an SCP closes to every role (Control Tower's region deny): the role with EKS
        # access is refused there too, and a complete scan must go on to every remaining role
        # (such denies often exempt some), which needs their credentials once per account.
        closed = (set(account.get("scpDeniedRegions", ())) & wanted) - disabled
        everyone = order([r["roleName"] for r in account["roles"]]) if closed else tried
        if not warm:
            portal += role_pages + len(everyone)
            fallbacks += max(0, len(everyone) - 1)
        if not tried:
            continue  # no role matches: skipped after ListAccountRoles
        lead = 0 if warm else (index // ACCOUNTS_PAGE + 1) + role_pages
        # In listing order, this account's credentials come after every portal call so far.
        ready = portal / portal_rps
        for region in regions:
            if region in disabled:
                if warm:
                    continue  # the list cache remembers it is off: no call
                # One ListClusters with the first role learns the region is off.
                scope_calls, chain = 1, lead + 1 + 1
            elif region in closed:
                # Every role is refused: one ListClusters each (and credentials, cold).
                scope_calls = len(everyone)
                chain = lead + (1 if warm else 2) * len(everyone)
            else:
                n = len(account["clusters"].get(region, ())) if _eks_ok(account, tried) else 0
                list_pages = pages(n, CLUSTERS_PAGE)
                # Every tried role costs one ListClusters here; the last one reads all pages.
                scope_calls = (len(tried) - 1) + list_pages + n
                per_role = 1 if warm else 2  # (GetRoleCredentials +) ListClusters
                chain = lead + per_role * len(tried) + (list_pages - 1) + (1 if n else 0)
            eks_total += scope_calls
            busiest = max(busiest, scope_calls)
            in_order = max(in_order, ready + scope_calls / eks_rps)
            longest = max(longest, chain)
    return Bound(
        critical_path_s=longest * latency_s,
        critical_calls=longest,
        portal_calls=portal,
        portal_s=portal / portal_rps,
        eks_calls=eks_total,
        busiest_scope_calls=busiest,
        busiest_scope_s=busiest / eks_rps,
        fallback_credentials=fallbacks,
        in_order_s=max(in_order, longest * latency_s, portal / portal_rps),
    )


def _eks_ok(account: dict[str, Any], tried: list[str]) -> bool:
    access = {r["roleName"]: bool(r["eksAccess"]) for r in account["roles"]}
    return access[tried[-1]]


def ground_truth(org: dict[str, Any], regions: Sequence[str],
                 limit: int | None = None) -> set[tuple[str, str, str]]:
    """(account, region, cluster) a scan can find: accounts where some role may call EKS."""
    accounts = org["accounts"][:limit] if limit is not None else org["accounts"]
    wanted = set(regions)
    return {
        (a["accountId"], region, c["name"])
        for a in accounts if any(r["eksAccess"] for r in a["roles"])
        for region, clusters in a["clusters"].items() if region in wanted
        for c in clusters
    }
