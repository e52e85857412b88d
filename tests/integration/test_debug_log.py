"""`--debug` against the sim: one line per HTTP call, and no secret the sim issued in any output.

A real sign-in (device code, auto-approved), scan, kubeconfig, exec-plugin token and logout,
each with --debug, as separate processes. Then every secret the sim handed out (access and
refresh token, client secret, role secret keys and session tokens, the EKS token) is looked
for in everything those commands printed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ekstrio.model import SsoSession
from ekstrio.sim.testing import SimHandle

EKSTRIO = str(Path(sys.executable).with_name("ekstrio"))
STAMP = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z DEBUG +ekstrio\.http: "


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([EKSTRIO, *args], capture_output=True, text=True, timeout=120,
                          check=False, env=env)
    assert done.returncode == 0, done.stderr
    return done


def issued_secrets(home: Path) -> dict[str, str]:
    """Every secret the sim issued, as ekstrio and the AWS CLI cache keep them."""
    found: dict[str, str] = {}
    for path in (home / ".aws" / "sso" / "cache").glob("*.json"):
        data = json.loads(path.read_text())
        for key in ("accessToken", "refreshToken", "clientSecret"):
            if data.get(key):
                found[f"{path.name}:{key}"] = data[key]
    for path in (home / ".aws" / "cli" / "cache").glob("*.json"):
        creds = json.loads(path.read_text())["Credentials"]
        found[f"{path.name}:SecretAccessKey"] = creds["SecretAccessKey"]
        found[f"{path.name}:SessionToken"] = creds["SessionToken"]
    return found


def test_debug_logs_each_call_and_no_secret(
    sim: SimHandle, sim_config: SsoSession, isolated_home: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    kc = tmp_path / "kubeconfig"
    runs = [
        run("--debug", "login", "--sso-session", "sim", "--device-code", "--no-browser"),
        run("scan", "--debug", "--sso-session", "sim", "-o", "json"),
        run("kubeconfig", "--kubeconfig", str(kc), "--debug"),
    ]
    secrets = issued_secrets(isolated_home)
    # The exec plugin as kubectl runs it, with --debug; without the scan's cached role
    # credentials it fetches its own (new secrets, collected too).
    for path in (isolated_home / ".aws" / "cli" / "cache").glob("*.json"):
        path.unlink()
    exec_ = yaml.safe_load(kc.read_text())["users"][0]["user"]["exec"]
    token_run = run(*exec_["args"], "--no-cache", "--debug")
    eks_token = json.loads(token_run.stdout)["status"]["token"]
    runs.append(subprocess.CompletedProcess(token_run.args, 0, "", token_run.stderr))
    secrets |= issued_secrets(isolated_home)
    secrets["eks-token"] = eks_token
    runs.append(run("logout", "--sso-session", "sim", "--debug"))
    logged = "".join(r.stdout + r.stderr for r in runs)

    kinds = {name.rsplit(":", 1)[-1] for name in secrets}
    assert kinds >= {"accessToken", "refreshToken", "clientSecret", "SecretAccessKey",
                     "SessionToken", "eks-token"}, kinds
    for name, secret in secrets.items():
        assert len(secret) >= 16, name
        assert secret not in logged, name
        assert secret[:16] not in logged, name  # not even a prefix
    assert "k8s-aws-v1." not in logged

    # One line per HTTP attempt, with what `aws --debug` would tell.
    lines = [ln for ln in logged.splitlines() if " ekstrio.http: " in ln]
    assert all(re.match(STAMP, ln) for ln in lines), lines[:3]
    operations = {ln.split()[6] for ln in lines}
    assert {"RegisterClient", "StartDeviceAuthorization", "CreateToken", "ListAccounts",
            "ListAccountRoles", "GetRoleCredentials", "ListClusters", "DescribeCluster",
            "Logout"} <= operations, operations
    describe = next(ln for ln in lines if " DescribeCluster " in ln)
    assert re.search(r"GET 127\.0\.0\.1:\d+ eks DescribeCluster status=200 attempt=1 "
                     r"wait=\d+\.\d{3}s latency=\d+\.\d{3}s request-id=\S+$", describe), describe
    token_lines = [ln for ln in token_run.stderr.splitlines() if " ekstrio.http: " in ln]
    assert any(" GetRoleCredentials status=200 " in ln for ln in token_lines), token_run.stderr


def test_without_debug_no_http_lines(sim: SimHandle, signed_in: SsoSession,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    for flag in ("-v", "-vv"):
        done = run("scan", flag, "--sso-session", "sim", "-o", "json")
        assert " ekstrio.http: " not in done.stderr
    assert os.environ.get("EKSTRIO_DEBUG") is None
