"""The original project's helpers: ``fetch_mnist``, ``initialize_layer_uniform``, ``mask_like``, ``im2col`` and
``col2im``, with its signatures and results.

>>> X_train, Y_train, X_test, Y_test = fetch_mnist()        # uint8 images (N, 28, 28) and uint8 labels (N,)
>>> l1 = Tensor(initialize_layer_uniform(784, 128))

``fetch_mnist`` reads MNIST through ``naivegrad.data.mnist``: from a folder you name, ``$NAIVEGRAD_DATA`` or the
data cache, downloading into the cache (checked by size and md5) only when the files are in none of them. When
only the 10,000-digit test set can be had, it splits that (see ``fetch_mnist``).
"""

import math
import warnings

import numpy as np

from .data import mnist

__all__ = ["fetch_mnist", "initialize_layer_uniform", "mask_like", "im2col", "col2im"]

_TRAIN_FILES = "train-images-idx3-ubyte.gz and train-labels-idx1-ubyte.gz"


def fetch_mnist(data_dir=None, *, download=True, test_split=True):
    """MNIST as ``(X_train, Y_train, X_test, Y_test)``: uint8 images of shape (N, 28, 28), pixels 0..255, and
    uint8 labels of shape (N,), digits 0..9, as the original returned them.

    Where the files are looked for, in order: ``data_dir`` (or its ``mnist/`` subfolder), ``$NAIVEGRAD_DATA``
    (or its ``mnist/``), the cache ``~/.cache/naivegrad/mnist``; found nowhere, they are downloaded into the
    cache, each kept only if its size and md5 are the original's (``download=False``: never).

    With the full set: the 60,000 training and the 10,000 test digits. With only the test set (the t10k files;
    the training files neither present nor downloadable): its first 80% as the training set and the rest as
    the test set, that is the first 8,000 test digits to train on and the last 2,000 to test on (the split
    every accuracy in naivegrad's README is measured on), with a ``UserWarning`` saying so.
    ``test_split=False`` raises ``FileNotFoundError`` instead. Without any of the files: ``FileNotFoundError``
    saying which files to put where (and what the downloads answered). A damaged file raises
    ``naivegrad.data.CorruptDataError`` naming it.
    """
    try:
        X_train, Y_train = mnist("train", data_dir, download=download)
    except FileNotFoundError as missing_train:
        if not test_split:
            raise
        try:
            X, Y = mnist("test", data_dir, download=download)
        except FileNotFoundError as missing_test:
            raise FileNotFoundError(
                f"fetch_mnist: no MNIST digits found.\n{missing_train}\n\nWithout the training files, "
                f"fetch_mnist would split the test set, but it is missing too:\n{missing_test}"
            ) from None
        n = len(X)
        n_train = n * 4 // 5
        why = "could not be downloaded" if download else "download=False"
        warnings.warn(
            f"fetch_mnist: only the MNIST test set was found (the training files are missing and {why}): "
            f"X_train, Y_train are the first {n_train} of its {n} digits and X_test, Y_test the last "
            f"{n - n_train}, so test accuracies are on those {n - n_train} digits. For the full set put "
            f"{_TRAIN_FILES} beside the test files; test_split=False makes this an error.",
            UserWarning, stacklevel=2)
        Y = Y.astype(np.uint8)
        return X[:n_train], Y[:n_train], X[n_train:], Y[n_train:]
    X_test, Y_test = mnist("test", data_dir, download=download)
    return X_train, Y_train.astype(np.uint8), X_test, Y_test.astype(np.uint8)


def initialize_layer_uniform(*shape):
    """A float32 weight array of ``shape``, uniform in [-1, 1) / sqrt(prod(shape)), drawn from ``np.random``
    (so ``np.random.seed`` makes it reproducible), as the original initialised its layers.

    >>> l1 = Tensor(initialize_layer_uniform(784, 128))
    >>> c1 = Tensor(initialize_layer_uniform(8, 1, 5, 5))      # a convolution's filters
    """
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    for n in shape:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"initialize_layer_uniform: sizes must be non-negative ints, got {shape!r}")
    scale = math.sqrt(math.prod(shape)) if shape else 1.0
    return (np.random.uniform(-1.0, 1.0, size=shape) / scale).astype(np.float32)


def mask_like(like, mask_inx, mask_value=1.0):
    """An array of zeros shaped and typed as ``like``, holding ``mask_value`` at the flat index ``mask_inx``."""
    mask = np.zeros(np.shape(like), dtype=np.asarray(like).dtype)
    mask.reshape(-1)[mask_inx] = mask_value
    return mask


def im2col(x, H, W):
    """Every H x W patch of the batch ``x`` (N, C, rows, cols) as one row: an array of shape
    (out_rows * out_cols * N, C * H * W), rows in the order (output row, output column, sample), each patch
    flattened channel by channel. A convolution with filters w (F, C, H, W) is then ``im2col(x) @ w.reshape(F, -1).T``.
    """
    x = np.asarray(x)
    n, c = x.shape[:2]
    windows = np.lib.stride_tricks.sliding_window_view(x, (H, W), axis=(2, 3))  # (N, C, oy, ox, H, W)
    oy, ox = windows.shape[2:4]
    return windows.transpose(2, 3, 0, 1, 4, 5).reshape(oy * ox * n, c * H * W)


def col2im(tx, H, W, OY, OX):
    """The transpose of ``im2col``: patches (rows as ``im2col`` lays them out) added back into a batch of
    shape (N, C, OY, OX), where overlapping patches sum. It turns a gradient of the patches into one of ``x``."""
    tx = np.asarray(tx)
    oy, ox = OY - (H - 1), OX - (W - 1)
    n = tx.shape[0] // (oy * ox)
    c = tx.shape[1] // (H * W)
    patches = tx.reshape(oy, ox, n, c, H, W).transpose(2, 3, 4, 5, 0, 1)  # (N, C, H, W, oy, ox)
    x = np.zeros((n, c, OY, OX), dtype=tx.dtype)
    for i in range(H):
        for j in range(W):
            x[:, :, i:i + oy, j:j + ox] += patches[:, :, i, j]
    return x
