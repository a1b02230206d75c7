"""Atomic file writes: readers see the old file or the complete new one, never a partial write.

Used by everything that writes a user's file: checkpoints, plots, drawings and downloads.
"""

import os
import tempfile
from contextlib import contextmanager

__all__ = ["atomic_write"]


@contextmanager
def atomic_write(path, suffix=".tmp"):
    """Yield a binary file that replaces ``path`` when the block succeeds.

    The data goes to a temporary file in the same folder, flushed to disk, then renamed over ``path``
    (``os.replace`` is atomic). If the block raises (even KeyboardInterrupt), the temporary file is removed
    and ``path`` is untouched. A new file gets ordinary permissions (0o644 less the umask), an existing one
    keeps its own.

    >>> with atomic_write("model.npz") as f:
    ...     np.savez(f, **arrays)
    """
    path = os.fspath(path)
    folder, name = os.path.split(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=suffix, dir=folder)
    try:
        try:
            mode = os.stat(path).st_mode & 0o777
        except OSError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o644 & ~umask  # mkstemp's 0o600 would make a picture only its owner can open
        os.chmod(tmp, mode)
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
