"""The sim's EKS bearer-token verifier applies aws-iam-authenticator's checks and the signature."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlsplit

import botocore.session
import pytest
from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from ekstrio.sim.testing import SimHandle

from botocore_clock import botocore_signing_time  # isort: skip
from values import different  # isort: skip


def creds_for(sim: SimHandle) -> tuple[dict[str, Any], str, Credentials]:
    acct = next(a for a in sim.org["accounts"] if any(r["eksAccess"] for r in a["roles"]))
    role = sim.eks_role(acct["accountId"]) or ""
    sso = botocore.session.Session().create_client(
        "sso", region_name=sim.sso_region, endpoint_url=sim.endpoint,
        config=Config(retries={"total_max_attempts": 1}))
    rc = sso.get_role_credentials(accessToken=sim.issue_token(), accountId=acct["accountId"],
                                  roleName=role)["roleCredentials"]
    return acct, role, Credentials(rc["accessKeyId"], rc["secretAccessKey"], rc["sessionToken"])


def make_token(creds: Credentials, cluster: str, *, host: str = "sts.eu-west-1.amazonaws.com",
               scheme: str = "https", region: str = "eu-west-1", expires: int = 60,
               extra: str = "", after: str = "") -> str:
    url = f"{scheme}://{host}/?Action=GetCallerIdentity&Version=2011-06-15{extra}"
    req = AWSRequest("GET", url, headers={"x-k8s-aws-id": cluster})
    SigV4QueryAuth(creds, "sts", region, expires=expires).add_auth(req)
    url = req.url + after  # ``after`` is appended once signed (botocore would dedupe it)
    return "k8s-aws-v1." + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


def test_a_real_token_is_accepted_and_names_the_role(sim: SimHandle) -> None:
    acct, role, creds = creds_for(sim)
    got = sim.verify_eks_token(make_token(creds, "web"), "web")
    assert got["ok"] is True
    assert got["account_id"] == acct["accountId"]
    assert got["role_name"] == role
    # STS names the IAM role IAM Identity Center made for the permission set (no path).
    assert got["arn"].startswith(
        f"arn:aws:sts::{acct['accountId']}:assumed-role/AWSReservedSSO_{role}_")
    role_truth = next(r for r in acct["roles"] if r["roleName"] == role)
    assert got["arn"] == role_truth["assumedRoleArn"]
    assert got["region"] == "eu-west-1"


@pytest.mark.parametrize("host", ["sts.amazonaws.com", "sts.us-east-1.amazonaws.com"])
def test_global_and_regional_sts_hosts_are_accepted(sim: SimHandle, host: str) -> None:
    _, _, creds = creds_for(sim)
    assert sim.verify_eks_token(make_token(creds, "c", host=host, region="us-east-1"), "c")["ok"]


def test_a_token_for_the_sims_own_sts_endpoint_is_accepted(sim: SimHandle) -> None:
    _, _, creds = creds_for(sim)
    host = urlsplit(sim.endpoint).netloc
    assert sim.verify_eks_token(make_token(creds, "c", host=host, scheme="http"), "c")["ok"]


def test_token_for_another_cluster_is_refused(sim: SimHandle) -> None:
    _, _, creds = creds_for(sim)
    got = sim.verify_eks_token(make_token(creds, "web"), "api")
    assert got == {"ok": False, "kind": "signature", "error": got["error"]}


def test_token_signed_with_a_wrong_secret_is_refused(sim: SimHandle) -> None:
    _, _, creds = creds_for(sim)
    bad = Credentials(creds.access_key, different(creds.secret_key), creds.token)
    assert sim.verify_eks_token(make_token(bad, "web"), "web")["kind"] == "signature"
    unknown = Credentials("ASIAUNKNOWNUNKNOWN00", creds.secret_key, creds.token)
    assert sim.verify_eks_token(make_token(unknown, "web"), "web")["kind"] == "unrecognized"


@pytest.mark.parametrize(("kwargs", "needle"), [
    ({"host": "sts.eu-west-1.amazonaws.com.evil.example"}, "hostname"),
    ({"host": "sts.cn-north-1.amazonaws.com.cn", "region": "cn-north-1"}, "hostname"),
    ({"scheme": "http"}, "scheme"),
    ({"expires": 901}, "X-Amz-Expires"),
    ({"extra": "&Foo=bar"}, "non-allowlisted"),
    ({"after": "&Action=GetCallerIdentity"}, "more than once"),
])
def test_authenticator_checks(sim: SimHandle, kwargs: dict[str, Any], needle: str) -> None:
    _, _, creds = creds_for(sim)
    got = sim.verify_eks_token(make_token(creds, "web", **kwargs), "web")
    assert got["ok"] is False
    assert needle in got["error"]


def test_malformed_tokens(sim: SimHandle) -> None:
    assert "prefix" in sim.verify_eks_token("k8s-aws-v2.abc", "c")["error"]
    assert sim.verify_eks_token("k8s-aws-v1." + "A" * 5000, "c")["error"] == "token is too large"


def test_token_older_than_15_minutes_is_refused(sim: SimHandle) -> None:
    from datetime import UTC, datetime, timedelta

    _, _, creds = creds_for(sim)
    old = datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=16)
    with botocore_signing_time(old):
        token = make_token(creds, "web")
    got = sim.verify_eks_token(token, "web")
    assert got["kind"] == "expired"
