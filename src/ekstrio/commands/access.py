"""``ekstrio access [CONTEXT...]``: can kubectl get in with these contexts, and as whom?"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from cyclopts import Parameter

from ekstrio.errors import ConfigError, ExitCode, UsageError

if TYPE_CHECKING:
    from ekstrio.access_contexts import ContextResult


def access(
    context: Annotated[list[str] | None, Parameter(
        help="Contexts to check (default: every context of the file).")] = None,
    /,
    *,
    kubeconfig: Annotated[Path | None, Parameter(
        help="File to read; default: first path in KUBECONFIG, else ~/.kube/config.")] = None,
    output: Annotated[Literal["table", "json"] | None, Parameter(
        name=["--output", "-o"], help="table or json (default: table on a terminal).")] = None,
    live_timeout: Annotated[float, Parameter(
        help="Seconds each request may take, connect included (default 5).")] = 5.0,
) -> int:
    """Check contexts of an existing kubeconfig live, with the token kubectl would send.

    For each context: who the cluster says you are (SelfSubjectReview) and whether you may
    list namespaces and get pods in `default` (SelfSubjectAccessReview), plus get pods in the
    namespaces the last `scan --access` found in its access policies, over TLS verified
    against the context's own CA. Outcomes: ok, unauthorized (401), forbidden (signed in, no
    rights), unreachable (no answer within --live-timeout), tls-error, error. Exit status 0
    when every context checked gets in, 1 otherwise. See docs/access.md.
    """
    import trio

    from ekstrio import kubeconfig_io
    from ekstrio.access_contexts import check_contexts
    from ekstrio.kube_contexts import contexts_of

    if not (math.isfinite(live_timeout) and 0 < live_timeout <= 600):
        raise UsageError("--live-timeout must be a number of seconds above 0 and at most 600")
    path = kubeconfig_io.kubeconfig_path(kubeconfig, os.environ)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the kubeconfig {path}: {exc.strerror}") from exc
    doc = kubeconfig_io.load_yaml(text, path)
    targets = contexts_of(doc, base=path.parent, only=tuple(context or ()))
    if not targets:
        raise ConfigError(f"the kubeconfig {path} has no contexts")
    results = trio.run(lambda: check_contexts(targets, bound=live_timeout,
                                              namespaces=_policy_namespaces()))
    fmt = output or ("table" if sys.stdout.isatty() else "json")
    if fmt == "json":
        sys.stdout.write(json.dumps([r.to_json() for r in results], indent=2) + "\n")
    else:
        sys.stdout.write(_table(results))
    ok = sum(1 for r in results if r.result.outcome.gets_in)
    sys.stderr.write(f"{ok} of {len(results)} contexts can get in\n")
    return ExitCode.OK if ok == len(results) else ExitCode.PARTIAL


def _policy_namespaces() -> dict[tuple[str, str, str, str], list[str]]:
    """From the saved inventory's `scan --access` results: per (account, region, cluster, role),
    the namespaces its access policies name, so those are checked too ({} without one)."""
    from ekstrio.inventory import load_inventory

    try:
        document = load_inventory()
    except ConfigError:
        return {}
    return {(c.account_id, c.region, c.name, role): [ns for g in value.verdict.grants
                                                      for ns in g.namespaces]
            for c in document.clusters for role, value in (c.access or {}).items()}


def _table(results: list[ContextResult]) -> str:
    from ekstrio.table import Column, layout

    def cell(key: str) -> Callable[[Mapping[str, Any]], str]:
        # Values came from the kubeconfig and the cluster: one printable line each.
        return lambda row: "".join(ch if ch.isprintable() else "?" for ch in str(row[key]))

    columns = [Column("CONTEXT", cell("context"), key=True),
               Column("ACCESS", cell("label"), floor=8),
               Column("USER", cell("user"), floor=8, drop=2),
               Column("DETAIL", cell("detail"), floor=8, drop=1)]
    rows = [{"context": r.context, "label": r.result.label, "user": r.result.username or "",
             "detail": r.result.detail} for r in results]
    width = shutil.get_terminal_size().columns if sys.stdout.isatty() else None
    return "\n".join(layout(rows, width, columns=columns)) + "\n"
