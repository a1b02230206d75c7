"""Atomic file writes: readers see the old file or the complete new one, never a partial write.

Used by everything that writes a user's file: checkpoints, plots, drawings and downloads.

The data goes first to a temporary file next to the target, named ``.{name}.{8 random characters}{suffix}``
(``.run.npz.k2x9_q0a.tmp`` for ``run.npz``), then is renamed over it. A writer killed outright (``kill -9``,
a power cut) cannot remove its temporary file; the next write of the same target removes it, and so can a
loader (``remove_stale_temps``). A temporary file still being written is never taken for a stale one: its
writer holds an exclusive lock on it (``flock``) until the rename, and the kernel drops that lock when the
writer dies, however it dies.
"""

import errno
import os
import re
import secrets
import stat
import time
from contextlib import contextmanager

try:
    import fcntl
except ImportError:  # Windows: no flock; stale files are recognised by age instead
    fcntl = None

__all__ = ["atomic_write", "remove_stale_temps", "check_writable", "is_temp_of"]

_RANDOM_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789_"  # tempfile's alphabet: no dot, so names cannot be confused
_RANDOM_LENGTH = 8
_STALE_AGE_WITHOUT_LOCKS = 24 * 3600.0  # seconds, where files cannot be locked


def _temp_name(name, suffix):
    return f".{name}.{''.join(secrets.choice(_RANDOM_CHARS) for _ in range(_RANDOM_LENGTH))}{suffix}"


def is_temp_of(filename, name, suffix=".tmp"):
    """Whether ``filename`` (a bare file name) is one of the temporary files ``atomic_write`` makes for the
    target file called ``name`` (a bare name too) with ``suffix``."""
    pattern = rf"\.{re.escape(name)}\.[{_RANDOM_CHARS}]{{{_RANDOM_LENGTH}}}{re.escape(suffix)}"
    return re.fullmatch(pattern, filename) is not None


def _split(path):
    folder, name = os.path.split(os.path.abspath(os.fspath(path)))
    return folder, name


def _lock(fd, blocking):
    """Take the exclusive lock of an open file; False if another open file holds it (``blocking=False``)."""
    if fcntl is None:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
    except BlockingIOError:
        return False
    except OSError as e:
        if e.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
            return True  # a file system without locks: nothing to hold, nothing to respect but age
        raise
    return True


def _create_temp(folder, name, suffix):
    """(fd, path) of a new, empty temporary file for target ``name`` in ``folder``, locked by this process."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0) \
        | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = os.path.join(folder, _temp_name(name, suffix))
        try:
            fd = os.open(tmp, flags, 0o600)
        except FileExistsError:
            continue
        try:
            _lock(fd, blocking=True)
            if os.fstat(fd).st_nlink == 0:
                # A cleaner took it for stale in the instant between its creation and the lock: start again.
                os.close(fd)
                continue
        except BaseException:
            os.close(fd)
            _unlink(tmp)
            raise
        return fd, tmp
    raise FileExistsError(errno.EEXIST, "no unused temporary file name", os.path.join(folder, f".{name}.*{suffix}"))


def _unlink(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def remove_stale_temps(path, suffix=".tmp"):
    """Remove the temporary files an interrupted ``atomic_write(path, suffix)`` left next to ``path``.

    Only regular files named as ``atomic_write`` names the temporary files of this very target
    (``.{name}.{8 random characters}{suffix}``), owned by this user and not locked by a live writer, are
    removed. Loaders call this before reading ``path``; every ``atomic_write`` calls it before writing.
    Never raises for a folder that cannot be listed or a file that cannot be removed. Returns the paths
    removed.
    """
    folder, name = _split(path)
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    uid = os.geteuid() if hasattr(os, "geteuid") else None
    for entry in entries:
        if not is_temp_of(entry.name, name, suffix):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if not stat.S_ISREG(info.st_mode) or (uid is not None and info.st_uid != uid):
                continue
            if _remove_if_stale(entry.path, info):
                removed.append(entry.path)
        except OSError:
            continue
    return removed


def _remove_if_stale(tmp, info):
    if fcntl is None:
        if time.time() - info.st_mtime < _STALE_AGE_WITHOUT_LOCKS:
            return False
        os.unlink(tmp)
        return True
    fd = os.open(tmp, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
                 | getattr(os, "O_CLOEXEC", 0))
    try:
        if not _lock(fd, blocking=False):
            return False  # a writer is still at work on it
        now = os.fstat(fd)
        if (now.st_dev, now.st_ino) != (info.st_dev, info.st_ino) or now.st_nlink == 0:
            return False  # renamed or replaced since it was listed
        try:
            current = os.lstat(tmp)
        except FileNotFoundError:
            return False
        if (current.st_dev, current.st_ino) != (now.st_dev, now.st_ino):
            return False
        os.unlink(tmp)  # while holding its lock: a writer that raced for it sees st_nlink == 0 and starts over
        return True
    finally:
        os.close(fd)


def check_writable(path, suffix=".tmp"):
    """Raise ``OSError`` (naming ``path``) unless ``atomic_write(path, suffix)`` can write ``path``.

    The probe does what the writer will do: it creates (and removes) a temporary file in the target's
    folder, so a read-only or special file system, a missing folder, a parent that is a file, or a folder
    without write permission all fail here, before any work. The target itself must not be a folder or a
    special file (a pipe, a device): renaming a file over those is never what was meant.
    """
    path = os.fspath(path)
    folder, name = _split(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        info = None
    except NotADirectoryError:
        raise NotADirectoryError(errno.ENOTDIR, "a parent of the path is a file, not a folder", path) from None
    if info is not None:
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(errno.EISDIR, "that is a folder; give a file name", path)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "not a regular file (a pipe, a device or a socket)", path)
    fd, tmp = _create_temp(folder, name, suffix)
    os.close(fd)
    os.unlink(tmp)


@contextmanager
def atomic_write(path, suffix=".tmp"):
    """Yield a binary file that replaces ``path`` when the block succeeds.

    The data goes to a temporary file in the same folder, flushed to disk, then renamed over ``path``
    (``os.replace`` is atomic). If the block raises (even KeyboardInterrupt), the temporary file is removed
    and ``path`` is untouched. A new file gets ordinary permissions (0o644 less the umask), an existing one
    keeps its own. Stale temporary files of ``path`` left by killed writers are removed first
    (``remove_stale_temps``).

    >>> with atomic_write("model.npz") as f:
    ...     np.savez(f, **arrays)
    """
    path = os.fspath(path)
    folder, name = _split(path)
    remove_stale_temps(path, suffix)
    fd, tmp = _create_temp(folder, name, suffix)
    try:
        try:
            mode = os.stat(path).st_mode & 0o777
        except OSError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o644 & ~umask  # 0o600 would make a picture only its owner can open
        os.chmod(tmp, mode)
        # The file object gets its own descriptor: the lock stays with ``fd`` until after the rename.
        with os.fdopen(os.dup(fd), "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        _unlink(tmp)
        raise
    finally:
        os.close(fd)
