"""StrictModes for the vault, after OpenSSH's (sshd_config(5) ``StrictModes``, ``safe_path``
in its misc.c): before the vault reads or stores a secret, no one but this user (or root) can
change where it lives, and no one else can read the key.

- The state directory, resolved (a symlink to it is followed, as realpath(3) does), and every
  directory above it: owned by this user or root, and not writable by group or others. A
  sticky parent (``/tmp``) may be world-writable: others cannot rename or remove what is ours
  in it. The state directory itself may not.
- The vault's own directories (``vault/`` and those in it): clawgate made them, so a symbolic
  link there is not followed; owned by this user or root, not writable by group or others.
- The key file: a regular file, never followed through a link, owned by this user and open
  to no one else (0600; OpenSSH refuses a private key "accessible by others" alike).
- Lock files: never a link (filelock opens them ``O_NOFOLLOW``; a loop would be an ELOOP).

Each refusal is one `UnsafePath`: one line naming the path, what is wrong and its mode, and
the exact command that fixes it. Nothing is tightened silently: a directory that others could
write may already hold what they put there.
"""

from __future__ import annotations

import errno
import os
import pwd
import shlex
import stat
from collections.abc import Callable
from pathlib import Path

import filelock

from clawgate.fileio import UnsafeFile
from clawgate.vault._errors import UnsafePath

__all__ = ["check_dirs", "check_key_file", "check_lock_path", "link_refused", "take"]

VAULT_DIRS = ("profiles", "meta", "locks", "secrets")
_WHY = "clawgate keeps no secrets where another user could change them"


def _q(path: Path) -> str:
    return shlex.quote(str(path))


def _user(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _who(bits: int) -> str:
    group, other = bits & 0o070, bits & 0o007
    return "its group and others" if group and other else "its group" if group else "others"


def _trusted(uid: int) -> bool:
    return uid in (os.getuid(), 0)


def _foreign(role: str, path: Path, uid: int) -> UnsafePath:
    return UnsafePath(
        f"{role} {path} belongs to {_user(uid)} (uid {uid}), not to {_user(os.getuid())}: {_WHY}",
        fix=f"chown {_user(os.getuid())} {_q(path)}",
    )


def _writable(role: str, path: Path, mode: int, fix: str) -> UnsafePath:
    return UnsafePath(
        f"{role} {path} is writable by {_who(mode & 0o022)} (mode {mode:o}): {_WHY}",
        fix=f"{fix} {_q(path)}",
    )


def check_dirs(vault_dir: Path) -> None:
    """The state directory and its parents, then the vault's own directories (which need not
    exist yet); `UnsafePath` for the first one that others could change. (Plain strings, not
    Paths: every write runs this, and pathlib would be most of its cost.)"""
    _check_chain(os.path.realpath(vault_dir.parent))
    own = os.fspath(vault_dir)
    for directory in (own, *(os.path.join(own, name) for name in VAULT_DIRS)):
        _check_own(directory)


def _check_chain(here: str) -> None:
    mine = True
    while True:
        role = "the state directory" if mine else "a parent of the state directory"
        try:
            st = os.stat(here)
        except FileNotFoundError:  # not made yet: its nearest existing parent decides
            here, mine = os.path.dirname(here), False
            continue
        except OSError as exc:  # a loop of links, a file where a directory should be
            raise UnsafePath(
                f"{role} {here} cannot be used: {exc.strerror}",
                fix="set CLAWGATE_STATE_DIR to a directory of yours",
            ) from None
        if not stat.S_ISDIR(st.st_mode):
            raise UnsafePath(
                f"{role} {here} is not a directory",
                fix="set CLAWGATE_STATE_DIR to a directory of yours",
            )
        if not _trusted(st.st_uid):
            raise _foreign(role, Path(here), st.st_uid)
        mode = stat.S_IMODE(st.st_mode)
        if mode & 0o022 and (mine or not mode & stat.S_ISVTX):
            raise _writable(role, Path(here), mode, "chmod 700" if mine else "chmod go-w")
        parent = os.path.dirname(here)
        if parent == here:
            return
        here, mine = parent, False


def _check_own(directory: str) -> None:
    try:
        st = os.lstat(directory)
    except FileNotFoundError:
        return
    role = "the vault directory"
    if stat.S_ISLNK(st.st_mode):
        raise UnsafePath(
            f"{role} {directory} is a symbolic link: clawgate follows no link it did not make "
            "to where it keeps secrets",
            fix=f"put the directory itself at {directory}, not a link to it",
        )
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafePath(
            f"{role} {directory} is not a directory", fix=f"move {directory} out of the vault"
        )
    if not _trusted(st.st_uid):
        raise _foreign(role, Path(directory), st.st_uid)
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o022:
        raise _writable(role, Path(directory), mode, "chmod 700")


def check_key_file(path: Path, st: os.stat_result) -> None:
    """The key file, as opened (``st`` is its fstat): this user's, open to no one else."""
    if st.st_uid != os.getuid():
        raise _foreign("the vault key file", path, st.st_uid)
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o077:
        verb = "read" if mode & 0o044 else "changed"
        raise UnsafePath(
            f"the vault key file {path} can be {verb} by {_who(mode & 0o077)} (mode {mode:o}): "
            "whoever can read it can decrypt every stored credential",
            fix=f"chmod 600 {_q(path)}",
        )


def link_refused(role: str, exc: UnsafeFile, fix: str) -> UnsafePath:
    """``role`` (the key file, a lock file) is a link or not a file at all: `UnsafePath`."""
    return UnsafePath(
        f"{role} {exc.path} is {exc.what}: clawgate opens no secret or lock through a link",
        fix=fix,
    )


def check_lock_path(path: Path) -> None:
    """A lock is taken only on a regular file clawgate made (or on nothing yet)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISREG(st.st_mode):
        raise _lock_refused(path, st.st_mode)


def _lock_refused(path: Path, mode: int) -> UnsafePath:
    link = stat.S_ISLNK(mode)
    what = "a symbolic link" if link else "not a regular file"
    # A lock file holds nothing: removing what is there loses nothing.
    fix = f"rm {_q(path)}" if link else f"remove {path}"
    return link_refused("the lock file", UnsafeFile(path, what), fix=fix)


def take(lock: filelock.BaseFileLock, busy: Callable[[], Exception]) -> None:
    """Acquire ``lock``: ``busy()`` when its wait runs out, `UnsafePath` when a link was put
    at its path after `check_lock_path` (filelock's O_NOFOLLOW open says ELOOP)."""
    try:
        lock.acquire()
    except filelock.Timeout:
        raise busy() from None
    except OSError as exc:
        if exc.errno not in (errno.ELOOP, errno.EMLINK):
            raise
        raise _lock_refused(Path(lock.lock_file), stat.S_IFLNK) from None
