"""Safe writes of users' files: never truncated, never half-written, never the wrong thing.

Every file ekstrio writes (kubeconfig, ``~/.aws/config``, token and credential caches, the
inventory, the kubectl token cache) goes through :func:`atomic_write`, so the rules live here:

- a symlink is written through: the new file goes beside the *resolved* target and is renamed
  over it, so a dotfiles link stays a link and its target is what changes;
- only a regular file is ever replaced: a folder, a device (``/dev/null``), a FIFO or a socket
  at the path is refused with one line, never renamed over;
- an existing file keeps its owner, group and mode (a run under sudo must not hand the user's
  kubeconfig to root); a file nobody may write (no ``w`` bit, e.g. 0400), or one this process
  may not write, is refused: the user marked it read-only, and root bypassing the bits is no
  reason to ignore that;
- a new file is 0600 unless the caller says otherwise, and new folders are 0700.

Only the standard library is imported here: ``ekstrio token`` uses this module
on the path kubectl runs before every request.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from ekstrio.errors import FileWriteError

SECRET_MODE = 0o600
FOLDER_MODE = 0o700
# How long to wait for another ekstrio process rewriting a file in the same folder. Its hold is
# one read-modify-write (well under a second for normal files, seconds for huge ones); the
# bound only matters when that process is stopped (Ctrl-Z) or stuck.
PEER_WAIT_S = 120.0

_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISSOCK, "a socket"))


class NotAFileError(FileWriteError):
    """Something other than a regular file stands where ekstrio would write one."""


def resolve(path: Path) -> Path:
    """``path`` with every symlink followed (also a dangling one: its target is created)."""
    return Path(os.path.realpath(path))


def kind_of(st: os.stat_result) -> str | None:
    """What a non-regular file is ("a folder", "a character device", …); None for a file."""
    if stat.S_ISREG(st.st_mode):
        return None
    for test, name in _KINDS:
        if test(st.st_mode):
            return name
    return "not a regular file"


def target_stat(path: Path) -> os.stat_result | None:
    """The stat of the regular file ``path`` resolves to, or None when there is none yet.

    NotAFileError when something else stands there: ekstrio never replaces it.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise FileWriteError(f"cannot read {path}: {exc.strerror}") from None
    kind = kind_of(st)
    if kind is not None:
        raise NotAFileError(f"{path} is {kind}, not a regular file; ekstrio only replaces "
                             "regular files: point it at a file")
    return st


def check_writable(path: Path, st: os.stat_result) -> None:
    """Refuse a file marked read-only, as kubectl does for its own user.

    Two tests, because root passes ``os.access`` whatever the mode: no ``w`` bit at all means
    the owner made it read-only on purpose; ``os.access`` covers a file another user owns.
    """
    mode = stat.S_IMODE(st.st_mode)
    if not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
        raise FileWriteError(f"{path} is read-only (mode {mode:04o}); it was left untouched: "
                             "make it writable (chmod u+w) or write another file")
    effective = os.access in os.supports_effective_ids
    if not os.access(path, os.W_OK, effective_ids=effective):
        raise FileWriteError(f"{path} is not writable by this user (owner uid {st.st_uid}, "
                             f"mode {mode:04o}); it was left untouched")


def make_folders(folder: Path) -> None:
    """Create ``folder`` and missing parents, each 0700 (existing ones are left as they are)."""
    missing: list[Path] = []
    current = Path(folder)
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    for level in reversed(missing):
        try:
            level.mkdir(mode=FOLDER_MODE)
        except FileExistsError:
            continue  # another process made it meanwhile
        except OSError as exc:
            raise FileWriteError(f"cannot create folder {level}: {exc.strerror}") from None


def atomic_write(path: Path, data: bytes | Iterable[bytes], *, mode: int | None = None,
                 secret: bool = False, like: os.stat_result | None = None,
                 durable: bool = True) -> None:
    """Replace the file ``path`` resolves to with ``data`` (bytes, or pieces of bytes).

    The bytes go to a temporary file beside the target, are fsynced, and the temporary file
    is renamed over the target: readers see the old file or the new one, never a mix, even
    when the process is killed mid-write.

    Owner, group and mode: those of the existing file; else those of ``like`` (a backup takes
    its original's); else this process's, with ``mode`` (default 0600). ``secret=True`` also
    strips group and other bits from an existing file's mode. ``like`` marks ekstrio's own
    copy, which is replaced even when read-only. ``durable=False`` skips the fsyncs: readers
    still see old or new, but a power failure may leave the file empty (rebuildable caches).
    """
    target = resolve(Path(path))
    existing = target_stat(target)
    if existing is not None and like is None:
        check_writable(target, existing)
    meta = like if like is not None else existing
    new_mode = stat.S_IMODE(meta.st_mode) if meta is not None else (
        SECRET_MODE if mode is None else mode)
    if secret:
        new_mode &= 0o700
    folder = target.parent
    make_folders(folder)
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise FileWriteError(f"cannot write in {folder}: {exc.strerror}") from None
    try:
        # mkstemp creates the file 0600, so a secret is never readable by others,
        # not even for the instant before chmod.
        with os.fdopen(fd, "wb") as handle:
            if isinstance(data, bytes):
                handle.write(data)
            else:
                for piece in data:
                    handle.write(piece)
            handle.flush()
            if meta is not None:
                _keep_owner(handle.fileno(), meta, target)
            os.fchmod(handle.fileno(), new_mode)  # after chown, which may clear mode bits
            if durable:
                os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        # Also on Ctrl-C: no temporary file is left beside the user's file.
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise FileWriteError(f"cannot write {path}: {exc.strerror}") from None
        raise
    if not durable:
        return
    with contextlib.suppress(OSError):
        # Make the rename itself durable; not every filesystem supports it.
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _keep_owner(fd: int, meta: os.stat_result, target: Path) -> None:
    """Give the new file the old one's owner and group, or refuse the write."""
    mine = os.fstat(fd)
    uid = meta.st_uid if meta.st_uid != mine.st_uid else -1
    gid = meta.st_gid if meta.st_gid != mine.st_gid else -1
    if uid == -1 and gid == -1:
        return
    try:
        os.fchown(fd, uid, gid)
    except OSError:
        raise FileWriteError(
            f"cannot keep the owner of {target} (uid {meta.st_uid}, gid {meta.st_gid}); it was "
            "left untouched: run as its owner") from None


@contextlib.contextmanager
def exclusive_lock(path: Path, *, wait: float = PEER_WAIT_S) -> Iterator[bool]:
    """Exclude other ekstrio processes from read-modify-writes in ``path``'s folder.

    The lock is ``flock`` on the folder of the resolved target itself, not on a file: nothing
    is created, so nothing is left behind that kubectl (whose lock is ``<file>.lock``) or any
    other tool could take for a lock, and the kernel releases it when the process dies, even
    by SIGKILL. Files in one folder share the lock; ekstrio never nests two.

    Yields True when the lock is held; False where the filesystem has no flock for folders
    (some network filesystems): callers then still have kubectl's lock, without stale-lock
    recovery. FileWriteError when another ekstrio holds it for longer than ``wait`` seconds.
    """
    folder = resolve(Path(path)).parent
    make_folders(folder)
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except PermissionError:
        # A folder one may enter but not list (mode --x): no flock, the rest still holds.
        yield False
        return
    except OSError as exc:
        raise FileWriteError(f"cannot open folder {folder}: {exc.strerror}") from None
    try:
        held = _flock(fd, wait)
        if held is None:
            raise FileWriteError(f"another ekstrio process has been writing in {folder} for "
                                 f"{wait:g} s; gave up (is one stopped with Ctrl-Z?)")
        yield held
    finally:
        os.close(fd)  # closing the descriptor releases the flock


def _flock(fd: int, wait: float) -> bool | None:
    """True when locked, False when flock is unsupported, None after ``wait`` seconds."""
    deadline = time.monotonic() + wait
    delay = 0.005
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pass
        except OSError:
            return False  # ENOLCK, EBADF, EOPNOTSUPP: no folder locks on this filesystem
        else:
            return True
        if time.monotonic() >= deadline:
            return None
        # Polling, not a blocking flock, so that the wait is bounded.
        time.sleep(delay)
        delay = min(delay * 2, 0.1)
