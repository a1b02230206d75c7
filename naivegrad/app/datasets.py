"""What a run learns from: the samples a ``Config`` describes, split into training and held-out parts."""

from dataclasses import dataclass

import numpy as np

from ..data import blobs, circles, mnist_t10k_split, moons, spirals
from .config import MNIST_HELD_OUT

__all__ = ["Data", "load_data"]


@dataclass
class Data:
    """Training and held-out samples (``X_test`` has 0 rows when nothing is held out).

    2-D sets: X float64 (n, 2). MNIST: X float64 (n, 1, 28, 28) in [0, 1]. Labels are int64 classes 0..k-1.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    classes: int


def load_data(config):
    """The samples ``config`` describes: a generated 2-D set (split by ``test_fraction``), MNIST, or the names
    (a ``lm.TextData``).

    MNIST is the project's split of the 10,000 test digits (``naivegrad.data.mnist_t10k_split``): the first
    8,000 train, the last 2,000 are held out. Its errors (``FileNotFoundError``, ``CorruptDataError``)
    propagate.
    """
    if config.language_model:
        from .lm import load_text
        return load_text(config)
    if config.dataset == "mnist":
        (xa, ya), (xb, yb) = mnist_t10k_split(config.data_dir, n_train=config.samples - MNIST_HELD_OUT)
        return Data(_pixels(xa), ya, _pixels(xb), yb, 10)
    make = {"moons": lambda: moons(config.samples, noise=config.noise, seed=config.seed),
            "circles": lambda: circles(config.samples, noise=config.noise, seed=config.seed),
            "spirals": lambda: spirals(config.samples, noise=config.noise, classes=config.classes,
                                       seed=config.seed),
            "blobs": lambda: blobs(config.samples, centers=config.classes, std=config.noise, seed=config.seed)}
    X, y = make[config.dataset]()
    # The generators shuffle, so the last points are as good a held-out sample as any.
    cut = len(X) - config.n_test
    return Data(X[:cut], y[:cut], X[cut:], y[cut:], config.classes)


def _pixels(images):
    """uint8 digits (n, 28, 28) as float64 images (n, 1, 28, 28) in [0, 1]."""
    return (images.astype(np.float64) / 255.0)[:, None, :, :]
