"""Defaults from ``$XDG_CONFIG_HOME/ekstrio/config.toml`` and ``EKSTRIO_*`` variables.

cyclopts applies them (``cyclopts.config.Env`` and ``cyclopts.config.Toml``); ekstrio only
says where the file is and which commands read it. Precedence, first found wins:

1. the command line;
2. ``EKSTRIO_<KEY>`` (``EKSTRIO_SSO_SESSION``, ``EKSTRIO_REGIONS`` ...);
3. the file's ``[COMMAND]`` table (``[scan] output = "wide"``);
4. the file's top-level keys, for every command that has the option;
5. the built-in default.

Keys are the long option names without ``--`` (``sso-session``, ``context-template``).
Only the commands in :data:`CONFIGURED` read them: ``token`` is kubectl's hot path and
``sim``/``demo`` must not pick up a user's defaults.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cyclopts.config import Env, Toml

from ekstrio.errors import ConfigError

ENV_PREFIX = "EKSTRIO_"
CONFIGURED = ("login", "logout", "scan", "kubeconfig", "profiles")

#: The keys ``ekstrio config`` lists even when nothing sets them, with the command whose
#: default it shows (other options of the configured commands work the same way).
SHOWN: tuple[tuple[str, str], ...] = (
    ("profile", "scan"), ("sso-session", "scan"), ("start-url", "scan"),
    ("sso-region", "scan"), ("role", "scan"), ("all-roles", "scan"), ("regions", "scan"),
    ("account", "scan"), ("exclude-account", "scan"), ("name", "scan"), ("tag", "scan"),
    ("preset", "scan"), ("output", "scan"), ("context-template", "kubeconfig"),
    ("profile-template", "kubeconfig"), ("exec", "kubeconfig"),
)


def config_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME", "~")).expanduser() / ".config")
    return Path(base) / "ekstrio" / "config.toml"


def visible(path: Path) -> bool:
    """Whether ``path`` can even be looked at: a config folder this user may not search (say
    another user's, under sudo -u) counts as no file rather than a crash."""
    try:
        path.exists()
    except OSError:
        return False
    return True


def check_file(path: Path) -> None:
    """Raise ConfigError, naming ``path``, when the config file exists but cannot be used.

    cyclopts reads the file itself and would let a PermissionError through as a traceback,
    and its TOML error does not say which file. An absent file, or one in a folder this
    user may not search (:func:`visible`), is simply no defaults.
    """
    if not visible(path):
        return
    try:
        text = path.read_bytes().decode()
        tomllib.loads(text)
    except (FileNotFoundError, NotADirectoryError):
        return
    except OSError as exc:
        raise ConfigError(f"cannot read the config file {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"the config file {path} is not UTF-8 text") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"the config file {path} is not valid TOML: {exc}") from exc


def sources(env: Mapping[str, str] | None = None) -> tuple[Any, ...]:
    """The cyclopts config sources, in precedence order (earlier wins)."""
    path = config_path(env)
    if not visible(path):
        return (Env(ENV_PREFIX, command=False),)
    return (
        Env(ENV_PREFIX, command=False),
        # [scan], [kubeconfig] ... tables: options of that command only.
        Toml(path, use_commands_as_keys=True, allow_unknown=True),
        # Top-level keys: every configured command that has the option. allow_unknown,
        # since `tag` means nothing to `login`; `ekstrio config` names keys no command has.
        Toml(path, use_commands_as_keys=False, allow_unknown=True),
    )


def env_name(key: str) -> str:
    """``sso-session`` -> ``EKSTRIO_SSO_SESSION`` (cyclopts' Env naming)."""
    return ENV_PREFIX + key.upper().replace("-", "_")


@dataclass(frozen=True, slots=True)
class Setting:
    key: str
    command: str
    value: Any
    source: str


def _in_file(data: Mapping[str, Any], key: str) -> bool:
    # A table ([scan]) is a command's section, never the value of an option.
    return any(name in data and not isinstance(data[name], Mapping)
               for name in (key, key.replace("-", "_")))


def where_from(key: str, command: str, *, env: Mapping[str, str],
               file_data: Mapping[str, Any]) -> str:
    """Which layer set ``key`` for ``command`` (the same order cyclopts applies):
    ``env EKSTRIO_…``, ``file [command]``, ``file`` or ``built-in``."""
    if env_name(key) in env:
        return f"env {env_name(key)}"
    section = file_data.get(command)
    if isinstance(section, Mapping) and _in_file(section, key):
        return f"file [{command}]"
    if _in_file(file_data, key):
        return "file"
    return "built-in"


def unknown_keys(file_data: Mapping[str, Any], known: Mapping[str, set[str]]) -> list[str]:
    """File keys no configured command has (``known``: command -> its keys)."""
    every = set().union(*known.values()) if known else set()
    found = []
    for key, value in file_data.items():
        if key in known and isinstance(value, Mapping):
            found += [f"[{key}] {k}" for k in value if k.replace("_", "-") not in known[key]]
        elif key.replace("_", "-") not in every:
            found.append(key)
    return found
