"""``ekstrio config``: the defaults in effect, and where each one comes from."""

from __future__ import annotations

import inspect
import json
import os
import sys
import tomllib
from typing import Annotated, Any, Literal

from cyclopts import Parameter


def config(
    *,
    output: Annotated[Literal["table", "json"] | None,
                      Parameter(name=["--output", "-o"])] = None,
) -> int:
    """Show the defaults in effect: each key, its value, and where it came from.

    Defaults come from, first found wins: the command line, EKSTRIO_<KEY> environment
    variables (EKSTRIO_SSO_SESSION, EKSTRIO_REGIONS=eu-west-1,us-east-1), the [COMMAND]
    table of $XDG_CONFIG_HOME/ekstrio/config.toml, its top-level keys, then ekstrio's
    built-in values. Keys are long option names without the dashes:

        sso-session = "corp"
        role = ["AdministratorAccess", "ReadOnly*"]
        regions = ["eu-west-1", "eu-central-1"]
        [kubeconfig]
        context-template = "{account_name}/{cluster}"

    login, logout, scan, kubeconfig and profiles read them; token, sim and demo do not.

    Parameters
    ----------
    output
        table or json. Default: table on a terminal, else json.
    """
    from ekstrio.errors import ConfigError
    from ekstrio.user_config import (
        CONFIGURED,
        SHOWN,
        Setting,
        config_path,
        env_name,
        unknown_keys,
        visible,
        where_from,
    )

    env = dict(os.environ)
    path = config_path(env)
    file_data: dict[str, Any] = {}
    if visible(path) and path.exists():
        try:
            file_data = tomllib.loads(path.read_text())
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read {path}: {exc}") from None

    from ekstrio.app import build_app

    app = build_app()
    known: dict[str, set[str]] = {}
    found: dict[tuple[str, str], Setting] = {}
    for command in CONFIGURED:
        # cyclopts resolves the values exactly as the command would get them.
        function, bound, _unused, _ignored = app.parse_known_args([command])
        names = {a.field_info.name: a.name.removeprefix("--")
                 for a in app[command].assemble_argument_collection()
                 if a.name.startswith("--")}
        known[command] = set(names.values())
        defaults = {name: p.default for name, p in inspect.signature(function).parameters.items()}
        for python_name, key in names.items():
            value = bound.arguments.get(python_name, defaults.get(python_name))
            source = where_from(key, command, env=env, file_data=file_data)
            found[(command, key)] = Setting(key=key, command=command, value=value, source=source)
    # The documented keys, each under the command it mostly serves; then anything else the
    # environment or the file sets (a [section] value, or an option of another command).
    settings = [found[(command, key)] for key, command in SHOWN if (command, key) in found]
    shown = {key for key, _ in SHOWN}
    settings += [s for (command, key), s in found.items()
                 if s.source != "built-in" and (s not in settings) and
                 (key not in shown or s.source == f"file [{command}]")]
    unknown = unknown_keys(file_data, known)

    fmt = output or ("table" if sys.stdout.isatty() else "json")
    if fmt == "json":
        doc = {
            "file": str(path), "file_exists": visible(path) and path.exists(),
            "env_prefix": env_name(""),
            "settings": [{"key": s.key, "command": s.command, "value": s.value,
                          "source": s.source} for s in settings],
            "unknown_keys": unknown,
        }
        sys.stdout.write(json.dumps(doc, indent=2, default=str) + "\n")
    else:
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        table = Table(box=None, header_style="bold", pad_edge=False)
        for title in ("KEY", "COMMAND", "VALUE", "SOURCE"):
            table.add_column(title, overflow="fold", no_wrap=title != "VALUE")
        for s in settings:
            # Text, not markup: "file [scan]" and values are shown as they are.
            table.add_row(*(Text(v) for v in (s.key, s.command, _show(s.value), s.source)))
        console = Console(highlight=False)
        console.print(table)
        state = "" if visible(path) and path.exists() else " (not found)"
        console.print(f"config file: {path}{state}", markup=False, soft_wrap=True)
    for key in unknown:
        sys.stderr.write(f"ekstrio: warning: {path}: {key} is not an option of "
                         f"{', '.join(CONFIGURED)}\n")
    return 0


def _show(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(map(str, value)) or "-"
    return str(value)
