"""The real 10,000-image MNIST test set in ../shared/data/mnist, checked against an independent decoder.

Skipped where that folder is absent (a user's machine). The files are read-only there: damaged copies go
to tmp_path.
"""

import gzip
import hashlib
import shutil

import numpy as np
import pytest

from naivegrad.data import CorruptDataError, mnist, mnist_t10k_split

pytestmark = pytest.mark.usefixtures("isolated_data_env")

IMAGES, LABELS = "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"


def independent_decode(path, header_ints):
    """gzip + numpy only: big-endian int32 header fields, then the uint8 payload."""
    raw = gzip.open(path).read()
    header = np.frombuffer(raw[: 4 * header_ints], dtype=">i4")
    return header, np.frombuffer(raw, dtype=np.uint8, offset=4 * header_ints)


@pytest.fixture(scope="module")
def reference(real_mnist_dir):
    """The test set as (images, labels), decoded without naivegrad."""
    head_i, pixels = independent_decode(real_mnist_dir / IMAGES, 4)
    head_l, labels = independent_decode(real_mnist_dir / LABELS, 2)
    assert head_i.tolist() == [2051, 10000, 28, 28] and head_l.tolist() == [2049, 10000]
    return pixels.reshape(10000, 28, 28), labels


def test_loads_the_10000_test_digits(real_mnist_dir, reference):
    images, labels = mnist("test", data_dir=real_mnist_dir)
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10000,) and labels.dtype == np.int64
    np.testing.assert_array_equal(images, reference[0])
    np.testing.assert_array_equal(labels, reference[1])
    assert labels[0] == reference[1][0] == 7  # the first test digit is a 7
    assert images.min() == 0 and images.max() == 255
    assert np.bincount(labels, minlength=10).min() > 800  # every digit, roughly a tenth each


def test_through_the_environment_variable_and_its_mnist_subfolder(real_mnist_dir, reference, monkeypatch):
    monkeypatch.setenv("NAIVEGRAD_DATA", str(real_mnist_dir.parent))
    _, labels = mnist("test")
    np.testing.assert_array_equal(labels, reference[1])


def test_the_project_split(real_mnist_dir, reference):
    (x_train, y_train), (x_held, y_held) = mnist_t10k_split(real_mnist_dir)
    assert x_train.shape == (8000, 28, 28) and x_held.shape == (2000, 28, 28)
    np.testing.assert_array_equal(x_train, reference[0][:8000])
    np.testing.assert_array_equal(y_held, reference[1][8000:])


def test_decompressed_copies_load_the_same(real_mnist_dir, reference, tmp_path):
    for name in (IMAGES, LABELS):
        (tmp_path / name[:-3]).write_bytes(gzip.open(real_mnist_dir / name).read())
    images, labels = mnist("test", data_dir=tmp_path)
    np.testing.assert_array_equal(images, reference[0])
    np.testing.assert_array_equal(labels, reference[1])


def test_a_truncated_copy_is_rejected(real_mnist_dir, tmp_path):
    shutil.copy(real_mnist_dir / LABELS, tmp_path / LABELS)
    raw = (real_mnist_dir / IMAGES).read_bytes()
    (tmp_path / IMAGES).write_bytes(raw[:-1000])
    with pytest.raises(CorruptDataError, match=f"{IMAGES}: {len(raw) - 1000} bytes, the original .* has {len(raw)}: truncated"):
        mnist("test", data_dir=tmp_path)


def test_a_flipped_byte_is_rejected(real_mnist_dir, tmp_path):
    shutil.copy(real_mnist_dir / LABELS, tmp_path / LABELS)
    raw = bytearray((real_mnist_dir / IMAGES).read_bytes())
    raw[len(raw) // 2] ^= 0x01
    (tmp_path / IMAGES).write_bytes(bytes(raw))
    with pytest.raises(CorruptDataError, match=f"md5 {hashlib.md5(raw).hexdigest()} does not match the original {IMAGES}"):
        mnist("test", data_dir=tmp_path)


def test_no_train_files_here_and_no_network(real_mnist_dir):
    with pytest.raises(FileNotFoundError, match=r"(?s)'train' split not found .*train-images-idx3-ubyte\.gz"):
        mnist("train", data_dir=real_mnist_dir, download=False)
