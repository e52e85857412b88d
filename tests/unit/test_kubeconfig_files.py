"""What `ekstrio kubeconfig` does to the file itself: kubectl's lock, links, owners, odd paths."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from ekstrio import cli, kubeconfig_io
from ekstrio.errors import ConfigError, FileWriteError
from ekstrio.kubeconfig_io import LOCK_TIMEOUT_ENV

INVENTORY = {
    "schema": "ekstrio.scan/v1",
    "sso": {"session": "corp", "start_url": "https://d-1.awsapps.com/start",
            "region": "us-east-1"},
    "clusters": [
        {"account_id": "111122223333", "account_name": "prod", "roles": ["Admin"],
         "region": "eu-west-1", "name": "web",
         "arn": "arn:aws:eks:eu-west-1:111122223333:cluster/web",
         "endpoint": "https://A.eks.amazonaws.com", "certificate_authority_data": "LS0t",
         "status": "ACTIVE"},
    ],
    "completed": [],
}
NOBODY = 65534
FOREIGN = {"apiVersion": "v1", "kind": "Config",
           "clusters": [{"name": "kind", "cluster": {"server": "https://127.0.0.1:6443"}}],
           "users": [{"name": "kind", "user": {"token": "abc"}}],
           "contexts": [{"name": "kind", "context": {"cluster": "kind", "user": "kind"}}],
           "current-context": "kind"}


@pytest.fixture
def inv_file(tmp_path: Path) -> Path:
    path = tmp_path / "inv.json"
    path.write_text(json.dumps(INVENTORY))
    return path


def write(inv_file: Path, kc: Path, *extra: str) -> int:
    return cli.run(["kubeconfig", "--from", str(inv_file), "--kubeconfig", str(kc), *extra])


def contexts(kc: Path) -> list[str]:
    return [c["name"] for c in yaml.safe_load(kc.read_text())["contexts"]]


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert lines[-1].startswith("ekstrio: error: ")
    assert "Traceback" not in err
    return lines[-1]


# --- client-go's lock --------------------------------------------------------------------------

def test_a_write_leaves_no_lock_and_a_dry_run_writes_nothing_at_all(
        inv_file: Path, tmp_path: Path) -> None:
    folder = tmp_path / "kube"
    kc = folder / "config"
    assert write(inv_file, kc, "--dry-run") == 0
    assert not folder.exists()  # not even the folder
    assert write(inv_file, kc) == 0
    assert sorted(p.name for p in folder.iterdir()) == ["config"]
    assert write(inv_file, kc, "--set-current", "prod/web") == 0
    assert sorted(p.name for p in folder.iterdir()) == ["config", "config.ekstrio.bak"]
    kc.write_text(yaml.safe_dump(FOREIGN))
    before = sorted(p.name for p in folder.iterdir())
    assert write(inv_file, kc, "--dry-run") == 0
    assert sorted(p.name for p in folder.iterdir()) == before


def test_a_lock_held_by_another_program_is_waited_for_then_reported(
        inv_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    kc = tmp_path / "config"
    kc.write_text(yaml.safe_dump(FOREIGN))
    lock = tmp_path / "config.lock"
    os.close(os.open(lock, os.O_CREAT | os.O_EXCL, 0))  # exactly as client-go makes it
    monkeypatch.setenv(LOCK_TIMEOUT_ENV, "0.2")
    assert write(inv_file, kc) == 1
    line = one_error_line(capsys.readouterr().err)
    assert f"{lock} exists: kubectl is writing {kc}" in line
    assert "gave up after 0.2 s" in line
    assert contexts(kc) == ["kind"]
    assert lock.exists()  # someone else's: never removed
    assert not (tmp_path / "config.ekstrio.bak").exists()


@pytest.mark.parametrize("left", ["this release", "earlier release"])
def test_a_lock_left_by_a_killed_ekstrio_is_recovered(
        inv_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, left: str) -> None:
    kc = tmp_path / "config"
    lock = tmp_path / "config.lock"
    if left == "this release":
        lock.write_bytes(b"ekstrio 4242\n")
    else:  # the empty 0600 sidecar that earlier builds flocked and never removed
        lock.write_bytes(b"")
    lock.chmod(0o600)
    monkeypatch.setenv(LOCK_TIMEOUT_ENV, "0")
    assert write(inv_file, kc) == 0
    assert contexts(kc) == ["prod/web"]
    assert not lock.exists()


@pytest.mark.parametrize("failure", [ConfigError("bad"), FileWriteError("disk"),
                                     KeyboardInterrupt()])
def test_the_lock_is_removed_when_the_write_fails(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: BaseException) -> None:
    kc = tmp_path / "config"
    kc.write_text("old")
    seen: list[bool] = []

    def fail(*args: object, **kwargs: object) -> None:
        seen.append((tmp_path / "config.lock").exists())
        raise failure

    monkeypatch.setattr(kubeconfig_io, "atomic_write", fail)
    with pytest.raises(type(failure)):
        kubeconfig_io.rewrite(kc, lambda old: "new")
    assert seen == [True]  # held during the write...
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config"]  # ...and gone after
    assert kc.read_text() == "old"


def test_the_lock_is_named_after_the_path_as_given(inv_file: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # kubectl with KUBECONFIG=<link> locks "<link>.lock", so ekstrio must wait on that one.
    real = tmp_path / "dotfiles" / "kubeconfig"
    real.parent.mkdir()
    real.write_text(yaml.safe_dump(FOREIGN))
    link = tmp_path / "config"
    link.symlink_to(real)
    os.close(os.open(tmp_path / "config.lock", os.O_CREAT | os.O_EXCL, 0))
    monkeypatch.setenv(LOCK_TIMEOUT_ENV, "0")
    assert write(inv_file, link) == 1
    assert contexts(real) == ["kind"]


def test_profiles_leave_no_lock_beside_the_aws_config(inv_file: Path, tmp_path: Path) -> None:
    config = tmp_path / "aws" / "config"
    assert cli.run(["profiles", "--from", str(inv_file), "--config-file", str(config)]) == 0
    assert "[profile prod.Admin]" in config.read_text()
    assert sorted(p.name for p in config.parent.iterdir()) == ["config"]


# --- what the file is --------------------------------------------------------------------------

def test_a_symlinked_kubeconfig_is_written_through(inv_file: Path, tmp_path: Path) -> None:
    real = tmp_path / "dotfiles" / "kubeconfig"
    real.parent.mkdir()
    real.write_text(yaml.safe_dump(FOREIGN))
    real.chmod(0o640)
    link = tmp_path / "kube" / "config"
    link.parent.mkdir()
    link.symlink_to(real)
    assert write(inv_file, link) == 0
    assert link.is_symlink()
    assert contexts(real) == ["kind", "prod/web"]
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    assert sorted(p.name for p in real.parent.iterdir()) == ["kubeconfig"]


def test_owner_group_and_mode_survive_a_run_as_root(inv_file: Path, tmp_path: Path) -> None:
    kc = tmp_path / "config"
    kc.write_text(yaml.safe_dump(FOREIGN))
    kc.chmod(0o644)
    os.chown(kc, 12345, 23456)  # the user's file; the test runs as root, like sudo
    assert write(inv_file, kc) == 0
    st = kc.stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (12345, 23456, 0o644)
    backup = (tmp_path / "config.ekstrio.bak").stat()
    assert (backup.st_uid, backup.st_gid, stat.S_IMODE(backup.st_mode)) == (12345, 23456, 0o644)
    assert contexts(kc) == ["kind", "prod/web"]


def test_a_read_only_kubeconfig_is_refused(inv_file: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    kc = tmp_path / "config"
    text = yaml.safe_dump(FOREIGN)
    kc.write_text(text)
    kc.chmod(0o400)
    assert write(inv_file, kc) == 1
    assert one_error_line(capsys.readouterr().err) == (
        f"ekstrio: error: {kc} is read-only (mode 0400); it was left untouched: make it "
        "writable (chmod u+w) or write another file")
    assert kc.read_text() == text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config", "inv.json"]


@pytest.mark.parametrize("kind", ["fifo", "null device", "folder"])
def test_kubeconfig_that_is_not_a_file_is_exit_2_and_never_replaced(
        inv_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], kind: str) -> None:
    target = tmp_path / "thing"
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "folder":
        target.mkdir()
    else:  # a stand-in for /dev/null, so that the real one is never at risk
        os.mknod(target, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    before = os.lstat(target)
    monkeypatch.setenv("KUBECONFIG", str(target))
    assert cli.run(["kubeconfig", "--from", str(inv_file)]) == 2
    assert "not a regular file" in one_error_line(capsys.readouterr().err)
    after = os.lstat(target)
    assert (after.st_ino, after.st_mode) == (before.st_ino, before.st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inv.json", "thing"]


@pytest.mark.parametrize(("text", "kind"), [('"just a string"\n', "a string"),
                                            ("- a\n- b\n", "a list"), ("[]\n", "a list")])
def test_a_kubeconfig_that_is_not_a_mapping_is_one_line(
        inv_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        text: str, kind: str) -> None:
    kc = tmp_path / "config"
    kc.write_text(text)
    assert write(inv_file, kc) == 2
    assert one_error_line(capsys.readouterr().err) == (
        f"ekstrio: error: {kc} is not a kubeconfig (its top level is {kind}, not a mapping); "
        "it was left untouched")
    assert kc.read_text() == text


@contextlib.contextmanager
def as_nobody() -> Iterator[None]:
    """Run the block with the effective uid/gid of ``nobody``: root writes anywhere, and
    these tests are about what a user who may not write sees."""
    if os.geteuid() != 0:
        yield
        return
    os.setegid(NOBODY)
    os.seteuid(NOBODY)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


def shared_folder(monkeypatch: pytest.MonkeyPatch) -> Path:
    # pytest's tmp_path is private to root; nobody must be able to reach this one, and the
    # XDG folders ekstrio reads at start-up.
    folder = Path(tempfile.mkdtemp(prefix="ekstrio-nobody-"))
    folder.chmod(0o755)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(folder / ".config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(folder / ".cache"))
    return folder


def test_a_read_only_kube_folder_is_one_line(inv_file: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    home = shared_folder(monkeypatch)
    try:
        (home / "inv.json").write_text(inv_file.read_text())
        (home / ".kube").mkdir(mode=0o555)
        write(home / "inv.json", tmp_path / "warm-up")  # imports done while still root
        capsys.readouterr()
        monkeypatch.setenv("HOME", str(home))
        monkeypatch.delenv("KUBECONFIG", raising=False)
        with as_nobody():
            code = cli.run(["kubeconfig", "--from", str(home / "inv.json")])
        assert code == 1
        assert one_error_line(capsys.readouterr().err) == (
            f"ekstrio: error: cannot create the lock {home}/.kube/config.lock: Permission "
            f"denied; {home}/.kube/config was left untouched")
        assert list((home / ".kube").iterdir()) == []
    finally:
        shutil.rmtree(home)


def test_a_file_this_user_may_not_write_is_refused(inv_file: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    home = shared_folder(monkeypatch)
    try:
        (home / "inv.json").write_text(inv_file.read_text())
        os.chown(home, NOBODY, NOBODY)  # nobody could rename over it...
        kc = home / "config"
        kc.write_text(yaml.safe_dump(FOREIGN))
        kc.chmod(0o644)  # ...but the file is root's, and read-only for nobody
        write(home / "inv.json", tmp_path / "warm-up")
        capsys.readouterr()
        with as_nobody():
            code = write(home / "inv.json", kc)
        assert code == 1
        assert one_error_line(capsys.readouterr().err) == (
            f"ekstrio: error: {kc} is not writable by this user (owner uid 0, mode 0644); it "
            "was left untouched")
        assert contexts(kc) == ["kind"]
        assert sorted(p.name for p in home.iterdir()) == ["config", "inv.json"]
    finally:
        shutil.rmtree(home)
