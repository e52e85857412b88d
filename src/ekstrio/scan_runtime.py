"""One AWS scan, start to end, below the CLI: what ``scan`` and ``kubeconfig --scan`` call.

:func:`run_aws_scan` resolves the session, builds the request, opens the HTTP clients and the
token provider, runs the nursery tree of :mod:`ekstrio.scan` under a cancel scope that Ctrl-C
(or the caller, through :class:`ScanStop`) cancels, and returns the report and its document.
It never prints and never exits: records go to the caller's ``on_record``, and
``-v`` events to the ``ekstrio.scan`` logger.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import threading
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import trio

from ekstrio.access_record import AccessMode, ClusterKey, RoleAccess
from ekstrio.auth.provider import TokenProvider
from ekstrio.auth.session import login_hint, oidc_endpoint, resolve
from ekstrio.aws.transport import CallStats
from ekstrio.filters import ClusterFilter, check_regions
from ekstrio.gc_tuning import scan_gc
from ekstrio.logs import account_label
from ekstrio.model import RoleCredentials, SessionChoice, SsoSession
from ekstrio.scan import ScanRequest, run_scan
from ekstrio.scan_aws import open_scan, scan_environment
from ekstrio.scan_document import ScanDocument
from ekstrio.scan_entries import AccessSummary
from ekstrio.scan_records import (
    AccountDone,
    Record,
    RecordHandler,
    ScanCollector,
    ScanError,
    ScanReport,
    Skipped,
    dispatch,
)
from ekstrio.settings import Preset, load_preset

log = logging.getLogger("ekstrio.scan")


@dataclass(frozen=True, slots=True)
class ScanOptions:
    """What to scan and how fast: the session flags, the filters and the preset."""

    session: SessionChoice = field(default_factory=SessionChoice)
    regions: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    all_roles: bool = False
    cluster_filter: ClusterFilter = field(default_factory=ClusterFilter)
    preset: Preset | None = None  # None: the default preset
    refresh: bool = False
    access: AccessMode | None = None  # `scan --access [live]`: None makes no extra call
    live_bound: float = 5.0  # seconds per live request (connect and TLS included)


@dataclass(frozen=True, slots=True)
class ScanOutcome:
    report: ScanReport
    document: ScanDocument
    interrupted: bool  # Ctrl-C ended it (the report holds what was found so far)


class ScanStop:
    """Lets the caller end a running scan early, e.g. when nobody reads its output any more.

    Called from inside the scan's event loop (a record sink), so no locking: it cancels the
    scan's scope if the scan is running, and a scan not started yet will not start.
    """

    def __init__(self) -> None:
        self.requested = False
        self._scope: trio.CancelScope | None = None

    def __call__(self) -> None:
        self.requested = True
        if self._scope is not None:
            self._scope.cancel()

    def attach(self, scope: trio.CancelScope) -> None:
        self._scope = scope
        if self.requested:
            scope.cancel()


def run_aws_scan(
    options: ScanOptions,
    *,
    on_record: Callable[[Record], None] | None = None,
    stats: CallStats | None = None,
    stop: ScanStop | None = None,
    log_events: bool = False,
    env: Mapping[str, str] | None = None,
    on_regions: Callable[[int], None] | None = None,
) -> ScanOutcome:
    """Scan every account, role and region ``options`` asks for (runs its own trio loop).

    ``stats`` are the transport's call counters, passed in so that a progress display can
    read them while the scan runs. ``log_events``: per-account events go to the
    ``ekstrio.scan`` logger at INFO (``-v``). ``on_regions`` learns how many regions each
    account is scanned in, once they are known (for progress totals). Expected failures
    are in the report; AuthError (sign in again) and ConfigError (bad session flags) are
    raised (AuthError from inside the scan in an exception group: the CLI unwraps it).
    """
    env = dict(os.environ) if env is None else dict(env)
    cfg, session = resolve(options.session, env=env)
    preset = options.preset or load_preset(None)
    where = scan_environment(session, env=cfg.env, config_endpoint_url=cfg.endpoint_url,
                             config_services=cfg.services)
    request = ScanRequest(
        regions=check_regions(options.regions, where.regions),
        roles=options.roles,
        all_roles=options.all_roles,
        filter=options.cluster_filter,
        timeout=preset.scan_timeout,
        login_hint=login_hint(session, profile=options.session.profile or cfg.profile_name),
        active_regions=preset.workers,
        portal_accounts=max(1, math.ceil(preset.portal_rps / 2)),
    )
    if on_regions is not None:
        on_regions(len(request.regions))
    sink = _with_log(on_record) if log_events else on_record
    stats = stats or CallStats()
    with scan_gc():
        report, interrupted, access = trio.run(_scan_async, options, preset, session, cfg,
                                               request, sink, stats, stop or ScanStop())
    document = ScanDocument.from_report(report, session=session, partition=where.partition,
                                        access=access[0] if access else None)
    if access is not None:
        # The access pass ran after the report was made: count its calls and time too.
        summary = replace(document.summary, api_calls=stats.calls, retries=stats.retries,
                          throttles=stats.throttles,
                          duration_s=round(document.summary.duration_s + access[1].duration_s,
                                           3),
                          access=access[1])
        document = replace(document, summary=summary)
    return ScanOutcome(report, document, interrupted)


AccessPass = tuple[dict[ClusterKey, dict[str, RoleAccess]], AccessSummary]


async def _access_pass(options: ScanOptions, api: Any, report: ScanReport, session: SsoSession,
                       cfg: Any) -> AccessPass:
    """``scan --access``: every (cluster, role) of the report, on the scan's transports."""
    from ekstrio.access_aws import AccessStats
    from ekstrio.access_scan import check_access
    from ekstrio.aws.eks_token import STS_OVERRIDE_ENV
    from ekstrio.aws.endpoints import Endpoint
    from ekstrio.aws.endpoints import resolve as resolve_endpoint
    from ekstrio.scan_failures import EXPECTED

    started = trio.current_time()
    stats = AccessStats()
    sts_endpoints: dict[str, Endpoint] = {}

    def sts_endpoint(region: str) -> Endpoint:
        if region not in sts_endpoints:
            sts_endpoints[region] = resolve_endpoint("sts", region, env=cfg.env,
                                                     config_endpoint_url=cfg.endpoint_url,
                                                     config_services=cfg.services)
        return sts_endpoints[region]

    async def credentials(account_id: str, role: str) -> RoleCredentials | None:
        found: RoleCredentials | None = api.used_credentials(account_id, role)
        if found is not None:
            return found
        try:
            fetched: RoleCredentials = await api.credentials(account_id, role)
        except EXPECTED:
            return None
        return fetched

    access = await check_access(
        report.clusters, transport=api.eks_transport, eks_endpoint=api.eks_endpoint,
        sts_endpoint=sts_endpoint, credentials=credentials, sso_region=session.region,
        live=options.access is AccessMode.LIVE,
        sts_for_tokens=cfg.env.get(STS_OVERRIDE_ENV) or None, bound=options.live_bound,
        stats=stats)
    live = sum(1 for roles in access.values() for r in roles.values() if r.live is not None)
    return access, AccessSummary(stats.checked, stats.denied, stats.errors, live,
                                 round(trio.current_time() - started, 3))


async def _scan_async(
    options: ScanOptions, preset: Preset, session: SsoSession, cfg: Any, request: ScanRequest,
    on_record: Callable[[Record], None] | None, stats: CallStats, stop: ScanStop,
) -> tuple[ScanReport, bool, AccessPass | None]:
    oidc = oidc_endpoint(session, cfg)
    async with open_scan(
        session, preset,
        access_token=lambda t: TokenProvider(session, t, endpoint=oidc,
                                             profile=options.session.profile).access_token,
        refresh=options.refresh, env=cfg.env, config_endpoint_url=cfg.endpoint_url,
        config_services=cfg.services, ca_bundle=cfg.ca_bundle, stats=stats,
    ) as (api, _where):
        collector = ScanCollector(stats=api.t.stats)
        interrupted = False
        report: ScanReport | None = None
        access: AccessPass | None = None
        with _ctrl_c_receiver() as signals:
            async with trio.open_nursery() as nursery:
                scan_scope = trio.CancelScope()

                async def watch_ctrl_c() -> None:
                    # Ctrl-C ends the scan, not the process: the results so far are still
                    # printed and saved, then the command exits 130.
                    nonlocal interrupted
                    async for _ in signals:
                        interrupted = True
                        scan_scope.cancel()
                        return

                nursery.start_soon(watch_ctrl_c)
                stop.attach(scan_scope)
                with scan_scope:
                    report = await run_scan(request, api, collector=collector,
                                            on_record=on_record)
                    if options.access is not None:
                        # Under the same scope: Ctrl-C ends this pass too (no access then).
                        access = await _access_pass(options, api, report, session, cfg)
                nursery.cancel_scope.cancel()
        if report is None:
            report = collector.finish(interrupted=True, on_record=on_record)
        return report, interrupted, access


def _ctrl_c_receiver() -> Any:
    if threading.current_thread() is threading.main_thread():
        return trio.open_signal_receiver(signal.SIGINT)
    # Signals reach only the main thread; elsewhere (an embedding app) nothing to watch.
    return contextlib.nullcontext(_never())


async def _never() -> AsyncIterator[Any]:  # an async iterator that never yields
    await trio.sleep_forever()
    yield  # type: ignore[unreachable]  # pragma: no cover - makes this a generator


class _RecordLog(RecordHandler[None]):
    # Per-account events for -v, on the ekstrio.scan logger.

    def on_account_done(self, record: AccountDone) -> None:
        log.info("account %s: done", account_label(record.account.name, record.account.account_id))

    def on_error(self, record: ScanError) -> None:
        log.info("account %s region %s: %s %s: %s",
                 account_label(record.account_name, record.account_id), record.region,
                 record.stage, record.code, record.message)

    def on_skipped(self, record: Skipped) -> None:
        log.info("account %s region %s: skipped (%s)", record.account_id, record.region,
                 record.reason)


def _with_log(on_record: Callable[[Record], None] | None) -> Callable[[Record], None]:
    """The caller's record sink, plus per-account events for ``-v`` (the ekstrio.scan logger)."""
    record_log = _RecordLog()

    def sink(record: Record) -> None:
        if on_record is not None:
            on_record(record)
        dispatch(record, record_log)

    return sink
