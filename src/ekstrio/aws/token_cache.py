"""SSO access tokens and client registrations in the AWS CLI's cache, in its own format.

``~/.aws/sso/cache/<sha1(key)>.json``: SSO access tokens (key = the sso-session name, or the
start URL for legacy profiles) and CLI v2 client registrations. Role credentials are
:mod:`.role_cache`; the folders and the JSON reading and writing, :mod:`.cache_files`.

A token written by ``aws sso login`` works here, and one written here works in
the AWS CLI and botocore: same file names, same field names, timestamps as
``YYYY-MM-DDTHH:MM:SSZ``, unknown fields kept. Writes are atomic and 0600.

Only the standard library and ekstrio's stdlib-only modules are imported:
``ekstrio token`` (run by kubectl before every request) reads these files.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ekstrio.aws.cache_files import (
    check_folder,
    log,
    read_json,
    sha1_name,
    sso_cache_dir,
    write_json,
)
from ekstrio.aws.timestamps import format_timestamp, parse_timestamp
from ekstrio.model import SsoSession

__all__ = [
    "CachedRegistration",
    "CachedToken",
    "format_timestamp",
    "load_registration",
    "load_sso_token",
    "parse_timestamp",
    "registration_cache_key",
    "registration_path",
    "save_registration",
    "save_sso_token",
    "token_path",
]

# Fields of a token file that CachedToken models; all others are kept verbatim.
_TOKEN_FIELDS = (
    "startUrl", "region", "accessToken", "expiresAt", "refreshToken",
    "clientId", "clientSecret", "registrationExpiresAt",
)


# --- file names -----------------------------------------------------------------------------


def token_path(session: SsoSession, cache_dir: Path | None = None) -> Path:
    """``sha1(session name)`` for sso-session profiles, ``sha1(start URL)`` for legacy ones."""
    return (cache_dir or sso_cache_dir()) / sha1_name(session.cache_key)


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
    return (cache_dir or sso_cache_dir()) / sha1_name(registration_cache_key(session))


def _now() -> datetime:
    return datetime.now(UTC)


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
    check_folder(path.parent)
    doc = read_json(path)
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
    write_json(path, doc)
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
    doc = read_json(registration_path(session, cache_dir))
    return CachedRegistration.from_json(doc) if doc is not None else None


def save_registration(
    session: SsoSession, registration: CachedRegistration, cache_dir: Path | None = None
) -> Path:
    path = registration_path(session, cache_dir)
    write_json(path, registration.to_json())
    return path
