"""``ekstrio profiles``: AWS config profiles for every account and role of the last scan."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

from cyclopts import Parameter

from ekstrio.errors import UsageError
from ekstrio.profiles import DEFAULT_PROFILE_TEMPLATE


def profiles(
    *,
    from_: Annotated[str | None, Parameter(
        name="--from", allow_leading_hyphen=True,
        help="Scan JSON to use (FILE, or - for stdin); default: the last scan.")
    ] = None,
    config_file: Annotated[Path | None, Parameter(
        help="AWS config file; default: AWS_CONFIG_FILE, else ~/.aws/config.")] = None,
    profile_template: Annotated[str, Parameter(
        help="Profile name template: {account_id} {account_name} {role}.")
    ] = DEFAULT_PROFILE_TEMPLATE,
    region: Annotated[str | None, Parameter(
        help="The profiles' default region; default: AWS_REGION, else AWS_DEFAULT_REGION, "
        "else the SSO region.")] = None,
    # profiles' own three flags all start with --write-: --sso-session, --start-url and
    # --sso-region elsewhere pick the session to use, and config.toml and EKSTRIO_* set them
    # for every command that has them by those names. Their old spellings here are translated
    # before parsing, with a warning (old_spelling).
    write_sso_session: Annotated[str | None, Parameter(
        name="--write-sso-session",
        help="Write an [sso-session NAME] section (with --write-start-url and "
        "--write-sso-region) and point the profiles at it.")] = None,
    write_start_url: Annotated[str | None, Parameter(
        name="--write-start-url",
        help="Start URL of the section --write-sso-session writes; default: the scan's.")
    ] = None,
    write_sso_region: Annotated[str | None, Parameter(
        name="--write-sso-region",
        help="SSO region of the section --write-sso-session writes; default: the scan's.")
    ] = None,
    prune: Annotated[bool, Parameter(
        negative=(), help="Remove ekstrio's profiles for roles gone from accounts this scan "
        "completed.")] = False,
    dry_run: Annotated[bool, Parameter(
        negative=(), help="Print a unified diff instead of writing.")] = False,
) -> int:
    """Write AWS config profiles for every account and role of the last scan.

    They live in a block between ekstrio's marker comments; sections outside it are never
    touched.
    """
    from ekstrio import kubeconfig_io
    from ekstrio.kube_targets import SsoRef, parse_inventory
    from ekstrio.profiles import (
        SessionSection,
        cached_account_roles,
        check_template,
        reconcile_profiles,
    )

    check_template(profile_template)
    env = os.environ
    inventory = parse_inventory(kubeconfig_io.read_inventory(from_, env, sys.stdin.read))
    session = None
    sso = inventory.sso
    if write_sso_session is not None:
        url = write_start_url or (sso.start_url if sso else None)
        sregion = write_sso_region or (sso.region if sso else None)
        if not url or not sregion:
            raise UsageError("--write-sso-session needs --write-start-url and "
                             "--write-sso-region (the scan did not record them)")
        session = SessionSection(write_sso_session, url, sregion)
        sso = SsoRef(write_sso_session, url, sregion)
    elif write_start_url or write_sso_region:
        raise UsageError("--write-start-url and --write-sso-region go with "
                         "--write-sso-session NAME")
    path = (config_file.expanduser() if config_file else
            Path(env.get("AWS_CONFIG_FILE") or Path.home() / ".aws" / "config").expanduser())
    lists = cached_account_roles(inventory)
    # The AWS CLI v2 order: AWS_REGION over AWS_DEFAULT_REGION.
    region = region or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None
    plans = []

    def transform(old: str | None) -> str:
        plan = reconcile_profiles(old, inventory, template=profile_template, region=region,
                                  sso=sso, session_section=session, prune=prune, lists=lists)
        plans.append(plan)
        return plan.text

    # The AWS CLI takes no lock on its config file: ekstrio's folder flock only, no config.lock.
    result = kubeconfig_io.rewrite(path, transform, dry_run=dry_run, kubectl=False)
    plan = plans[-1]
    if dry_run and result.diff:
        sys.stdout.write(result.diff)
    verb = "would change" if dry_run else "wrote" if result.written else "unchanged"
    sys.stderr.write(f"AWS config {path}: {verb}; {len(plan.added)} added, {len(plan.updated)} "
                     f"updated, {len(plan.removed)} removed, {len(plan.kept)} kept\n")
    return 0


#: profiles' old spellings, each the session flag of the other commands.
OLD_SPELLINGS = {"--sso-session": "--write-sso-session", "--start-url": "--write-start-url",
                 "--sso-region": "--write-sso-region"}


def old_spelling(tokens: list[str]) -> list[str]:
    """``profiles --sso-session NAME --start-url URL --sso-region R``, the old spellings of
    ``--write-sso-session``, ``--write-start-url`` and ``--write-sso-region``, still work, with
    one warning line on stderr. Translated on the command line only: as parameter names they
    would also take ``sso-session``, ``start-url`` and ``sso-region`` from config.toml or
    EKSTRIO_*, which pick the session of every other command, and so write an [sso-session]
    section nobody asked for, or refuse a plain ``ekstrio profiles``."""
    out = list(tokens)
    used: list[str] = []
    for i, word in enumerate(out):
        if word == "--":
            break
        flag, eq, value = word.partition("=")
        if flag in OLD_SPELLINGS:
            out[i] = OLD_SPELLINGS[flag] + eq + value
            if flag not in used:
                used.append(flag)
    if used:
        renamed = "; ".join(f"`profiles {flag}` is now spelled {OLD_SPELLINGS[flag]}"
                            for flag in used)
        sys.stderr.write(f"ekstrio: warning: {renamed}; the old spelling"
                         f"{'s' if len(used) > 1 else ''} will go away\n")
    return out
