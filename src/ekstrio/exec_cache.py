"""The ExecCredential cache of ``ekstrio token``; ``ekstrio logout`` empties it.

One 0600 JSON file per identity under ``$XDG_CACHE_HOME/ekstrio/tokens/``, named by a one-way
hash; it holds the ``k8s-aws-v1.`` token (a bearer credential for up to 15 minutes), its expiry
and the SSO session it was signed for, so that logout can find a session's files.

Standard library only: ``ekstrio token`` reads it before each kubectl request (typing,
dataclasses and pathlib cost a few ms each, so they are not imported here either).
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import timedelta

from ekstrio.aws.timestamps import format_timestamp, parse_timestamp
from ekstrio.cache_home import cache_home

TYPE_CHECKING = False  # mypy treats any name TYPE_CHECKING as true; `typing` costs ms here
if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime
    from pathlib import Path

# Reuse a cached token until one minute before its expiry, so kubectl never receives a token
# that dies during the request it is about to make.
CACHE_MARGIN = timedelta(minutes=1)


def cache_dir(env: Mapping[str, str]) -> str:
    return os.path.join(cache_home(env), "tokens")


def entry_path(identity: Mapping[str, str | None], env: Mapping[str, str]) -> str:
    """The file of one identity (every field that changes the token, as a sorted JSON key)."""
    key = json.dumps(identity, sort_keys=True, separators=(",", ":"))
    return os.path.join(cache_dir(env), hashlib.sha256(key.encode()).hexdigest() + ".json")


def load_cached(path: str | Path, now: datetime) -> tuple[str, datetime] | None:
    """The cached token and expiry if it stays valid past ``now`` + one minute."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
        token, expires_at = str(data["token"]), parse_timestamp(data["expirationTimestamp"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if expires_at is None or expires_at - CACHE_MARGIN <= now:
        return None
    return token, expires_at


def save_cached(path: str | Path, token: str, expires_at: datetime,
                session: str | None = None) -> None:
    """Cache an ExecCredential's token. ``session`` (the sso-session name or start URL) lets
    ``ekstrio logout`` find the files of that session: their names are one-way hashes."""
    import contextlib
    from pathlib import Path

    from ekstrio.errors import EkstrioError
    from ekstrio.fileio import FOLDER_MODE, atomic_write

    data = json.dumps({"token": token, "expirationTimestamp": format_timestamp(expires_at),
                       "session": session})
    # The cache is an optimisation: a read-only home must not break kubectl.
    with contextlib.suppress(EkstrioError, OSError):
        atomic_write(Path(path), data.encode(), secret=True)  # new folders are 0700
        # The folder is ekstrio's own: one made 0755 by an earlier release is made private.
        folder = os.path.dirname(path)
        if os.stat(folder).st_mode & 0o077:
            os.chmod(folder, FOLDER_MODE)


def remove_cached(session: str | None, env: Mapping[str, str]) -> list[str]:
    """Delete the cached tokens of ``session`` (None: every cached token); return the paths.

    Called by ``ekstrio logout``: a cached token is a bearer credential for up to 15 minutes.
    """
    folder = cache_dir(env)
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    removed = []
    for name in names:
        if not name.endswith(".json"):
            continue
        path = os.path.join(folder, name)
        try:
            with open(path, encoding="utf-8") as handle:
                owner = json.load(handle).get("session")
        except (OSError, ValueError, AttributeError):
            owner = None
        # A file that cannot be read or names no session goes only when all are asked for.
        if session is not None and owner != session:
            continue
        try:
            os.unlink(path)
        except OSError:
            continue
        removed.append(path)
    return removed
