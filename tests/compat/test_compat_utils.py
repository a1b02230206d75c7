"""``naivegrad.utils``: the original's helpers. ``fetch_mnist`` on files the tests write (and on the real test
set when it is here), never on the network; ``mask_like``; ``initialize_layer_uniform``; ``im2col``/``col2im``."""

import gzip
import hashlib
import io
import urllib.request
import warnings

import numpy as np
import pytest
from compat_helpers import write_split

import naivegrad.data.mnist_files as mnist_files
from naivegrad.utils import col2im, fetch_mnist, im2col, initialize_layer_uniform, mask_like

pytestmark = pytest.mark.usefixtures("offline_env")


# ------------------------------------------------------------------ fetch_mnist


def test_full_set_in_a_folder(tmp_path):
    train = write_split(tmp_path / "d", "train", 12, seed=1)
    test = write_split(tmp_path / "d", "t10k", 5, seed=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the full set: nothing to warn about
        X_train, Y_train, X_test, Y_test = fetch_mnist(tmp_path / "d")
    for got, want in zip((X_train, Y_train, X_test, Y_test), (*train, *test)):
        assert got.dtype == np.uint8
        np.testing.assert_array_equal(got, want)
    assert X_train.shape == (12, 28, 28) and Y_test.shape == (5,)


def test_the_environment_variable_names_the_folder(tmp_path, monkeypatch):
    write_split(tmp_path / "env", "train", 3, seed=1)
    test = write_split(tmp_path / "env", "t10k", 2, seed=2)
    monkeypatch.setenv("NAIVEGRAD_DATA", str(tmp_path / "env"))
    np.testing.assert_array_equal(fetch_mnist()[2], test[0])


def test_only_the_test_set_splits_it_four_to_one_and_says_so(tmp_path):
    images, labels = write_split(tmp_path / "d", "t10k", 10, seed=3)
    with pytest.warns(UserWarning, match=r"only the MNIST test set.*first 8 of its 10 digits.*last 2"):
        X_train, Y_train, X_test, Y_test = fetch_mnist(tmp_path / "d")
    np.testing.assert_array_equal(X_train, images[:8])
    np.testing.assert_array_equal(Y_train, labels[:8])
    np.testing.assert_array_equal(X_test, images[8:])
    np.testing.assert_array_equal(Y_test, labels[8:])
    assert {a.dtype for a in (X_train, Y_train, X_test, Y_test)} == {np.dtype(np.uint8)}


def test_the_split_can_be_refused(tmp_path):
    write_split(tmp_path / "d", "t10k", 10, seed=3)
    with pytest.raises(FileNotFoundError, match="'train' split not found"):
        fetch_mnist(tmp_path / "d", test_split=False)


def test_nothing_anywhere_offline_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        fetch_mnist(tmp_path / "empty")
    text = str(info.value)
    assert "t10k-images-idx3-ubyte.gz" in text and "could not be downloaded" in text
    assert str(tmp_path / "empty") in text and "no network in the tests" in text


def test_download_false_never_touches_the_network(tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("network used")

    monkeypatch.setattr(urllib.request, "urlopen", fail)
    with pytest.raises(FileNotFoundError, match="download=False"):
        fetch_mnist(tmp_path / "empty", download=False)


class _Response(io.BytesIO):
    headers = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _mirror(tmp_path, monkeypatch, corrupt=()):
    """Serve four small gzip files under MNIST's names, and teach the checksum table their size and md5."""
    served = {}
    for prefix, n, seed in (("train", 6, 4), ("t10k", 3, 5)):
        data = write_split(tmp_path / "src", prefix, n, seed, gz=True)
        served[prefix] = data
        for kind in ("images-idx3", "labels-idx1"):
            name = f"{prefix}-{kind}-ubyte.gz"
            raw = (tmp_path / "src" / name).read_bytes()
            monkeypatch.setitem(mnist_files.KNOWN_FILES, name, (len(raw), hashlib.md5(raw).hexdigest()))
    urls = []

    def urlopen(url, timeout=None):
        urls.append(url)
        raw = (tmp_path / "src" / url.rsplit("/", 1)[1]).read_bytes()
        if any(url.endswith(c) for c in corrupt):
            raw = raw[:-1] + bytes([raw[-1] ^ 1])
        return _Response(raw)

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    return served, urls


def test_downloads_into_the_cache_with_checksums(tmp_path, monkeypatch):
    served, urls = _mirror(tmp_path, monkeypatch)
    X_train, Y_train, X_test, Y_test = fetch_mnist()
    np.testing.assert_array_equal(X_train, served["train"][0])
    np.testing.assert_array_equal(Y_test, served["t10k"][1])
    assert len(urls) == 4
    assert sorted(p.name for p in mnist_files.cache_dir().iterdir()) == sorted(
        f"{p}-{k}-ubyte.gz" for p in ("train", "t10k") for k in ("images-idx3", "labels-idx1"))
    fetch_mnist()  # the second time from the cache
    assert len(urls) == 4


def test_a_corrupt_download_is_not_kept(tmp_path, monkeypatch):
    _mirror(tmp_path, monkeypatch, corrupt=("train-labels-idx1-ubyte.gz",))
    with pytest.raises(FileNotFoundError, match="md5"):
        fetch_mnist(test_split=False)
    assert not (mnist_files.cache_dir() / "train-labels-idx1-ubyte.gz").exists()


def test_the_real_test_set_gives_the_projects_split(real_mnist_dir):
    with pytest.warns(UserWarning, match="first 8000 of its 10000"):
        X_train, Y_train, X_test, Y_test = fetch_mnist(real_mnist_dir)
    assert X_train.shape == (8000, 28, 28) and X_test.shape == (2000, 28, 28)
    assert Y_train.shape == (8000,) and Y_test.shape == (2000,)
    assert Y_train[:5].tolist() == [7, 2, 1, 0, 4]  # the t10k set's first digits
    assert X_train.dtype == Y_train.dtype == np.uint8


# ------------------------------------------------------------------ small helpers


def test_mask_like_puts_one_value_at_a_flat_index():
    like = np.zeros((2, 3), np.float32)
    m = mask_like(like, 4, 2.5)
    assert m.shape == (2, 3) and m.dtype == np.float32
    assert m[1, 1] == 2.5 and np.count_nonzero(m) == 1
    np.testing.assert_array_equal(mask_like(np.ones(3), 0), [1.0, 0.0, 0.0])


def test_initialize_layer_uniform_takes_any_number_of_sizes():
    np.random.seed(5)
    w = initialize_layer_uniform(8, 1, 5, 5)
    np.random.seed(5)
    expected = (np.random.uniform(-1.0, 1.0, size=(8, 1, 5, 5)) / np.sqrt(200)).astype(np.float32)
    assert w.shape == (8, 1, 5, 5) and w.dtype == np.float32
    np.testing.assert_array_equal(w, expected)


def _patches(x, H, W):
    """Every H x W patch of x, in the order (output row, output column, sample), flattened per patch."""
    n, _, rows, cols = x.shape
    out = []
    for oy in range(rows - H + 1):
        for ox in range(cols - W + 1):
            for i in range(n):
                out.append(x[i, :, oy:oy + H, ox:ox + W].ravel())
    return np.array(out)


def test_im2col_lays_out_patches_row_by_row():
    x = np.random.default_rng(0).standard_normal((2, 3, 5, 4)).astype(np.float32)
    cols = im2col(x, 3, 2)
    assert cols.shape == (3 * 3 * 2, 3 * 3 * 2) and cols.dtype == np.float32
    np.testing.assert_array_equal(cols, _patches(x, 3, 2))


def test_col2im_adds_patches_back_where_they_came_from():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 5, 4))
    cols = rng.standard_normal((3 * 3 * 2, 3 * 3 * 2))
    # col2im is the transpose of im2col: <im2col(x), cols> == <x, col2im(cols)>
    np.testing.assert_allclose(np.sum(im2col(x, 3, 2) * cols), np.sum(x * col2im(cols, 3, 2, 5, 4)), rtol=1e-12)
    counts = col2im(np.ones((18, 18)), 3, 2, 5, 4)  # how many patches cover each pixel
    assert counts.shape == (2, 3, 5, 4)
    assert counts[0, 0, 0, 0] == 1 and counts[0, 0, 2, 1] == 3 * 2
