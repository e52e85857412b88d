"""fileio: atomic replacement with the right mode, and the sidecar lock."""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path

import pytest

from ekstrio.errors import FileWriteError
from ekstrio.fileio import atomic_write, exclusive_lock


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_new_file_is_private(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "folder" / "secret.json"
    atomic_write(target, b"{}")
    assert target.read_bytes() == b"{}"
    assert mode_of(target) == 0o600


def test_existing_mode_is_kept_unless_given(tmp_path: Path) -> None:
    target = tmp_path / "config"
    target.write_text("old")
    os.chmod(target, 0o644)
    atomic_write(target, b"new")
    assert (target.read_text(), mode_of(target)) == ("new", 0o644)
    atomic_write(target, b"newer", mode=0o600)
    assert (target.read_text(), mode_of(target)) == ("newer", 0o600)


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


def test_lock_excludes_a_second_holder(tmp_path: Path) -> None:
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
    assert mode_of(tmp_path / "config.lock") == 0o600


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
