"""Crash-safe file writes for the vault and the config: readers see old or new, never a mix.
Private from the first moment: directories are made 0700 and files 0600 as they are created
(a mode and a tight umask, not a chmod after), and secrets are read without following a
symbolic link at their path (``O_NOFOLLOW``)."""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "UnsafeFile",
    "create_exclusive",
    "ensure_private_dir",
    "fsync_dir",
    "private_umask",
    "read_nofollow",
    "remove_stale_temps",
    "write_atomic",
]

# O_NONBLOCK: a FIFO planted at the path opens at once (and is then refused) instead of
# waiting for a writer; it changes nothing for a regular file.
_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_umask_lock = threading.Lock()


class UnsafeFile(OSError):
    """What is at the path is not a regular file: a symbolic link, which is not followed, or
    a directory, a FIFO, a device. ``what`` says which, for a message."""

    def __init__(self, path: Path, what: str) -> None:
        super().__init__(errno.ELOOP if what.startswith("a symbolic link") else errno.EINVAL, what)
        self.path = path
        self.what = what


def _describe(path: Path, mode: int) -> str:
    if stat.S_ISLNK(mode):
        try:
            return f"a symbolic link (to {os.readlink(path)})"
        except OSError:
            return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    return "not a regular file"


def read_nofollow(path: Path) -> tuple[bytes, os.stat_result]:
    """The bytes of the regular file at ``path`` and its stat. `UnsafeFile` when a symbolic
    link is there (open(2) O_NOFOLLOW: ELOOP on Linux, EMLINK on FreeBSD) or something that
    is not a regular file; FileNotFoundError when nothing is."""
    try:
        fd = os.open(path, _READ)
    except OSError as exc:
        if exc.errno not in (errno.ELOOP, errno.EMLINK):
            raise
        # ELOOP also means a loop in a directory of the path: say which it is.
        raise UnsafeFile(path, _describe(path, os.lstat(path).st_mode)) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UnsafeFile(path, _describe(path, st.st_mode))
        chunks, want = [], st.st_size + 1
        while True:
            chunk = os.read(fd, want)
            chunks.append(chunk)
            if len(chunk) < want:  # a short read of a regular file is its end
                return b"".join(chunks), st
            want = 1 << 16  # it grew since fstat
    finally:
        os.close(fd)


@contextlib.contextmanager
def private_umask() -> Iterator[None]:
    """umask 077 while something private is created, so its mode is what was asked for from
    the first moment, whatever the user's umask. The umask belongs to the whole process: the
    lock keeps clawgate's own threads from restoring each other's (anything another thread
    creates meanwhile is only made more private)."""
    with _umask_lock:
        previous = os.umask(0o077)
        try:
            yield
        finally:
            os.umask(previous)


def ensure_private_dir(path: Path, *, tighten: bool = True) -> None:
    """Create ``path`` and any missing parents, each 0700 as mkdir(2) makes it (mkdir's
    ``parents`` would give the parents the umask's mode). ``tighten`` also sets an existing
    ``path`` to 0700: right for clawgate's own directories, wrong for a directory the user
    chose for the config."""
    missing = []
    here = path
    while not os.path.lexists(here):
        missing.append(here)
        here = here.parent
    if missing:
        with private_umask():
            for directory in reversed(missing):
                with contextlib.suppress(FileExistsError):  # another process made it meanwhile
                    os.mkdir(directory, 0o700)
    elif tighten:
        os.chmod(path, 0o700)


def _write_temp(path: Path, data: bytes) -> Path:
    """A complete, fsynced 0600 copy of ``data`` beside ``path``, under a unique temp name
    (O_EXCL: never an existing file, nor through a link planted at that name)."""
    temp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    with private_umask():  # exactly 0600, even under a umask that takes the owner's bits
        fd = os.open(temp, flags, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp


def write_atomic(path: Path, data: bytes) -> None:
    """Temp file 0600 in the same directory → fsync → rename → fsync the directory. rename(2)
    replaces whatever is at ``path``, a symbolic link included, and never writes through one."""
    temp = _write_temp(path, data)
    try:
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def create_exclusive(path: Path, data: bytes) -> bool:
    """Create ``path`` holding ``data`` unless it exists; False if it already did.

    The complete temp file is link(2)ed into place: link fails when ``path`` exists (a
    dangling symbolic link included), so racing creators cannot clobber each other, and
    nobody ever sees a half-written file.
    """
    temp = _write_temp(path, data)
    try:
        os.link(temp, path)
    except FileExistsError:
        return False
    finally:
        temp.unlink(missing_ok=True)
    fsync_dir(path.parent)
    return True


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_stale_temps(path: Path) -> None:
    """Delete temp files of ``path`` left by writers that died before their rename.

    Only safe while holding whatever lock serialises writers of ``path``.
    """
    for temp in path.parent.glob(f".{path.name}.*.tmp"):
        temp.unlink(missing_ok=True)
