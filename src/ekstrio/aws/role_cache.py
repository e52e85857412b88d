"""Role credentials in the AWS CLI's cache, and a session's cache files removed on logout.

``~/.aws/cli/cache/<sha1(key)>.json`` holds what GetRoleCredentials answered, in the format
botocore's SSO credential provider reads (``{"ProviderType": "sso", "Credentials": {…}}``), so
credentials fetched here work in ``aws`` and the other way round. Writes are atomic and 0600.

Only the standard library and ekstrio's stdlib-only modules are imported: ``ekstrio token``
reads these files.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ekstrio.aws.cache_files import cli_cache_dir, log, read_json, sha1_name, write_json
from ekstrio.aws.timestamps import format_timestamp, parse_timestamp
from ekstrio.aws.token_cache import registration_path, token_path
from ekstrio.model import RoleCredentials, SsoSession

__all__ = [
    "ROLE_CREDENTIALS_MARGIN",
    "load_role_credentials",
    "remove_session_files",
    "role_credentials_cache_key",
    "role_credentials_path",
    "save_role_credentials",
]

# The AWS CLI treats cached role credentials as stale 15 minutes before they expire.
ROLE_CREDENTIALS_MARGIN = timedelta(minutes=15)

# ekstrio adds this top-level field to the role credential files it writes so
# that `ekstrio logout` can tell which session they belong to (the file name is
# a one-way hash). botocore reads only "Credentials" and ignores it.
_SOURCE_FIELD = "EkstrioSource"


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
    return (cache_dir or cli_cache_dir()) / sha1_name(key)


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
    doc = read_json(role_credentials_path(session, account_id, role_name, cache_dir))
    if doc is None:
        return None
    creds = doc.get("Credentials")
    if not isinstance(creds, dict):
        return None
    expiration = parse_timestamp(creds.get("Expiration"))
    values = [creds.get(k) for k in ("AccessKeyId", "SecretAccessKey", "SessionToken")]
    if expiration is None or not all(isinstance(v, str) and v for v in values):
        return None
    if expiration - (now or datetime.now(UTC)) <= margin:
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
    write_json(path, doc, durable=False)
    return path


def _role_file_belongs(doc: Mapping[str, Any], session: SsoSession) -> bool:
    source = doc.get(_SOURCE_FIELD)
    if not isinstance(source, dict):
        return False
    if session.name is not None:
        return source.get("sessionName") == session.name
    return source.get("startUrl") == session.start_url


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
        doc = read_json(path)
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
