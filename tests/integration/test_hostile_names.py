"""An endpoint that sends names no real AWS can (AWS_ENDPOINT_URL, a proxy, an interception):
the reported attack, end to end, with real processes against the sim's ``hostile_names`` fault.

A role name carrying ``\\n[default]\\ncredential_process = ...`` once became a section of
~/.aws/config that botocore ran. Now the answer is refused where it is parsed, reported as an
error record naming the field, and nothing of it reaches the AWS config, the kubeconfig, the
inventory or the terminal."""

from __future__ import annotations

import configparser
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from auth_fixtures import sign_in_with_start_url
from ekstrio.sim.testing import SimHandle

EKSTRIO = str(Path(sys.executable).with_name("ekstrio"))
MINE = "[profile mine]\nregion = eu-west-1\n"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EKSTRIO, *args], capture_output=True, text=True, timeout=120,
                          check=False)


def start(make_sim: Callable[..., SimHandle], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
          kind: str) -> tuple[SimHandle, list[str], Path, Path]:
    sim = make_sim(hostile_names=kind, portal_rps=0, eks_rps=0)
    sign_in_with_start_url(sim, monkeypatch)
    config, kubeconfig = tmp_path / "aws-config", tmp_path / "kubeconfig"
    config.write_text(MINE)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    return sim, ["--start-url", sim.start_url, "--sso-region", sim.sso_region], config, kubeconfig


def assert_clean(text: str) -> None:
    assert "credential_process" not in text
    assert "\x1b" not in text
    assert "[default]" not in text


def test_a_role_name_carrying_ini_never_reaches_the_aws_config(
        make_sim: Callable[..., SimHandle], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    sim, session, config, kubeconfig = start(make_sim, monkeypatch, tmp_path, "role")
    hostile = next(a for a in sim.org["accounts"]
                   if any("credential_process" in r["roleName"] for r in a["roles"]))

    scan = run("scan", "-o", "json", "--refresh", *session)
    assert scan.returncode == 1, scan.stderr  # finished, one account failed
    doc: dict[str, Any] = json.loads(scan.stdout)
    errors = [e for e in doc["errors"] if e["account_id"] == hostile["accountId"]]
    assert [(e["stage"], e["code"]) for e in errors] == [("list_roles", "InvalidResponse")]
    assert "ListAccountRoles roleList[0].roleName is not an IAM role name" in errors[0]["message"]
    assert_clean(scan.stdout + scan.stderr)
    # The other accounts were scanned as usual.
    assert {c["account_id"] for c in doc["clusters"]}
    assert hostile["accountId"] not in {c["account_id"] for c in doc["clusters"]}

    done = run("profiles")
    assert done.returncode == 0, done.stderr
    text = config.read_text()
    assert text.startswith(MINE)
    assert_clean(text)
    parsed = configparser.ConfigParser(interpolation=None)
    parsed.read_string(text)
    assert "default" not in parsed
    assert all(not p.endswith(hostile["accountId"]) for p in parsed.sections())
    assert run("kubeconfig").returncode == 0
    assert_clean(kubeconfig.read_text())


def test_a_hostile_account_name_stops_the_account_list(
        make_sim: Callable[..., SimHandle], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    _, session, config, _ = start(make_sim, monkeypatch, tmp_path, "account")
    scan = run("scan", "-o", "json", "--refresh", *session)
    assert scan.returncode == 1, scan.stderr
    doc = json.loads(scan.stdout)
    assert [(e["stage"], e["code"]) for e in doc["errors"]] == [("accounts", "InvalidResponse")]
    assert "ListAccounts accountList[0].accountName" in doc["errors"][0]["message"]
    assert doc["clusters"] == []
    assert_clean(scan.stdout + scan.stderr)
    assert run("profiles").returncode == 0
    text = config.read_text()
    assert text.startswith(MINE)
    assert_clean(text)
    assert "[profile" not in text[len(MINE):]  # no account was listed, so no profile


def test_escapes_in_a_cluster_never_reach_the_terminal_or_the_kubeconfig(
        make_sim: Callable[..., SimHandle], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    sim, session, _, kubeconfig = start(make_sim, monkeypatch, tmp_path, "cluster")
    scan = run("scan", "-o", "table", "--refresh", *session)
    assert scan.returncode == 1, scan.stderr
    assert_clean(scan.stdout + scan.stderr)
    said = " ".join(scan.stderr.split())  # rich folds lines at 80 columns off a terminal
    assert ("describe_cluster: InvalidResponse: cluster.tags value contains control or other "
            "unprintable characters") in said
    assert run("kubeconfig").returncode == 0
    assert_clean(kubeconfig.read_text())
    # The other clusters were found and written.
    assert "1 errors" in said
    assert kubeconfig.read_text().count("cluster:") > 1
    del sim
