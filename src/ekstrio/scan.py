"""The scan: every account, role, region and cluster, as one nursery tree.

Shape (one nursery per level; see docs/architecture.md, "The scan's nursery tree")::

    run_scan
    ├── consumer                    ONE task: collector + on_record (progress, NDJSON)
    └── deadline scope (--timeout)
        └── accounts nursery        ListAccounts pages stream in; each account starts at once
            └── account task        ListAccountRoles → order roles
                └── regions nursery
                    └── region task     for each candidate role: credentials (single-flight
                        │               per account+role) → ListClusters pages
                        └── describe nursery  one DescribeCluster per name

Every remote call goes through :class:`ScanApi`, five async operations and a priority hint
(what the last scan listed, told by :meth:`ScanApi.listed`).
The real one (:mod:`ekstrio.scan_aws`) routes them through the Transport, whose
CapacityLimiter bounds requests in flight and whose token buckets pace each scope; fakes
stand in for tests.
An expected failure (an ``AwsError`` or ``TransportError`` after retries) becomes a
:class:`ScanError` record for its account/region and never stops a sibling; only bugs
and :class:`~ekstrio.errors.AuthError` (the SSO token itself is gone) escape, in trio's
exception group (the CLI unwraps it).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import trio

from ekstrio.account_credentials import AccountCredentials
from ekstrio.errors import AccessDeniedError, EkstrioError
from ekstrio.filters import order_roles
from ekstrio.model import Account, Cluster, RoleCredentials
from ekstrio.scan_api import Outcome, ScanApi, ScanRequest
from ekstrio.scan_failures import (
    EXPECTED,
    any_denial,
    error_record,
    is_region_not_enabled,
    token_refused,
)
from ekstrio.scan_records import (
    AccountDone,
    AccountFound,
    Record,
    RegionDone,
    ScanCollector,
    ScanError,
    ScanReport,
    Skipped,
    Stage,
)
from ekstrio.scan_region import list_and_describe
from ekstrio.slots import PrioritySlots

__all__ = [
    "ScanApi",
    "ScanCollector",
    "ScanReport",
    "ScanRequest",
    "is_region_not_enabled",
    "run_scan",
]

@dataclass(frozen=True)
class _Usable:
    roles: list[str]
    creds: AccountCredentials


@dataclass
class _AccountState:
    """What the region tasks of one account tell the account task."""

    denied: dict[str, list[str]] = field(default_factory=dict)  # region -> roles EKS denied
    suspects: list[str] = field(default_factory=list)  # "disabled" to cached credentials
    authenticated: bool = False  # EKS accepted the credentials somewhere (listed or denied)
    trust_disabled: bool = False  # credentials renewed: "disabled" means disabled


class _Scan:
    def __init__(self, request: ScanRequest, api: ScanApi, collector: ScanCollector) -> None:
        self.request = request
        self.api = api
        self.collector = collector
        self._disabled_regions: dict[str, set[str]] = {}
        # Bounds the frontier, not the requests (the Transport's limiter does that): with
        # every region of every account started at once, the limiter's FIFO queue holds
        # thousands of ListClusters, a region's DescribeCluster calls wait behind them and
        # then leave in a burst that the service throttles. A few active regions at a
        # time keep that queue short; a region that is waiting costs nothing.
        # A region task is started only once it holds a slot, and holds it to its end: a
        # waiting region is then an item of its account's loop, not a task (a warm
        # 2,000-account scan would otherwise start 34,000 region tasks that mostly wait,
        # about 70 MB of coroutine frames), and a region takes its slot once, not once per
        # role it tries (each PrioritySlots.acquire costs two scheduler steps).
        self._region_slots = PrioritySlots(request.active_regions or 1_000_000_000)
        self._portal_stage = PrioritySlots(request.portal_accounts or 1_000_000_000)

    # Busiest first: with a bounded frontier (active_regions, portal_accounts) tasks take
    # their turns in start order, and the region with the most clusters (paced per scope,
    # so the longest to describe) should not wait behind thousands of empty ones. The
    # hint is how many clusters the previous scan listed there (ScanApi.priority).
    # Read once per account (a dict of only the regions that had clusters, most have none),
    # not at each sort, slot and stage: that was ten Python calls per region.
    def _ranks(self, account: Account) -> dict[str, int]:
        account_id = account.account_id
        priority = self.api.priority
        ranks = {}
        for region in self.request.regions:
            if rank := priority(account_id, region):
                ranks[region] = rank
        return ranks

    def _disabled(self, account: Account) -> set[str]:
        return self._disabled_regions.setdefault(account.account_id, set())

    # ``collector.frontier`` says what each unfinished account/region is doing; see
    # scan_records.Frontier for why entries are left only on a normal end.

    async def run(self, send: trio.MemorySendChannel[Record]) -> None:
        frontier = self.collector.frontier
        async with send, trio.open_nursery() as nursery:
            frontier.enter((None, None), Stage.ACCOUNTS, None, None)
            listed = itertools.count()
            try:
                async for page in self.api.accounts():
                    ranked = [(account, self._ranks(account)) for account in page]
                    ranked.sort(key=_busiest, reverse=True)  # stable: ties keep list order
                    for account, ranks in ranked:
                        if not self.request.filter.account_selected(account):
                            continue
                        await _put(send, AccountFound(account))
                        nursery.start_soon(self.account, account, next(listed), ranks,
                                           send.clone())
            except EXPECTED as exc:
                hint = self.request.login_hint
                if (refused := token_refused(exc, hint) or any_denial(exc, hint)) is not None:
                    raise refused from exc
                await _put(send, error_record(None, None, None, Stage.ACCOUNTS, exc))
            frontier.leave((None, None))

    async def account(self, account: Account, listed: int, ranks: dict[str, int],
                      send: trio.MemorySendChannel[Record]) -> None:
        """Roles, credentials and every region of one account; ``listed`` is its place in
        the (sorted) account list, which the portal stage serves in that order; ``ranks``
        the busy regions' priorities (see _ranks)."""
        frontier = self.collector.frontier
        key = (account.account_id, None)
        with send:  # closing a clone is sync; `async with` adds a checkpoint per account
            # Roles and credentials back to back, a few accounts at a time: see
            # ScanRequest.portal_accounts. Waiting counts as unfinished work already.
            frontier.enter(key, Stage.LIST_ROLES, None, account.name)
            async with self._portal_stage.hold(max(ranks.values(), default=0), listed):
                usable = await self.roles_and_credentials(account, send)
            if usable is None:
                await _put(send, AccountDone(account))
                return
            creds = usable.creds
            state = _AccountState()
            if usable.roles:
                # Regions a recent scan found not enabled are reported so again without a
                # call: opting a region in is rare, and they were nearly half of a warm
                # all-regions scan's calls. They are remembered with the account list (and
                # as long); --refresh asks again.
                known = self.api.known_disabled(account.account_id)
                for region in self.request.regions:
                    if region in known:
                        await self._region_disabled(account, region, send)
                regions = [r for r in self.request.regions if r not in known]
                if ranks:
                    regions.sort(key=lambda r: ranks.get(r, 0), reverse=True)  # stable
                # Unfinished from now on, admitted or not: a deadline reports them all.
                for region in regions:
                    frontier.enter((account.account_id, region), Stage.LIST_CLUSTERS,
                                   usable.roles[0], account.name)
                await self._regions(account, regions, ranks, usable.roles, creds, state, send)
            if state.suspects:
                await self.recheck_suspects(account, usable.roles, ranks, creds, state, send)
            denied = state.denied
            if denied:
                # EKS refused every role: the person has no EKS access there. That is a
                # fact to report, not a failure to retry, so it is "skipped" (exit 0).
                # One record for the account when it holds in every region it tried.
                tried = sorted({role for roles in denied.values() for role in roles})
                reason = f"EKS denied every role (tried {', '.join(tried)})"
                attempted = [r for r in self.request.regions if r not in self._disabled(account)]
                if set(denied) >= set(attempted):
                    await _put(send, Skipped(account.account_id, None, reason))
                else:
                    for region in sorted(denied):
                        await _put(send, Skipped(account.account_id, region, reason))
            await _put(send, AccountDone(account))

    async def roles_and_credentials(
        self, account: Account, send: trio.MemorySendChannel[Record]
    ) -> _Usable | None:
        """The account's roles in order of preference, with credentials for the first usable
        one (all with --all-roles); None when there is nothing to scan (already reported)."""
        frontier = self.collector.frontier
        key = (account.account_id, None)
        frontier.enter(key, Stage.LIST_ROLES, None, account.name)
        try:
            roles = await self.api.roles(account.account_id)
        except EXPECTED as exc:
            if (refused := token_refused(exc, self.request.login_hint)) is not None:
                raise refused from exc
            frontier.leave(key)
            await _put(send, error_record(account, None, None, Stage.LIST_ROLES, exc))
            return None
        candidates = order_roles((r.role_name for r in roles), self.request.roles)
        if not candidates:
            frontier.leave(key)
            reason = "no matching role" if roles else "no roles assigned"
            await _put(send, Skipped(account.account_id, None, reason))
            return None
        frontier.enter(key, Stage.CREDENTIALS, candidates[0], account.name)
        creds = AccountCredentials(self.api, account.account_id, self.request.login_hint)
        usable = await self.usable_roles(account, candidates, creds, send)
        frontier.leave(key)
        return _Usable(usable, creds)

    async def usable_roles(
        self,
        account: Account,
        candidates: list[str],
        creds: AccountCredentials,
        send: trio.MemorySendChannel[Record],
    ) -> list[str]:
        """Roles whose credentials could be had: the first that works, or all with --all-roles.

        A credentials failure is reported here, once per account, not once per region.
        """
        results: dict[str, RoleCredentials | EkstrioError] = {}
        if self.request.all_roles:
            async def fetch(role: str) -> None:
                results[role] = await creds.get(role)

            async with trio.open_nursery() as nursery:
                for role in candidates:
                    nursery.start_soon(fetch, role)
        else:
            for role in candidates:
                results[role] = got = await creds.get(role)
                if not isinstance(got, EkstrioError):
                    break
        usable = [r for r in candidates if isinstance(results.get(r), RoleCredentials)]
        failed = [(r, v) for r, v in results.items() if isinstance(v, EkstrioError)]
        for role, exc in failed:
            # A denied role is expected when there is another; say so only if none works.
            if not usable or not isinstance(exc, AccessDeniedError):
                await _put(send, error_record(account, None, role, Stage.CREDENTIALS, exc))
        # Regions may fall back to the later roles after an EKS denial.
        return usable + [r for r in candidates if r not in results]

    async def recheck_suspects(
        self,
        account: Account,
        usable: list[str],
        ranks: dict[str, int],
        creds: AccountCredentials,
        state: _AccountState,
        send: trio.MemorySendChannel[Record],
    ) -> None:
        """Regions that looked disabled to cached credentials: believe it, or renew and retry.

        Revoked cached credentials (or ones another session issued) get the very answer a
        disabled region gets (403 UnrecognizedClientException). If EKS accepted the same
        credentials in any region of the account (a list, or even an AccessDenied, which
        comes after authentication) they are good and the regions really are off. If not,
        renew the cached ones (once per role) and scan those regions again.
        """
        suspects, state.suspects = sorted(state.suspects), []
        if not state.authenticated:
            for role in creds.cached_roles():
                await creds.renew(role)
            state.trust_disabled = True
            await self._regions(account, suspects, ranks, usable, creds, state, send)
            return
        for region in suspects:
            await self._region_disabled(account, region, send)

    async def _region_disabled(self, account: Account, region: str,
                               send: trio.MemorySendChannel[Record]) -> None:
        self._disabled(account).add(region)
        self.api.found_disabled(account.account_id, region)
        await _put(send, Skipped(account.account_id, region, "region not enabled"))

    async def _regions(self, account: Account, regions: list[str], ranks: dict[str, int],
                       candidates: list[str],
                       creds: AccountCredentials, state: _AccountState,
                       send: trio.MemorySendChannel[Record]) -> None:
        """A task per region in ``regions`` (best first), each started holding a region slot."""
        async with trio.open_nursery() as nursery:
            for region in regions:
                await self._region_slots.acquire(ranks.get(region, 0))
                # No checkpoint between the grant and start_soon: the slot cannot be lost.
                nursery.start_soon(self._admitted_region, account, region, candidates, creds,
                                   state, send.clone())

    async def _admitted_region(self, *args: Any) -> None:
        try:
            await self.region(*args)
        finally:
            self._region_slots.release()

    async def region(
        self,
        account: Account,
        region: str,
        candidates: list[str],
        creds: AccountCredentials,
        state: _AccountState,
        send: trio.MemorySendChannel[Record],
    ) -> None:
        frontier = self.collector.frontier
        key = (account.account_id, region)
        with send:  # as in account(): no checkpoint to close a clone
            found: dict[str, Cluster] = {}
            failures: list[ScanError] = []
            denied: list[str] = []
            listed_any = False
            complete = True
            for role in candidates:
                frontier.enter(key, Stage.CREDENTIALS, role, account.name)
                got = await creds.get(role)
                if isinstance(got, EkstrioError):
                    continue  # reported once by the account task
                # list_and_describe enters Stage.LIST_CLUSTERS itself.
                outcome = await list_and_describe(self.api, self.request.filter,
                                                  self.collector.frontier, account, region,
                                                  role, got, found, failures)
                if outcome is Outcome.STALE and creds.from_cache(got):
                    # EKS refused the cached credentials themselves (expired, or a signature
                    # it cannot check): renew once for the account, then try again.
                    got = await creds.renew(role)
                    if isinstance(got, EkstrioError):
                        continue
                    outcome = await list_and_describe(self.api, self.request.filter,
                                                      self.collector.frontier, account,
                                                      region, role, got, found, failures)
                if outcome is Outcome.STALE:
                    failures.append(ScanError(account.account_id, account.name, region, role,
                                              Stage.LIST_CLUSTERS, "ExpiredTokenException",
                                              "EKS refused fresh role credentials"))
                    continue
                if outcome is Outcome.DISABLED:
                    frontier.leave(key)
                    if creds.from_cache(got) and not state.trust_disabled:
                        state.suspects.append(region)  # decided by recheck_suspects
                        return
                    await self._region_disabled(account, region, send)
                    return
                # An answer other than "disabled"/"stale" means EKS knew the credentials.
                state.authenticated = True
                if outcome is Outcome.DENIED:
                    denied.append(role)
                    continue
                listed_any = True
                complete = complete and outcome is Outcome.COMPLETE
                if not self.request.all_roles:
                    break
            frontier.leave(key)
            for cluster in sorted(found.values(), key=lambda c: c.name):
                await _put(send, cluster)
            if not listed_any and not failures:
                state.denied[region] = denied
            for failure in failures:
                await _put(send, failure)
            if listed_any:
                # With a name or tag filter, an absent cluster may just be filtered out, so
                # the region does not count as completed (kubeconfig --prune trusts it).
                whole = complete and not failures and not self.request.filter.narrows_clusters
                await _put(send, RegionDone(account.account_id, region, whole))


def _busiest(ranked: tuple[Account, dict[str, int]]) -> int:
    return max(ranked[1].values(), default=0)


async def _put(send: trio.MemorySendChannel[Record], record: Record) -> None:
    """Send a record; without a trip through trio's scheduler while the buffer has room.

    ``send.send`` always yields (a checkpoint), and a scan sends a record or two per
    account-region: on a warm all-regions scan that was about one scheduler step in ten.
    The buffer is the consumer's (``run_scan``), which only runs when producers wait on
    the network, so room is the normal case; a full buffer still waits as before.
    """
    try:
        send.send_nowait(record)
    except trio.WouldBlock:
        await send.send(record)


async def _consume(
    receive: trio.MemoryReceiveChannel[Record],
    collector: ScanCollector,
    on_record: Callable[[Record], None] | None,
) -> None:
    """The one consumer: every record passes here, in order, so output needs no locks."""

    def take(record: Record) -> None:
        collector.add(record)
        if on_record is not None:
            on_record(record)

    async with receive:
        try:
            while True:
                # What is buffered is taken without a scheduler step per record (receive()
                # always yields once); the consumer waits only when the buffer is empty.
                try:
                    record = receive.receive_nowait()
                except trio.WouldBlock:
                    try:
                        record = await receive.receive()
                    except trio.EndOfChannel:
                        break
                except trio.EndOfChannel:
                    break
                take(record)
        finally:
            # Cancelled from outside (Ctrl-C): keep what producers already sent.
            while True:
                try:
                    take(receive.receive_nowait())
                except (trio.WouldBlock, trio.EndOfChannel, trio.ClosedResourceError):
                    break


async def run_scan(
    request: ScanRequest,
    api: ScanApi,
    *,
    collector: ScanCollector | None = None,
    on_record: Callable[[Record], None] | None = None,
) -> ScanReport:
    """Scan everything ``request`` asks for and return the report.

    ``on_record`` sees every record as the consumer takes it (progress, NDJSON). Pass a
    ``collector`` to keep the partial results when the caller cancels the scan (Ctrl-C):
    ``collector.finish(interrupted=True)`` then turns them into a report.
    """
    collector = collector or ScanCollector()
    collector.start()
    send, receive = trio.open_memory_channel[Record](1024)
    # An AuthError leaves in trio's exception group, as every error a nursery raises does:
    # cli.py unwraps groups, once, for every command.
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_consume, receive, collector, on_record)
        async with send:
            deadline = request.timeout if request.timeout else math.inf
            with trio.move_on_after(deadline) as scope:
                await _Scan(request, api, collector).run(send.clone())
            collector.timed_out = scope.cancelled_caught
    return collector.finish(on_record=on_record)
