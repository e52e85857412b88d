"""``ekstrio scan``: find every EKS cluster in every account, role and region you can reach."""

from __future__ import annotations

import logging
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from cyclopts import Group, Parameter

if TYPE_CHECKING:
    from rich.console import Console

    from ekstrio.document_formats import DocumentFormat
    from ekstrio.scan_records import Record
    from ekstrio.scan_runtime import ScanOptions

from ekstrio.errors import ExitCode, UsageError
from ekstrio.model import SessionChoice
from ekstrio.session_flags import Profile, SsoRegion, SsoSession, StartUrl

OutputFormat = Literal["table", "wide", "json", "yaml", "ndjson"]
AccessChoice = Literal["aws", "live"]

# Help groups, in the order a user needs them.
WHAT = Group("What to scan", sort_key=2)
SPEED = Group("Speed (presets and overrides)", sort_key=3)
OUTPUT = Group("Output", sort_key=4)
CACHES = Group("Caches", sort_key=5)
ACCESS = Group("Can I get in?", sort_key=6)
# A repeatable flag: `--role A --role B` (one value each time, no --empty-role).
Many = Annotated[list[str] | None, Parameter(group=WHAT, consume_multiple=False, negative=())]


def scan(
    *,
    profile: Profile = None,
    sso_session: SsoSession = None,
    start_url: StartUrl = None,
    sso_region: SsoRegion = None,
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
    query: Annotated[str | None, Parameter(group=OUTPUT)] = None,
    quiet: Annotated[bool, Parameter(name=["--quiet", "-q"], group=OUTPUT,
                                     negative=())] = False,
    verbose: Annotated[bool, Parameter(name=["--verbose", "-v"], group=OUTPUT,
                                       negative=())] = False,
    diff: Annotated[bool, Parameter(group=OUTPUT, negative=())] = False,
    cached: Annotated[bool, Parameter(group=CACHES, negative=())] = False,
    refresh: Annotated[bool, Parameter(group=CACHES, negative=())] = False,
    save: Annotated[bool, Parameter(group=CACHES, negative="--no-save")] = True,
    inventory: Annotated[Path | None, Parameter(group=CACHES)] = None,
    access: Annotated[AccessChoice | None, Parameter(group=ACCESS)] = None,
    live_timeout: Annotated[float, Parameter(group=ACCESS)] = 5.0,
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
        table (fitted to the terminal), wide (every column: platform version, all roles,
        endpoint, tags), json, yaml (the same document as json) or ndjson (one record per
        line as found). Default: table on a terminal, else json.
    query
        JMESPath expression over the JSON document, as `aws --query`; the result is printed
        as json (or yaml with -o yaml). Works with --cached. Example:
        --query "clusters[?status=='ACTIVE'].[account_name, region, name]".
    quiet
        No progress display.
    verbose
        Log per-account events to stderr (as -v on any command).
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
    access
        After the scan, say per cluster and role whether kubectl will get in: `--access`
        asks the EKS API (access entries and policies; a few calls per cluster and role),
        `--access live` also asks each cluster with the token kubectl would send. See
        docs/access.md.
    live_timeout
        Seconds each live request may take, connect included (default 5): a private
        endpoint is reported unreachable after that.
    """
    from rich.console import Console

    from ekstrio.access_record import AccessMode
    from ekstrio.document_formats import compile_query
    from ekstrio.filters import ClusterFilter, check_regex, parse_tags
    from ekstrio.scan_runtime import ScanOptions
    from ekstrio.settings import load_preset, with_overrides

    if not (math.isfinite(live_timeout) and 0 < live_timeout <= 600):
        raise UsageError("--live-timeout must be a number of seconds above 0 and at most 600")
    fmt = _format(output, query)
    compiled = compile_query(query)
    out = Console(file=sys.stdout, soft_wrap=False)
    err = Console(file=sys.stderr, stderr=True)
    if cached:
        return _print_cached(fmt, out, err, inventory, compiled)

    chosen = with_overrides(
        load_preset(preset), workers=workers, portal_rps=rate, eks_rps=eks_rate,
        call_timeout=call_timeout, scan_timeout=timeout, retries=retries,
    )
    cluster_filter = ClusterFilter(
        accounts=tuple(account or ()), exclude_accounts=tuple(exclude_account or ()),
        name_regex=check_regex(name), tags=parse_tags(tag or []),
    )
    # -v/-vv/--debug are read by the CLI for every command (ekstrio.logs); `verbose` stays a
    # keyword for callers that run scan() in-process.
    verbose = verbose or logging.getLogger("ekstrio").isEnabledFor(logging.INFO)
    options = ScanOptions(
        session=SessionChoice(profile, sso_session, start_url, sso_region),
        regions=tuple(regions or ()),
        roles=tuple(role or ()), all_roles=all_roles, cluster_filter=cluster_filter,
        preset=chosen, refresh=refresh,
        access=AccessMode(access) if access else None, live_bound=live_timeout,
    )
    show_progress = not quiet and not verbose and sys.stderr.isatty()
    return _run(options, fmt, out, err, progress=show_progress, verbose=verbose, save=save,
                diff=diff, inventory=inventory, query=compiled)


def _format(output: OutputFormat | None, query: str | None) -> OutputFormat:
    """The output format: as asked, else table on a terminal and json elsewhere; a query's
    result is data, so it is json (or yaml) whatever the terminal."""
    if query is not None:
        if output in ("table", "wide", "ndjson"):
            raise UsageError(f"--query prints json or yaml, not {output}: use -o json or "
                             f"-o yaml (or leave -o out)")
        return output or "json"
    return output or ("table" if sys.stdout.isatty() else "json")


def _print_cached(fmt: OutputFormat, out: Console, err: Console, path: Path | None,
                  query: Any) -> int:
    from ekstrio import document_formats, output
    from ekstrio.inventory import load_inventory

    doc = load_inventory(path)
    if fmt in ("json", "yaml"):
        for piece in document_formats.render_document(doc, _doc_format(fmt), query):
            sys.stdout.write(piece)
    elif fmt == "ndjson":
        for line in output.ndjson_lines(doc):
            sys.stdout.write(output.dumps_line(line) + "\n")
    else:
        output.print_table(doc.clusters, out, wide=fmt == "wide")
        err.print(f"cached scan of {doc.finished_at}: {len(doc.clusters)} clusters")
    return ExitCode.OK


def _doc_format(fmt: OutputFormat) -> DocumentFormat:
    return "yaml" if fmt == "yaml" else "json"


def _run(options: ScanOptions, fmt: OutputFormat, out: Console, err: Console, *,
         progress: bool, verbose: bool, save: bool, diff: bool, inventory: Path | None,
         query: Any = None) -> int:
    from ekstrio import document_formats, output
    from ekstrio.aws.transport import CallStats
    from ekstrio.inventory import load_previous, save_inventory
    from ekstrio.progress import ScanProgress
    from ekstrio.scan_runtime import ScanStop, run_aws_scan

    previous = load_previous(inventory) if diff else None
    stats = CallStats()
    display = ScanProgress(err, enabled=progress, stats=stats)
    stop = ScanStop()
    stdout = _Stdout(on_broken=stop)  # nobody reads our output any more: stop (quietly)

    def on_record(record: Record) -> None:
        if progress:
            display.update(record)
        if fmt == "ndjson":
            line = output.ndjson_record(record)
            if line is not None:
                stdout.write(output.dumps_line(line) + "\n")

    with display:
        # No per-record callback at all when nothing shows records as they come (a scan
        # sends a record or two per account-region).
        outcome = run_aws_scan(options, on_record=on_record if progress or fmt == "ndjson"
                               else None, stats=stats, stop=stop,
                               log_events=verbose, on_regions=display.set_regions)
    report, document = outcome.report, outcome.document
    if fmt in ("json", "yaml"):
        for piece in document_formats.render_document(document, _doc_format(fmt), query):
            stdout.write(piece)
    elif fmt == "ndjson":
        for line in output.ndjson_access(document):
            stdout.write(output.dumps_line(line) + "\n")
        stdout.write(output.dumps_line(output.ndjson_summary(document)) + "\n")
    elif not stdout.broken:
        try:
            output.render_table(report, out, err, wide=fmt == "wide", document=document)
            sys.stdout.flush()
        except BrokenPipeError:
            stdout.close_quietly()
    partial = output.partial_line(report, records=fmt == "ndjson")
    if partial is not None and fmt not in ("table", "wide") and not stdout.broken:
        # The table's summary says so already; a piped document needs one line on stderr.
        err.print(partial, highlight=False, markup=False, soft_wrap=True)
    if save:
        save_inventory(document, inventory)
    if diff:
        if previous is None:
            err.print("--diff: no previous scan to compare with")
        else:
            from ekstrio.scan_diff import diff_inventories  # only --diff needs it

            output.render_diff(diff_inventories(previous, document), err)
    if outcome.interrupted:
        return ExitCode.INTERRUPTED
    if stdout.broken:
        return ExitCode.BROKEN_PIPE
    return ExitCode.OK if report.complete else ExitCode.PARTIAL


class _Stdout:
    """stdout that survives its reader going away (``ekstrio scan -o ndjson | head -1``).

    On the first BrokenPipeError the scan is stopped (``on_broken``), nothing more is
    written, and the descriptor is pointed at /dev/null so that the interpreter's final
    flush does not fail either.
    """

    def __init__(self, on_broken: Callable[[], None]) -> None:
        self.broken = False
        self.on_broken = on_broken

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
        self.on_broken()


def bare_access_flag(tokens: list[str]) -> list[str]:
    """``--access`` alone means ``--access aws``: the flag's value is optional on the command
    line, which cyclopts cannot say, so a bare one is completed before parsing."""
    out = list(tokens)
    for i, word in enumerate(out):
        if word == "--":
            break
        if word == "--access" and (i + 1 == len(out) or out[i + 1].startswith("-")):
            out[i] = "--access=aws"
    return out
