"""``ekstrio sim serve`` as a process: the JSON first line, quiet exit on signals, usage errors."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import botocore.session
import pytest

from ekstrio import cli
from ekstrio.sim.testing import admin_call, run_sim_process


def test_first_line_is_json_and_sigterm_exits_quietly(tmp_path: Path) -> None:
    dump = tmp_path / "org.json"
    with run_sim_process("--accounts", "3", "--regions", "eu-west-1,us-east-1",
                         "--dump-org", str(dump)) as (proc, sim):
        info = sim.info
        assert info["endpoint"].startswith("http://127.0.0.1:")
        assert info["sso_region"] == "us-east-1"
        assert info["start_url"].startswith("https://d-")
        names = ("AWS_ENDPOINT_URL_SSO", "AWS_ENDPOINT_URL_SSO_OIDC", "AWS_ENDPOINT_URL_EKS",
                 "AWS_ENDPOINT_URL_STS")
        assert info["env"] == dict.fromkeys(names, info["endpoint"])
        # --dump-org wrote the same ground truth the admin route serves.
        assert json.loads(dump.read_text()) == admin_call(sim.endpoint, "org")[1]
        assert len(sim.org["accounts"]) == 3
        # botocore pointed at it through the advertised environment works.
        sso = botocore.session.Session().create_client(
            "sso", region_name=sim.sso_region, endpoint_url=info["env"]["AWS_ENDPOINT_URL_SSO"])
        assert len(sso.list_accounts(accessToken=sim.issue_token())["accountList"]) == 3
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
        assert proc.stderr is not None
        assert proc.stderr.read() == ""


@pytest.mark.parametrize("server", ["hypercorn", "h11"])
def test_sigint_exits_0(server: str) -> None:
    with run_sim_process("--accounts", "1", "--regions", "eu-west-1",
                         "--server", server) as (proc, sim):
        assert sim.issue_token()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(15) == 0


def test_same_seed_same_org() -> None:
    """Same org; only where each sim serves its clusters (port, per-run CA) differs."""
    def unserved(org: dict[str, Any]) -> dict[str, Any]:
        out = json.loads(json.dumps(org))
        for account in out["accounts"]:
            for clusters in account["clusters"].values():
                for cluster in clusters:
                    cluster.pop("endpoint", None)
                    cluster.pop("certificateAuthority", None)
        return dict(out)

    with run_sim_process("--seed", "5", "--accounts", "2", "--regions", "eu-west-1") as (_, a), \
            run_sim_process("--seed", "5", "--accounts", "2", "--regions", "eu-west-1") as (_, b):
        assert unserved(a.org) == unserved(b.org)
        served = [c["endpoint"] for acct in a.org["accounts"]
                  for cs in acct["clusters"].values() for c in cs if "endpoint" in c]
        assert served
        assert all(e.startswith("https://127.0.0.1:") for e in served)
        assert any(e.startswith(a.info["kube_endpoint"] + "/") for e in served)


@pytest.mark.parametrize("args", [
    ["--accounts", "-1"],
    ["--regions", "eu-west-1,mars-north-1"],
    ["--regions", "eu-west-1,cn-north-1"],
    ["--fault-rate", "1.5"],
    ["--server", "nginx"],
])
def test_bad_options_exit_2_with_one_line(args: list[str],
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.run(["sim", "serve", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("ekstrio: error: ")
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize(("args", "line"), [
    (["--accounts", "-1"], "ekstrio: error: --accounts must be between 1 and 100000, not -1"),
    (["--regions", "eu-west-1,nowhere-1"],
     "ekstrio: error: unknown EKS region 'nowhere-1' (see botocore's endpoints.json)"),
])
def test_bad_options_exit_2_as_a_process(args: list[str], line: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "ekstrio", "sim", "serve", *args],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [line]
