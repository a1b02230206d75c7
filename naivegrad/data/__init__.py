"""Datasets and mini-batches: toy 2-D sets made on the spot, real MNIST digits, and a seeded batch loader.

>>> from naivegrad.data import moons, DataLoader
>>> X, y = moons(100, noise=0.1, seed=0)          # labels 0/1; micrograd's demo uses y * 2 - 1
>>> len(DataLoader(X, y, batch_size=32, shuffle=True, seed=0))
4

- ``moons``, ``circles``, ``spirals``, ``blobs``: (X float64 (n, 2), y int64), no download.
- ``mnist(split, data_dir)``: uint8 images (N, 28, 28) and int64 labels from the original IDX files, checked,
  downloaded once into a cache when absent; ``mnist_t10k_split`` is the 8,000 / 2,000 split of the test set.
- ``DataLoader`` and ``batches``: shuffled mini-batches, reproducible from a seed and resumable from a
  ``state_dict()``.
- ``names()``: the 32,033 first names of makemore's corpus, shipped with the package (no download), with
  ``train_val_test_split`` (seeded 80/10/10), ``CharTokenizer`` ('.' = 0, a..z = 1..26) and ``build_dataset``
  (makemore's context -> next-character examples) for character-level language models.
- ``read_idx``: any IDX file; ``CorruptDataError``: what a damaged data file raises.
"""

from .generated import moons, circles, spirals, blobs
from .idx import CorruptDataError, read_idx
from .loader import DataLoader, batches
from .mnist_files import mnist, mnist_t10k_split, cache_dir
from .names import CharTokenizer, build_dataset, names, train_val_test_split

__all__ = [
    "moons", "circles", "spirals", "blobs",
    "mnist", "mnist_t10k_split", "cache_dir", "read_idx", "CorruptDataError",
    "DataLoader", "batches",
    "names", "train_val_test_split", "CharTokenizer", "build_dataset",
]
