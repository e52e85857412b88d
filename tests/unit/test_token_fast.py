"""`ekstrio token`: argument parsing, ExecCredential shape, token cache, sign-in errors, portal."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from ekstrio import exec_cache, exec_plugin, token_fast
from ekstrio.aws import eks_token, role_cache, token_cache
from ekstrio.errors import UsageError
from ekstrio.model import RoleCredentials, SsoSession

ARGS = ["--cluster", "web", "--region", "eu-west-1", "--account", "111122223333",
        "--role", "Admin", "--sso-session", "corp"]
SESSION = SsoSession(start_url="", region="", name="corp")


def _creds(hours: float = 1) -> RoleCredentials:
    return RoleCredentials("ASIAKEY", "sekret", "sess", datetime.now(UTC) + timedelta(hours=hours))


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = token_fast.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


# --- parsing -------------------------------------------------------------------------------

def test_parse_args_accepts_both_flag_forms() -> None:
    args = exec_plugin.parse_args(["--cluster=web", "--region", "eu-west-1", "--account",
                                  "1", "--role=Admin", "--start-url", "https://x/start",
                                  "--sso-region", "us-east-1", "--no-cache"])
    assert (args.cluster, args.region, args.account_id, args.role) == ("web", "eu-west-1", "1",
                                                                       "Admin")
    assert (args.start_url, args.sso_region, args.sso_session) == ("https://x/start",
                                                                   "us-east-1", None)
    assert args.use_cache is False
    assert args.login_hint == "ekstrio login --start-url https://x/start --sso-region us-east-1"


@pytest.mark.parametrize(("argv", "fragment"), [
    (["--cluster", "web"], "missing --region, --account, --role"),
    ([*ARGS, "--bogus", "1"], "unknown argument '--bogus'"),
    ([*ARGS, "--role"], "--role needs a value"),
    (ARGS[:-2], "give --sso-session NAME"),
    ([*ARGS[:-2], "--start-url", "https://x"], "give --sso-session NAME"),
])
def test_parse_args_errors_name_what_to_fix(argv: list[str], fragment: str) -> None:
    with pytest.raises(UsageError, match="ekstrio token: ") as info:
        exec_plugin.parse_args(argv)
    assert fragment in str(info.value)


def test_bad_arguments_exit_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(["--cluster"], capsys)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(("info", "expected", "warns"), [
    (None, "client.authentication.k8s.io/v1beta1", False),
    ('{"apiVersion": "client.authentication.k8s.io/v1"}', "client.authentication.k8s.io/v1",
     False),
    ('{"apiVersion": "client.authentication.k8s.io/v1beta1"}',
     "client.authentication.k8s.io/v1beta1", False),
    ('{"apiVersion": "client.authentication.k8s.io/v1alpha1"}',
     "client.authentication.k8s.io/v1alpha1", True),
    ('{"apiVersion": "client.authentication.k8s.io/v9"}',
     "client.authentication.k8s.io/v1beta1", False),
    ("not json", "client.authentication.k8s.io/v1beta1", True),
])
def test_exec_api_version(info: str | None, expected: str, warns: bool) -> None:
    env = {} if info is None else {"KUBERNETES_EXEC_INFO": info}
    version, warning = exec_plugin.exec_api_version(env)
    assert version == expected
    assert (warning is not None) == warns


# --- cold path with cached role credentials ------------------------------------------------

def test_cold_path_signs_with_cached_role_credentials_and_caches_the_token(
        capsys: pytest.CaptureFixture[str], isolated_home: Path) -> None:
    role_cache.save_role_credentials(SESSION, "111122223333", "Admin", _creds())
    code, out, err = _run(ARGS, capsys)
    assert (code, err) == (0, "")
    doc = json.loads(out)
    assert doc["kind"] == "ExecCredential"
    assert doc["apiVersion"] == "client.authentication.k8s.io/v1beta1"
    status = doc["status"]
    url = eks_token.decode_url(status["token"])
    assert urlsplit(url).netloc == "sts.eu-west-1.amazonaws.com"
    assert parse_qs(urlsplit(url).query)["X-Amz-Credential"][0].startswith("ASIAKEY/")
    expires = datetime.strptime(status["expirationTimestamp"], "%Y-%m-%dT%H:%M:%SZ")
    remaining = expires.replace(tzinfo=UTC) - datetime.now(UTC)
    assert timedelta(minutes=13) < remaining <= timedelta(minutes=14)

    files = list((isolated_home / ".cache" / "ekstrio" / "tokens").glob("*.json"))
    assert len(files) == 1
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    # A second call is served from the cache: same token even with role creds gone.
    for path in (isolated_home / ".aws" / "cli" / "cache").glob("*.json"):
        path.unlink()
    code, out2, _ = _run(ARGS, capsys)
    assert code == 0
    assert json.loads(out2)["status"]["token"] == status["token"]


def test_cached_token_is_per_role_and_ignored_near_expiry(
        capsys: pytest.CaptureFixture[str], isolated_home: Path) -> None:
    args = exec_plugin.parse_args(ARGS)
    other = exec_plugin.parse_args([*ARGS[:7], "ReadOnly", *ARGS[8:]])
    env = {"XDG_CACHE_HOME": str(isolated_home / ".cache")}
    assert token_fast.cache_path(args, env) != token_fast.cache_path(other, env)
    assert token_fast.cache_path(args, env) != token_fast.cache_path(
        args, {**env, token_fast.STS_OVERRIDE_ENV: "http://127.0.0.1:1"})

    now = datetime.now(UTC)
    path = token_fast.cache_path(args, env)
    exec_cache.save_cached(path, "k8s-aws-v1.old", now + timedelta(seconds=59))
    assert exec_cache.load_cached(path, now) is None
    exec_cache.save_cached(path, "k8s-aws-v1.old", now + timedelta(seconds=61))
    assert exec_cache.load_cached(path, now) == ("k8s-aws-v1.old",
                                                 (now + timedelta(seconds=61)).replace(
                                                     microsecond=0))
    Path(path).write_text("{broken")
    assert exec_cache.load_cached(path, now) is None


def test_apiversion_follows_kubernetes_exec_info(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    role_cache.save_role_credentials(SESSION, "111122223333", "Admin", _creds())
    monkeypatch.setenv("KUBERNETES_EXEC_INFO", json.dumps(
        {"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
         "spec": {"interactive": False}}))
    code, out, _ = _run(ARGS, capsys)
    assert code == 0
    assert json.loads(out)["apiVersion"] == "client.authentication.k8s.io/v1"


def test_sts_override_for_the_emulator(capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    role_cache.save_role_credentials(SESSION, "111122223333", "Admin", _creds())
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:1")
    _, out, _ = _run([*ARGS, "--no-cache"], capsys)
    # AWS_ENDPOINT_URL_STS never reaches a token ...
    assert "sts.eu-west-1.amazonaws.com" in eks_token.decode_url(
        json.loads(out)["status"]["token"])
    monkeypatch.setenv(token_fast.STS_OVERRIDE_ENV, "http://127.0.0.1:2")
    _, out, _ = _run(ARGS, capsys)
    # ... only the explicit test/demo override does.
    assert eks_token.decode_url(json.loads(out)["status"]["token"]).startswith(
        "http://127.0.0.1:2/?")


# --- sign-in needed ------------------------------------------------------------------------

def test_no_sign_in_is_one_line_exit_3(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(ARGS, capsys)
    assert code == 3
    assert out == ""
    assert err.count("\n") == 1
    assert "ekstrio login --sso-session corp" in err
    assert "Traceback" not in err


def test_expired_role_credentials_and_expired_sso_token_need_sign_in(
        capsys: pytest.CaptureFixture[str]) -> None:
    role_cache.save_role_credentials(SESSION, "111122223333", "Admin", _creds(hours=0.2))
    token_cache.save_sso_token(SESSION, token_cache.CachedToken(
        access_token="tok", expires_at=datetime.now(UTC) - timedelta(minutes=1),
        region="us-east-1", start_url="https://x/start"))
    code, _, err = _run(ARGS, capsys)
    assert code == 3
    assert "ekstrio login --sso-session corp" in err


# --- the portal ----------------------------------------------------------------------------

class _Portal(BaseHTTPRequestHandler):
    calls: list[dict[str, Any]] = []  # noqa: RUF012 (one server per test, reset there)
    status = 200

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        type(self).calls.append({"path": parts.path, "query": parse_qs(parts.query),
                                 "bearer": self.headers.get("x-amz-sso_bearer_token")})
        if type(self).status == 200:
            body = json.dumps({"roleCredentials": {
                "accessKeyId": "ASIAPORTAL", "secretAccessKey": "s", "sessionToken": "t",
                "expiration": int((datetime.now(UTC) + timedelta(hours=1)).timestamp() * 1000)}})
            self.send_response(200)
        else:
            body = json.dumps({"message": "Session token not found or invalid",
                               "__type": "com.amazonaws.switchboard.portal#UnauthorizedException"})
            self.send_response(type(self).status)
            self.send_header("x-amzn-ErrorType", "UnauthorizedException:http://internal/")
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).calls.append({"path": self.path, "body": body})
        answer = json.dumps({"accessToken": "bearer-new", "expiresIn": 3600,
                             "tokenType": "Bearer"})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(answer.encode())

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def portal(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[_Portal]]:
    _Portal.calls = []
    _Portal.status = 200
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Portal)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    token_cache.save_sso_token(SESSION, token_cache.CachedToken(
        access_token="bearer-abc", expires_at=datetime.now(UTC) + timedelta(hours=1),
        region="us-east-1", start_url="https://x/start"))
    yield _Portal
    server.shutdown()
    server.server_close()


def test_cold_path_gets_role_credentials_from_the_portal_and_caches_them(
        portal: type[_Portal], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(ARGS, capsys)
    assert (code, err) == (0, "")
    assert portal.calls == [{"path": "/federation/credentials", "bearer": "bearer-abc",
                             "query": {"role_name": ["Admin"], "account_id": ["111122223333"]}}]
    url = eks_token.decode_url(json.loads(out)["status"]["token"])
    assert "X-Amz-Credential=ASIAPORTAL" in url
    cached = role_cache.load_role_credentials(SESSION, "111122223333", "Admin")
    assert cached is not None
    assert cached.access_key_id == "ASIAPORTAL"
    # New token needed (no cache): the role credentials now come from the cache, not the portal.
    assert _run([*ARGS, "--no-cache"], capsys)[0] == 0
    assert len(portal.calls) == 1


def test_expired_sso_token_is_refreshed_once_then_used(
        portal: type[_Portal], capsys: pytest.CaptureFixture[str]) -> None:
    now = datetime.now(UTC)
    token_cache.save_sso_token(SESSION, token_cache.CachedToken(
        access_token="bearer-old", expires_at=now - timedelta(minutes=5), region="us-east-1",
        start_url="https://x/start", refresh_token="refresh-1", client_id="cid",
        client_secret="csecret", registration_expires_at=now + timedelta(days=30)))
    code, _, err = _run(ARGS, capsys)
    assert (code, err) == (0, "")
    assert portal.calls[0] == {"path": "/token", "body": {
        "clientId": "cid", "clientSecret": "csecret", "grantType": "refresh_token",
        "refreshToken": "refresh-1"}}
    assert portal.calls[1]["bearer"] == "bearer-new"
    saved = token_cache.load_sso_token(SESSION)
    assert saved is not None
    assert saved.access_token == "bearer-new"
    # Dropped, as botocore (and the scan's TokenProvider) does: the answer had none.
    assert saved.refresh_token is None
    assert saved.remaining() > timedelta(minutes=50)


def test_portal_401_means_sign_in_again(portal: type[_Portal],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    portal.status = 401
    code, out, err = _run(ARGS, capsys)
    assert code == 3
    assert out == ""
    assert err.count("\n") == 1
    assert "ekstrio login --sso-session corp" in err
    assert "bearer-abc" not in err


def test_unreachable_portal_is_one_line(monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    token_cache.save_sso_token(SESSION, token_cache.CachedToken(
        access_token="bearer-abc", expires_at=datetime.now(UTC) + timedelta(hours=1),
        region="us-east-1", start_url="https://x/start"))
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSO", "http://127.0.0.1:1")
    code, _, err = _run(ARGS, capsys)
    assert code == 1
    assert err.startswith("ekstrio token: cannot reach the SSO portal")
    assert err.count("\n") == 1


# --- what the cached path imports ----------------------------------------------------------

def test_cached_path_imports_only_the_standard_library(isolated_home: Path) -> None:
    args = exec_plugin.parse_args(ARGS)
    env = {**os.environ}
    path = token_fast.cache_path(args, env)
    exec_cache.save_cached(path, "k8s-aws-v1.cached", datetime.now(UTC) + timedelta(minutes=10))
    probe = ("import sys; from ekstrio.token_fast import main; code = main(sys.argv[1:]); "
             "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'botocore', 'httpx', "
             "'httpx2', 'trio', 'cyclopts', 'rich', 'yaml', 'urllib3', 'ssl', 'dataclasses', "
             "'_strptime', 'pathlib', 'typing', 'inspect', 'logging', 'tempfile'}); "
             "print(heavy, code, file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", probe, *ARGS], env=env, capture_output=True,
                          text=True, check=False, timeout=60)
    assert json.loads(done.stdout)["status"]["token"] == "k8s-aws-v1.cached"
    assert done.stderr.strip() == "[] 0"


def test_cold_path_with_cached_role_credentials_imports_no_sender(isolated_home: Path) -> None:
    # kubectl's second most common case (a new token, role credentials still cached) signs
    # without a network call: the portal/OIDC code, urllib and ssl (~80 ms) must stay unloaded.
    role_cache.save_role_credentials(SESSION, "111122223333", "Admin", _creds())
    probe = ("import sys; from ekstrio.token_fast import main; code = main(sys.argv[1:]); "
             "sent = sorted({'ssl', 'urllib.request', 'http.client', 'ekstrio.aws.portal', "
             "'ekstrio.aws.oidc', 'ekstrio.aws.urllib_send'} & set(sys.modules)); "
             "print(sent, code, file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", probe, *ARGS], env={**os.environ},
                          capture_output=True, text=True, check=False, timeout=60)
    assert json.loads(done.stdout)["status"]["token"].startswith("k8s-aws-v1.")
    assert done.stderr.strip() == "[] 0"


def test_cold_path_protocol_code_imports_no_http_client() -> None:
    # The token path reuses aws/'s pure protocol code with urllib: importing that code must
    # not pull in an HTTP client, an event loop or botocore (~100 ms each per kubectl call).
    probe = ("import sys; import ekstrio.token_fast, ekstrio.aws.wire, ekstrio.aws.portal, "
             "ekstrio.aws.oidc, ekstrio.aws.endpoints, ekstrio.aws.token_cache, "
             "ekstrio.aws.eks_token, ekstrio.exec_cache, ekstrio.token_credentials, "
             "ekstrio.aws.urllib_send, ekstrio.aws.role_cache, ekstrio.aws.cache_files; "
             "print(sorted({m.split('.')[0] for m in sys.modules} & {'botocore', 'httpx', "
             "'httpx2', 'httpcore', 'h11', 'trio', 'anyio', 'cyclopts', 'rich', 'yaml'}))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=False, timeout=60)
    assert (done.stdout.strip(), done.returncode) == ("[]", 0), done.stderr


def test_bad_ca_bundle_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    token_cache.save_sso_token(SESSION, token_cache.CachedToken(
        access_token="bearer-abc", expires_at=datetime.now(UTC) + timedelta(hours=1),
        region="us-east-1", start_url="https://x/start"))
    monkeypatch.setenv("AWS_CA_BUNDLE", str(tmp_path / "missing.pem"))
    code, _, err = _run(ARGS, capsys)
    assert code == 2
    assert err == f"ekstrio token: AWS_CA_BUNDLE={tmp_path / 'missing.pem'}: not a readable " \
        "PEM file\n"


def test_the_token_cache_folder_is_private(isolated_home: Path) -> None:
    args = exec_plugin.parse_args(ARGS)
    env = {"XDG_CACHE_HOME": str(isolated_home / ".cache")}
    path = Path(token_fast.cache_path(args, env))
    expires = datetime.now(UTC) + timedelta(minutes=10)
    exec_cache.save_cached(path, "k8s-aws-v1.a", expires)
    # ~/.cache may be shared (0755 by convention); ekstrio's own folders are not.
    assert [stat.S_IMODE(p.stat().st_mode) for p in (path.parent.parent, path.parent)] == [
        0o700, 0o700]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.parent.chmod(0o755)  # as earlier releases made it
    exec_cache.save_cached(path, "k8s-aws-v1.b", expires)
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
