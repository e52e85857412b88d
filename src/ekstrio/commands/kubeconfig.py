"""``ekstrio kubeconfig``: write a context per cluster and role of the last scan."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from cyclopts import Parameter

from ekstrio.entry_names import check_template
from ekstrio.errors import ConfigError, EkstrioError, ExitCode, UsageError
from ekstrio.kube_targets import Inventory
from ekstrio.kubeconfig import DEFAULT_CONTEXT_TEMPLATE, EXEC_APIS, ExecSpec, Plan
from ekstrio.model import SessionChoice
from ekstrio.profiles import DEFAULT_PROFILE_TEMPLATE
from ekstrio.session_flags import Profile, SsoRegion, SsoSession, StartUrl

if TYPE_CHECKING:
    from ekstrio.scan_document import ScanDocument
    from ekstrio.scan_runtime import ScanOptions


def ekstrio_command(argv0: str | None = None) -> str:
    """The absolute path of the running ``ekstrio`` script, else ``ekstrio`` found on PATH.

    Symlinks are not resolved: ~/.local/bin/ekstrio (pipx) or /opt/homebrew/bin/ekstrio stay
    valid across upgrades, while the versioned paths they point to do not.
    """
    argv0 = sys.argv[0] if argv0 is None else argv0
    if Path(argv0).name == "ekstrio" and Path(argv0).is_file():
        return os.path.abspath(argv0)
    found = shutil.which("ekstrio")
    return os.path.abspath(found) if found else "ekstrio"


def scan_first(options: ScanOptions) -> ScanDocument:
    """Scan now (and save the inventory, as ``ekstrio scan`` does) and return the document; a
    partial scan is used as it is (prune only touches completed scopes)."""
    from ekstrio.inventory import save_inventory
    from ekstrio.scan_runtime import run_aws_scan

    sys.stderr.write("ekstrio kubeconfig: scanning first\n")
    outcome = run_aws_scan(options)
    save_inventory(outcome.document)
    if outcome.interrupted:
        raise EkstrioError(f"the scan ended with exit status {int(ExitCode.INTERRUPTED)}; "
                           "nothing was written")
    return outcome.document


def kubeconfig(
    *,
    from_: Annotated[str | None, Parameter(
        name="--from", allow_leading_hyphen=True,
        help="Scan JSON to use (FILE, or - for stdin); default: the last scan.")
    ] = None,
    kubeconfig: Annotated[Path | None, Parameter(
        help="File to write; default: first path in KUBECONFIG, else ~/.kube/config.")] = None,
    context_template: Annotated[str, Parameter(
        help="Context name template: {account_id} {account_name} {role} {region} {cluster}.")
    ] = DEFAULT_CONTEXT_TEMPLATE,
    kubeconfig_dir: Annotated[Path | None, Parameter(
        help="Write one file per context in this directory instead (eksctl's layout; each "
        "file's current-context is its one context).")] = None,
    exec_: Annotated[Literal["ekstrio", "aws"], Parameter(
        name="--exec", help="Exec plugin: `ekstrio token` (fast, cached) or `aws eks get-token` "
        "with AWS_PROFILE from `ekstrio profiles`.")] = "ekstrio",
    exec_api: Annotated[Literal["v1", "v1beta1"] | None, Parameter(
        help="ExecCredential API version written for kubectl: v1 (default with --exec "
        "ekstrio; kubectl 1.22+) or v1beta1 (default with --exec aws).")] = None,
    exec_command: Annotated[str | None, Parameter(
        help="Command kubectl runs for `ekstrio token`: a PATH or a NAME looked up on PATH "
        "(default: the absolute path of this ekstrio; see docs/kubeconfig.md).")] = None,
    profile_template: Annotated[str, Parameter(
        help="Profile name template used with --exec aws (same as `ekstrio profiles`).")
    ] = DEFAULT_PROFILE_TEMPLATE,
    prune: Annotated[bool, Parameter(
        negative=(), help="Remove ekstrio's entries for clusters gone from accounts and regions "
        "this scan completed.")] = False,
    set_current: Annotated[str | None, Parameter(
        help="Make this context the current one.")] = None,
    dry_run: Annotated[bool, Parameter(
        negative=(), help="Print a unified diff instead of writing.")] = False,
    scan: Annotated[bool, Parameter(
        negative=(), help="Scan first (also done when there is no saved scan), with the "
        "Session flags and the region/role flags below.")] = False,
    profile: Profile = None,
    sso_session: SsoSession = None,
    start_url: StartUrl = None,
    sso_region: SsoRegion = None,
    regions: Annotated[list[str] | None, Parameter(
        negative=(), help="Scan: regions (repeat or comma-separate).")] = None,
    role: Annotated[list[str] | None, Parameter(
        negative=(), help="Scan: role names or globs in order of preference.")] = None,
    all_roles: Annotated[bool, Parameter(
        negative=(), help="Scan: every matching role, one context per cluster and role.")
    ] = False,
    only_accessible: Annotated[bool, Parameter(
        negative=(), help="Only contexts for roles that can get in, as `ekstrio scan --access` "
        "found (with --scan: checks access now). Roles are always written best first.")
    ] = False,
) -> int:
    """Write kubeconfig contexts for the clusters of the last scan.

    One cluster, user and context per cluster and role; entries ekstrio did not write are never
    touched. Running it twice with the same scan leaves the file byte-identical.
    """
    from ekstrio import kubeconfig_io
    from ekstrio.access_record import AccessMode
    from ekstrio.kube_targets import inventory_of
    from ekstrio.kubeconfig import reconcile
    from ekstrio.scan_document import ScanDocument
    from ekstrio.scan_runtime import ScanOptions

    check_template(context_template)
    env = os.environ
    # Only --scan conflicts with --from: the session and region/role flags may be defaults
    # from config.toml or EKSTRIO_* (shared with `scan`), and are simply unused with --from.
    if from_ is not None and scan:
        raise UsageError("--from reads a scan; --scan makes a new one: use one or the other")
    if from_ is None and (scan or not kubeconfig_io.inventory_path(env).exists()):
        document = scan_first(ScanOptions(
            session=SessionChoice(profile, sso_session, start_url, sso_region),
            regions=tuple(regions or ()), roles=tuple(role or ()), all_roles=all_roles,
            access=AccessMode.AWS if only_accessible else None))
    else:
        document = ScanDocument.from_json(kubeconfig_io.read_inventory(from_, env,
                                                                        sys.stdin.read))
    if only_accessible and not any(c.access is not None for c in document.clusters):
        raise UsageError("--only-accessible needs a scan made with --access: run "
                         "`ekstrio scan --access` (or add --scan)")
    inventory = inventory_of(document, only_accessible=only_accessible)
    if exec_command is not None and not exec_command.strip():
        raise UsageError("--exec-command needs a command name or path")
    if kubeconfig_dir is not None and (kubeconfig is not None or prune or set_current):
        raise UsageError("--kubeconfig-dir writes one file per context: it does not take "
                         "--kubeconfig, --prune or --set-current")
    api = EXEC_APIS[exec_api] if exec_api else None
    spec = ExecSpec(kind="ekstrio", command=exec_command or ekstrio_command(), api_version=api)
    if exec_ == "aws":
        from ekstrio.profiles import cached_account_roles, profile_names_for

        config_path = Path(env.get("AWS_CONFIG_FILE") or Path.home() / ".aws" / "config")
        try:
            config_text: str | None = config_path.read_text(encoding="utf-8")
        except OSError:
            config_text = None
        spec = ExecSpec(kind="aws", command="aws", api_version=api,
                        profile_names=profile_names_for(inventory, profile_template,
                                                        config_text,
                                                        cached_account_roles(inventory)))
    if kubeconfig_dir is not None:
        return _write_dir(kubeconfig_dir, inventory, template=context_template, spec=spec,
                          dry_run=dry_run)
    path = kubeconfig_io.kubeconfig_path(kubeconfig, env)
    plans: list[Plan] = []

    def transform(old: str | None) -> str:
        document = kubeconfig_io.load_yaml(old, path) if old is not None else None
        if document is not None and not isinstance(document, dict):
            # kubectl: "error loading config file"; a string or a list is no kubeconfig.
            kind = ("a string" if isinstance(document, str) else
                    "a list" if isinstance(document, list) else "a scalar")
            raise ConfigError(f"{path} is not a kubeconfig (its top level is {kind}, not a "
                              "mapping); it was left untouched")
        plan = reconcile(document or {}, inventory, template=context_template, spec=spec,
                         prune=prune, set_current=set_current)
        plans.append(plan)
        if old is not None and plan.document == document:
            return old  # nothing to change: keep the bytes (and formatting) as they are
        return kubeconfig_io.dump_yaml(plan.document)

    result = kubeconfig_io.rewrite(path, transform, dry_run=dry_run)
    plan = plans[-1]
    out, err = sys.stdout, sys.stderr
    if dry_run and result.diff:
        out.write(result.diff)
    for skipped in inventory.skipped:
        err.write(f"skipped {skipped.account_id}/{skipped.region}/{skipped.cluster}: "
                  f"{skipped.reason}\n")
    verb = "would change" if dry_run else "wrote" if result.written else "unchanged"
    err.write(f"kubeconfig {path}: {verb}; {len(plan.added)} added, {len(plan.updated)} "
              f"updated, {len(plan.removed)} removed, {len(plan.kept)} kept, "
              f"{len(inventory.skipped)} skipped\n")
    return 0


def _write_dir(directory: Path, inventory: Inventory, *, template: str, spec: ExecSpec,
               dry_run: bool) -> int:
    from ekstrio.kubeconfig_dir import write_dir

    results = write_dir(directory, inventory, template=template, spec=spec, dry_run=dry_run)
    if dry_run:
        for _path, result, _plan in results:
            sys.stdout.write(result.diff)
    for skipped in inventory.skipped:
        sys.stderr.write(f"skipped {skipped.account_id}/{skipped.region}/{skipped.cluster}: "
                         f"{skipped.reason}\n")
    changed = sum(1 for _path, result, _plan in results if result.changed)
    verb = "would change" if dry_run else "wrote"
    sys.stderr.write(f"kubeconfig {directory}: {verb} {changed} of {len(results)} files "
                     f"(one per context), {len(inventory.skipped)} skipped\n")
    return 0
