"""The AWS CLI's caches, read and written in its own format.

- ``~/.aws/sso/cache/<sha1(key)>.json``: SSO access tokens (key = the sso-session
  name, or the start URL for legacy profiles) and CLI v2 client registrations.
- ``~/.aws/cli/cache/<sha1(json)>.json``: role credentials from GetRoleCredentials.

A token written by ``aws sso login`` works here, and one written here works in
the AWS CLI and botocore: same file names, same field names, timestamps as
``YYYY-MM-DDTHH:MM:SSZ``, unknown fields kept. Writes are atomic and 0600.

Only the standard library and ekstrio's stdlib-only modules are imported:
``ekstrio token`` (run by kubectl before every request) reads these files.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ekstrio.aws.timestamps import format_timestamp, parse_timestamp
from ekstrio.fileio import atomic_write
from ekstrio.model import RoleCredentials, SsoSession

__all__ = [
    "ROLE_CREDENTIALS_MARGIN",
    "CachedRegistration",
    "CachedToken",
    "cli_cache_dir",
    "format_timestamp",
    "load_registration",
    "load_role_credentials",
    "load_sso_token",
    "parse_timestamp",
    "registration_cache_key",
    "registration_path",
    "remove_session_files",
    "role_credentials_cache_key",
    "role_credentials_path",
    "save_registration",
    "save_role_credentials",
    "save_sso_token",
    "sso_cache_dir",
    "token_path",
]

log = logging.getLogger(__name__)

# The AWS CLI treats cached role credentials as stale 15 minutes before they expire.
ROLE_CREDENTIALS_MARGIN = timedelta(minutes=15)

# Fields of a token file that CachedToken models; all others are kept verbatim.
_TOKEN_FIELDS = (
    "startUrl", "region", "accessToken", "expiresAt", "refreshToken",
    "clientId", "clientSecret", "registrationExpiresAt",
)

_warned_folders: set[Path] = set()


# --- paths and keys -------------------------------------------------------------------------


def _home() -> Path:
    # Path.home() follows $HOME, which tests point at a temporary folder.
    return Path(os.path.expanduser("~"))


def sso_cache_dir() -> Path:
    return _home() / ".aws" / "sso" / "cache"


def cli_cache_dir() -> Path:
    return _home() / ".aws" / "cli" / "cache"


def _sha1(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def token_path(session: SsoSession, cache_dir: Path | None = None) -> Path:
    """``sha1(session name)`` for sso-session profiles, ``sha1(start URL)`` for legacy ones."""
    return (cache_dir or sso_cache_dir()) / f"{_sha1(session.cache_key)}.json"


def registration_cache_key(session: SsoSession) -> str:
    """The CLI v2 registration key: the JSON of region, scopes, session name, start URL, tool.

    ``scopes`` is the configured ``sso_registration_scopes`` list, null when
    none are configured (the CLI keys on the configuration, not the defaults).
    """
    args = {
        "region": session.region,
        "scopes": list(session.scopes) if session.scopes else None,
        "session_name": session.name,
        "startUrl": session.start_url,
        "tool": "botocore",
    }
    return json.dumps(args, sort_keys=True)


def registration_path(session: SsoSession, cache_dir: Path | None = None) -> Path:
    return (cache_dir or sso_cache_dir()) / f"{_sha1(registration_cache_key(session))}.json"


def role_credentials_cache_key(session: SsoSession, account_id: str, role_name: str) -> str:
    """botocore's SSOCredentialFetcher key (compact JSON, sorted keys)."""
    args: dict[str, str] = {"accountId": account_id, "roleName": role_name}
    if session.name is not None:
        args["sessionName"] = session.name
    else:
        args["startUrl"] = session.start_url
    return json.dumps(args, sort_keys=True, separators=(",", ":"))


def role_credentials_path(
    session: SsoSession, account_id: str, role_name: str, cache_dir: Path | None = None
) -> Path:
    key = role_credentials_cache_key(session, account_id, role_name)
    return (cache_dir or cli_cache_dir()) / f"{_sha1(key)}.json"


# --- clock ------------------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC)


# --- reading and writing JSON ---------------------------------------------------------------


def _check_folder(folder: Path) -> None:
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


def _read_json(path: Path) -> dict[str, Any] | None:
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


def _write_json(path: Path, doc: Mapping[str, Any], *, durable: bool = True) -> None:
    # A new cache folder is made 0700 by atomic_write; an existing one keeps the user's mode.
    atomic_write(path, json.dumps(doc).encode("utf-8"), secret=True, durable=durable)


# --- SSO tokens -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CachedToken:
    """One token file. ``raw`` holds every field read, so unknown ones survive a rewrite."""

    access_token: str = field(repr=False)
    expires_at: datetime
    region: str | None = None
    start_url: str | None = None
    refresh_token: str | None = field(default=None, repr=False)
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    registration_expires_at: datetime | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False, hash=False)

    def __repr__(self) -> str:
        return (
            f"CachedToken(start_url={self.start_url!r}, region={self.region!r}, "
            f"expires_at={self.expires_at.isoformat()}, "
            f"refreshable={self.refresh_token is not None})"
        )

    def remaining(self, now: datetime | None = None) -> timedelta:
        return self.expires_at - (now or _now())

    def is_expired(self, now: datetime | None = None) -> bool:
        return self.remaining(now) <= timedelta(0)

    def can_refresh(self, now: datetime | None = None) -> bool:
        """botocore's test: refresh token, client id and secret, registration not expired."""
        return (
            bool(self.refresh_token)
            and bool(self.client_id)
            and bool(self.client_secret)
            and self.registration_expires_at is not None
            and self.registration_expires_at > (now or _now())
        )

    def to_json(self) -> dict[str, Any]:
        """The file's JSON: unknown fields first, then the known ones (None = absent)."""
        doc = {k: v for k, v in self.raw.items() if k not in _TOKEN_FIELDS}
        known: dict[str, Any] = {
            "startUrl": self.start_url,
            "region": self.region,
            "accessToken": self.access_token,
            "expiresAt": format_timestamp(self.expires_at),
            "clientId": self.client_id,
            "clientSecret": self.client_secret,
            "registrationExpiresAt": (
                format_timestamp(self.registration_expires_at)
                if self.registration_expires_at is not None else None
            ),
            "refreshToken": self.refresh_token,
        }
        doc.update({k: v for k, v in known.items() if v is not None})
        return doc

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> CachedToken | None:
        """None unless ``accessToken`` and a readable ``expiresAt`` are there (botocore's rule)."""
        access_token = doc.get("accessToken")
        expires_at = parse_timestamp(doc.get("expiresAt"))
        if not isinstance(access_token, str) or not access_token or expires_at is None:
            return None

        def text(name: str) -> str | None:
            value = doc.get(name)
            return value if isinstance(value, str) and value else None

        return cls(
            access_token=access_token,
            expires_at=expires_at,
            region=text("region"),
            start_url=text("startUrl"),
            refresh_token=text("refreshToken"),
            client_id=text("clientId"),
            client_secret=text("clientSecret"),
            registration_expires_at=parse_timestamp(doc.get("registrationExpiresAt")),
            raw=dict(doc),
        )


def load_sso_token(session: SsoSession, cache_dir: Path | None = None) -> CachedToken | None:
    """The cached token of ``session`` (expired or not), or None if there is none usable."""
    path = token_path(session, cache_dir)
    _check_folder(path.parent)
    doc = _read_json(path)
    if doc is None:
        return None
    token = CachedToken.from_json(doc)
    if token is None:
        log.warning("ignoring %s: it has no accessToken or no readable expiresAt", path)
    return token


def save_sso_token(
    session: SsoSession, token: CachedToken, cache_dir: Path | None = None
) -> Path:
    """Write ``token`` to the session's cache file (atomic, 0600), keeping its unknown fields.

    ``startUrl`` and ``region`` default to the session's, as the AWS CLI writes them.
    """
    doc = token.to_json()
    doc.setdefault("startUrl", session.start_url)
    doc.setdefault("region", session.region)
    path = token_path(session, cache_dir)
    _write_json(path, doc)
    return path


# --- client registrations -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CachedRegistration:
    """A RegisterClient answer as the CLI caches it."""

    client_id: str
    client_secret: str = field(repr=False)
    expires_at: datetime
    scopes: tuple[str, ...] = ()
    grant_types: tuple[str, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False, hash=False)

    def usable(self, *, now: datetime | None = None,
               margin: timedelta = timedelta(minutes=15),
               grant_type: str | None = None) -> bool:
        """Still valid for ``margin`` (the CLI's 15 min) and, if asked, allowing ``grant_type``."""
        if self.expires_at - (now or _now()) <= margin:
            return False
        return grant_type is None or grant_type in self.grant_types

    def to_json(self) -> dict[str, Any]:
        doc = {k: v for k, v in self.raw.items()
               if k not in ("clientId", "clientSecret", "expiresAt", "scopes", "grantTypes")}
        doc.update({
            "clientId": self.client_id,
            "clientSecret": self.client_secret,
            "expiresAt": format_timestamp(self.expires_at),
        })
        if self.scopes:
            doc["scopes"] = list(self.scopes)
        if self.grant_types:
            doc["grantTypes"] = list(self.grant_types)
        return doc

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> CachedRegistration | None:
        client_id = doc.get("clientId")
        client_secret = doc.get("clientSecret")
        expires_at = parse_timestamp(doc.get("expiresAt"))
        if not (isinstance(client_id, str) and isinstance(client_secret, str) and expires_at):
            return None

        def strings(name: str) -> tuple[str, ...]:
            value = doc.get(name)
            if not isinstance(value, list):
                return ()
            return tuple(v for v in value if isinstance(v, str))

        return cls(client_id, client_secret, expires_at,
                   strings("scopes"), strings("grantTypes"), dict(doc))


def load_registration(
    session: SsoSession, cache_dir: Path | None = None
) -> CachedRegistration | None:
    doc = _read_json(registration_path(session, cache_dir))
    return CachedRegistration.from_json(doc) if doc is not None else None


def save_registration(
    session: SsoSession, registration: CachedRegistration, cache_dir: Path | None = None
) -> Path:
    path = registration_path(session, cache_dir)
    _write_json(path, registration.to_json())
    return path


# --- role credentials -----------------------------------------------------------------------

# ekstrio adds this top-level field to the role credential files it writes so
# that `ekstrio logout` can tell which session they belong to (the file name is
# a one-way hash). botocore reads only "Credentials" and ignores it.
_SOURCE_FIELD = "EkstrioSource"


def load_role_credentials(
    session: SsoSession,
    account_id: str,
    role_name: str,
    *,
    margin: timedelta = ROLE_CREDENTIALS_MARGIN,
    now: datetime | None = None,
    cache_dir: Path | None = None,
) -> RoleCredentials | None:
    """Cached credentials for (account, role) of ``session``; None if absent or stale.

    Stale means within ``margin`` of expiry (the CLI uses 15 minutes).
    """
    doc = _read_json(role_credentials_path(session, account_id, role_name, cache_dir))
    if doc is None:
        return None
    creds = doc.get("Credentials")
    if not isinstance(creds, dict):
        return None
    expiration = parse_timestamp(creds.get("Expiration"))
    values = [creds.get(k) for k in ("AccessKeyId", "SecretAccessKey", "SessionToken")]
    if expiration is None or not all(isinstance(v, str) and v for v in values):
        return None
    if expiration - (now or _now()) <= margin:
        return None
    return RoleCredentials(
        access_key_id=str(values[0]),
        secret_access_key=str(values[1]),
        session_token=str(values[2]),
        expiration=expiration,
    )


def save_role_credentials(
    session: SsoSession,
    account_id: str,
    role_name: str,
    creds: RoleCredentials,
    *,
    cache_dir: Path | None = None,
) -> Path:
    """Write credentials where ``aws`` (CLI v2 / botocore SSOProvider) would look for them."""
    source: dict[str, str] = {"roleName": role_name}
    if session.name is not None:
        source["sessionName"] = session.name
    else:
        source["startUrl"] = session.start_url
    doc = {
        "ProviderType": "sso",
        "Credentials": {
            "AccessKeyId": creds.access_key_id,
            "SecretAccessKey": creds.secret_access_key,
            "SessionToken": creds.session_token,
            "Expiration": format_timestamp(creds.expiration),
            "AccountId": account_id,
        },
        _SOURCE_FIELD: source,
    }
    path = role_credentials_path(session, account_id, role_name, cache_dir)
    # No fsync: these credentials live an hour and a lost file costs one portal call, while a
    # scan writes one per account (thousands) from its event loop. Still atomic and 0600.
    _write_json(path, doc, durable=False)
    return path


def _role_file_belongs(doc: Mapping[str, Any], session: SsoSession) -> bool:
    source = doc.get(_SOURCE_FIELD)
    if not isinstance(source, dict):
        return False
    if session.name is not None:
        return source.get("sessionName") == session.name
    return source.get("startUrl") == session.start_url


# --- logout ---------------------------------------------------------------------------------


def remove_session_files(
    session: SsoSession,
    *,
    all_role_credentials: bool = False,
    cache_dir: Path | None = None,
    credentials_dir: Path | None = None,
) -> list[Path]:
    """Delete the session's token, its client registration and its role credentials.

    Role credential files are named by a one-way hash, so a file belongs to
    ``session`` when ekstrio wrote it (it carries the session). Files the AWS
    CLI wrote carry nothing: ``all_role_credentials`` removes every SSO role
    credential file, as ``aws sso logout`` does. Returns the removed paths.
    """
    removed: list[Path] = []
    candidates = [token_path(session, cache_dir), registration_path(session, cache_dir)]
    folder = credentials_dir or cli_cache_dir()
    try:
        entries = sorted(folder.glob("*.json"))
    except OSError:
        entries = []
    for path in entries:
        doc = _read_json(path)
        if doc is None or doc.get("ProviderType") != "sso":
            continue
        if all_role_credentials or _role_file_belongs(doc, session):
            candidates.append(path)
    for path in candidates:
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        except OSError as exc:
            log.warning("cannot remove %s: %s", path, exc.strerror)
            continue
        removed.append(path)
    return removed
