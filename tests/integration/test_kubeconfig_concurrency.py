"""Concurrent writers and killed writers never lose or corrupt a kubeconfig."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from ekstrio.kubeconfig_io import BACKUP_SUFFIX, PAUSE_ENV

EKSTRIO = str(Path(sys.executable).with_name("ekstrio"))
FOREIGN = {
    "apiVersion": "v1", "kind": "Config",
    "clusters": [{"name": f"other-{i}", "cluster": {"server": f"https://10.0.0.{i}"}}
                 for i in range(5)],
    "users": [{"name": f"other-{i}", "user": {"token": f"t{i}"}} for i in range(5)],
    "contexts": [{"name": f"other-{i}", "context": {"cluster": f"other-{i}",
                                                    "user": f"other-{i}"}} for i in range(5)],
    "current-context": "other-3",
}


def inventory(i: int) -> dict[str, Any]:
    account = f"{100000000000 + i}"
    return {
        "schema": "ekstrio.scan/v1",
        "sso": {"session": "corp", "start_url": "https://d-1.awsapps.com/start",
                "region": "us-east-1"},
        "clusters": [{
            "account_id": account, "account_name": f"team{i}", "roles": ["Admin"],
            "region": "eu-west-1", "name": "web",
            "arn": f"arn:aws:eks:eu-west-1:{account}:cluster/web",
            "endpoint": f"https://{i}.eks.amazonaws.com", "certificate_authority_data": "LS0t",
            "status": "ACTIVE"}],
        "completed": [{"account_id": account, "region": "eu-west-1"}],
    }


def write_inventories(folder: Path, count: int) -> list[Path]:
    paths = []
    for i in range(count):
        path = folder / f"inv{i}.json"
        path.write_text(json.dumps(inventory(i)))
        paths.append(path)
    return paths


def test_ten_writers_at_once_keep_every_entry(tmp_path: Path) -> None:
    kc = tmp_path / "config"
    kc.write_text(yaml.safe_dump(FOREIGN))
    procs = [subprocess.Popen([EKSTRIO, "kubeconfig", "--from", str(p), "--kubeconfig", str(kc),
                               "--prune"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for p in write_inventories(tmp_path, 10)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    doc = yaml.safe_load(kc.read_text())
    names = [c["name"] for c in doc["contexts"]]
    assert names[:5] == [f"other-{i}" for i in range(5)]
    assert sorted(names[5:]) == sorted(f"team{i}/web" for i in range(10))
    for section in ("clusters", "users"):
        assert len(doc[section]) == 15
    assert doc["users"][:5] == FOREIGN["users"]
    assert doc["current-context"] == "other-3"


def test_writer_killed_while_holding_the_lock_leaves_the_old_file(tmp_path: Path) -> None:
    kc = tmp_path / "config"
    old = yaml.safe_dump(FOREIGN).encode()
    kc.write_bytes(old)
    [source] = write_inventories(tmp_path, 1)
    proc = subprocess.Popen([EKSTRIO, "kubeconfig", "--from", str(source), "--kubeconfig",
                             str(kc)], env={**os.environ, PAUSE_ENV: "60"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    backup = tmp_path / f"config{BACKUP_SUFFIX}"
    deadline = time.monotonic() + 60
    while not backup.exists():  # the backup is written just before the pause
        assert time.monotonic() < deadline, "the writer never reached its write"
        assert proc.poll() is None
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert kc.read_bytes() == old
    assert backup.read_bytes() == old
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    # SIGKILL leaves kubectl's lock (as it would kubectl's own); the folder flock died with the
    # process, and under it the next writer knows the ekstrio-marked lock is stale.
    assert (tmp_path / "config.lock").read_bytes().startswith(b"ekstrio ")
    done = subprocess.run([EKSTRIO, "kubeconfig", "--from", str(source), "--kubeconfig",
                           str(kc)], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "team0/web" in [c["name"] for c in yaml.safe_load(kc.read_text())["contexts"]]
    assert not (tmp_path / "config.lock").exists()


def test_writers_killed_at_random_moments_leave_old_or_new(tmp_path: Path) -> None:
    kc = tmp_path / "config"
    old = yaml.safe_dump(FOREIGN).encode()
    sources = write_inventories(tmp_path, 6)
    seen = set()
    for i, source in enumerate(sources):
        kc.write_bytes(old)
        proc = subprocess.Popen([EKSTRIO, "kubeconfig", "--from", str(source), "--kubeconfig",
                                 str(kc)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.05 * i)  # from "still importing" to "probably done"
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        data = kc.read_bytes()
        doc = yaml.safe_load(data)  # never partial: always parses
        names = [c["name"] for c in doc["contexts"]]
        assert data == old or names == [*(f"other-{j}" for j in range(5)), f"team{i}/web"]
        seen.add(data == old)
    assert True in seen  # at least the early kills left the old file
