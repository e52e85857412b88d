"""``ekstrio scan``: find every EKS cluster in every account, role and region you can reach."""

from __future__ import annotations

import logging
import math
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from cyclopts import Group, Parameter

if TYPE_CHECKING:
    from rich.console import Console

    from ekstrio.model import SsoSession
    from ekstrio.scan import ScanRequest
    from ekstrio.scan_records import Record, ScanReport
    from ekstrio.settings import Preset

EXIT_OK, EXIT_PARTIAL, EXIT_INTERRUPTED = 0, 1, 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as a tool killed by SIGPIPE would report

OutputFormat = Literal["table", "json", "ndjson"]

# Help groups, in the order a user needs them.
SESSION = Group("Session", sort_key=1)
WHAT = Group("What to scan", sort_key=2)
SPEED = Group("Speed (presets and overrides)", sort_key=3)
OUTPUT = Group("Output", sort_key=4)
CACHES = Group("Caches", sort_key=5)
# A repeatable flag: `--role A --role B` (one value each time, no --empty-role).
Many = Annotated[list[str] | None, Parameter(group=WHAT, consume_multiple=False, negative=())]


def scan(
    *,
    profile: Annotated[str | None, Parameter(group=SESSION)] = None,
    sso_session: Annotated[str | None, Parameter(group=SESSION)] = None,
    start_url: Annotated[str | None, Parameter(group=SESSION)] = None,
    sso_region: Annotated[str | None, Parameter(group=SESSION)] = None,
    regions: Many = None,
    role: Many = None,
    all_roles: Annotated[bool, Parameter(group=WHAT, negative=())] = False,
    account: Many = None,
    exclude_account: Many = None,
    name: Annotated[str | None, Parameter(group=WHAT)] = None,
    tag: Many = None,
    preset: Annotated[str | None, Parameter(group=SPEED)] = None,
    workers: Annotated[int | None, Parameter(group=SPEED)] = None,
    rate: Annotated[float | None, Parameter(group=SPEED)] = None,
    eks_rate: Annotated[float | None, Parameter(group=SPEED)] = None,
    call_timeout: Annotated[float | None, Parameter(group=SPEED)] = None,
    timeout: Annotated[float | None, Parameter(group=SPEED)] = None,
    retries: Annotated[int | None, Parameter(group=SPEED)] = None,
    output: Annotated[OutputFormat | None, Parameter(name=["--output", "-o"],
                                                     group=OUTPUT)] = None,
    quiet: Annotated[bool, Parameter(name=["--quiet", "-q"], group=OUTPUT,
                                     negative=())] = False,
    verbose: Annotated[bool, Parameter(name=["--verbose", "-v"], group=OUTPUT,
                                       negative=())] = False,
    diff: Annotated[bool, Parameter(group=OUTPUT, negative=())] = False,
    cached: Annotated[bool, Parameter(group=CACHES, negative=())] = False,
    refresh: Annotated[bool, Parameter(group=CACHES, negative=())] = False,
    save: Annotated[bool, Parameter(group=CACHES, negative="--no-save")] = True,
    inventory: Annotated[Path | None, Parameter(group=CACHES)] = None,
) -> int:
    """Find every EKS cluster in every account, role and region you can reach.

    Signs in with the cached IAM Identity Center token (run `ekstrio login` first), lists
    your accounts and roles, and reads every EKS region of each account concurrently, paced
    per scope (SSO portal per token, EKS per account and region). Results go to stdout: a
    table on a terminal, JSON when piped. Progress goes to stderr. Exit status: 0 complete,
    1 some accounts or regions failed (results still printed), 2 usage, 3 sign-in needed,
    130 interrupted (what was found so far is printed).

    Parameters
    ----------
    profile
        AWS config profile whose SSO settings to use (default: AWS_PROFILE, else the only
        sso-session).
    sso_session
        Name of an [sso-session NAME] section in ~/.aws/config.
    start_url
        IAM Identity Center start URL, without any config file (needs --sso-region).
    sso_region
        Region of IAM Identity Center, with --start-url.
    regions
        Regions to scan (repeat or comma-separate); default: every EKS region of the
        session's partition. Regions an account has not enabled are skipped.
    role
        Role names or globs in order of preference (repeatable); when EKS denies one, the
        next is tried. Default: `AdministratorAccess`, `*Admin*`, `PowerUser*`, `*EKS*`,
        `ReadOnly*`, then any role.
    all_roles
        Scan with every matching role and report which roles see each cluster.
    account
        Only these accounts: ids or name globs (repeatable).
    exclude_account
        Leave out these accounts: ids or name globs (repeatable).
    name
        Only clusters whose name matches this regular expression.
    tag
        Only clusters with this tag, as KEY=VALUE (repeatable; all must match).
    preset
        Preset name (default, conservative, aggressive, or your own in
        ~/.config/ekstrio/presets) or path to a .toml file. See `ekstrio presets`.
    workers
        Requests in flight at once (overrides the preset).
    rate
        SSO portal requests per second (overrides the preset).
    eks_rate
        EKS requests per second per account and region (overrides the preset).
    call_timeout
        Seconds for one attempt of one API call (overrides the preset).
    timeout
        Overall deadline in seconds: the scan stops and prints what it found; unfinished
        accounts/regions are reported as errors (0: none).
    retries
        Retries per call after the first try (overrides the preset).
    output
        table, json or ndjson (one record per line as found). Default: table on a
        terminal, else json.
    quiet
        No progress display.
    verbose
        Log per-account events to stderr.
    diff
        Also report clusters added, removed or changed since the previous scan, on stderr.
    cached
        Print the last saved inventory without calling AWS.
    refresh
        Ignore the cached account/role lists and role credentials.
    save
        Save this scan as the inventory for `ekstrio kubeconfig` and `scan --cached`.
    inventory
        Inventory file to read and write (default: $XDG_CACHE_HOME/ekstrio/inventory.json).
    """
    from rich.console import Console

    from ekstrio.filters import ClusterFilter, check_regex, parse_tags
    from ekstrio.settings import load_preset, with_overrides

    fmt: OutputFormat = output or ("table" if sys.stdout.isatty() else "json")
    out = Console(file=sys.stdout, soft_wrap=False)
    err = Console(file=sys.stderr, stderr=True)
    if cached:
        return _print_cached(fmt, out, err, inventory)

    chosen = with_overrides(
        load_preset(preset), workers=workers, portal_rps=rate, eks_rps=eks_rate,
        call_timeout=call_timeout, scan_timeout=timeout, retries=retries,
    )
    cluster_filter = ClusterFilter(
        accounts=tuple(account or ()), exclude_accounts=tuple(exclude_account or ()),
        name_regex=check_regex(name), tags=parse_tags(tag or []),
    )
    if verbose:
        # ekstrio's own loggers only: httpx logs every request at INFO.
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("ekstrio: %(message)s"))
        logger = logging.getLogger("ekstrio")
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    options = _Options(
        profile=profile, sso_session=sso_session, start_url=start_url, sso_region=sso_region,
        regions=tuple(regions or ()), roles=tuple(role or ()), all_roles=all_roles,
        cluster_filter=cluster_filter, preset=chosen, fmt=fmt, refresh=refresh,
        progress=not quiet and not verbose and sys.stderr.isatty(), verbose=verbose,
    )
    return _run(options, out, err, save=save, diff=diff, inventory=inventory)


@dataclass(frozen=True)
class _Options:
    profile: str | None
    sso_session: str | None
    start_url: str | None
    sso_region: str | None
    regions: tuple[str, ...]
    roles: tuple[str, ...]
    all_roles: bool
    cluster_filter: Any
    preset: Preset
    fmt: OutputFormat
    refresh: bool
    progress: bool
    verbose: bool


def _print_cached(fmt: OutputFormat, out: Console, err: Console, path: Path | None) -> int:
    from ekstrio import output
    from ekstrio.inventory import load_inventory

    doc = load_inventory(path)
    if fmt == "json":
        sys.stdout.write(output.dumps_document(doc))
    elif fmt == "ndjson":
        for kind, key in (("cluster", "clusters"), ("error", "errors"), ("skipped", "skipped")):
            for item in doc.get(key, []):
                sys.stdout.write(output.dumps_line({"type": kind, **item}) + "\n")
        sys.stdout.write(output.dumps_line({
            "type": "summary", **doc.get("summary", {}), "sso": doc.get("sso"),
            "partition": doc.get("partition"), "started_at": doc.get("started_at"),
            "finished_at": doc.get("finished_at"), "completed": doc.get("completed", []),
        }) + "\n")
    else:
        out.print(output.clusters_table(list(doc.get("clusters", []))))
        err.print(f"cached scan of {doc.get('finished_at')}: "
                  f"{len(doc.get('clusters', []))} clusters")
    return EXIT_OK


def _run(options: _Options, out: Console, err: Console, *, save: bool, diff: bool,
         inventory: Path | None) -> int:
    import trio

    from ekstrio import auth, output
    from ekstrio.filters import check_regions
    from ekstrio.inventory import diff_inventories, load_previous, save_inventory
    from ekstrio.scan import ScanRequest
    from ekstrio.scan_aws import scan_environment

    env = dict(os.environ)
    cfg, session = auth.resolve(profile=options.profile, sso_session=options.sso_session,
                                start_url=options.start_url, sso_region=options.sso_region,
                                env=env)
    where = scan_environment(session, env=cfg.env, config_endpoint_url=cfg.endpoint_url,
                             config_services=cfg.services)
    request = ScanRequest(
        regions=check_regions(options.regions, where.regions),
        roles=options.roles,
        all_roles=options.all_roles,
        filter=options.cluster_filter,
        timeout=options.preset.scan_timeout,
        login_hint=auth.login_hint(session, profile=options.profile or cfg.profile_name),
        active_regions=options.preset.workers,
        portal_accounts=max(1, math.ceil(options.preset.portal_rps / 2)),
    )
    previous = load_previous(inventory) if diff else None
    stdout = _Stdout()
    report, interrupted = trio.run(_scan_async, options, session, cfg, request, err, stdout)

    document = output.report_document(report, session=session, partition=where.partition)
    if options.fmt == "json":
        for piece in output.iter_document(document):
            stdout.write(piece)
    elif options.fmt == "ndjson":
        summary = output.ndjson_summary(report, session=session, partition=where.partition)
        stdout.write(output.dumps_line(summary) + "\n")
    elif not stdout.broken:
        try:
            output.render_table(report, out, err)
            sys.stdout.flush()
        except BrokenPipeError:
            stdout.close_quietly()
    if save:
        save_inventory(document, inventory)
    if diff:
        if previous is None:
            err.print("--diff: no previous scan to compare with")
        else:
            output.render_diff(diff_inventories(previous, document), err)
    if interrupted:
        return EXIT_INTERRUPTED
    if stdout.broken:
        return EXIT_BROKEN_PIPE
    return EXIT_OK if report.complete else EXIT_PARTIAL


class _Stdout:
    """stdout that survives its reader going away (``ekstrio scan -o ndjson | head -1``).

    On the first BrokenPipeError the scan is stopped (``on_broken``), nothing more is
    written, and the descriptor is pointed at /dev/null so that the interpreter's final
    flush does not fail either.
    """

    def __init__(self) -> None:
        self.broken = False
        self.on_broken: Callable[[], None] | None = None

    def write(self, text: str) -> None:
        if self.broken:
            return
        try:
            sys.stdout.write(text)
            sys.stdout.flush()
        except BrokenPipeError:
            self.close_quietly()

    def close_quietly(self) -> None:
        self.broken = True
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, sys.stdout.fileno())
        finally:
            os.close(devnull)
        if self.on_broken is not None:
            self.on_broken()


async def _scan_async(
    options: _Options, session: SsoSession, cfg: Any, request: ScanRequest, err: Console,
    stdout: _Stdout,
) -> tuple[ScanReport, bool]:
    import trio

    from ekstrio import auth, output
    from ekstrio.scan import run_scan
    from ekstrio.scan_aws import open_scan
    from ekstrio.scan_records import ScanCollector

    oidc = auth.oidc_endpoint(session, cfg)
    async with open_scan(
        session, options.preset,
        access_token=lambda t: auth.TokenProvider(session, t, endpoint=oidc,
                                                  profile=options.profile).access_token,
        refresh=options.refresh, env=cfg.env, config_endpoint_url=cfg.endpoint_url,
        config_services=cfg.services, ca_bundle=cfg.ca_bundle,
    ) as (api, _where):
        collector = ScanCollector(stats=api.t.stats)
        progress = output.ScanProgress(err, enabled=options.progress, stats=api.t.stats)
        on_record = _record_sink(options, progress, stdout)
        interrupted = False
        report: ScanReport | None = None
        with progress, _ctrl_c_receiver() as signals:
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
                # Nobody reads our output any more: stop scanning (quietly).
                stdout.on_broken = scan_scope.cancel
                with scan_scope:
                    report = await run_scan(request, api, collector=collector,
                                            on_record=on_record)
                nursery.cancel_scope.cancel()
        if report is None:
            report = collector.finish(interrupted=True, on_record=on_record)
        return report, interrupted


def _ctrl_c_receiver() -> Any:
    import contextlib
    import threading

    import trio

    if threading.current_thread() is threading.main_thread():
        return trio.open_signal_receiver(signal.SIGINT)
    # Signals reach only the main thread; elsewhere (an embedding app) nothing to watch.
    return contextlib.nullcontext(_never())


async def _never() -> Any:  # an async iterator that never yields
    import trio

    await trio.sleep_forever()
    yield  # type: ignore[unreachable]  # pragma: no cover - makes this a generator


def _record_sink(
    options: _Options, progress: Any, stdout: _Stdout
) -> Callable[[Record], None]:
    from ekstrio import output
    from ekstrio.scan_records import AccountDone, ScanError, Skipped

    log = logging.getLogger("ekstrio.scan")
    stream = options.fmt == "ndjson"

    def on_record(record: Record) -> None:
        progress.update(record)
        if stream:
            line = output.ndjson_record(record)
            if line is not None:
                stdout.write(output.dumps_line(line) + "\n")
        if options.verbose:
            if isinstance(record, AccountDone):
                log.info("account %s (%s): done", record.account.name, record.account.account_id)
            elif isinstance(record, ScanError):
                log.info("account %s region %s: %s %s: %s", record.account_id, record.region,
                         record.stage, record.code, record.message)
            elif isinstance(record, Skipped):
                log.info("account %s region %s: skipped (%s)", record.account_id,
                         record.region, record.reason)

    return on_record
