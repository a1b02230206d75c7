"""mnist(): where it looks, what it checks, and how it downloads, all on tiny files the tests write.

No test here touches the network: ``isolated_data_env`` makes ``urllib.request.urlopen`` fail the test,
and the download tests replace it with an in-memory fake mirror.
"""

import gzip
import hashlib
import http.client
import io
import os
import socket
import urllib.error
import urllib.request

import numpy as np
import pytest

import naivegrad.data.mnist_files as mf
from naivegrad.data import CorruptDataError, cache_dir, mnist, mnist_t10k_split
from naivegrad.data.download import ChecksumError, download

pytestmark = pytest.mark.usefixtures("isolated_data_env")

TEST_FILES = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def folder_files(folder):
    """Every file under ``folder`` (hidden ones included), as sorted relative paths."""
    if not folder.exists():
        return []
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


# ------------------------------------------------------------------ reading a folder


@pytest.mark.parametrize("split", ["train", "test"])
@pytest.mark.parametrize("gz", [False, True])
def test_reads_a_split_under_the_original_names(kit, tmp_path, monkeypatch, split, gz):
    images, labels = kit.write_mnist(tmp_path / "d", split, n=7, gz=gz)
    if gz:  # tiny fake .gz files under known names: teach the table their size and md5
        prefix = "train" if split == "train" else "t10k"
        for kind in ("images-idx3", "labels-idx1"):
            path = tmp_path / "d" / f"{prefix}-{kind}-ubyte.gz"
            raw = path.read_bytes()
            monkeypatch.setitem(mf.KNOWN_FILES, path.name, (len(raw), hashlib.md5(raw).hexdigest()))
    x, y = mnist(split, data_dir=tmp_path / "d")
    assert x.dtype == np.uint8 and x.shape == (7, 28, 28)
    assert y.dtype == np.int64 and y.shape == (7,)
    np.testing.assert_array_equal(x, images)
    np.testing.assert_array_equal(y, labels)


def test_one_file_gzipped_the_other_plain(kit, tmp_path):
    images, labels = kit.fake_digits(4)
    kit.write_idx(tmp_path / "t10k-images-idx3-ubyte", images)
    # A .gz that is not one of the originals is still read (structure checks) when its name is unknown.
    kit.write_idx(tmp_path / "t10k-labels-idx1-ubyte", labels, gz=True)
    x, y = mnist("test", data_dir=tmp_path)
    np.testing.assert_array_equal(x, images)
    np.testing.assert_array_equal(y, labels)


def test_split_must_be_train_or_test():
    with pytest.raises(ValueError, match="split must be 'train' or 'test', got 'valid'"):
        mnist("valid")


# ------------------------------------------------------------------ search order


def test_search_order_data_dir_then_env_then_cache(kit, tmp_path, monkeypatch):
    from_arg = kit.write_mnist(tmp_path / "arg", n=3, seed=1)
    from_env = kit.write_mnist(tmp_path / "env", n=4, seed=2)
    from_cache = kit.write_mnist(cache_dir(), n=5, seed=3)
    monkeypatch.setenv("NAIVEGRAD_DATA", str(tmp_path / "env"))

    def got():
        return mnist("test", data_dir=tmp_path / "arg", download=False)

    np.testing.assert_array_equal(got()[0], from_arg[0])
    for name in TEST_FILES:  # data_dir without the files: the environment variable is next
        (tmp_path / "arg" / name).unlink()
    np.testing.assert_array_equal(got()[0], from_env[0])
    (tmp_path / "env" / TEST_FILES[1]).unlink()  # a folder with only half a split is skipped
    np.testing.assert_array_equal(got()[0], from_cache[0])
    np.testing.assert_array_equal(mnist("test")[1], from_cache[1])


def test_a_folder_may_hold_the_files_in_an_mnist_subfolder(kit, tmp_path, monkeypatch):
    images, _ = kit.write_mnist(tmp_path / "data" / "mnist", n=3)
    np.testing.assert_array_equal(mnist("test", data_dir=tmp_path / "data")[0], images)
    monkeypatch.setenv("NAIVEGRAD_DATA", str(tmp_path / "data"))
    np.testing.assert_array_equal(mnist("test")[0], images)


def test_cache_dir_follows_xdg_then_home(tmp_path, monkeypatch):
    assert cache_dir() == tmp_path / "xdg-cache" / "naivegrad" / "mnist"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_dir() == tmp_path / "home" / ".cache" / "naivegrad" / "mnist"


def test_a_corrupt_file_is_reported_not_skipped(kit, tmp_path, monkeypatch):
    # Good files further down the search path must not hide a damaged file the user pointed at.
    kit.write_mnist(tmp_path / "env", n=4)
    monkeypatch.setenv("NAIVEGRAD_DATA", str(tmp_path / "env"))
    kit.write_mnist(tmp_path / "arg", n=4)
    path = tmp_path / "arg" / TEST_FILES[0]
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(CorruptDataError, match=f"{path}: truncated"):
        mnist("test", data_dir=tmp_path / "arg")


# ------------------------------------------------------------------ what is checked


def test_images_and_labels_must_agree_in_count(kit, tmp_path):
    images, labels = kit.fake_digits(5)
    kit.write_idx(tmp_path / TEST_FILES[0], images)
    kit.write_idx(tmp_path / TEST_FILES[1], labels[:4])
    with pytest.raises(CorruptDataError, match="holds 5 images but .*t10k-labels-idx1-ubyte holds 4 labels"):
        mnist("test", data_dir=tmp_path)


@pytest.mark.parametrize("bad", [
    np.zeros((3, 27, 28), np.uint8),       # wrong image size
    np.zeros((3, 784), np.uint8),          # flattened
    np.zeros((3, 28, 28), np.float32),     # wrong type code
])
def test_images_must_be_uint8_28x28(kit, tmp_path, bad):
    kit.write_idx(tmp_path / TEST_FILES[0], bad)
    kit.write_idx(tmp_path / TEST_FILES[1], np.zeros(3, np.uint8))
    with pytest.raises(CorruptDataError, match=r"t10k-images-idx3-ubyte: expected uint8 images of shape \(N, 28, 28\)"):
        mnist("test", data_dir=tmp_path)


def test_labels_must_be_digits(kit, tmp_path):
    kit.write_idx(tmp_path / TEST_FILES[0], np.zeros((2, 28, 28), np.uint8))
    kit.write_idx(tmp_path / TEST_FILES[1], np.array([3, 10], np.uint8))
    with pytest.raises(CorruptDataError, match="labels must be digits 0..9, found 10"):
        mnist("test", data_dir=tmp_path)


def test_a_known_gz_of_the_wrong_size_is_rejected(kit, tmp_path):
    kit.write_mnist(tmp_path, n=3, gz=True)  # a valid gzip IDX, but not the original file
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    size = path.stat().st_size
    with pytest.raises(CorruptDataError, match=f"{path}: {size} bytes, the original .* has 1648877: truncated"):
        mnist("test", data_dir=tmp_path)


def test_a_known_gz_with_a_bad_checksum_is_rejected(kit, tmp_path, monkeypatch):
    kit.write_mnist(tmp_path, n=3, gz=True)
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    monkeypatch.setitem(mf.KNOWN_FILES, path.name, (path.stat().st_size, "0" * 32))
    with pytest.raises(CorruptDataError, match=f"{path}: md5 {hashlib.md5(path.read_bytes()).hexdigest()} does not match"):
        mnist("test", data_dir=tmp_path)


def test_plain_files_are_checked_by_structure(kit, tmp_path):
    kit.write_mnist(tmp_path, n=3)
    path = tmp_path / TEST_FILES[1]
    path.write_bytes(b"\x1f\x8b" + path.read_bytes()[2:])  # looks like gzip, is not
    with pytest.raises(CorruptDataError, match=f"{path}: (corrupt gzip data|gzip stream ends early)"):
        mnist("test", data_dir=tmp_path)


def test_mnist_t10k_split(kit, tmp_path):
    images, labels = kit.write_mnist(tmp_path, n=10)
    (xa, ya), (xb, yb) = mnist_t10k_split(tmp_path, n_train=7)
    np.testing.assert_array_equal(np.concatenate([xa, xb]), images)
    np.testing.assert_array_equal(np.concatenate([ya, yb]), labels)
    assert len(xa) == len(ya) == 7 and len(xb) == len(yb) == 3
    for bad in (0, 10, 2.5, True):
        with pytest.raises(ValueError, match=f"n_train must be an int in 1..9, got {bad}"):
            mnist_t10k_split(tmp_path, n_train=bad)


# ------------------------------------------------------------------ downloading (fake mirrors)


class FakeResponse:
    """What urlopen returns, enough for download(): read(n), headers, context manager."""

    def __init__(self, body, fail_after=None, error=None):
        self._body = io.BytesIO(body)
        self.headers = {"Content-Length": str(len(body))}
        self._fail_after, self._error = fail_after, error

    def read(self, n=-1):
        if self._fail_after is not None:
            if self._body.tell() >= self._fail_after:
                raise self._error
            n = min(n, self._fail_after - self._body.tell())
        return self._body.read(n)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class FakeNetwork:
    """urlopen over a dict url -> bytes (or -> exception to raise), recording every call."""

    def __init__(self, routes):
        self.routes, self.calls = routes, []

    def __call__(self, url, timeout=None):
        self.calls.append((url, timeout))
        target = self.routes.get(url, urllib.error.URLError("no route to host"))
        if isinstance(target, BaseException):
            raise target
        if callable(target):
            return target()
        return FakeResponse(target)


MIRROR_A, MIRROR_B = "https://mirror-a.invalid/mnist/", "https://mirror-b.invalid/mnist/"


@pytest.fixture
def served(kit, monkeypatch):
    """Tiny gzip t10k files a fake mirror serves, registered in the known-files table; returns name -> bytes."""
    images, labels = kit.fake_digits(6, seed=9)
    files = {
        "t10k-images-idx3-ubyte.gz": gzip.compress(kit.idx_bytes(images), mtime=0),
        "t10k-labels-idx1-ubyte.gz": gzip.compress(kit.idx_bytes(labels), mtime=0),
    }
    for name, body in files.items():
        monkeypatch.setitem(mf.KNOWN_FILES, name, (len(body), hashlib.md5(body).hexdigest()))
    monkeypatch.setattr(mf, "MIRRORS", [MIRROR_A, MIRROR_B])
    files["arrays"] = (images, labels)
    return files


def network(monkeypatch, routes):
    fake = FakeNetwork(routes)
    monkeypatch.setattr(urllib.request, "urlopen", fake)
    return fake


def names():
    return ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]


def test_download_into_the_cache_then_reuse_it(served, monkeypatch):
    fake = network(monkeypatch, {MIRROR_A + n: served[n] for n in names()})
    x, y = mnist("test", progress=False)
    np.testing.assert_array_equal(x, served["arrays"][0])
    np.testing.assert_array_equal(y, served["arrays"][1])
    assert [url for url, _ in fake.calls] == [MIRROR_A + n for n in names()]
    assert all(0 < timeout <= 30 for _, timeout in fake.calls)  # a short timeout, never "wait forever"
    assert folder_files(cache_dir()) == names()
    for n in names():
        assert (cache_dir() / n).read_bytes() == served[n]
    mnist("test")  # second time: from the cache, no network
    assert len(fake.calls) == 2


def test_only_the_missing_file_is_downloaded(served, monkeypatch):
    cache_dir().mkdir(parents=True)
    (cache_dir() / names()[1]).write_bytes(served[names()[1]])
    fake = network(monkeypatch, {MIRROR_A + n: served[n] for n in names()})
    mnist("test", progress=False)
    assert [url for url, _ in fake.calls] == [MIRROR_A + names()[0]]


def test_a_mirror_serving_a_bad_file_is_skipped_for_the_next(served, monkeypatch):
    routes = {MIRROR_B + n: served[n] for n in names()}
    routes[MIRROR_A + names()[0]] = served[names()[0]][:-1] + b"!"  # same size, wrong md5
    routes[MIRROR_A + names()[1]] = served[names()[1]][:20]          # short
    fake = network(monkeypatch, routes)
    x, _ = mnist("test", progress=False)
    np.testing.assert_array_equal(x, served["arrays"][0])
    assert len(fake.calls) == 4
    assert folder_files(cache_dir()) == names()


def test_bad_checksums_everywhere_keep_nothing(served, monkeypatch):
    bad = served[names()[0]][:-1] + b"!"
    network(monkeypatch, {m + names()[0]: bad for m in (MIRROR_A, MIRROR_B)})
    with pytest.raises(FileNotFoundError) as info:
        mnist("test", progress=False)
    message = str(info.value)
    assert f"{MIRROR_A}{names()[0]}: " in message and f"{MIRROR_B}{names()[0]}: " in message
    assert "md5" in message
    assert folder_files(cache_dir()) == []  # no partial file, no temporary file


def test_offline_says_which_files_go_where(served, tmp_path, monkeypatch):
    monkeypatch.setenv("NAIVEGRAD_DATA", str(tmp_path / "env"))
    fake = network(monkeypatch, {})  # every URL: URLError
    with pytest.raises(FileNotFoundError) as info:
        mnist("test", data_dir=tmp_path / "mine", progress=False)
    message = str(info.value)
    for n in names():
        assert f"    {n}\n" in message
    for folder, origin in ((tmp_path / "mine", "data_dir"), (tmp_path / "env", "$NAIVEGRAD_DATA"), (cache_dir(), "cache")):
        assert f"{folder}  [{origin}]" in message
    assert "data_dir=" in message and "NAIVEGRAD_DATA" in message and "could not be downloaded" in message
    assert "no route to host" in message
    # One unobtainable file is enough: the second is not tried on every mirror too.
    assert [url for url, _ in fake.calls] == [MIRROR_A + names()[0], MIRROR_B + names()[0]]
    assert folder_files(cache_dir()) == []


def test_offline_message_notes_half_present_folders(kit, served, tmp_path, monkeypatch):
    network(monkeypatch, {})
    kit.write_mnist(tmp_path / "half", n=2)
    (tmp_path / "half" / TEST_FILES[1]).unlink()
    with pytest.raises(FileNotFoundError, match=r"half  \[data_dir\] \(has only t10k-images-idx3-ubyte\)"):
        mnist("test", data_dir=tmp_path / "half", progress=False)


@pytest.mark.parametrize("error", [
    socket.timeout("timed out"),
    TimeoutError("timed out"),
    ConnectionResetError("reset by peer"),
    urllib.error.HTTPError("u", 403, "Forbidden", {}, None),
    http.client.IncompleteRead(b"abc", 10),
])
def test_errors_mid_download_leave_no_partial_file(served, monkeypatch, error):
    body = served[names()[0]]
    routes = {m + names()[0]: (lambda: FakeResponse(body, fail_after=len(body) // 2, error=error))
              for m in (MIRROR_A, MIRROR_B)}
    network(monkeypatch, routes)
    with pytest.raises(FileNotFoundError, match="could not be downloaded"):
        mnist("test", progress=False)
    assert folder_files(cache_dir()) == []


def test_ctrl_c_mid_download_leaves_no_partial_file(served, monkeypatch):
    body = served[names()[0]]
    network(monkeypatch, {MIRROR_A + names()[0]: lambda: FakeResponse(body, 10, KeyboardInterrupt())})
    with pytest.raises(KeyboardInterrupt):
        mnist("test", progress=False)
    assert folder_files(cache_dir()) == []


def test_download_false_never_opens_a_url(served, monkeypatch):
    fake = network(monkeypatch, {MIRROR_A + n: served[n] for n in names()})
    with pytest.raises(FileNotFoundError, match=r"'test' split not found \(download=False: no download tried\)\.\n"):
        mnist("test", download=False)
    assert fake.calls == []


def test_an_unwritable_cache_is_reported(served, tmp_path, monkeypatch):
    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file"))
    fake = network(monkeypatch, {MIRROR_A + n: served[n] for n in names()})
    with pytest.raises(FileNotFoundError, match="cannot create the cache folder"):
        mnist("test", progress=False)
    assert fake.calls == []


def test_download_function_checks_size_and_md5(tmp_path, monkeypatch):
    body = b"x" * 1000
    network(monkeypatch, {"https://h.invalid/f": body})
    target = tmp_path / "f"
    with pytest.raises(ChecksumError, match="received 1000 bytes, expected 999"):
        download("https://h.invalid/f", target, size=999, progress=False)
    with pytest.raises(ChecksumError, match=f"md5 {hashlib.md5(body).hexdigest()}, expected 0+"):
        download("https://h.invalid/f", target, md5="0" * 32, progress=False)
    assert os.listdir(tmp_path) == []
    download("https://h.invalid/f", target, md5=hashlib.md5(body).hexdigest(), size=1000, progress=False)
    assert target.read_bytes() == body
    assert os.listdir(tmp_path) == ["f"]


def test_data_dir_may_start_with_a_tilde(kit, tmp_path):
    images, _ = kit.write_mnist(tmp_path / "home" / "digits", n=2)
    np.testing.assert_array_equal(mnist("test", data_dir="~/digits")[0], images)


def test_a_folder_named_twice_is_listed_once(tmp_path, monkeypatch):
    monkeypatch.setenv("NAIVEGRAD_DATA", str(tmp_path / "d"))
    with pytest.raises(FileNotFoundError) as info:
        mnist("test", data_dir=tmp_path / "d", download=False)
    message = str(info.value)
    assert message.count(f"{tmp_path / 'd'}  [") == 1 and message.count(f"{tmp_path / 'd' / 'mnist'}  [") == 1
