"""`ekstrio scan --access` as a user runs it against the local organisation: an access object
per cluster and role, the calls counted, and a plain scan that makes none of them."""

from __future__ import annotations

import json
from pathlib import Path

from test_scan_cli import run, session_args, visible

from auth_fixtures import signed_in_by_start_url
from ekstrio.model import SsoSession
from ekstrio.sim.testing import SimHandle
from sim_fixtures import sim_for_module

REGIONS = ("eu-west-1", "us-east-1")


sim = sim_for_module(seed=11, accounts=6, regions=REGIONS, large_lists=0, portal_rps=0, eks_rps=0)
signed_in = signed_in_by_start_url()


def test_plain_scan_has_no_access_and_access_scan_has_one_per_role(
        sim: SimHandle, signed_in: SsoSession) -> None:
    plain = run("scan", "-o", "json", "--no-save", *session_args(sim))
    assert plain.returncode == 0, plain.stderr
    before = json.loads(plain.stdout)
    assert before["summary"]["access"] is None
    assert all(c["access"] is None for c in before["clusters"])

    # --refresh: the same calls as the first scan (which found the lists, credentials and
    # disabled regions that a second scan would take from its caches), then the access pass.
    done = run("scan", "--access", "--refresh", "-o", "json", "--no-save", *session_args(sim))
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert {(c["account_id"], c["region"], c["name"]) for c in doc["clusters"]} == visible(sim)
    pairs = 0
    iam_names = {(a["accountId"], r["roleName"]): r["iamRoleName"]
                 for a in sim.org["accounts"] for r in a["roles"]}
    for cluster in doc["clusters"]:
        assert set(cluster["access"]) == set(cluster["roles"])
        for role, access in cluster["access"].items():
            pairs += 1
            assert access["live"] is None
            assert access["verdict"] in {"admin", "cluster", "namespaced", "groups",
                                         "no-rights", "no-entry", "unknown"}
            if cluster["authentication_mode"] == "CONFIG_MAP" and cluster["endpoint"]:
                assert (access["verdict"], access["reason"]) == ("unknown", "config-map")
            # The caller came from STS with that role's own credentials: the IAM role that
            # Identity Center made for the permission set, path-less for aws-auth.
            iam_name = iam_names[(cluster["account_id"], role)]
            if access["reason"] != "no-endpoint":
                assert f":assumed-role/{iam_name}/" in access["caller_arn"]
                assert access["aws_auth_arn"] == (
                    f"arn:aws:iam::{cluster['account_id']}:role/{iam_name}")
    summary = doc["summary"]
    assert summary["access"]["checked"] == pairs
    # The access pass's calls are counted: more calls than the plain scan made.
    assert summary["api_calls"] > before["summary"]["api_calls"]


def test_ndjson_has_access_lines_before_the_summary(sim: SimHandle,
                                                     signed_in: SsoSession) -> None:
    done = run("scan", "--access", "aws", "-o", "ndjson", "--no-save", *session_args(sim))
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    kinds = [line["type"] for line in lines]
    assert kinds[-1] == "summary"
    access = [line for line in lines if line["type"] == "access"]
    clusters = [line for line in lines if line["type"] == "cluster"]
    assert len(access) == sum(len(c["roles"]) for c in clusters)
    assert kinds.index("access") > max(i for i, k in enumerate(kinds) if k == "cluster")


def test_table_has_an_access_column(sim: SimHandle, signed_in: SsoSession) -> None:
    done = run("scan", "--access", "-o", "table", "--no-save", *session_args(sim))
    assert done.returncode == 0, done.stderr
    header = done.stdout.splitlines()[0]
    assert header.split()[-1] == "ACCESS"
    assert "cluster-role pairs can get in" in done.stderr


def test_live_timeout_is_checked(sim: SimHandle, signed_in: SsoSession,
                                 tmp_path: Path) -> None:
    done = run("scan", "--access", "live", "--live-timeout", "0", *session_args(sim))
    assert done.returncode == 2
    assert "--live-timeout" in done.stderr
