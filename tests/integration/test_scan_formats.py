"""`scan -o yaml`, `--query` and `-o wide` as a user runs them: equal to jq over the JSON."""

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

from auth_fixtures import sign_in_with_start_url
from ekstrio.sim.testing import SimHandle
from sim_fixtures import sim_for_module

EKSTRIO = str(Path(sys.executable).with_name("ekstrio"))
JQ = shutil.which("jq")


sim = sim_for_module(seed=23, accounts=5, regions=("eu-west-1", "us-east-1"), large_lists=0,
                     portal_rps=0, eks_rps=0)


def run(*args: str) -> str:
    done = subprocess.run([EKSTRIO, *args], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def jq(program: str, document: str) -> Any:
    assert JQ is not None
    done = subprocess.run([JQ, program], input=document, capture_output=True, text=True,
                          timeout=60, check=True)
    return json.loads(done.stdout)


_SCANNED: dict[str, str] = {}


@pytest.fixture
def scanned(sim: SimHandle, monkeypatch: pytest.MonkeyPatch) -> str:
    """A real scan's JSON document, saved as the inventory --cached reads (one scan per
    module: later tests get the same document in their own home)."""
    sign_in_with_start_url(sim, monkeypatch)
    if "doc" not in _SCANNED:
        _SCANNED["doc"] = run("scan", "-o", "json", "--start-url", sim.start_url,
                              "--sso-region", sim.sso_region)
    else:
        saved = Path(os.environ["XDG_CACHE_HOME"]) / "ekstrio" / "inventory.json"
        saved.parent.mkdir(parents=True, exist_ok=True)
        saved.write_text(_SCANNED["doc"])
    return _SCANNED["doc"]


def test_yaml_is_the_json_document(scanned: str) -> None:
    document = json.loads(scanned)
    assert document["clusters"]
    from_yaml = yaml.safe_load(run("scan", "--cached", "-o", "yaml"))
    assert from_yaml == document
    assert list(from_yaml) == list(document)  # same key order


def test_fresh_scan_yaml_has_the_same_clusters(scanned: str, sim: SimHandle) -> None:
    fresh = yaml.safe_load(run("scan", "-o", "yaml", "--start-url", sim.start_url,
                               "--sso-region", sim.sso_region))
    assert fresh["clusters"] == json.loads(scanned)["clusters"]


@pytest.mark.skipif(JQ is None, reason="jq is not installed")
@pytest.mark.parametrize(("query", "program"), [
    ("clusters[].name", "[.clusters[].name]"),
    ("length(clusters)", ".clusters | length"),
    ("clusters[?region=='eu-west-1'].[account_id, name]",
     '[.clusters[] | select(.region == "eu-west-1") | [.account_id, .name]]'),
    ("summary", ".summary"),
])
def test_query_equals_jq_over_the_json(scanned: str, query: str, program: str) -> None:
    expected = jq(program, scanned)
    assert json.loads(run("scan", "--cached", "--query", query)) == expected
    assert yaml.safe_load(run("scan", "--cached", "-o", "yaml", "--query", query)) == expected


def test_query_on_a_fresh_scan(scanned: str, sim: SimHandle) -> None:
    names = json.loads(run("scan", "--query", "clusters[].name", "--start-url", sim.start_url,
                           "--sso-region", sim.sso_region))
    assert names == [c["name"] for c in json.loads(scanned)["clusters"]]


@pytest.mark.parametrize(("args", "line"), [
    (["--query", "clusters[?"], "is not valid JMESPath"),
    (["--query", "clusters", "-o", "table"], "--query prints json or yaml, not table"),
    (["--query", "clusters", "-o", "ndjson"], "--query prints json or yaml, not ndjson"),
])
def test_bad_query_is_one_usage_line(scanned: str, args: list[str], line: str) -> None:
    done = subprocess.run([EKSTRIO, "scan", "--cached", *args], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert len(done.stderr.splitlines()) == 1
    assert line in done.stderr


def test_wide_table_shows_every_column_uncut(scanned: str) -> None:
    clusters = json.loads(scanned)["clusters"]
    lines = run("scan", "--cached", "-o", "wide").splitlines()
    assert lines[0].split() == ["ACCOUNT", "ACCOUNT", "ID", "REGION", "CLUSTER", "STATUS",
                                "VERSION", "PLATFORM", "ROLES", "ENDPOINT", "TAGS"]
    assert len(lines) == 1 + len(clusters)
    text = "\n".join(lines)
    for c in clusters:
        assert (c["endpoint"] or "") in text
        assert ",".join(c["roles"]) in text


def test_table_when_piped_is_not_cut(scanned: str) -> None:
    lines = run("scan", "--cached", "-o", "table").splitlines()
    assert lines[0].split()[:4] == ["ACCOUNT", "ACCOUNT", "ID", "REGION"]
    assert "…" not in "\n".join(lines)
