"""What a scan document puts in a kubeconfig: one target per (cluster, role) to sign in with.

Pure. :func:`inventory_of` reads a :class:`~ekstrio.scan_document.ScanDocument` into the
:class:`Inventory` that :func:`ekstrio.kubeconfig.reconcile` (and ``ekstrio profiles``) work
from: the targets (clusters with an endpoint, each role best first), the clusters left out and
why, the account/regions the scan completed (the prune scope) and the SSO sign-in the exec
plugin will use. Every value that becomes YAML or INI is checked first (:func:`check_entry`),
since a scan document is input again when it is read back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ekstrio.aws import untrusted
from ekstrio.errors import ConfigError
from ekstrio.scan_document import ScanDocument
from ekstrio.scan_entries import ClusterEntry


@dataclass(frozen=True, slots=True)
class Target:
    """One kubeconfig entry to write: a cluster seen through one role."""

    account_id: str
    account_name: str
    region: str
    cluster: str
    role: str
    arn: str
    server: str
    ca_data: str | None
    cluster_id: str | None = None  # Outposts local clusters sign their id, not their name

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.account_id, self.region, self.cluster, self.role)

    def fields(self) -> dict[str, str]:
        return {"account_id": self.account_id, "account_name": self.account_name,
                "role": self.role, "region": self.region, "cluster": self.cluster}


@dataclass(frozen=True, slots=True)
class SkippedCluster:
    account_id: str
    region: str
    cluster: str
    status: str
    reason: str


@dataclass(frozen=True, slots=True)
class SsoRef:
    """Which SSO sign-in the exec plugin uses (from the inventory's ``sso``)."""

    session: str | None
    start_url: str
    region: str


@dataclass(frozen=True, slots=True)
class Inventory:
    targets: tuple[Target, ...]
    skipped: tuple[SkippedCluster, ...]
    completed: frozenset[tuple[str, str]]
    seen: frozenset[tuple[str, str, str]]  # (account, region, cluster) of every cluster listed
    sso: SsoRef | None
    partition: str = "aws"
    # (account_id, account_name, role) of every cluster record, with or without an endpoint
    roles: tuple[tuple[str, str, str], ...] = ()


def parse_inventory(doc: Any) -> Inventory:
    """Read a parsed scan JSON document (schema ``ekstrio.scan/v1``) into targets."""
    return inventory_of(ScanDocument.from_json(doc))


def check_entry(index: int, item: ClusterEntry) -> None:
    """Raise ConfigError unless every value of a cluster record that reaches a kubeconfig or
    an AWS config is what AWS documents for it (aws/untrusted.py).

    The scan checks answers as they arrive; a scan document is input again when it is read
    back (``--from FILE``, an inventory saved before names were checked, a hand edit), and
    these values become YAML and INI. The message names the record and field, not the value.
    """
    checks: list[tuple[Callable[[object, str], object], object, str]] = [
        (untrusted.account_id, item.account_id, "account_id"),
        (untrusted.region, item.region, "region"),
        (untrusted.cluster_name, item.name, "name"),
        *((untrusted.role_name, role, "roles[]") for role in item.roles),
    ]
    optional: list[tuple[Callable[[object, str], object], object, str]] = [
        (untrusted.account_name, item.account_name, "account_name"),
        (untrusted.https_endpoint, item.endpoint, "endpoint"),
        (untrusted.ca_data, item.certificate_authority_data, "certificate_authority_data"),
        (untrusted.text, item.outpost_id, "outpost_id"),
        (untrusted.text, item.arn, "arn"),
        (untrusted.text, item.status, "status")]
    checks += [entry for entry in optional if entry[1]]
    for check, value, key in checks:
        try:
            check(value, key)
        except untrusted.BadValue as exc:
            raise ConfigError(f"scan document clusters[{index}].{exc}; run `ekstrio scan` "
                              "again") from None


def _role_order(item: ClusterEntry) -> list[str]:
    # With `scan --access` results the role most likely to get in comes first (the document
    # keeps them best first); without them, the scan's order.
    if not item.access:
        return list(item.roles)
    ranked = [role for role in item.access if role in item.roles]
    return ranked + [role for role in item.roles if role not in ranked]


def inventory_of(doc: ScanDocument, *, only_accessible: bool = False) -> Inventory:
    """The kubeconfig targets of a scan: one per cluster with an endpoint and role.

    ``only_accessible``: only roles that ``scan --access`` found can get in (the cluster's
    own answer when it was asked live, else the EKS API's); a cluster checked by no role
    is left out, with the reason in ``skipped``."""
    targets: list[Target] = []
    order: dict[tuple[str, str, str, str], int] = {}
    skipped: list[SkippedCluster] = []
    seen: set[tuple[str, str, str]] = set()
    roles_seen: dict[tuple[str, str], str] = {}
    for index, item in enumerate(doc.clusters):
        check_entry(index, item)
        account, region, name = item.account_id, item.region, item.name
        account_name = item.account_name or account
        seen.add((account, region, name))
        for role in item.roles:
            roles_seen[(account, role)] = account_name
        status = item.status or "UNKNOWN"
        if not item.endpoint:
            skipped.append(SkippedCluster(account, region, name, status,
                                          f"no endpoint (status {status})"))
            continue
        if not item.roles:
            skipped.append(SkippedCluster(account, region, name, status, "no role to sign in with"))
            continue
        roles = _role_order(item)
        if only_accessible:
            roles = [r for r in roles if item.access and r in item.access
                     and item.access[r].gets_in]
            if not roles:
                skipped.append(SkippedCluster(account, region, name, status,
                                              "no role can get in (scan --access)"))
                continue
        for rank, role in enumerate(roles):
            order[(account, region, name, role)] = rank
            targets.append(Target(
                account_id=account, account_name=account_name,
                region=region, cluster=name, role=role,
                arn=item.arn, server=item.endpoint,
                ca_data=item.certificate_authority_data or None,
                cluster_id=item.outpost_id or None,
            ))
    sso = None
    if doc.sso.session or doc.sso.start_url:
        sso = SsoRef(session=doc.sso.session or None, start_url=doc.sso.start_url or "",
                     region=doc.sso.region or "")
    unique = {t.key: t for t in targets}  # a record listed twice must not make two entries
    # Clusters in key order; within a cluster, its best role first.
    keys = sorted(unique, key=lambda k: (k[:3], order.get(k, 0), k[3]))
    return Inventory(tuple(unique[k] for k in keys), tuple(skipped),
                     frozenset(doc.completed), frozenset(seen), sso, doc.partition,
                     tuple((a, n, r) for (a, r), n in sorted(roles_seen.items())))
