"""Read-modify-write of a user's file (kubeconfig, ~/.aws/config) without ever losing it.

Two locks cover the whole read → reconcile → write:

- ``flock`` on the file's folder (:func:`ekstrio.fileio.exclusive_lock`) serialises ekstrio
  processes; it leaves nothing on disk and dies with its process;
- for a kubeconfig, client-go's own lock: ``<file>.lock`` created with O_CREAT|O_EXCL and removed
  when the write ends (also on an error, Ctrl-C or SIGTERM), so kubectl and ekstrio never write
  at the same time. kubectl does not wait for it (its write fails with "file exists" and changes
  nothing); ekstrio waits up to ``EKSTRIO_KUBECONFIG_LOCK_TIMEOUT`` seconds (default 10) for
  kubectl's, then gives up with one line. A ``.lock`` that an ekstrio process left when it was
  killed is recognised (it says ``ekstrio``, and no live ekstrio can hold one without the folder
  flock we hold) and removed; one made by anything else is never touched.

The previous bytes are copied to ``<file>.ekstrio.bak`` first, and the new bytes replace the
file with :func:`ekstrio.fileio.atomic_write` (through symlinks, owner/group/mode kept, regular
files only, read-only files refused). Nothing is written when the content would not change, so
a second run leaves the file (and its mtime) as it was; ``dry_run`` takes no lock and writes
nothing at all.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import signal
import stat
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from ekstrio.errors import ConfigError, FileWriteError
from ekstrio.fileio import (
    NotAFileError,
    atomic_write,
    check_writable,
    exclusive_lock,
    resolve,
    target_stat,
)

BACKUP_SUFFIX = ".ekstrio.bak"
KUBECTL_LOCK_SUFFIX = ".lock"  # client-go: filename + ".lock", beside the path as given
LOCK_TIMEOUT_ENV = "EKSTRIO_KUBECONFIG_LOCK_TIMEOUT"
DEFAULT_LOCK_TIMEOUT_S = 10.0
# What ekstrio writes into the kubectl lock it holds (client-go's own is empty): it tells a
# lock an ekstrio process left behind (killed) from one kubectl holds.
LOCK_MARK = b"ekstrio"
# Test hook: seconds to sleep while holding the locks, after the backup and before the write, so
# that a test can SIGKILL a writer in the middle of its read-modify-write; or a path: wait until
# that file exists (at most a minute), so that a test can run kubectl while ekstrio holds them.
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

    # libyaml's loader where PyYAML was built with it: a 20 MB kubeconfig parses in seconds,
    # not tens of seconds. Same safe subset of YAML either way.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConfigError(f"{path} is not valid YAML{where}; fix or move it, it was left "
                          "untouched") from None


def dump_yaml(doc: Any) -> str:
    import yaml

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    text: str = yaml.dump(doc, Dumper=dumper, sort_keys=False, default_flow_style=False,
                          allow_unicode=True, width=1_000_000)
    return text


def unified_diff(old: str, new: str, path: Path) -> str:
    return "".join(difflib.unified_diff(old.splitlines(keepends=True),
                                        new.splitlines(keepends=True),
                                        fromfile=str(path), tofile=f"{path} (ekstrio)"))


def lock_timeout(env: Mapping[str, str]) -> float:
    raw = env.get(LOCK_TIMEOUT_ENV)
    if not raw:
        return DEFAULT_LOCK_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 3600:
        raise ConfigError(f"{LOCK_TIMEOUT_ENV}={raw}: use seconds between 0 and 3600")
    return value


def _left_by_ekstrio(lock: Path) -> bool:
    """Whether ``lock`` was made by an ekstrio process (this one, or an older release).

    Only called while holding the folder flock, so no live ekstrio is inside its write. An
    ekstrio lock says so. Earlier ekstrio builds used ``<file>.lock`` as an flock sidecar and
    never removed it: empty, 0600, and flock-free once they exit; client-go's is empty, 0000.
    """
    import fcntl

    try:
        fd = os.open(lock, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return False
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return False
        head = os.read(fd, len(LOCK_MARK) + 1)
        if head.startswith(LOCK_MARK):
            return True
        if head or stat.S_IMODE(st.st_mode) != 0o600:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False  # an old ekstrio still holds it
        return True
    finally:
        os.close(fd)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP raise KeyboardInterrupt while kubectl's lock is held, so that the
    ``finally`` that removes it runs (their default action would exit without it)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {}
    for sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) == signal.SIG_DFL:
            saved[sig] = signal.signal(sig, _raise_interrupt)
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def kubectl_lock(path: Path, *, timeout: float, recover: bool) -> Iterator[Path]:
    """Hold client-go's ``<path>.lock`` (O_CREAT|O_EXCL) for the block, then remove it.

    Waits up to ``timeout`` seconds while another program holds it; ``recover`` (the folder
    flock is held) lets a lock left by a killed ekstrio be removed.
    """
    lock = Path(f"{path}{KUBECTL_LOCK_SUFFIX}")
    deadline = time.monotonic() + timeout
    delay = 0.005
    with _terminate_as_interrupt():
        while True:
            try:
                fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                break
            except FileExistsError:
                if recover and _left_by_ekstrio(lock):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(lock)
                    continue
            except OSError as exc:
                raise FileWriteError(f"cannot create the lock {lock}: {exc.strerror}; "
                                     f"{path} was left untouched") from None
            if time.monotonic() >= deadline:
                raise FileWriteError(
                    f"{lock} exists: kubectl is writing {path}, or a program that crashed left "
                    f"it; gave up after {timeout:g} s. If no kubectl is running, delete it")
            time.sleep(delay)  # client-go holds it for milliseconds
            delay = min(delay * 2, 0.1)
        try:
            try:
                os.write(fd, LOCK_MARK + f" {os.getpid()}\n".encode())
            finally:
                os.close(fd)
            yield lock
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(lock)


def _read(path: Path) -> tuple[bytes | None, os.stat_result | None]:
    """The file's bytes and stat; ConfigError when the path names a folder, device or FIFO."""
    try:
        st = target_stat(path)
    except NotAFileError as exc:
        raise ConfigError(str(exc)) from None
    if st is None:
        return None, None
    try:
        with open(path, "rb") as handle:
            return handle.read(), st
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        raise FileWriteError(f"cannot read {path}: {exc.strerror}") from None


def rewrite(
    path: Path,
    transform: Callable[[str | None], str],
    *,
    dry_run: bool = False,
    same: Callable[[str | None, str], bool] | None = None,
    kubectl: bool = True,
    env: Mapping[str, str] | None = None,
) -> WriteResult:
    """Run ``transform(old_text) -> new_text`` under the locks and write the result safely.

    ``old_text`` is None when the file does not exist. ``same(old, new)`` decides that nothing
    changed (default: equal text); then nothing is written. ``transform`` raises ConfigError
    for a file it cannot understand, and the file is left untouched. ``kubectl`` takes part in
    client-go's ``<file>.lock`` protocol (kubeconfig files; the AWS CLI has no such lock).
    """
    path = Path(path)
    env = os.environ if env is None else env
    if dry_run:
        return _apply(path, transform, same, write=False)
    timeout = lock_timeout(env)
    with exclusive_lock(path) as held:
        guard = (kubectl_lock(path, timeout=timeout, recover=held) if kubectl
                 else contextlib.nullcontext())
        with guard:
            return _apply(path, transform, same, write=True)


def _test_pause(pause: str | None) -> None:
    if not pause:
        return
    try:
        time.sleep(float(pause))
    except ValueError:
        deadline = time.monotonic() + 60
        while not os.path.exists(pause) and time.monotonic() < deadline:
            time.sleep(0.01)


def _apply(path: Path, transform: Callable[[str | None], str],
           same: Callable[[str | None, str], bool] | None, *, write: bool) -> WriteResult:
    raw, st = _read(path)
    try:
        old = None if raw is None else raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text; it was left untouched") from None
    new = transform(old)
    unchanged = (same or (lambda a, b: a == b))(old, new)
    if unchanged or not write:
        # The diff only for --dry-run: on a 20 MB file difflib alone takes seconds.
        diff = "" if unchanged else unified_diff(old or "", new, path)
        return WriteResult(path, not unchanged, False, diff, None)
    diff = ""
    backup = None
    if raw is not None and st is not None:
        check_writable(resolve(path), st)  # before the backup: a refusal leaves no trace
        backup = path.with_name(path.name + BACKUP_SUFFIX)
        atomic_write(backup, raw, like=st)
    _test_pause(os.environ.get(PAUSE_ENV))
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
