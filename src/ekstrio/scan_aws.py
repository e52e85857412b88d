"""The real :class:`~ekstrio.scan.ScanApi`: portal and EKS calls through one Transport,
with the caches that make a warm scan cheap.

- Role credentials: the AWS CLI's cache (``role_cache``, 0600), reused until 15 minutes
  before they expire; ``refresh`` skips reading it (fresh ones are still written).
- Account and role lists: :mod:`ekstrio.inventory` lists cache with a TTL; ``refresh``
  skips it.

:func:`open_scan` builds everything a scan needs from a session and a preset, for the
command, the demo and the benchmark alike.
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import trio

from ekstrio.aws import eks, portal, role_cache
from ekstrio.aws.endpoints import Endpoint, eks_regions, partition_of, resolve
from ekstrio.aws.transport import CallPolicy, CallStats, RateLimits, Transport, make_http_client
from ekstrio.errors import FileWriteError
from ekstrio.inventory import DEFAULT_LIST_TTL, AccountLists, load_lists, save_lists
from ekstrio.model import Account, ClusterInfo, Role, RoleCredentials, SsoSession
from ekstrio.settings import Preset

log = logging.getLogger("ekstrio.scan")

# Cluster counts from an older list cache still order the work well.
HINTS_TTL = 30 * 86400.0

AccessToken = Callable[[], Awaitable[str]]


class AwsScanApi:
    """ScanApi over the real wire protocol (or the local sim, via endpoint overrides)."""

    def __init__(
        self,
        transport: Transport,
        *,
        session: SsoSession,
        access_token: AccessToken,
        portal_endpoint: Endpoint,
        eks_endpoint: Callable[[str], Endpoint],
        refresh: bool = False,
        list_ttl: float = DEFAULT_LIST_TTL,
        use_list_cache: bool = True,
    ) -> None:
        self.t = transport
        self.session = session
        self._token = access_token
        self.portal = portal_endpoint
        self._eks_endpoint = eks_endpoint
        self.refresh = refresh
        self.list_ttl = list_ttl
        self.use_list_cache = use_list_cache
        self._cached: AccountLists | None = None
        self._accounts: list[Account] = []
        self._accounts_complete = False
        self._roles: dict[str, tuple[str, ...]] = {}
        self._fresh_lists = False
        self.cache_hits = 0
        self._cached_keys: set[str] = set()
        # The credentials this scan used, per (account, role): `scan --access` checks each
        # role with them after the scan, without asking the portal (or the cache) again.
        self._used: dict[tuple[str, str], RoleCredentials] = {}
        self._hints: dict[str, int] = {}  # "account/region" -> clusters last time
        # Regions not enabled: as the cached lists remember them (not with --refresh), and
        # as this scan found them; saved with the lists, so they expire with them.
        self._disabled_cached: Mapping[str, frozenset[str]] = {}
        self._disabled_found: dict[str, set[str]] = {}
        self._counts: dict[str, int] = {}  # the same, as listed by this scan

    async def accounts(self) -> AsyncIterator[list[Account]]:
        if self.use_list_cache:
            # Hints are kept even with --refresh: they only order the work.
            previous = load_lists(self.session, ttl=HINTS_TTL)
            self._hints = dict(previous.clusters) if previous else {}
        if self.use_list_cache and not self.refresh:
            self._cached = load_lists(self.session, ttl=self.list_ttl)
        if self._cached is not None:
            log.info("using the cached account list (%d accounts)", len(self._cached.accounts))
            self._accounts = list(self._cached.accounts)
            self._roles = dict(self._cached.roles)
            self._disabled_cached = self._cached.disabled
            self._accounts_complete = True
            yield list(self._cached.accounts)
            return
        token = await self._token()
        async for page in portal.iter_accounts(self.t, self.portal, token):
            self._accounts.extend(page)
            self._fresh_lists = True
            yield page
        self._accounts_complete = True

    async def roles(self, account_id: str) -> list[Role]:
        cached = self._roles.get(account_id)
        if cached is not None:
            self.cache_hits += 1
            return [Role(account_id, name) for name in cached]
        token = await self._token()
        roles = await portal.list_account_roles(self.t, self.portal, token, account_id)
        self._roles[account_id] = tuple(r.role_name for r in roles)
        self._fresh_lists = True
        return roles

    async def credentials(
        self, account_id: str, role_name: str, *, fresh: bool = False
    ) -> RoleCredentials:
        if not (self.refresh or fresh):
            cached = role_cache.load_role_credentials(self.session, account_id, role_name)
            if cached is not None:
                self.cache_hits += 1
                self._cached_keys.add(cached.access_key_id)
                self._used[(account_id, role_name)] = cached
                return cached
        token = await self._token()
        creds = await portal.get_role_credentials(self.t, self.portal, token, account_id,
                                                  role_name)
        try:
            # Written in the event loop: the cache write skips fsync (see role_cache), so it
            # costs microseconds and needs no worker thread.
            role_cache.save_role_credentials(self.session, account_id, role_name, creds)
        except (OSError, FileWriteError) as exc:  # a full disk must not lose the scan
            log.warning("could not cache role credentials: %s", exc)
        self._used[(account_id, role_name)] = creds
        return creds

    def used_credentials(self, account_id: str, role_name: str) -> RoleCredentials | None:
        """The credentials this scan last used for ``role_name`` in ``account_id``."""
        return self._used.get((account_id, role_name))

    def eks_transport(self, region: str) -> Transport:
        """The Transport that carries ``region``'s EKS calls (its scopes live there): the one
        Transport of the scan."""
        del region
        return self.t

    def eks_endpoint(self, region: str) -> Endpoint:
        return self._eks_endpoint(region)

    def from_cache(self, creds: RoleCredentials) -> bool:
        return creds.access_key_id in self._cached_keys

    def priority(self, account_id: str, region: str) -> int:
        """How many clusters this account-region had last time (busiest first)."""
        return self._hints.get(f"{account_id}/{region}", 0)

    def known_disabled(self, account_id: str) -> frozenset[str]:
        return self._disabled_cached.get(account_id, frozenset())

    def found_disabled(self, account_id: str, region: str) -> None:
        self._disabled_found.setdefault(account_id, set()).add(region)

    def cluster_names(
        self, creds: RoleCredentials, account_id: str, region: str
    ) -> AsyncIterator[list[str]]:
        return eks.iter_cluster_names(self.t, self._eks_endpoint(region), creds,
                                      account_id=account_id, region=region)

    def listed(self, account_id: str, region: str, count: int) -> None:
        key = f"{account_id}/{region}"
        if count or key in self._hints:  # a 0 is kept only to replace an older hint
            self._counts[key] = count

    async def describe(
        self, creds: RoleCredentials, account_id: str, region: str, name: str
    ) -> ClusterInfo:
        return await eks.describe_cluster(self.t, self._eks_endpoint(region),
                                          creds, account_id=account_id, region=region,
                                          name=name)

    def save_lists(self) -> None:
        """Keep the account and role lists for the next scan, if this one read them whole."""
        if not (self.use_list_cache and self._accounts_complete):
            return
        if not (self._fresh_lists or self._counts or self._disabled_found):
            return
        clusters = {**self._hints, **self._counts}
        disabled = {account: {*self._disabled_cached.get(account, ()),
                              *self._disabled_found.get(account, ())}
                    for account in {*self._disabled_cached, *self._disabled_found}}
        # Lists read from the cache keep their age: new hints must not extend their TTL.
        saved_at = self._cached.saved_at if self._cached and not self._fresh_lists else None
        try:
            save_lists(self.session, self._accounts, self._roles, clusters=clusters,
                       disabled=disabled, now=saved_at)
        except OSError as exc:
            log.warning("could not cache the account list: %s", exc)


def transport_settings(preset: Preset) -> tuple[RateLimits, CallPolicy]:
    """The preset's pacing and retry values in the transport's terms.

    Each scope sends evenly (``burst=1.0``: starts ``1/rate`` apart) with at most
    ``ceil(rate)`` calls between rate token and answer (``scope_in_flight=0``), so the
    service's one-second burst stays unspent; see "Pacing a scope" in aws/transport.py.
    """
    rates = RateLimits(
        default_rate=preset.eks_rps,
        rates={"portal": preset.portal_rps, "eks": preset.eks_rps},
        recovery_s=preset.throttle_recovery_s,
        burst=1.0,
        scope_in_flight=0,
    )
    policy = CallPolicy(
        call_timeout=preset.call_timeout,
        attempts=preset.attempts,
        backoff_initial=preset.backoff_initial,
        backoff_max=preset.backoff_max,
    )
    return rates, policy


def make_transport(preset: Preset, client: Any, stats: CallStats | None = None) -> Transport:
    rates, policy = transport_settings(preset)
    return Transport(
        client,
        limiter=trio.CapacityLimiter(preset.workers if preset.workers > 0 else math.inf),
        rates=rates,
        policy=policy,
        stats=stats or CallStats(),
        # The portal is a cold scan's critical path: its calls must not queue behind EKS
        # calls that wait for nothing (see "The critical path" in aws/transport.py).
        unqueued=("portal",),
    )


@dataclass(frozen=True, slots=True)
class ScanEnvironment:
    """Where the services of one session live."""

    partition: str
    regions: tuple[str, ...]
    portal: Endpoint
    eks_endpoint: Callable[[str], Endpoint]


def scan_environment(
    session: SsoSession,
    *,
    env: Mapping[str, str] | None = None,
    config_endpoint_url: str | None = None,
    config_services: Mapping[str, Any] | None = None,
) -> ScanEnvironment:
    partition = partition_of(session.region)
    cache: dict[str, Endpoint] = {}

    def eks_endpoint(region: str) -> Endpoint:
        found = cache.get(region)
        if found is None:
            found = cache[region] = resolve("eks", region, env=env,
                                            config_endpoint_url=config_endpoint_url,
                                            config_services=config_services)
        return found

    portal_endpoint = resolve("sso", session.region, env=env,
                              config_endpoint_url=config_endpoint_url,
                              config_services=config_services)
    return ScanEnvironment(partition, eks_regions(partition), portal_endpoint, eks_endpoint)


@asynccontextmanager
async def open_scan(
    session: SsoSession,
    preset: Preset,
    *,
    access_token: Callable[[Transport], AccessToken],
    refresh: bool = False,
    env: Mapping[str, str] | None = None,
    config_endpoint_url: str | None = None,
    config_services: Mapping[str, Any] | None = None,
    ca_bundle: str | None = None,
    list_ttl: float = DEFAULT_LIST_TTL,
    use_list_cache: bool = True,
    stats: CallStats | None = None,
) -> AsyncIterator[tuple[AwsScanApi, ScanEnvironment]]:
    """An AwsScanApi with its own HTTP client and Transport, closed on exit.

    ``access_token`` gets the Transport and returns the async callable that answers the
    SSO access token (``lambda t: TokenProvider(session, t).access_token``), so that token
    refreshes share the client and the rate limits.
    The account/role lists are saved on a normal exit. ``stats``: the call counters to
    count into (a progress display reads them while the scan runs).
    """
    where = scan_environment(session, env=env, config_endpoint_url=config_endpoint_url,
                             config_services=config_services)
    # ONE HTTP client and one Transport for the whole scan. There used to be one client per
    # 16 requests in flight, each EKS region pinned to one: httpcore 1.0's pool rescanned
    # every connection for every queued request (O(in-flight²) CPU per call). The lean
    # transport's idle stacks are O(1) per request whatever the number of connections, and
    # measured side by side (medium org, all regions, lean): 1 client 2.56 / 2.81 ms CPU per
    # call cold / warm, 4 clients 2.55 / 2.59, the same within this machine's noise.
    async with make_http_client(ca_bundle=ca_bundle) as client:
        transport = make_transport(preset, client, stats)
        api = AwsScanApi(
            transport,
            session=session,
            access_token=access_token(transport),
            portal_endpoint=where.portal,
            eks_endpoint=where.eks_endpoint,
            refresh=refresh,
            list_ttl=list_ttl,
            use_list_cache=use_list_cache,
        )
        yield api, where
        api.save_lists()
