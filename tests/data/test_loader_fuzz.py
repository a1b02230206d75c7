"""Differential fuzzing of naivegrad.data's DataLoader against torch.utils.data, and of the datasets' contracts.

The loader is run next to ``torch.utils.data.DataLoader`` over a map-style dataset of the same numpy rows
(so torch's default collate makes its batches) for 0 to 50 samples, batch sizes 1 to 60, shuffle and drop_last
on and off, over several epochs: the number of batches, every batch's size, shape and dtype (features of
several shapes and dtypes, float32/float64/int64/... labels), and without shuffling every batch's contents must
agree; with shuffling every epoch must hold each sample once (all but the dropped tail with drop_last), and the
rows of every array must stay aligned. Then random interleavings of several iterators of one loader, the
argument errors, the generated datasets under every option, and IDX/MNIST files cut or damaged anywhere.

Differences from PyTorch left out on purpose (each is asserted below, so a change is noticed):

- Batches are numpy arrays (one fresh array per input array, of the input's dtype), not Tensors; torch's
  default collate gives tensors of the same shapes and dtypes.
- The shuffled order comes from numpy (``SeedSequence(seed, spawn_key=(epoch,))``), so it is not torch's
  permutation for the same seed: only the structure of shuffled batches is compared.
- A loader over 0 samples, and ``drop_last=True`` with ``batch_size`` > the number of samples, raise
  ValueError: an epoch without batches would make a ``while step < steps: for b in loader`` loop spin forever.
  torch builds such a loader with ``len() == 0`` (but refuses 0 samples with ``shuffle=True`` too).
- The loader holds one position (it is resumable from ``state_dict()``), so a new iterator continues where
  the previous stopped and retires it: advancing the older iterator raises RuntimeError. torch gives every
  iterator its own fresh epoch (``zip(loader, loader)`` pairs equal batches; here it raises).
- ``batch_size=None`` (torch: no batching) is a TypeError, and numpy integers are accepted as batch sizes
  (torch's BatchSampler refuses anything but a Python int). Features and labels of different lengths raise
  ValueError naming the lengths (torch's TensorDataset: an AssertionError "Size mismatch").
- ``train_val_test_split`` (the names corpus's random_split) shuffles with Python's ``random`` (makemore's
  split) and cuts at ``int(f0 * n)`` and ``int((f0 + f1) * n)``, so the test part takes the remainder; torch's
  ``random_split`` hands the remainder out one item per part from the first. When every fraction times n is
  whole, naivegrad gives exactly those lengths; torch floors float products, so (0.05, 0.6, 0.35) of 20 items
  is 2 / 12 / 6 there (0.6000000000000001 * 20 and 0.34999999999999987 * 20), 1 / 12 / 7 here.

The regression tests at the end pin the discrepancies this fuzzing found.
"""

import gzip
import re
import warnings
from itertools import islice

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from naivegrad.data import (CorruptDataError, DataLoader, blobs, circles, mnist, moons, read_idx, spirals,
                            train_val_test_split)

torch = pytest.importorskip("torch")
from torch.utils.data import DataLoader as TorchLoader  # noqa: E402  (after the importorskip)

FEATURE_DTYPES = [np.float32, np.float64, np.int64, np.uint8]
LABEL_DTYPES = [np.float32, np.float64, np.int64, np.int32, np.bool_]
FEATURE_SHAPES = [(), (3,), (2, 3)]


def torch_dtype(dtype):
    """The torch dtype that torch's collate gives numpy data of ``dtype``."""
    return torch.from_numpy(np.zeros(1, dtype)).dtype


def data_for(n, feature_shape, feature_dtype, label_dtype):
    """Features, labels and sample ids (the ids tell which rows a batch holds)."""
    X = (np.arange(n * int(np.prod(feature_shape, dtype=int))) % 97).astype(feature_dtype)
    X = X.reshape((n, *feature_shape))
    y = (np.arange(n) % 3).astype(label_dtype)
    return X, y, np.arange(n)


def torch_batches(loader):
    """One epoch of a torch loader as tuples of numpy arrays."""
    return [tuple(t.numpy() for t in batch) for batch in loader]


# ---------------------------------------------------------------------------------------------- loader vs torch
loader_cases = st.fixed_dictionaries({
    "n": st.integers(0, 50),
    "batch_size": st.integers(1, 60),
    "shuffle": st.booleans(),
    "drop_last": st.booleans(),
    "epochs": st.integers(1, 3),
    "seed": st.integers(0, 2**32),
    "feature_shape": st.sampled_from(FEATURE_SHAPES),
    "feature_dtype": st.sampled_from(FEATURE_DTYPES),
    "label_dtype": st.sampled_from(LABEL_DTYPES),
})


@settings(deadline=None)
@given(c=loader_cases)
def test_batches_match_torch(c):
    n, bs, shuffle, drop_last = c["n"], c["batch_size"], c["shuffle"], c["drop_last"]
    X, y, ids = data_for(n, c["feature_shape"], c["feature_dtype"], c["label_dtype"])
    rows = [(X[i], y[i], ids[i]) for i in range(n)]  # a map-style dataset of numpy rows: torch's collate
    make_theirs = lambda: TorchLoader(rows, batch_size=bs, shuffle=shuffle, drop_last=drop_last,  # noqa: E731
                                      generator=torch.Generator().manual_seed(c["seed"]))
    if n == 0 and shuffle:  # both refuse: torch's RandomSampler wants at least one sample
        with pytest.raises(ValueError, match="num_samples=0"):
            make_theirs()
        with pytest.raises(ValueError, match="0 samples"):
            DataLoader(X, y, ids, batch_size=bs, shuffle=shuffle, drop_last=drop_last, seed=c["seed"])
        return
    theirs = make_theirs()
    if n == 0 or (drop_last and bs > n):
        # Deliberate: no loader without batches (torch: an empty one).
        assert len(theirs) == 0 and list(theirs) == []
        with pytest.raises(ValueError, match="0 samples" if n == 0 else f"batch_size={bs} > {n} samples"):
            DataLoader(X, y, ids, batch_size=bs, shuffle=shuffle, drop_last=drop_last, seed=c["seed"])
        return
    ours = DataLoader(X, y, ids, batch_size=bs, shuffle=shuffle, drop_last=drop_last, seed=c["seed"])
    assert len(ours) == len(theirs)
    kept = n - n % bs if drop_last else n
    orders = []
    for epoch in range(c["epochs"]):
        got, want = list(ours), torch_batches(theirs)
        assert ours.epoch == epoch + 1 and ours.batch_index == 0
        assert [len(b[0]) for b in got] == [len(b[0]) for b in want]
        for g, w in zip(got, want):
            for a, t in zip(g, w):
                assert isinstance(a, np.ndarray) and a.shape == t.shape
                assert torch_dtype(a.dtype) == torch_dtype(t.dtype)
            xb, yb, ib = g  # the arrays stay aligned: row k of every array is sample ib[k]
            np.testing.assert_array_equal(xb, X[ib])
            np.testing.assert_array_equal(yb, y[ib])
            if not shuffle:
                for a, t in zip(g, w):
                    np.testing.assert_array_equal(a, t)
        order = np.concatenate([b[2] for b in got])
        assert len(order) == kept and len(set(order.tolist())) == kept  # each sample at most once
        if not drop_last:
            assert sorted(order.tolist()) == list(range(n))
        orders.append(order.tolist())
    if shuffle and kept >= 10:  # 10! orders: two epochs agreeing by chance is negligible
        assert all(a != b for k, a in enumerate(orders) for b in orders[:k])
    # The same seed reproduces every epoch, in a fresh loader.
    again = DataLoader(X, y, ids, batch_size=bs, shuffle=shuffle, drop_last=drop_last, seed=c["seed"])
    assert [np.concatenate([b[2] for b in again]).tolist() for _ in orders] == orders


@settings(deadline=None)
@given(n=st.integers(1, 30), batch_size=st.integers(1, 12), shuffle=st.booleans(), seed=st.integers(0, 2**32),
       ops=st.lists(st.tuples(st.sampled_from(["iter", "next"]), st.integers(0, 3)), max_size=40))
def test_interleaved_iterators_hand_out_the_uninterrupted_stream(n, batch_size, shuffle, seed, ops):
    """Any mix of new iterators and next() on old ones: the batches handed out are exactly those of one
    uninterrupted run; the newest iterator stops at its epoch's end; an older one raises when advanced (unless
    it had already handed out its epoch's last batch, then it is simply exhausted)."""
    make = lambda: DataLoader(np.arange(n), batch_size=batch_size, shuffle=shuffle, seed=seed)  # noqa: E731
    loader = make()
    L = len(loader)
    stream = []
    ref = make()
    while len(stream) < len(ops):
        stream += [b[0].tolist() for b in ref]
    handed, pos = [], 0
    its = []  # [iterator, started, position after its last batch, end of its epoch, finished]
    for op, k in ops:
        if op == "iter" or not its:
            its.append([iter(loader), False, None, None, False])
            continue
        entry = its[k % len(its)]
        it, started, mine, end, finished = entry
        newest = entry is its[-1]
        if finished:
            expect = "stop"
        elif newest:
            if not started:
                entry[1], entry[2], entry[3] = True, pos, (pos // L + 1) * L
            expect = "stop" if entry[2] == entry[3] else "batch"
        else:
            expect = "stop" if started and mine == end else "raise"
        if expect == "raise":
            with pytest.raises(RuntimeError, match="superseded"):
                next(it)
            entry[4] = True
        elif expect == "stop":
            with pytest.raises(StopIteration):
                next(it)
            entry[4] = True
        else:
            handed.append(next(it)[0].tolist())
            pos += 1
            entry[2] = pos
    assert handed == stream[:len(handed)]
    assert (loader.epoch, loader.batch_index) == divmod(pos, L)


# ---------------------------------------------------------------------------------------------- argument errors
@pytest.mark.parametrize("bad", [0, -1, -60])
def test_nonpositive_batch_size_names_the_value(bad):
    with pytest.raises(ValueError, match=f"batch_size must be a positive int, got {bad}"):
        DataLoader(np.zeros(5), batch_size=bad)
    with pytest.raises(ValueError, match=f"got batch_size={bad}"):
        TorchLoader(range(5), batch_size=bad)


@pytest.mark.parametrize("bad", [2.0, 1.5, "2", True, np.float64(2.0), None])
def test_non_int_batch_size_names_type_and_value(bad):
    with pytest.raises(TypeError, match=re.escape(f"batch_size must be a positive int, got {type(bad).__name__}: {bad!r}")):
        DataLoader(np.zeros(5), batch_size=bad)
    if bad is not None:  # torch: None means no batching (deliberate difference)
        with pytest.raises(ValueError, match="batch_size"):
            TorchLoader(range(5), batch_size=bad)


def test_numpy_integer_batch_size_is_accepted():
    assert [len(b[0]) for b in DataLoader(np.zeros(5), batch_size=np.int64(2))] == [2, 2, 1]


@given(lengths=st.lists(st.integers(0, 20), min_size=2, max_size=4).filter(lambda ls: len(set(ls)) > 1))
def test_mismatched_lengths_name_every_length(lengths):
    arrays = [np.zeros((k, 2)) for k in lengths]
    with pytest.raises(ValueError, match=rf"same length .*got lengths \[{', '.join(map(str, lengths))}\]"):
        DataLoader(*arrays, batch_size=3)
    with pytest.raises(AssertionError, match="Size mismatch"):
        torch.utils.data.TensorDataset(*(torch.from_numpy(a) for a in arrays))


# ---------------------------------------------------------------------------------------------- datasets
dataset_cases = st.one_of(
    st.tuples(st.just(moons), st.fixed_dictionaries({"noise": st.floats(0, 1)}), st.just(2)),
    st.tuples(st.just(circles), st.fixed_dictionaries({"noise": st.floats(0, 1),
                                                       "factor": st.floats(0, 0.99)}), st.just(2)),
    st.integers(1, 6).flatmap(lambda k: st.tuples(
        st.just(spirals), st.fixed_dictionaries({"noise": st.floats(0, 1), "turns": st.floats(0, 3),
                                                 "classes": st.just(k)}), st.just(k))),
    st.integers(1, 6).flatmap(lambda k: st.tuples(
        st.just(blobs), st.fixed_dictionaries({"centers": st.sampled_from([k, np.eye(k, 2) * 3]),
                                                "std": st.sampled_from([0.0, 0.5, [0.1 * (j + 1) for j in range(k)]])}),
        st.just(k))),
)


@settings(deadline=None)
@given(case=dataset_cases, n=st.integers(1, 120), seed=st.integers(0, 2**32))
def test_generated_sets_under_every_option(case, n, seed):
    make, options, k = case
    X, y = make(n, seed=seed, **options)
    X2, y2 = make(n, seed=np.random.default_rng(seed), **options)  # a Generator draws as its int seed
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    assert X.shape == (n, 2) and X.dtype == np.float64 and np.isfinite(X).all()
    assert y.shape == (n,) and y.dtype == np.int64
    counts = np.bincount(y, minlength=k).tolist()
    assert len(counts) == k  # labels are 0..k-1
    if make in (moons, circles):  # documented: label 0 gets n // 2
        assert counts == [n // 2, n - n // 2]
    else:  # as even as possible, the first classes taking the remainder
        assert counts == [n // k + (j < n % k) for j in range(k)]
    # The data feed a loader batch by batch, labels staying with their points.
    xb, yb = next(iter(DataLoader(X, y, batch_size=min(n, 16), shuffle=True, seed=seed)))
    assert xb.dtype == np.float64 and yb.dtype == np.int64 and len(xb) == len(yb) == min(n, 16)


twentieths = st.tuples(st.integers(0, 20), st.integers(0, 20)).filter(lambda ab: ab[0] + ab[1] <= 20)


@settings(deadline=None)
@given(parts=twentieths, m=st.integers(0, 5), seed=st.integers(0, 2**32))
def test_split_lengths_are_exact_when_the_fractions_divide_evenly(parts, m, seed):
    """Fractions in twentieths (0.35, as typed, is 7 / 20) of 20 * m items: every part is a whole number of
    items, and train_val_test_split gives exactly those lengths, as torch's random_split does with the same
    integer lengths; each item lands in one part."""
    a, b = parts
    fractions = (a / 20, b / 20, (20 - a - b) / 20)
    n = 20 * m
    ours = train_val_test_split(range(n), seed=seed, fractions=fractions)
    lengths = [a * m, b * m, n - (a + b) * m]
    assert [len(p) for p in ours] == lengths
    assert sorted(x for p in ours for x in p) == list(range(n))
    with warnings.catch_warnings():  # torch warns about empty parts
        warnings.simplefilter("ignore")
        theirs = torch.utils.data.random_split(range(n), lengths, generator=torch.Generator().manual_seed(seed))
    assert [len(p) for p in theirs] == lengths


# ---------------------------------------------------------------------------------------------- IDX / MNIST
@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("idx-fuzz")


@settings(deadline=None)
@given(dtype=st.sampled_from([np.uint8, np.int16, np.float64]), shape=st.lists(st.integers(1, 4), min_size=1,
       max_size=3), gz=st.booleans(), data=st.data())
def test_a_file_cut_anywhere_is_refused(kit, folder, dtype, shape, gz, data):
    idx = kit.idx_bytes(np.ones(shape, dtype))
    blob = gzip.compress(idx, mtime=0) if gz else idx
    path = folder / "cut.idx"
    path.write_bytes(blob[:data.draw(st.integers(0, len(blob) - 1), label="cut")])
    with pytest.raises(CorruptDataError, match=str(path)):
        read_idx(path)


TEST_FILES = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


@settings(deadline=None)
@given(which=st.sampled_from(TEST_FILES), data=st.data(), n=st.integers(0, 4))
def test_any_damaged_header_byte_of_an_mnist_file_is_refused(kit, folder, which, data, n):
    """One header byte changed (magic, type code, rank or a size) in either file: CorruptDataError naming it."""
    where = folder / f"mnist-{n}"
    kit.write_mnist(where, n=n)
    path = where / which
    raw = bytearray(path.read_bytes())
    header = 4 + 4 * (3 if "images" in which else 1)
    pos = data.draw(st.integers(0, header - 1), label="byte")
    raw[pos] ^= data.draw(st.integers(1, 255), label="xor")
    path.write_bytes(bytes(raw))
    with pytest.raises(CorruptDataError, match=str(path)):
        mnist("test", data_dir=where, download=False)


def test_swapped_mnist_files_are_refused(kit, tmp_path):
    images, labels = kit.fake_digits(5)
    kit.write_idx(tmp_path / TEST_FILES[0], labels)
    kit.write_idx(tmp_path / TEST_FILES[1], images)
    with pytest.raises(CorruptDataError, match=r"t10k-images-idx3-ubyte: expected uint8 images"):
        mnist("test", data_dir=tmp_path, download=False)


def test_labels_stored_as_int8_are_refused(kit, tmp_path):
    # A labels file with the int8 type code holds the same bytes; it is still not MNIST's file.
    images, labels = kit.fake_digits(5)
    kit.write_idx(tmp_path / TEST_FILES[0], images)
    kit.write_idx(tmp_path / TEST_FILES[1], labels.astype(np.int8))
    with pytest.raises(CorruptDataError, match=r"t10k-labels-idx1-ubyte: expected uint8 labels .*found int8"):
        mnist("test", data_dir=tmp_path, download=False)


# ---------------------------------------------------------------------------------------------- regressions
def test_a_second_iterator_retires_the_first():
    """Two live iterators of one loader: each read the shared position lazily and moved it on, so between
    them they handed out batch [2, 3] twice and [4, 5] twice and [0, 1] once (torch: each iterator its own
    full epoch). Now the newer iterator continues the epoch and advancing the older one raises."""
    loader = DataLoader(np.arange(6), batch_size=2)
    a = iter(loader)
    assert next(a)[0].tolist() == [0, 1]
    b = iter(loader)
    assert next(b)[0].tolist() == [2, 3]
    with pytest.raises(RuntimeError, match="superseded by a newer iteration"):
        next(a)
    assert [x.tolist() for (x,) in b] == [[4, 5]]
    with pytest.raises(RuntimeError, match="superseded"):
        list(zip(loader, loader))


def test_load_state_dict_retires_a_live_iterator():
    """A live iterator kept its own epoch and batch counters after load_state_dict and wrote them back over the
    loaded state on its next batch; now it raises instead."""
    loader = DataLoader(np.arange(10), batch_size=2, shuffle=True, seed=0)
    state = loader.state_dict()
    it = iter(loader)
    list(islice(it, 3))
    loader.load_state_dict(state)
    with pytest.raises(RuntimeError, match="load_state_dict"):
        next(it)
    assert (loader.epoch, loader.batch_index) == (0, 0)
    np.testing.assert_array_equal(np.concatenate([x for (x,) in loader]), loader.order(0))  # epoch 0, whole


@pytest.mark.parametrize("bad", [5, "abc", {1: 2}, (k for k in range(3))], ids=["int", "str", "dict", "generator"])
def test_an_array_without_a_sample_axis_is_named_with_its_value(bad):
    """numpy turns a generator or a dict into a 0-d object array, and the error said only "array 1 is a
    scalar" for what the caller passed as data; it now shows the type and value it got."""
    with pytest.raises(ValueError, match=re.escape(f"array 1 is a scalar ({type(bad).__name__}: {bad!r})")):
        DataLoader(np.zeros(3), bad)


@pytest.mark.parametrize("fractions, n, lengths", [((0.6, 0.3, 0.1), 100, [60, 30, 10]),
                                                   ((0.7, 0.2, 0.1), 10, [7, 2, 1]),
                                                   ((0.8, 0.1, 0.1), 32033, [25626, 3203, 3204])])
def test_split_cuts_are_not_moved_by_float_rounding(fractions, n, lengths):
    """0.6 + 0.3 is 0.8999999999999999, so the second cut of 100 items fell at int(89.99...) = 89: a 60 / 29 / 11
    split for (0.6, 0.3, 0.1) (torch's random_split: 60 / 30 / 10). makemore's default split is unchanged."""
    assert [len(p) for p in train_val_test_split(range(n), seed=0, fractions=fractions)] == lengths
