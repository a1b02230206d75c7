"""How the ``naivegrad`` command fails: exit statuses, ``UsageError`` and its one-line messages, and the
checks of output paths made before any work starts."""

import os
import sys

from .._atomic import check_writable, is_temp_of

__all__ = ["UsageError", "EXIT_USAGE", "EXIT_INTERRUPTED", "fail", "one_line", "check_output_path", "os_error"]

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """Anything the user can fix: reported as one line on stderr, exit status 2."""


def one_line(text):
    """``text`` with every run of whitespace (newlines too) made one space."""
    return " ".join(str(text).split())


def fail(message, status=EXIT_USAGE):
    """Print ``message`` as one line on stderr; returns ``status``."""
    print(one_line(message), file=sys.stderr)
    return status


def check_output_path(option, path, suffixes=None):
    """``UsageError`` unless ``path`` (given with ``option``) can be written: its folder exists, it is not a
    folder or a special file, its name ends in one of ``suffixes`` (when given), and a file can be created
    next to it (probed as the atomic writer will write it: a read-only or special file system, or a folder
    without write permission, is refused here, before any work)."""
    if not path:  # "" would otherwise be the current folder (or, in a truth test, no path at all)
        raise UsageError(f"{option} '': give a file name, not an empty one")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        blocker = _file_on_the_way(folder)
        if blocker:
            raise UsageError(f"{option} {path}: {blocker} is a file, not a folder")
        raise UsageError(f"{option} {path}: the folder {folder} does not exist")
    if os.path.isdir(path):
        raise UsageError(f"{option} {path}: that is a folder; give a file name")
    if suffixes and not path.lower().endswith(suffixes):
        raise UsageError(f"{option} {path}: the file name must end in {' or '.join(suffixes)}")
    try:
        check_writable(path)
    except OSError as e:
        raise UsageError(f"{option} {path}: cannot write there: {os_error(e, path)}") from None


def os_error(e, path=None):
    """An ``OSError`` in a few words: its reason, and the file it names unless that is ``path`` (or one of
    the writer's temporary files, which mean nothing to the user)."""
    reason = e.strerror or str(e) or type(e).__name__
    name = e.filename
    if name is None or path is None:
        return reason
    name = os.fspath(name)
    folder, base = os.path.split(os.path.abspath(name))
    if os.path.abspath(name) == os.path.abspath(path):
        return reason
    if is_temp_of(base, os.path.basename(os.path.abspath(path))):
        return f"cannot create a file in {folder} ({reason})"
    return f"{reason}: {name}"


def _file_on_the_way(folder):
    """The nearest ancestor of ``folder`` that exists, if it is a file (else None)."""
    p = folder
    while p and not os.path.exists(p):
        parent = os.path.dirname(p)
        if parent == p:
            return None
        p = parent
    return p if os.path.exists(p) and not os.path.isdir(p) else None
