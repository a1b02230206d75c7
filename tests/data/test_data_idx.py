"""The IDX reader against files written by the tests' own encoder: round trips, and every kind of damage."""

import gzip

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from naivegrad.data import CorruptDataError, read_idx

DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("idx")


@settings(deadline=None)
@given(
    data=st.data(),
    dtype=st.sampled_from(DTYPES),
    shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=5),
    gz=st.booleans(),
    name=st.sampled_from(["a.idx", "b.gz", "c-idx3-ubyte"]),
)
def test_round_trip_any_type_shape_and_compression(kit, folder, data, dtype, shape, gz, name):
    array = data.draw(hnp.arrays(dtype, shape, elements={"allow_nan": False} if dtype in (np.float32, np.float64) else None))
    # Compression is told by the content, not the name: "b.gz" may be plain and "a.idx" gzipped.
    path = kit.write_idx(folder / name, array, gz=gz)
    out = read_idx(path)
    assert out.shape == array.shape
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative
    np.testing.assert_array_equal(out, array)
    out[...] = 0  # a writable array of its own, not a view of the file's bytes


def test_plain_and_gzip_give_the_same_array(kit, tmp_path):
    images, _ = kit.fake_digits(3)
    a = read_idx(kit.write_idx(tmp_path / "x-idx3-ubyte", images))
    b = read_idx(kit.write_idx(tmp_path / "x-idx3-ubyte.gz", images))
    np.testing.assert_array_equal(a, images)
    np.testing.assert_array_equal(b, images)


def write(tmp_path, name, data, gz=False):
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


@pytest.mark.parametrize("gz", [False, True])
def test_truncated_data(kit, tmp_path, gz):
    data = kit.idx_bytes(np.arange(24, dtype=np.uint8).reshape(2, 3, 4))
    path = write(tmp_path, "short.idx", data[:-1], gz)
    with pytest.raises(CorruptDataError, match=r"short\.idx: truncated: header says shape \(2, 3, 4\) of uint8 \(40 bytes"):
        read_idx(path)


def test_extra_bytes_after_the_data(kit, tmp_path):
    path = write(tmp_path, "long.idx", kit.idx_bytes(np.zeros(5, np.uint8)) + b"\0")
    with pytest.raises(CorruptDataError, match=r"long\.idx: has extra bytes after the data.*holds 14 bytes"):
        read_idx(path)


def test_wrong_element_size_counts(kit, tmp_path):
    # An int32 header over uint8-sized data: the length check uses the item size of the type code.
    data = kit.idx_bytes(np.zeros(6, np.uint8), code=0x0C)
    with pytest.raises(CorruptDataError, match=r"truncated: header says shape \(6,\) of int32 \(32 bytes"):
        read_idx(write(tmp_path, "t.idx", data))


@pytest.mark.parametrize("start", [b"\x08\x03", b"\x00\x01", b"PK"])
def test_wrong_magic(kit, tmp_path, start):
    data = start + kit.idx_bytes(np.zeros(4, np.uint8))[2:]
    with pytest.raises(CorruptDataError, match=f"magic.idx: not an IDX file: it starts with bytes {start.hex()}"):
        read_idx(write(tmp_path, "magic.idx", data))


def test_unknown_type_code(kit, tmp_path):
    data = kit.idx_bytes(np.zeros(4, np.uint8), code=0x0A)
    with pytest.raises(CorruptDataError, match="code.idx: unknown IDX type code 0x0a"):
        read_idx(write(tmp_path, "code.idx", data))


@pytest.mark.parametrize("cut", [0, 3, 9])
def test_truncated_header(kit, tmp_path, cut):
    data = kit.idx_bytes(np.zeros((2, 2, 2), np.uint8))[:cut]
    with pytest.raises(CorruptDataError, match="head.idx: .*(too short|truncated header)"):
        read_idx(write(tmp_path, "head.idx", data))


def test_truncated_gzip_stream(kit, tmp_path):
    gz = gzip.compress(kit.idx_bytes(np.arange(1000, dtype=np.int32)))
    path = write(tmp_path, "cut.gz", gz[: len(gz) // 2])
    with pytest.raises(CorruptDataError, match=r"cut\.gz: gzip stream ends early: the file is truncated"):
        read_idx(path)


def test_corrupt_gzip_stream(kit, tmp_path):
    gz = bytearray(gzip.compress(kit.idx_bytes(np.arange(1000, dtype=np.int32))))
    gz[-6] ^= 0xFF  # inside the CRC-32 / length trailer: decompression "succeeds" but the check fails
    with pytest.raises(CorruptDataError, match=r"bad\.gz: corrupt gzip data"):
        read_idx(write(tmp_path, "bad.gz", bytes(gz)))
    gz = bytearray(gzip.compress(kit.idx_bytes(np.arange(1000, dtype=np.int32))))
    gz[len(gz) // 2] ^= 0xFF
    with pytest.raises(CorruptDataError, match=r"bad2\.gz: (corrupt gzip data|gzip stream ends early)"):
        read_idx(write(tmp_path, "bad2.gz", bytes(gz)))


def test_every_kind_of_damage_reaches_a_caller_that_handles_value_errors(kit, tmp_path):
    """Callers handle bad data with ``except ValueError`` (the command line turns it into one line, exit 2):
    whatever the damage, the reader's error must land there, naming the file, with no chained gzip/numpy error."""
    good = kit.idx_bytes(np.arange(1000, dtype=np.int32))
    crc = bytearray(gzip.compress(good))
    crc[-6] ^= 0xFF
    damaged = {
        "empty.idx": b"", "magic.idx": b"PK\x03\x04" + good[4:], "head.idx": good[:6], "short.idx": good[:-4],
        "long.idx": good + b"\0", "code.idx": good[:2] + b"\x0a" + good[3:],
        "cut.gz": gzip.compress(good)[:40], "crc.gz": bytes(crc),
    }
    for name, data in damaged.items():
        try:
            read_idx(write(tmp_path, name, data))
        except ValueError as e:
            assert name in str(e), (name, str(e))
            shown = e.__cause__ or (None if e.__suppress_context__ else e.__context__)
            assert shown is None, f"{name}: a {type(shown).__name__} chained to the message"
        else:
            pytest.fail(f"{name}: read without an error")
