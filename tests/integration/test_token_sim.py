"""`ekstrio token` as kubectl runs it, against the local organisation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ekstrio.aws import eks_token, role_cache, token_cache
from ekstrio.model import SsoSession
from ekstrio.sim.testing import SimHandle
from ekstrio.token_fast import STS_OVERRIDE_ENV
from sim_fixtures import sim_for_module

EKSTRIO = str(Path(sys.executable).with_name("ekstrio"))


sim = sim_for_module(accounts=4, regions=("eu-west-1", "ap-southeast-2"), clusters=6, large_lists=0,
                     portal_rps=0, eks_rps=0)


def target(sim: SimHandle) -> tuple[str, str, str, str]:
    """(account, role, region, cluster) of a cluster some role may reach."""
    for account in sim.org["accounts"]:
        role = sim.eks_role(account["accountId"])
        for region, clusters in account["clusters"].items():
            if role and clusters:
                return account["accountId"], role, region, clusters[0]["name"]
    raise AssertionError("the sim has no reachable cluster")


@pytest.fixture
def env(sim: SimHandle, isolated_home: Path) -> dict[str, str]:
    return {**os.environ, **sim.env, "NO_PROXY": "127.0.0.1"}


def sign_in(sim: SimHandle, expires_in: int = 3600) -> None:
    session = SsoSession(start_url=sim.start_url, region=sim.sso_region)
    token_cache.save_sso_token(session, token_cache.CachedToken(
        access_token=sim.issue_token(expires_in), region=sim.sso_region, start_url=sim.start_url,
        expires_at=datetime.now(UTC) + timedelta(seconds=expires_in)))


def token_args(sim: SimHandle) -> tuple[list[str], str, str, str]:
    account, role, region, cluster = target(sim)
    return (["token", "--cluster", cluster, "--region", region, "--account", account, "--role",
             role, "--start-url", sim.start_url, "--sso-region", sim.sso_region],
            account, role, cluster)


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EKSTRIO, *args], env=env, capture_output=True, text=True,
                          timeout=60, check=False)


def status_of(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["kind"] == "ExecCredential"
    return dict(doc["status"])


def test_cold_token_from_the_portal_is_accepted_for_that_cluster_only(
        sim: SimHandle, env: dict[str, str]) -> None:
    sign_in(sim)
    args, account, role, cluster = token_args(sim)
    status = status_of(run(args, env))
    answer = sim.verify_eks_token(status["token"], cluster)
    assert answer["ok"], answer
    assert (answer["account_id"], answer["role_name"]) == (account, role)
    assert not sim.verify_eks_token(status["token"], cluster + "x")["ok"]
    # The role credentials were cached like the AWS CLI caches them.
    session = SsoSession(start_url=sim.start_url, region=sim.sso_region)
    assert role_cache.load_role_credentials(session, account, role) is not None
    # Cached: same token again.
    assert status_of(run(args, env))["token"] == status["token"]


def test_v1_exec_info_and_sts_override_for_the_emulator(sim: SimHandle,
                                                        env: dict[str, str]) -> None:
    sign_in(sim)
    args, account, _role, cluster = token_args(sim)
    env = {**env, STS_OVERRIDE_ENV: sim.endpoint,
           "KUBERNETES_EXEC_INFO": json.dumps({"apiVersion": "client.authentication.k8s.io/v1",
                                               "kind": "ExecCredential",
                                               "spec": {"interactive": False}})}
    done = run(args, env)
    assert json.loads(done.stdout)["apiVersion"] == "client.authentication.k8s.io/v1"
    token = status_of(done)["token"]
    url = eks_token.decode_url(token)
    assert url.startswith(sim.endpoint + "/?Action=GetCallerIdentity")
    assert sim.verify_eks_token(token, cluster)["ok"]
    # The emulator's STS answers the presigned call itself (as EKS would make it).
    request = urllib.request.Request(url, headers={"x-k8s-aws-id": cluster})  # noqa: S310
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=30) as response:
        body = response.read().decode()
    assert account in body


def test_not_signed_in_is_one_line_exit_3(sim: SimHandle, env: dict[str, str]) -> None:
    args, *_ = token_args(sim)
    done = run(args, env)
    assert done.returncode == 3
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert f"ekstrio login --start-url {sim.start_url} --sso-region {sim.sso_region}" in \
        done.stderr


def test_token_the_portal_no_longer_accepts_is_exit_3(sim: SimHandle,
                                                      env: dict[str, str]) -> None:
    session = SsoSession(start_url=sim.start_url, region=sim.sso_region)
    token_cache.save_sso_token(session, token_cache.CachedToken(
        access_token="revoked-or-made-up", region=sim.sso_region, start_url=sim.start_url,
        expires_at=datetime.now(UTC) + timedelta(hours=1)))
    args, *_ = token_args(sim)
    done = run(args, env)
    assert done.returncode == 3, done.stderr
    assert "ekstrio login" in done.stderr
    assert "Traceback" not in done.stderr
    assert "revoked-or-made-up" not in done.stderr


def test_help_goes_through_cyclopts(env: dict[str, str]) -> None:
    done = run(["token", "--help"], env)
    assert done.returncode == 0
    assert "--cluster" in done.stdout
    assert "--sso-session" in done.stdout
