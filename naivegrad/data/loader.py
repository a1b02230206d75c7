"""Mini-batches from in-memory arrays: shuffled from a seed, reproducible, and resumable mid-epoch.

Epoch e's order is a permutation drawn from ``SeedSequence(seed, spawn_key=(e,))`` (numpy's ``spawn`` child
e), so it depends only on the seed and the epoch number, never on how many batches came before. The whole
iteration state is therefore three integers (seed, epoch, next batch index): a checkpoint saves
``loader.state_dict()`` and a resumed run calls ``load_state_dict`` to get exactly the batches the
uninterrupted run would have seen.
"""

import operator

import numpy as np

from ._checks import positive_int, seed_value

__all__ = ["DataLoader", "batches"]

_CONFIG = ("batch_size", "num_samples", "shuffle", "drop_last")


class DataLoader:
    """Batches of equally long arrays, like ``torch.utils.data.DataLoader(TensorDataset(*arrays))``.

    Each batch is a tuple with one fresh array per input array. Iterating continues where the previous
    iteration stopped: a full pass is one epoch, and breaking out mid-epoch then iterating again resumes
    that epoch. One iterator at a time: starting a new one (or ``load_state_dict``) retires the previous one,
    whose next ``next()`` raises RuntimeError. ``len(loader)`` is the number of batches in a full epoch.

    >>> X, y = np.zeros((100, 2)), np.arange(100)
    >>> loader = DataLoader(X, y, batch_size=32, shuffle=True, seed=0)
    >>> [len(yb) for xb, yb in loader]                 # one epoch; iterate again for the next
    [32, 32, 32, 4]
    """

    def __init__(self, *arrays, batch_size=1, shuffle=False, seed=None, drop_last=False):
        if not arrays:
            raise TypeError("DataLoader needs at least one array")
        given = arrays
        arrays = tuple(np.asarray(a) for a in arrays)
        for i, a in enumerate(arrays):
            if a.ndim == 0:
                # numpy makes a 0-d array of anything it cannot iterate (a generator, a dict): say what it was.
                raise ValueError(f"array {i} is a scalar ({type(given[i]).__name__}: {given[i]!r}); DataLoader "
                                 f"needs arrays with a first (sample) axis")
        lengths = [len(a) for a in arrays]
        if len(set(lengths)) != 1:
            raise ValueError(f"arrays must have the same length (number of samples), got lengths {lengths}")
        self.arrays = arrays
        self.batch_size = positive_int("batch_size", batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.num_samples = lengths[0]
        if self.num_samples == 0:
            raise ValueError("DataLoader got empty arrays (0 samples)")
        if len(self) == 0:
            # An epoch with no batch would make a `while step < steps: for b in loader` loop spin forever.
            raise ValueError(
                f"drop_last=True with batch_size={self.batch_size} > {self.num_samples} samples leaves no batch"
            )
        seed = seed_value(seed)
        # A drawn seed is still a seed: state_dict() can save it, so even an unseeded run can be resumed.
        self.seed = int(np.random.default_rng().integers(2**63)) if seed is None else seed
        self._epoch = 0
        self._batch_index = 0
        self._generation = 0  # counts iterators (and loaded states); only the newest iterator may advance

    @property
    def epoch(self):
        """The epoch the next batch belongs to (0 for a fresh loader)."""
        return self._epoch

    @property
    def batch_index(self):
        """Index, within the current epoch, of the next batch to be handed out."""
        return self._batch_index

    def __len__(self):
        full, rest = divmod(self.num_samples, self.batch_size)
        return full + (rest > 0 and not self.drop_last)

    def order(self, epoch):
        """The sample indices of ``epoch`` in the order their batches are cut (identity when not shuffling)."""
        if not self.shuffle:
            return np.arange(self.num_samples)
        rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(epoch,)))
        return rng.permutation(self.num_samples)

    def __iter__(self):
        # The loader holds one position, so a new iterator takes it over. An older iterator still alive would
        # hand out batches the new one also gives (or skip some) and overwrite the position: it is retired,
        # and advancing it raises instead of silently repeating samples.
        self._generation += 1
        return self._batches(self._generation)

    def _batches(self, generation):
        epoch, start, n_batches, bs = self._epoch, self._batch_index, len(self), self.batch_size
        order = self.order(epoch) if self.shuffle else None
        for i in range(start, n_batches):
            if generation != self._generation:
                raise RuntimeError(
                    "this DataLoader iterator was superseded by a newer iteration of the same loader (or by "
                    "load_state_dict): a loader hands out one sequence of batches, iterate it one loop at a time"
                )
            # The state moves on as the batch is handed out, so a checkpoint saved after training on it
            # resumes with the next one; after an epoch's last batch it already points at the next epoch.
            if i + 1 == n_batches:
                self._epoch, self._batch_index = epoch + 1, 0
            else:
                self._batch_index = i + 1
            lo, hi = i * bs, min((i + 1) * bs, self.num_samples)
            if order is None:
                yield tuple(a[lo:hi].copy() for a in self.arrays)
            else:
                idx = order[lo:hi]
                yield tuple(a[idx] for a in self.arrays)

    def state_dict(self):
        """The iteration state as plain ints and bools (JSON- and npz-friendly), for ``load_state_dict``."""
        state = {"seed": self.seed, "epoch": self._epoch, "batch_index": self._batch_index}
        state.update({key: getattr(self, key) for key in _CONFIG})
        return state

    def load_state_dict(self, state):
        """Continue from a ``state_dict()``. The loader must be built over as many samples, with the same
        batch_size, shuffle and drop_last: otherwise ValueError names the setting that differs."""
        for key in ("seed", "epoch", "batch_index") + _CONFIG:
            if key not in state:
                raise KeyError(f"DataLoader state has no {key!r} entry (keys: {sorted(state)})")
        for key in _CONFIG:
            saved, mine = state[key], getattr(self, key)
            saved = bool(saved) if isinstance(mine, bool) else _as_int(key, saved)
            if saved != mine:
                raise ValueError(f"DataLoader state was saved with {key}={saved}, this loader has {key}={mine}")
        seed = _as_int("seed", state["seed"])
        epoch = _as_int("epoch", state["epoch"])
        batch_index = _as_int("batch_index", state["batch_index"])
        if seed < 0 or epoch < 0 or not 0 <= batch_index < len(self):
            raise ValueError(
                f"DataLoader state out of range: seed={seed}, epoch={epoch}, batch_index={batch_index} "
                f"(an epoch has {len(self)} batches)"
            )
        self.seed, self._epoch, self._batch_index = seed, epoch, batch_index
        self._generation += 1  # a live iterator would continue from the old position: retire it

    def __repr__(self):
        return (f"DataLoader(num_samples={self.num_samples}, batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"drop_last={self.drop_last}, seed={self.seed}, epoch={self._epoch}, batch_index={self._batch_index})")


def _as_int(key, value):
    """An int from a saved state entry (a Python int, a numpy integer or a 0-d integer array from npz)."""
    try:
        if isinstance(value, (bool, np.bool_)):
            raise TypeError
        return operator.index(value)
    except TypeError:
        raise TypeError(f"DataLoader state entry {key!r} must be an int, got {type(value).__name__}: {value!r}") from None


def batches(X, y, batch_size, shuffle=True, seed=None, drop_last=False):
    """One epoch of ``(xb, yb)`` mini-batches: the first epoch of the equivalent ``DataLoader``.

    >>> X, y = np.arange(10.0).reshape(5, 2), np.arange(5)
    >>> [yb.tolist() for _, yb in batches(X, y, batch_size=2, shuffle=False)]
    [[0, 1], [2, 3], [4]]
    """
    return iter(DataLoader(X, y, batch_size=batch_size, shuffle=shuffle, seed=seed, drop_last=drop_last))
