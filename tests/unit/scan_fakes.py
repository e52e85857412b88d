"""An in-memory organisation behind the ScanApi protocol, for engine tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import trio

from ekstrio.errors import AccessDeniedError, AwsError, NotFoundError
from ekstrio.model import Account, ClusterInfo, Role, RoleCredentials


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

    async def credentials(self, account_id: str, role_name: str) -> RoleCredentials:
        await self.org._call("credentials", account_id, role_name)
        if (account_id, role_name) in self.org.creds_denied:
            raise AccessDeniedError("ForbiddenException", "No access", status=403, service="sso")
        return RoleCredentials(f"AKIA{account_id}{role_name}", "secret", "token",
                               datetime.now(UTC) + timedelta(hours=1))

    async def cluster_names(
        self, creds: RoleCredentials, account_id: str, region: str
    ) -> AsyncIterator[list[str]]:
        role = creds.access_key_id.removeprefix(f"AKIA{account_id}")
        names = sorted(self.org.clusters.get((account_id, region), []))
        for start in range(0, max(len(names), 1), self.org.page_size):
            await self.org._call("list_clusters", account_id, region, role)
            if (account_id, region) in self.org.disabled:
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
