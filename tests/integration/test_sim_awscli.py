"""A second real peer: the AWS CLI (v1, when installed) against the sim, through a token file.

Skipped where no ``aws`` command runs (it is not a project dependency).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ekstrio.sim.testing import SimHandle


def _aws_works() -> bool:
    exe = shutil.which("aws")
    if exe is None:
        return False
    try:
        return subprocess.run([exe, "--version"], capture_output=True, timeout=60,
                              check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


pytestmark = pytest.mark.skipif(not _aws_works(), reason="no working `aws` command")


def test_aws_cli_lists_describes_and_gets_a_verified_token(sim: SimHandle,
                                                           isolated_home: Path) -> None:
    acct = next(a for a in sim.org["accounts"] if sim.eks_role(a["accountId"]) and a["clusters"])
    region, clusters = next(iter(acct["clusters"].items()))
    aws_dir = isolated_home / ".aws"
    (aws_dir / "sso" / "cache").mkdir(parents=True)
    (aws_dir / "config").write_text(
        f"[profile sim]\nsso_session = sim\nsso_account_id = {acct['accountId']}\n"
        f"sso_role_name = {sim.eks_role(acct['accountId'])}\nregion = {region}\n"
        f"[sso-session sim]\nsso_start_url = {sim.start_url}\nsso_region = {sim.sso_region}\n"
        "sso_registration_scopes = sso:account:access\n")
    expires = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    # The cache file name is sha1(session name), as botocore names it.
    cache_name = hashlib.sha1(b"sim").hexdigest()  # noqa: S324
    (aws_dir / "sso" / "cache" / f"{cache_name}.json").write_text(
        json.dumps({"startUrl": sim.start_url, "region": sim.sso_region,
                    "accessToken": sim.issue_token(), "expiresAt": expires}))
    env = {**os.environ, **sim.env, "AWS_PROFILE": "sim"}

    def aws(*args: str) -> object:
        proc = subprocess.run(["aws", *args, "--output", "json"], capture_output=True,
                              text=True, timeout=120, env=env, check=False)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    listed = aws("eks", "list-clusters")
    assert listed == {"clusters": [c["name"] for c in clusters]}
    who = aws("sts", "get-caller-identity")
    assert isinstance(who, dict)
    assert who["Account"] == acct["accountId"]
    name = clusters[0]["name"]
    described = aws("eks", "describe-cluster", "--name", name)
    assert isinstance(described, dict)
    assert described["cluster"]["arn"] == clusters[0]["arn"]
    cred = aws("eks", "get-token", "--cluster-name", name)
    assert isinstance(cred, dict)
    verified = sim.verify_eks_token(cred["status"]["token"], name)
    assert verified["ok"] is True
    assert verified["account_id"] == acct["accountId"]
