"""Read-modify-write of a user's file (kubeconfig, ~/.aws/config) without ever losing it.

The whole read → reconcile → write runs under an exclusive sidecar lock, so ten concurrent
``ekstrio kubeconfig`` processes serialise instead of overwriting each other's entries. The
previous bytes are copied to ``<file>.ekstrio.bak`` first, and the new bytes replace the file with
:func:`ekstrio.fileio.atomic_write` (temp file, fsync, rename, mode kept, 0600 when new): a
process killed at any point leaves the old file or the new one. Nothing is written when the
content would not change, so a second run leaves the file (and its mtime) as it was.
"""

from __future__ import annotations

import difflib
import os
import stat
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ekstrio.errors import ConfigError, FileWriteError
from ekstrio.fileio import atomic_write, exclusive_lock

BACKUP_SUFFIX = ".ekstrio.bak"
# Test hook: seconds to sleep while holding the lock, after the backup and before the write, so
# that a test can SIGKILL a writer in the middle of its read-modify-write.
PAUSE_ENV = "EKSTRIO_TEST_PAUSE_BEFORE_WRITE"


@dataclass(frozen=True, slots=True)
class WriteResult:
    path: Path
    changed: bool
    written: bool
    diff: str
    backup: Path | None


def kubeconfig_path(explicit: Path | None, env: Mapping[str, str]) -> Path:
    """``--kubeconfig``, else the first path in KUBECONFIG, else ~/.kube/config."""
    if explicit is not None:
        return Path(explicit).expanduser()
    for part in (env.get("KUBECONFIG") or "").split(os.pathsep):
        if part.strip():
            return Path(part.strip()).expanduser()
    home = env.get("HOME") or str(Path.home())
    return Path(home) / ".kube" / "config"


def load_yaml(text: str, path: Path) -> Any:
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConfigError(f"{path} is not valid YAML{where}; fix or move it, it was left "
                          "untouched") from None


def dump_yaml(doc: Any) -> str:
    import yaml

    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=False, allow_unicode=True,
                          width=1_000_000)


def unified_diff(old: str, new: str, path: Path) -> str:
    return "".join(difflib.unified_diff(old.splitlines(keepends=True),
                                        new.splitlines(keepends=True),
                                        fromfile=str(path), tofile=f"{path} (ekstrio)"))


def rewrite(
    path: Path,
    transform: Callable[[str | None], str],
    *,
    dry_run: bool = False,
    same: Callable[[str | None, str], bool] | None = None,
) -> WriteResult:
    """Run ``transform(old_text) -> new_text`` under the lock and write the result safely.

    ``old_text`` is None when the file does not exist. ``same(old, new)`` decides that nothing
    changed (default: equal text); then nothing is written. ``transform`` raises ConfigError
    for a file it cannot understand, and the file is left untouched.
    """
    path = Path(path)
    with exclusive_lock(path):
        try:
            raw: bytes | None = path.read_bytes()
            old_mode: int | None = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            raw, old_mode = None, None
        except OSError as exc:
            raise FileWriteError(f"cannot read {path}: {exc.strerror}") from None
        try:
            old = None if raw is None else raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigError(f"{path} is not UTF-8 text; it was left untouched") from None
        new = transform(old)
        unchanged = (same or (lambda a, b: a == b))(old, new)
        diff = "" if unchanged else unified_diff(old or "", new, path)
        if unchanged or dry_run:
            return WriteResult(path, not unchanged, False, diff, None)
        backup = None
        if raw is not None:
            backup = path.with_name(path.name + BACKUP_SUFFIX)
            atomic_write(backup, raw, mode=old_mode)
        pause = os.environ.get(PAUSE_ENV)
        if pause:
            time.sleep(float(pause))
        atomic_write(path, new.encode("utf-8"))
        return WriteResult(path, True, True, diff, backup)


def inventory_path(env: Mapping[str, str]) -> Path:
    """Where ``ekstrio scan`` saves the inventory (:func:`ekstrio.inventory.inventory_path`)."""
    from ekstrio.inventory import inventory_path as saved_inventory

    return saved_inventory(env)


def read_inventory(source: str | None, env: Mapping[str, str], stdin_text: Callable[[], str]
                   ) -> Any:
    """The scan document from ``--from FILE``, ``--from -`` (stdin) or the last saved scan."""
    import json

    if source == "-":
        text, where = stdin_text(), "standard input"
    else:
        path = Path(source).expanduser() if source else inventory_path(env)
        try:
            text, where = path.read_text(encoding="utf-8"), str(path)
        except FileNotFoundError:
            if source:
                raise ConfigError(f"--from {source}: no such file") from None
            raise ConfigError(f"no saved scan at {path}; run `ekstrio scan` first, or pass "
                              "--from FILE") from None
        except OSError as exc:
            raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    try:
        return json.loads(text)
    except ValueError:
        raise ConfigError(f"the inventory from {where} is not JSON (expected the output of "
                          "`ekstrio scan -o json`)") from None
