"""DataLoader and batches(): every sample once per epoch, reproducible from a seed, resumable from a state."""

import json
from itertools import islice

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from naivegrad.data import DataLoader, batches


def take(loader, k):
    """The next k batches, crossing epochs as a step-counting trainer does."""
    out = []
    while len(out) < k:
        out += list(islice(iter(loader), k - len(out)))
    return out


def ids(batch_list):
    return [b[0].tolist() for b in batch_list]


configs = st.fixed_dictionaries({
    "n": st.integers(1, 40),
    "batch_size": st.integers(1, 12),
    "shuffle": st.booleans(),
    "drop_last": st.booleans(),
    "seed": st.integers(0, 2**40),
}).filter(lambda c: not (c["drop_last"] and c["batch_size"] > c["n"]))


def make(c):
    n = c["n"]
    return DataLoader(np.arange(n), np.arange(n) * 10, batch_size=c["batch_size"], shuffle=c["shuffle"],
                      seed=c["seed"], drop_last=c["drop_last"])


@settings(deadline=None)
@given(c=configs)
def test_one_epoch_yields_each_sample_once(c):
    loader = make(c)
    n, bs = c["n"], c["batch_size"]
    for epoch in range(2):
        got = list(loader)
        assert len(got) == len(loader)
        sizes = [len(xb) for xb, _ in got]
        assert all(s == bs for s in sizes[:-1]) and 1 <= sizes[-1] <= bs
        if c["drop_last"]:
            assert sizes[-1] == bs
        seen = np.concatenate([xb for xb, _ in got])
        for xb, yb in got:  # the arrays stay aligned
            np.testing.assert_array_equal(yb, xb * 10)
        assert len(set(seen.tolist())) == len(seen)
        assert len(seen) == (n - n % bs if c["drop_last"] else n)
        if not c["shuffle"]:
            np.testing.assert_array_equal(seen, np.arange(len(seen)))
        assert loader.epoch == epoch + 1 and loader.batch_index == 0


@settings(deadline=None)
@given(c=configs, k=st.integers(0, 30), more=st.integers(1, 30))
def test_resume_from_state_dict_gives_the_uninterrupted_batches(c, k, more):
    uninterrupted = ids(take(make(c), k + more))
    first = make(c)
    head = take(first, k)
    # The state goes through JSON, as a checkpoint would store it.
    state = json.loads(json.dumps(first.state_dict()))
    resumed = make({**c, "seed": c["seed"] + 1})  # a different seed: the state must bring the right one
    resumed.load_state_dict(state)
    assert ids(head) + ids(take(resumed, more)) == uninterrupted


def test_state_round_trips_through_npz(tmp_path):
    loader = DataLoader(np.arange(50), batch_size=8, shuffle=True, seed=3)
    take(loader, 11)
    np.savez(tmp_path / "ckpt.npz", **loader.state_dict())
    with np.load(tmp_path / "ckpt.npz") as f:
        state = {k: f[k] for k in f.files}  # 0-d arrays, as a checkpoint reader gets them
    other = DataLoader(np.arange(50), batch_size=8, shuffle=True)
    other.load_state_dict(state)
    assert (other.epoch, other.batch_index, other.seed) == (loader.epoch, loader.batch_index, 3)
    assert ids(take(other, 5)) == ids(take(loader, 5))


def test_same_seed_same_order_epochs_differ():
    a = DataLoader(np.arange(100), batch_size=100, shuffle=True, seed=5)
    b = DataLoader(np.arange(100), batch_size=100, shuffle=True, seed=5)
    ea, eb = ids(take(a, 3)), ids(take(b, 3))
    assert ea == eb
    assert ea[0] != ea[1] != ea[2] and sorted(ea[0]) == list(range(100))
    c = DataLoader(np.arange(100), batch_size=100, shuffle=True, seed=6)
    assert ids(take(c, 1))[0] != ea[0]


def test_epoch_order_depends_only_on_seed_and_epoch():
    # Epoch 2's order is the same whatever the batch size: it is drawn from (seed, epoch) alone.
    a = DataLoader(np.arange(30), batch_size=7, shuffle=True, seed=9)
    b = DataLoader(np.arange(30), batch_size=30, shuffle=True, seed=9)
    np.testing.assert_array_equal(a.order(2), b.order(2))
    list(a), list(a)
    np.testing.assert_array_equal(np.concatenate([xb for (xb,) in a]), b.order(2))


def test_unseeded_loaders_differ_but_their_state_reproduces_them():
    a = DataLoader(np.arange(1000), batch_size=1000, shuffle=True)
    b = DataLoader(np.arange(1000), batch_size=1000, shuffle=True)
    state = a.state_dict()
    first = ids(take(a, 1))
    assert first != ids(take(b, 1))
    c = DataLoader(np.arange(1000), batch_size=1000, shuffle=True, seed=0)
    c.load_state_dict(state)
    assert ids(take(c, 1)) == first


def test_breaking_out_mid_epoch_then_iterating_again_continues_the_epoch():
    loader = DataLoader(np.arange(10), batch_size=3, shuffle=True, seed=1)
    order = loader.order(0)
    it = iter(loader)
    first = next(it)[0]
    del it
    rest = [xb for (xb,) in loader]
    np.testing.assert_array_equal(np.concatenate([first] + rest), order)
    assert loader.epoch == 1


def test_state_points_at_the_next_epoch_after_the_last_batch():
    loader = DataLoader(np.arange(4), batch_size=2)
    it = iter(loader)
    next(it), next(it)  # the last batch is handed out; the iterator is not exhausted yet
    assert loader.state_dict()["epoch"] == 1 and loader.state_dict()["batch_index"] == 0


def test_batches_are_fresh_arrays():
    X = np.arange(12.0).reshape(6, 2)
    for shuffle in (False, True):
        for xb, yb in DataLoader(X, np.arange(6), batch_size=4, shuffle=shuffle, seed=0):
            xb[...] = -1
            yb[...] = -1
    np.testing.assert_array_equal(X, np.arange(12.0).reshape(6, 2))


def test_any_number_of_arrays_and_lists():
    loader = DataLoader([1, 2, 3], [[0, 0], [1, 1], [2, 2]], np.array(["a", "b", "c"]), batch_size=2)
    (a, b, c), (d, e, f) = list(loader)
    assert a.tolist() == [1, 2] and b.tolist() == [[0, 0], [1, 1]] and c.tolist() == ["a", "b"]
    assert d.tolist() == [3] and e.tolist() == [[2, 2]] and f.tolist() == ["c"]


def test_len_is_batches_per_epoch():
    assert len(DataLoader(np.arange(10), batch_size=3)) == 4
    assert len(DataLoader(np.arange(10), batch_size=3, drop_last=True)) == 3
    assert len(DataLoader(np.arange(9), batch_size=3, drop_last=True)) == 3


def test_batches_is_the_first_epoch_of_the_loader():
    X, y = np.arange(20.0).reshape(10, 2), np.arange(10)
    got = list(batches(X, y, batch_size=4, seed=2))
    want = list(DataLoader(X, y, batch_size=4, shuffle=True, seed=2))
    assert [b[1].tolist() for b in got] == [b[1].tolist() for b in want]
    assert [b[1].tolist() for b in batches(X, y, 4, shuffle=False)] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert [len(b[1]) for b in batches(X, y, 4, seed=0, drop_last=True)] == [4, 4]


def test_argument_errors():
    with pytest.raises(ValueError, match=r"same length .*lengths \[3, 2\]"):
        DataLoader(np.zeros(3), np.zeros(2))
    with pytest.raises(ValueError, match="batch_size must be a positive int, got 0"):
        DataLoader(np.zeros(3), batch_size=0)
    with pytest.raises(TypeError, match="batch_size must be a positive int, got float"):
        batches(np.zeros(3), np.zeros(3), 2.0)
    with pytest.raises(ValueError, match=r"drop_last=True with batch_size=5 > 3 samples leaves no batch"):
        DataLoader(np.zeros(3), batch_size=5, drop_last=True)
    with pytest.raises(ValueError, match=r"empty arrays \(0 samples\)"):
        DataLoader(np.zeros(0))
    with pytest.raises(ValueError, match="array 1 is a scalar"):
        DataLoader(np.zeros(3), 5)
    with pytest.raises(TypeError, match="at least one array"):
        DataLoader()
    with pytest.raises(ValueError, match="seed must be None or an int >= 0, got -2"):
        DataLoader(np.zeros(3), seed=-2)


def test_load_state_dict_errors_name_the_problem():
    loader = DataLoader(np.arange(10), batch_size=3, shuffle=True, seed=0)
    good = loader.state_dict()
    with pytest.raises(KeyError, match="no 'batch_index' entry"):
        loader.load_state_dict({k: v for k, v in good.items() if k != "batch_index"})
    with pytest.raises(ValueError, match="saved with batch_size=4, this loader has batch_size=3"):
        loader.load_state_dict({**good, "batch_size": 4})
    with pytest.raises(ValueError, match="saved with num_samples=11, this loader has num_samples=10"):
        loader.load_state_dict({**good, "num_samples": 11})
    with pytest.raises(ValueError, match="saved with shuffle=False, this loader has shuffle=True"):
        loader.load_state_dict({**good, "shuffle": False})
    with pytest.raises(ValueError, match=r"out of range: .*batch_index=4 \(an epoch has 4 batches\)"):
        loader.load_state_dict({**good, "batch_index": 4})
    with pytest.raises(ValueError, match="out of range: .*epoch=-1"):
        loader.load_state_dict({**good, "epoch": -1})
    with pytest.raises(TypeError, match="'epoch' must be an int, got float"):
        loader.load_state_dict({**good, "epoch": 1.5})
    take(loader, 2)
    assert loader.state_dict() != good  # a failed load changed nothing; the loader still advanced normally
    assert (loader.epoch, loader.batch_index) == (0, 2)
