"""The AWS CLI's cache folders and how their JSON files are read and written.

- ``~/.aws/sso/cache``: SSO access tokens and client registrations (:mod:`.token_cache`);
- ``~/.aws/cli/cache``: role credentials from GetRoleCredentials (:mod:`.role_cache`).

A file that cannot be read or is not a JSON object counts as absent (with a warning): the
caches are shared with the AWS CLI and botocore, and a bad file must cost a sign-in or a
portal call, never a crash. Writes are atomic and 0600 (:func:`ekstrio.fileio.atomic_write`).

Only the standard library and ekstrio's stdlib-only modules are imported: ``ekstrio token``
(run by kubectl before every request) reads these files.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ekstrio.fileio import atomic_write

# The logger's name predates this module (the caches were one module); kept so that the
# warnings' source does not change.
log = logging.getLogger("ekstrio.aws.token_cache")

_warned_folders: set[Path] = set()


def _home() -> Path:
    # Path.home() follows $HOME, which tests point at a temporary folder.
    return Path(os.path.expanduser("~"))


def sso_cache_dir() -> Path:
    return _home() / ".aws" / "sso" / "cache"


def cli_cache_dir() -> Path:
    return _home() / ".aws" / "cli" / "cache"


def sha1_name(key: str) -> str:
    """The file name the AWS CLI gives the entry of ``key``: ``sha1hex(key).json``."""
    return hashlib.sha1(key.encode("utf-8"), usedforsecurity=False).hexdigest() + ".json"


def check_folder(folder: Path) -> None:
    """Report (once per folder) a cache folder that other users can read or write."""
    if folder in _warned_folders:
        return
    try:
        mode = stat.S_IMODE(folder.stat().st_mode)
    except OSError:
        return
    if mode & 0o077:
        _warned_folders.add(folder)
        log.warning(
            "%s is accessible by other users (mode %o); run: chmod 700 %s",
            folder, mode, folder,
        )


def read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``, or None (absent, unreadable, not JSON, not an object)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        log.warning("cannot read %s: %s", path, exc.strerror)
        return None
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        log.warning("ignoring %s: not valid JSON", path)
        return None
    return value if isinstance(value, dict) else None


def write_json(path: Path, doc: Mapping[str, Any], *, durable: bool = True) -> None:
    # A new cache folder is made 0700 by atomic_write; an existing one keeps the user's mode.
    atomic_write(path, json.dumps(doc).encode("utf-8"), secret=True, durable=durable)
