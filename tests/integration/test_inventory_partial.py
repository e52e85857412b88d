"""A scan cut short by its deadline keeps what the last complete scan saved (against the sim)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from auth_fixtures import signed_in_by_start_url
from ekstrio.model import SsoSession
from ekstrio.sim.testing import SimHandle

EKSTRIO = str(Path(sys.executable).with_name("ekstrio"))
signed_in = signed_in_by_start_url()


def scan(sim: SimHandle, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EKSTRIO, "scan", "-o", "json", *args, "--start-url", sim.start_url,
                           "--sso-region", sim.sso_region], capture_output=True, text=True,
                          timeout=120, check=False)


def saved(sim: SimHandle) -> dict[str, Any]:
    done = subprocess.run([EKSTRIO, "scan", "--cached", "-o", "json"], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    loaded: dict[str, Any] = json.loads(done.stdout)
    return loaded


def keys(doc: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(c["account_id"], c["region"], c["name"]) for c in doc["clusters"]}


def test_a_scan_cut_short_keeps_the_clusters_of_the_last_complete_one(
        sim: SimHandle, signed_in: SsoSession) -> None:
    full = scan(sim, "--refresh")
    assert full.returncode == 0, full.stderr
    known = keys(json.loads(full.stdout))
    assert len(known) >= 10
    # EKS paced at 0.5 request/s per account-region: the scan cannot finish in 1 s.
    cut = scan(sim, "--refresh", "--eks-rate", "0.5", "--timeout", "1")
    assert cut.returncode == 1, cut.stderr
    partial = json.loads(cut.stdout)
    assert partial["summary"]["complete"] is False
    assert len(partial["clusters"]) < len(known)  # what it printed is the partial result...
    after = saved(sim)
    assert keys(after) == known  # ...what it saved still knows every cluster
    assert after["summary"]["complete"] is False
