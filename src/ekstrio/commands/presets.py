"""``ekstrio presets``: the presets a scan can use, with their values."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Literal

from cyclopts import Parameter


def presets(
    *,
    output: Annotated[Literal["table", "json"] | None,
                      Parameter(name=["--output", "-o"])] = None,
) -> int:
    """List the presets and their values.

    Shipped presets (default, conservative, aggressive) and your own from
    ~/.config/ekstrio/presets/*.toml (XDG_CONFIG_HOME); a preset of yours with a shipped
    name replaces it. Use one with `ekstrio scan --preset NAME` (or a path to a .toml).

    Parameters
    ----------
    output
        table or json. Default: table on a terminal, else json.
    """
    from ekstrio.settings import list_presets, user_presets_dir

    found = list_presets()
    fmt = output or ("table" if sys.stdout.isatty() else "json")
    if fmt == "json":
        doc = [p.as_dict() | {"source": p.source} for p in found]
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return 0

    from rich.console import Console
    from rich.table import Table

    table = Table(header_style="bold")
    for column in ("name", "workers", "portal rps", "EKS rps", "call timeout", "attempts",
                   "backoff", "deadline"):
        table.add_column(column, justify="left" if column == "name" else "right")
    for p in found:
        table.add_row(p.name, str(p.workers), f"{p.portal_rps:g}", f"{p.eks_rps:g}",
                      f"{p.call_timeout:g} s", str(p.attempts),
                      f"{p.backoff_initial:g}–{p.backoff_max:g} s",
                      f"{p.scan_timeout:g} s" if p.scan_timeout else "none")
    console = Console()
    console.print(table)
    for preset in found:
        console.print(f"[bold]{preset.name}[/bold]: {preset.description}  ({preset.source})",
                      highlight=False)
    console.print(f"Your own presets go in {user_presets_dir()}/NAME.toml", highlight=False)
    return 0
