"""The AWS CLI token / registration / role-credential caches, byte for byte."""

from __future__ import annotations

import hashlib
import json
import logging
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ekstrio.aws import cache_files, role_cache
from ekstrio.aws import token_cache as tc
from ekstrio.model import RoleCredentials, SsoSession

SESSION = SsoSession("https://d-123.awsapps.com/start", "us-east-1", name="my-sso")
LEGACY = SsoSession("https://d-123.awsapps.com/start", "us-east-1", name=None)
NOW = datetime(2026, 11, 28, 16, 0, 0, tzinfo=UTC)


def test_token_file_name_is_sha1_of_session_name(isolated_home: Path) -> None:
    # The value from the protocol reference (§2), computed by botocore.
    assert tc.token_path(SESSION) == (
        isolated_home / ".aws/sso/cache/0ad374308c5a4e22f723adf10145eafad7c4031c.json"
    )


def test_legacy_token_file_name_is_sha1_of_start_url(isolated_home: Path) -> None:
    digest = hashlib.sha1(LEGACY.start_url.encode(), usedforsecurity=False).hexdigest()
    assert tc.token_path(LEGACY).name == f"{digest}.json"


def test_registration_key_matches_cli_v2() -> None:
    key = tc.registration_cache_key(SESSION)
    assert key == json.dumps({"region": "us-east-1", "scopes": None, "session_name": "my-sso",
                              "startUrl": SESSION.start_url, "tool": "botocore"}, sort_keys=True)
    scoped = SsoSession(SESSION.start_url, "us-east-1", "my-sso", ("sso:account:access",))
    assert '"scopes": ["sso:account:access"]' in tc.registration_cache_key(scoped)


def test_role_credentials_key_matches_botocore() -> None:
    from botocore.credentials import SSOCredentialFetcher

    for session in (SESSION, LEGACY):
        fetcher = SSOCredentialFetcher(
            session.start_url, session.region, "Admin", "111122223333", client_creator=None,
            sso_session_name=session.name)
        expected = fetcher._create_cache_key()
        assert role_cache.role_credentials_path(session, "111122223333", "Admin").stem == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-11-28T16:00:00Z", NOW),
    ("2026-11-28T16:00:00UTC", NOW),
    ("2026-11-28T16:00:00+00:00", NOW),
    ("2026-11-28T17:00:00+01:00", NOW),
    ("2026-11-28T16:00:00", NOW),
    ("2026-11-28T16:00:00.000Z", NOW),
    ("yesterday", None),
    ("", None),
    (12345, None),
])
def test_parse_timestamp(text: object, expected: datetime | None) -> None:
    assert tc.parse_timestamp(text) == expected


def test_format_timestamp_is_rfc3339_z() -> None:
    assert tc.format_timestamp(NOW + timedelta(microseconds=5)) == "2026-11-28T16:00:00Z"
    local = NOW.astimezone(__import__("datetime").timezone(timedelta(hours=2)))
    assert tc.format_timestamp(local) == "2026-11-28T16:00:00Z"


def _token(**kw: object) -> tc.CachedToken:
    base: dict[str, object] = {
        "access_token": "AT-secret", "expires_at": NOW + timedelta(hours=1),
        "region": "us-east-1", "start_url": SESSION.start_url,
    }
    base.update(kw)
    return tc.CachedToken(**base)  # type: ignore[arg-type]


def test_save_writes_cli_fields_0600_and_round_trips(isolated_home: Path) -> None:
    token = _token(refresh_token="RT-secret", client_id="cid", client_secret="CS-secret",
                   registration_expires_at=NOW + timedelta(days=90))
    path = tc.save_sso_token(SESSION, token)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    doc = json.loads(path.read_text())
    assert doc == {
        "startUrl": SESSION.start_url, "region": "us-east-1", "accessToken": "AT-secret",
        "expiresAt": "2026-11-28T17:00:00Z", "clientId": "cid", "clientSecret": "CS-secret",
        "registrationExpiresAt": "2027-02-26T16:00:00Z", "refreshToken": "RT-secret",
    }
    assert tc.load_sso_token(SESSION) == token
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_unknown_fields_survive_a_rewrite(isolated_home: Path) -> None:
    path = tc.token_path(SESSION)
    path.parent.mkdir(parents=True, mode=0o700)
    path.write_text(json.dumps({
        "startUrl": SESSION.start_url, "region": "us-east-1", "accessToken": "old",
        "expiresAt": "2026-11-28T16:00:00Z", "refreshToken": "RT", "futureField": {"a": 1},
    }))
    loaded = tc.load_sso_token(SESSION)
    assert loaded is not None
    import dataclasses
    renewed = dataclasses.replace(loaded, access_token="new", refresh_token=None,
                                  expires_at=NOW + timedelta(hours=8))
    tc.save_sso_token(SESSION, renewed)
    doc = json.loads(path.read_text())
    assert doc["futureField"] == {"a": 1}
    assert doc["accessToken"] == "new"
    assert "refreshToken" not in doc  # dropped when the refresh answer had none


@pytest.mark.parametrize("doc", [
    {"expiresAt": "2026-11-28T16:00:00Z"},
    {"accessToken": "x"},
    {"accessToken": "x", "expiresAt": "garbage"},
    ["not", "an", "object"],
])
def test_invalid_token_files_are_ignored(isolated_home: Path, doc: object) -> None:
    path = tc.token_path(SESSION)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(doc))
    assert tc.load_sso_token(SESSION) is None


def test_missing_and_corrupt_files_are_none(isolated_home: Path) -> None:
    assert tc.load_sso_token(SESSION) is None
    path = tc.token_path(SESSION)
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    assert tc.load_sso_token(SESSION) is None


def test_secrets_hidden_from_repr() -> None:
    token = _token(refresh_token="RT-secret", client_secret="CS-secret")
    text = repr(token)
    assert "AT-secret" not in text
    assert "RT-secret" not in text
    assert "CS-secret" not in text
    reg = tc.CachedRegistration("cid", "CS-secret", NOW)
    assert "CS-secret" not in repr(reg)


def test_can_refresh_needs_all_of_botocore_fields() -> None:
    full = _token(refresh_token="RT", client_id="c", client_secret="s",
                  registration_expires_at=NOW + timedelta(days=1))
    assert full.can_refresh(NOW)
    assert not full.can_refresh(NOW + timedelta(days=2))
    import dataclasses
    for name in ("refresh_token", "client_id", "client_secret", "registration_expires_at"):
        assert not dataclasses.replace(full, **{name: None}).can_refresh(NOW)


def test_loaded_token_validity_margin(isolated_home: Path) -> None:
    tc.save_sso_token(SESSION, _token())
    token = tc.load_sso_token(SESSION)
    assert token is not None
    assert token.access_token == "AT-secret"
    assert not token.is_expired(NOW)
    assert token.remaining(NOW + timedelta(minutes=59)) <= timedelta(minutes=2)
    assert token.is_expired(NOW + timedelta(hours=2))


def test_world_readable_folder_is_reported_once(
    isolated_home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = isolated_home / ".aws/sso/cache"
    folder.mkdir(parents=True)
    folder.chmod(0o755)
    cache_files._warned_folders.discard(folder)
    with caplog.at_level(logging.WARNING, logger="ekstrio.aws.token_cache"):
        tc.load_sso_token(SESSION)
        tc.load_sso_token(SESSION)
    messages = [r.getMessage() for r in caplog.records if "other users" in r.getMessage()]
    assert len(messages) == 1
    assert "chmod 700" in messages[0]


def test_registration_round_trip_and_usable(isolated_home: Path) -> None:
    reg = tc.CachedRegistration("cid", "secret", NOW + timedelta(days=90),
                                ("sso:account:access",), ("authorization_code", "refresh_token"))
    path = tc.save_registration(SESSION, reg)
    assert json.loads(path.read_text()) == {
        "clientId": "cid", "clientSecret": "secret", "expiresAt": "2027-02-26T16:00:00Z",
        "scopes": ["sso:account:access"], "grantTypes": ["authorization_code", "refresh_token"],
    }
    loaded = tc.load_registration(SESSION)
    assert loaded == reg
    assert loaded.usable(now=NOW, grant_type="authorization_code")
    assert not loaded.usable(now=NOW + timedelta(days=90) - timedelta(minutes=14))
    device_only = tc.CachedRegistration("cid", "secret", NOW + timedelta(days=90))
    assert device_only.usable(now=NOW)
    assert not device_only.usable(now=NOW, grant_type="authorization_code")


def _creds(expiration: datetime) -> RoleCredentials:
    return RoleCredentials("ASIAXXXX", "SECRET", "SESSIONTOKEN", expiration)


def test_role_credentials_format_and_staleness(isolated_home: Path) -> None:
    creds = _creds(NOW + timedelta(hours=1))
    path = role_cache.save_role_credentials(SESSION, "111122223333", "Admin", creds)
    assert path.parent == isolated_home / ".aws/cli/cache"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    doc = json.loads(path.read_text())
    assert doc["ProviderType"] == "sso"
    assert doc["Credentials"] == {
        "AccessKeyId": "ASIAXXXX", "SecretAccessKey": "SECRET", "SessionToken": "SESSIONTOKEN",
        "Expiration": "2026-11-28T17:00:00Z", "AccountId": "111122223333",
    }
    assert role_cache.load_role_credentials(SESSION, "111122223333", "Admin", now=NOW) == creds
    # Stale 15 minutes before expiry by default; the margin is a parameter.
    later = NOW + timedelta(minutes=46)
    assert role_cache.load_role_credentials(SESSION, "111122223333", "Admin", now=later) is None
    assert role_cache.load_role_credentials(SESSION, "111122223333", "Admin", now=later,
                                    margin=timedelta(minutes=1)) == creds
    assert role_cache.load_role_credentials(SESSION, "111122223333", "Other", now=NOW) is None
    assert role_cache.load_role_credentials(LEGACY, "111122223333", "Admin", now=NOW) is None


def test_remove_session_files(isolated_home: Path) -> None:
    other = SsoSession("https://other.awsapps.com/start", "eu-west-1", name="other")
    tc.save_sso_token(SESSION, _token())
    tc.save_sso_token(other, _token())
    tc.save_registration(SESSION, tc.CachedRegistration("c", "s", NOW + timedelta(days=1)))
    mine = role_cache.save_role_credentials(SESSION, "111122223333", "Admin", _creds(NOW))
    theirs = role_cache.save_role_credentials(other, "111122223333", "Admin", _creds(NOW))
    foreign = isolated_home / ".aws/cli/cache/cli-written.json"
    foreign.write_text(json.dumps({"ProviderType": "sso", "Credentials": {}}))
    assume = isolated_home / ".aws/cli/cache/assume.json"
    assume.write_text(json.dumps({"Credentials": {}}))

    removed = role_cache.remove_session_files(SESSION)
    assert set(removed) == {tc.token_path(SESSION), tc.registration_path(SESSION), mine}
    assert tc.token_path(other).exists()
    assert theirs.exists()
    assert foreign.exists()
    assert role_cache.remove_session_files(SESSION) == []

    removed = role_cache.remove_session_files(other, all_role_credentials=True)
    assert set(removed) == {tc.token_path(other), theirs, foreign}
    assert assume.exists()  # not an SSO credential file


def test_module_imports_only_stdlib_and_light_ekstrio() -> None:
    code = (
        "import sys; import ekstrio.aws.token_cache; "
        "bad = [m for m in ('httpx', 'httpx2', 'trio', 'botocore', 'cyclopts', 'rich', 'yaml') "
        "if m in sys.modules]; print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == ""
