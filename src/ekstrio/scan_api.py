"""What a scan asks of AWS and of its caller: the ScanApi protocol (five remote operations and a
priority hint; real: scan_aws.AwsScanApi, tests: fakes), the ScanRequest, and the Outcome of one
region with one role."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol

from ekstrio.filters import ClusterFilter
from ekstrio.model import Account, ClusterInfo, Role, RoleCredentials


class ScanApi(Protocol):
    """The five remote operations a scan makes (real: scan_aws.AwsScanApi; tests: fakes)."""

    def accounts(self) -> AsyncIterator[list[Account]]: ...

    async def roles(self, account_id: str) -> list[Role]: ...

    async def credentials(
        self, account_id: str, role_name: str, *, fresh: bool = False
    ) -> RoleCredentials:
        """``fresh``: skip any cache (the cached ones were refused)."""
        ...

    def from_cache(self, creds: RoleCredentials) -> bool:
        """Whether these credentials came from a cache (and may have been revoked)."""
        ...

    def cluster_names(
        self, creds: RoleCredentials, account_id: str, region: str
    ) -> AsyncIterator[list[str]]: ...

    async def describe(
        self, creds: RoleCredentials, account_id: str, region: str, name: str
    ) -> ClusterInfo: ...

    def priority(self, account_id: str, region: str) -> int:
        """How busy this account-region was last time (clusters listed): busiest first."""
        ...

    def listed(self, account_id: str, region: str, count: int) -> None:
        """A listing of ``account_id``'s ``region`` went to its end and named ``count``
        clusters (before any filter): the next scan's :meth:`priority`."""
        ...

    def known_disabled(self, account_id: str) -> frozenset[str]:
        """Regions a recent scan found not enabled in ``account_id`` (remembered with the
        account list, and as long): reported as such without asking EKS again."""
        ...

    def found_disabled(self, account_id: str, region: str) -> None:
        """This scan found ``region`` not enabled in ``account_id`` (believed: EKS refused
        credentials it accepts elsewhere, or fresh ones)."""
        ...


class Outcome(Enum):
    """What listing and describing one region with one role came to."""

    COMPLETE = "complete"  # listed to the end, every cluster described
    PARTIAL = "partial"  # listed, but a page or a DescribeCluster failed
    DENIED = "denied"  # EKS refused this role (AccessDenied): try the next one
    DISABLED = "disabled"  # the account has not enabled the region
    STALE = "stale"  # EKS refused the credentials themselves (expired, bad signature)


@dataclass(frozen=True, slots=True)
class ScanRequest:
    """What to scan. ``regions`` is already resolved (the partition's EKS regions by default)."""

    regions: tuple[str, ...]
    roles: tuple[str, ...] = ()
    all_roles: bool = False
    filter: ClusterFilter = field(default_factory=ClusterFilter)
    timeout: float | None = None
    login_hint: str = "ekstrio login"
    """The command that signs this session in again, for the error when the token is refused."""
    active_regions: int | None = None
    """At most this many account-regions listing and describing at once (None: no bound)."""
    portal_accounts: int | None = None
    """At most this many accounts in their roles+credentials stage at once (None: no bound).

    The portal is paced per token, in arrival order. Unbounded, every account's
    ListAccountRoles is queued before any GetRoleCredentials, so no account starts its EKS
    work until nearly all roles are listed. A small bound (half the portal rate) keeps each
    account's two calls close together: account k starts after about k/rate·2 seconds.
    """
