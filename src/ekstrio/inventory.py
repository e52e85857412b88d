"""What a scan leaves on disk: the last inventory, and the account/role lists with a TTL.

Both live in ``$XDG_CACHE_HOME/ekstrio`` (default ``~/.cache/ekstrio``) and are written
atomically (0600: they name every account a person can reach). Neither holds a secret:
role credentials live in the AWS CLI's cache (:mod:`ekstrio.aws.role_cache`).

- ``inventory.json``: the scan's JSON document (docs/output.md); ``ekstrio kubeconfig``
  and ``ekstrio scan --cached`` read it, ``scan --diff`` compares against it. A partial scan
  is merged into it rather than replacing it (:func:`keep_what_was_known`).
- ``lists-<sha1>.json``: ListAccounts and ListAccountRoles answers of one SSO session,
  reused for ``ttl`` seconds so a warm scan skips most portal calls.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ekstrio.aws import untrusted
from ekstrio.cache_home import cache_home
from ekstrio.errors import ConfigError
from ekstrio.fileio import atomic_write, target_stat
from ekstrio.json_pieces import iter_json
from ekstrio.model import Account, SsoSession
from ekstrio.scan_document import ScanDocument

LISTS_SCHEMA = "ekstrio.lists/v1"
DEFAULT_LIST_TTL = 3600.0


def cache_dir(env: Mapping[str, str] | None = None) -> Path:
    return Path(cache_home(os.environ if env is None else env))


def inventory_path(env: Mapping[str, str] | None = None) -> Path:
    return cache_dir(env) / "inventory.json"


def _dump(doc: Mapping[str, Any]) -> Iterator[bytes]:
    # In pieces, never the whole document as one string: see json_pieces.iter_json.
    return (piece.encode() for piece in iter_json(doc))


def save_inventory(doc: ScanDocument, path: Path | None = None) -> Path:
    """Save ``doc``; after a partial scan, merged with what the previous one knew."""
    path = path or inventory_path()
    if not doc.summary.complete:
        target_stat(path)  # before reading it: a FIFO would block, and is refused anyway
        doc = keep_what_was_known(load_previous(path), doc)
    # A few hundred records at a time (to_json_rows): the whole document as dicts was a peak.
    atomic_write(path, _dump(doc.to_json_rows()), mode=0o600)
    return path


def keep_what_was_known(previous: ScanDocument | None, new: ScanDocument) -> ScanDocument:
    """The inventory to save after ``new``: a scan cut short must not erase what is known.

    A complete scan replaces the inventory. After a partial one (Ctrl-C, the deadline, failed
    accounts or regions), the account/regions it completed are replaced by what it found, and
    every other previous cluster is kept (a record the new scan also has is taken from the new
    scan), with those pairs still ``completed`` if the previous scan completed them. Errors and
    summary are the new scan's. Only for the same organisation: another start URL or partition
    replaces the inventory.
    """
    if previous is None or new.summary.complete:
        return new
    if (previous.sso.start_url, previous.partition) != (new.sso.start_url, new.partition):
        return new
    done = set(new.completed)
    found = {(c.account_id, c.region, c.name) for c in new.clusters}
    kept = [c for c in previous.clusters
            if (c.account_id, c.region) not in done and (c.account_id, c.region, c.name)
            not in found]
    if not kept:
        return new
    carried = {(c.account_id, c.region) for c in kept}
    completed = done | {pair for pair in previous.completed if pair in carried}
    return dataclasses.replace(
        new, clusters=tuple(sorted((*new.clusters, *kept),
                                   key=lambda c: (c.account_id, c.region, c.name))),
        completed=tuple(sorted(completed)))


def load_inventory(path: Path | None = None) -> ScanDocument:
    """The saved inventory; ConfigError (one line) when missing or not an ekstrio scan."""
    path = path or inventory_path()
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"no saved inventory at {path}: run `ekstrio scan` first") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the inventory {path}: {exc}") from None
    try:
        return ScanDocument.from_json(raw)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def load_previous(path: Path | None = None) -> ScanDocument | None:
    """The saved inventory, or None if there is none (first scan) or it is unreadable."""
    try:
        return load_inventory(path)
    except ConfigError:
        return None


# --- account and role lists --------------------------------------------------------------


def lists_path(session: SsoSession, env: Mapping[str, str] | None = None) -> Path:
    digest = hashlib.sha1(session.cache_key.encode(), usedforsecurity=False).hexdigest()
    return cache_dir(env) / f"lists-{digest}.json"


@dataclass(frozen=True, slots=True)
class AccountLists:
    """ListAccounts and (some) ListAccountRoles answers, as of ``saved_at`` (epoch s)."""

    accounts: tuple[Account, ...]
    roles: Mapping[str, tuple[str, ...]]
    saved_at: float
    # "account/region" -> clusters listed there last time: a scheduling hint only (the
    # busiest regions start first), never taken as what is there now. Never 0 (the default).
    clusters: Mapping[str, int] = field(default_factory=dict)
    # account id -> regions found not enabled there, as of ``saved_at`` like the lists.
    disabled: Mapping[str, frozenset[str]] = field(default_factory=dict)


def load_lists(
    session: SsoSession, *, ttl: float = DEFAULT_LIST_TTL, now: float | None = None,
    path: Path | None = None,
) -> AccountLists | None:
    """The cached lists if younger than ``ttl`` seconds and of this session; else None."""
    path = path or lists_path(session)
    try:
        doc = json.loads(path.read_text())
        if doc.get("schema") != LISTS_SCHEMA or doc.get("start_url") != session.start_url:
            return None
        saved_at = float(doc["saved_at"])
        accounts = tuple(Account(str(a["accountId"]), str(a["accountName"]),
                                 str(a.get("emailAddress", ""))) for a in doc["accounts"])
        roles = {str(k): tuple(str(r) for r in v) for k, v in doc["roles"].items()}
        clusters = {str(k): n for k, v in doc.get("clusters", {}).items() if (n := int(v))}
        # Region names become URLs: checked like any name from AWS (a bad one: no cache).
        disabled = {untrusted.account_id(k): frozenset(untrusted.region(r) for r in v)
                    for k, v in doc.get("disabled", {}).items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # absent or damaged: the cache is only an optimisation
    current = time.time() if now is None else now
    if not 0 <= current - saved_at < ttl:
        return None
    return AccountLists(accounts, roles, saved_at, clusters, disabled)


def save_lists(
    session: SsoSession,
    accounts: Sequence[Account],
    roles: Mapping[str, Sequence[str]],
    *,
    clusters: Mapping[str, int] | None = None,
    disabled: Mapping[str, Iterable[str]] | None = None,
    now: float | None = None,
    path: Path | None = None,
) -> Path:
    path = path or lists_path(session)
    doc = {
        "schema": LISTS_SCHEMA,
        "start_url": session.start_url,
        "saved_at": time.time() if now is None else now,
        "accounts": [{"accountId": a.account_id, "accountName": a.name,
                      "emailAddress": a.email} for a in accounts],
        "roles": {k: list(v) for k, v in sorted(roles.items())},
        # Only where there were clusters: 0 is what a region without a hint counts as, and
        # an org's empty account-regions (68,000 keys on 2,000 accounts) were ~10 MB of
        # the warm scan's memory, read back in whole.
        "clusters": {k: v for k, v in sorted((clusters or {}).items()) if v},
        "disabled": {k: sorted(v) for k, v in sorted((disabled or {}).items()) if v},
    }
    atomic_write(path, _dump(doc), mode=0o600)
    return path
