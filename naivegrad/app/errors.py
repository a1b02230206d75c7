"""How the ``naivegrad`` command fails: exit statuses, ``UsageError`` and its one-line messages, and the
checks of output paths made before any work starts."""

import os
import sys

__all__ = ["UsageError", "EXIT_USAGE", "EXIT_INTERRUPTED", "fail", "one_line", "check_output_path"]

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
    """``UsageError`` unless ``path`` (given with ``option``) can be a new file: its folder exists, it is not
    a folder itself, and its name ends in one of ``suffixes`` (when given)."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UsageError(f"{option} {path}: the folder {folder} does not exist")
    if os.path.isdir(path):
        raise UsageError(f"{option} {path}: that is a folder; give a file name")
    if suffixes and not path.lower().endswith(suffixes):
        raise UsageError(f"{option} {path}: the file name must end in {' or '.join(suffixes)}")
