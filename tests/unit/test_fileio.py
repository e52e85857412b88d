"""fileio: atomic replacement with the right mode, and the sidecar lock."""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path

import pytest

from ekstrio.errors import FileWriteError
from ekstrio.fileio import NotAFileError, atomic_write, exclusive_lock


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_new_file_is_private(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "folder" / "secret.json"
    atomic_write(target, b"{}")
    assert target.read_bytes() == b"{}"
    assert mode_of(target) == 0o600


def test_existing_mode_is_kept_and_secret_strips_group_and_other(tmp_path: Path) -> None:
    target = tmp_path / "config"
    target.write_text("old")
    os.chmod(target, 0o644)
    atomic_write(target, b"new")
    assert (target.read_text(), mode_of(target)) == ("new", 0o644)
    atomic_write(target, b"newer", mode=0o600)  # mode is for a new file only
    assert (target.read_text(), mode_of(target)) == ("newer", 0o644)
    atomic_write(target, b"secret", secret=True)
    assert (target.read_text(), mode_of(target)) == ("secret", 0o600)


def test_pieces_are_written_in_order(tmp_path: Path) -> None:
    target = tmp_path / "inventory.json"
    atomic_write(target, (bytes([65 + i]) * 3 for i in range(4)))
    assert target.read_bytes() == b"AAABBBCCCDDD"


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "kubeconfig"
    target.write_text("precious")

    def pieces():  # type: ignore[no-untyped-def]
        yield b"half of the new "
        raise OSError(28, "No space left on device")

    with pytest.raises(FileWriteError, match="No space left on device"):
        atomic_write(target, pieces())
    assert target.read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kubeconfig"]


def test_lock_excludes_a_second_holder_and_leaves_no_file(tmp_path: Path) -> None:
    target = tmp_path / "config"
    events: list[str] = []

    def second() -> None:
        with exclusive_lock(target):
            events.append("second in")

    with exclusive_lock(target):
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.3)
        events.append("first out")
    thread.join(5)
    assert events == ["first out", "second in"]
    # flock on the folder: no "config.lock", which kubectl would take for its own lock.
    assert list(tmp_path.iterdir()) == []


def test_lock_wait_is_bounded(tmp_path: Path) -> None:
    target = tmp_path / "config"
    with exclusive_lock(target), pytest.raises(FileWriteError, match="another ekstrio"), \
            exclusive_lock(target, wait=0.05):
        pass


def test_a_cache_write_may_skip_fsync_and_is_still_atomic(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd))
    target = tmp_path / "creds.json"
    atomic_write(target, b"cache", durable=False)
    assert synced == []
    assert (target.read_bytes(), mode_of(target)) == (b"cache", 0o600)
    atomic_write(target, b"durable")
    assert len(synced) == 2  # the file, then its folder


def test_new_folders_are_private(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "tokens" / "x.json"
    atomic_write(target, b"{}")
    assert [mode_of(tmp_path / p) for p in ("a", "a/b", "a/b/tokens")] == [0o700] * 3


def test_a_symlink_is_written_through(tmp_path: Path) -> None:
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    real = dotfiles / "kubeconfig"
    real.write_text("old")
    os.chmod(real, 0o640)
    kube = tmp_path / "kube"
    kube.mkdir()
    link = kube / "config"
    link.symlink_to(real)
    atomic_write(link, b"new")
    assert link.is_symlink()
    assert os.readlink(link) == str(real)
    assert (real.read_text(), mode_of(real)) == ("new", 0o640)
    assert sorted(p.name for p in dotfiles.iterdir()) == ["kubeconfig"]
    assert sorted(p.name for p in kube.iterdir()) == ["config"]


def test_a_dangling_symlink_creates_its_target(tmp_path: Path) -> None:
    link = tmp_path / "config"
    link.symlink_to(tmp_path / "elsewhere" / "real")
    atomic_write(link, b"new")
    assert link.is_symlink()
    assert (tmp_path / "elsewhere" / "real").read_bytes() == b"new"


def test_owner_group_and_mode_are_kept(tmp_path: Path) -> None:
    # As run under sudo: the file belongs to someone else and must stay theirs.
    target = tmp_path / "config"
    target.write_text("old")
    os.chmod(target, 0o664)
    os.chown(target, 12345, 23456)
    atomic_write(target, b"new")
    st = target.stat()
    assert (st.st_uid, st.st_gid, mode_of(target)) == (12345, 23456, 0o664)
    assert target.read_bytes() == b"new"


def test_a_copy_takes_the_owner_and_mode_of_its_original(tmp_path: Path) -> None:
    original = tmp_path / "config"
    original.write_text("old")
    os.chmod(original, 0o640)
    os.chown(original, 12345, 23456)
    backup = tmp_path / "config.bak"
    backup.write_text("older")
    os.chmod(backup, 0o400)  # ekstrio's own copy: replaced even when read-only
    atomic_write(backup, b"old", like=original.stat())
    st = backup.stat()
    assert (st.st_uid, st.st_gid, mode_of(backup)) == (12345, 23456, 0o640)


def test_a_read_only_file_is_refused_even_for_root(tmp_path: Path) -> None:
    target = tmp_path / "config"
    target.write_text("precious")
    os.chmod(target, 0o400)
    with pytest.raises(FileWriteError, match=r"read-only \(mode 0400\)"):
        atomic_write(target, b"new")
    assert target.read_text() == "precious"
    assert [p.name for p in tmp_path.iterdir()] == ["config"]


@pytest.mark.parametrize("kind", ["fifo", "null device", "folder"])
def test_anything_but_a_regular_file_is_never_replaced(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "thing"
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "folder":
        target.mkdir()
    else:  # a stand-in for /dev/null, made here so the real one is never at risk
        os.mknod(target, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    before = os.lstat(target)
    with pytest.raises(NotAFileError, match="not a regular file"):
        atomic_write(target, b"new")
    after = os.lstat(target)
    assert (after.st_ino, stat.S_IFMT(after.st_mode)) == (before.st_ino,
                                                          stat.S_IFMT(before.st_mode))
    assert [p.name for p in tmp_path.iterdir()] == ["thing"]


def test_a_symlink_to_a_device_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    link = tmp_path / "inventory.json"
    link.symlink_to(fifo)
    with pytest.raises(NotAFileError, match="FIFO"):
        atomic_write(link, b"{}")
    assert link.is_symlink()
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_ctrl_c_during_a_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "config"
    target.write_text("precious")

    def pieces():  # type: ignore[no-untyped-def]
        yield b"half"
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, pieces())
    assert target.read_text() == "precious"
    assert [p.name for p in tmp_path.iterdir()] == ["config"]
