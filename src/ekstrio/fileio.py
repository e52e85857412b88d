"""Safe writes of users' files: never truncated, never half-written, secrets 0600.

Only the standard library is imported here: ``ekstrio token`` uses this module
on the path kubectl runs before every request.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from ekstrio.errors import FileWriteError

SECRET_MODE = 0o600


def atomic_write(path: Path, data: bytes | Iterable[bytes], *, mode: int | None = None,
                 durable: bool = True) -> None:
    """Replace ``path`` with ``data`` (bytes, or pieces of bytes) atomically.

    ``durable=False`` skips the fsyncs: readers still see the old file or the new one, but
    after a power failure the file may be empty. Only for caches that can be rebuilt.

    The bytes go to a temporary file in the same folder, are fsynced, and the
    temporary file is renamed over ``path``: readers see the old file or the new
    one, never a mix, even when the process is killed mid-write. The new file
    gets ``mode`` if given, else the old file's mode, else 0600.
    """
    path = Path(path)
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FileWriteError(f"cannot create folder {folder}: {exc.strerror}") from exc
    if mode is None:
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            mode = SECRET_MODE
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise FileWriteError(f"cannot write in {folder}: {exc.strerror}") from exc
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
            if durable:
                os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise FileWriteError(f"cannot write {path}: {exc.strerror}") from exc
    if not durable:
        return
    with contextlib.suppress(OSError):
        # Make the rename itself durable; not every filesystem supports it.
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


@contextlib.contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``<path>.lock`` for a read-modify-write.

    A sidecar file is locked, not ``path`` itself, because ``path`` is replaced
    by rename during the write and a lock on the old inode would not exclude
    the next writer.
    """
    import fcntl

    lock_path = Path(path).with_name(Path(path).name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, SECRET_MODE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
