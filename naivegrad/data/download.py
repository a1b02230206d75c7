"""Fetch one file over HTTP(S) into a folder, safely: verified before it gets its name, never left half-written.

The bytes go to a hidden temporary file in the destination folder; only when the size and md5 match is it
renamed (atomically, ``os.replace``) to its final name. Any failure deletes the temporary file. The opener
is ``urllib.request.urlopen``, looked up at call time, so tests can replace it without a network.
"""

import hashlib
import os
import urllib.request

from tqdm import tqdm

from .._atomic import atomic_write

__all__ = ["download", "ChecksumError", "TIMEOUT"]

TIMEOUT = 10.0   # seconds per connect and per read: an offline machine should fail fast, not hang
_CHUNK = 1 << 16


class ChecksumError(OSError):
    """A downloaded file's size or md5 is not the expected one (the file was not kept)."""


def download(url, path, md5=None, size=None, *, timeout=TIMEOUT, progress=True):
    """Download ``url`` to ``path``; with ``md5``/``size`` given, keep it only if both match.

    Network errors propagate (``urllib.error.URLError``, ``TimeoutError``, ...); a mismatch raises
    ``ChecksumError`` saying what differed. Either way nothing is left at ``path`` or in its folder.

    Example: ``download(url, "cache/file.gz", md5="9fb6...", size=1648877)`` returns the path it wrote.
    """
    name = os.path.basename(os.fspath(path))
    # atomic_write removes the partial file on any error, a Ctrl-C mid-download and a bad checksum included.
    with atomic_write(path, suffix=".part") as out, urllib.request.urlopen(url, timeout=timeout) as response:
        h = hashlib.md5()
        received = 0
        length = response.headers.get("Content-Length") if getattr(response, "headers", None) else None
        total = size if size is not None else (int(length) if length and length.isdigit() else None)
        # disable=None: tqdm shows the bar on a terminal and stays quiet in logs and under pytest.
        with tqdm(total=total, desc=name, unit="B", unit_scale=True, unit_divisor=1024,
                  leave=False, disable=None if progress else True) as bar:
            while True:
                chunk = response.read(_CHUNK)
                if not chunk:
                    break
                out.write(chunk)
                h.update(chunk)
                received += len(chunk)
                bar.update(len(chunk))
        if size is not None and received != size:
            raise ChecksumError(f"received {received} bytes, expected {size}")
        if md5 is not None and h.hexdigest() != md5:
            raise ChecksumError(f"md5 {h.hexdigest()}, expected {md5}")
    return path
