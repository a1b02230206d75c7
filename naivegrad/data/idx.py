"""The IDX file format of MNIST, read strictly: a damaged file raises, it never becomes data.

An IDX file is: two zero bytes, a type code byte, a byte giving the number of dimensions d, then d
big-endian uint32 sizes, then the values in C order, big-endian. The MNIST files are served gzip-compressed;
``read_idx`` takes either form and tells them apart by the gzip magic bytes, not by the name.
"""

import gzip
import math
import os
import struct
import zlib

import numpy as np

__all__ = ["CorruptDataError", "read_idx", "parse_idx", "IDX_TYPES"]

# type code -> numpy dtype (big-endian where it matters), from the format's definition.
IDX_TYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

GZIP_MAGIC = b"\x1f\x8b"


class CorruptDataError(ValueError):
    """A data file is present but truncated, corrupt, or not the file its name says (the message says which)."""


def _is_gzip(raw):
    return raw[:2] == GZIP_MAGIC


def decompress(raw, path="<bytes>"):
    """The IDX bytes of a file's contents: gunzipped when ``raw`` starts with the gzip magic bytes."""
    if not _is_gzip(raw):
        return raw
    try:
        return gzip.decompress(raw)
    except EOFError:
        raise CorruptDataError(f"{path}: gzip stream ends early: the file is truncated") from None
    except (OSError, zlib.error) as e:  # gzip.BadGzipFile is an OSError: bad header, CRC or length
        raise CorruptDataError(f"{path}: corrupt gzip data ({e})") from None


def parse_idx(data, path="<bytes>"):
    """Decode uncompressed IDX bytes into a native-endian numpy array, checking every header field.

    >>> parse_idx(bytes([0, 0, 8, 1, 0, 0, 0, 2, 7, 9])).tolist()
    [7, 9]
    """
    if len(data) < 4:
        raise CorruptDataError(f"{path}: {len(data)} bytes is too short for an IDX header (needs at least 4)")
    if data[0] != 0 or data[1] != 0:
        raise CorruptDataError(
            f"{path}: not an IDX file: it starts with bytes {data[:2].hex()}, an IDX file starts with 0000"
        )
    code, ndim = data[2], data[3]
    if code not in IDX_TYPES:
        known = ", ".join(f"0x{c:02x}" for c in IDX_TYPES)
        raise CorruptDataError(f"{path}: unknown IDX type code 0x{code:02x} (known: {known})")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise CorruptDataError(f"{path}: truncated header: {ndim} dimensions need {header} bytes, file has {len(data)}")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    dtype = IDX_TYPES[code]
    # Python's exact integers: a crafted header's product of four 32-bit sizes would wrap around in int64.
    expected = header + math.prod(shape) * dtype.itemsize
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "has extra bytes after the data"
        raise CorruptDataError(
            f"{path}: {what}: header says shape {shape} of {dtype.name} ({expected} bytes in all), "
            f"the data holds {len(data)} bytes"
        )
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    # A writable native-endian copy: callers normalise in place, and numpy is fastest on native order.
    return array.astype(dtype.newbyteorder("="), copy=True)


def read_idx(path):
    """Read an IDX file, gzip-compressed or not, as a numpy array. Raises CorruptDataError naming the file.

    Example: ``read_idx("t10k-images-idx3-ubyte.gz")`` is a uint8 array of shape (10000, 28, 28).
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        raw = f.read()
    return parse_idx(decompress(raw, path), path)
