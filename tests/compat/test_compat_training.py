"""The original's MNIST loop, as its users wrote it (forward, ``loss.backward()``, ``optim.step()``, no
``zero_grad``), through the original's names: it learns, and it takes exactly the steps that the new API
takes with ``zero_grad()``.

The full runs (1,000 steps, >= 93% held out) are ``python -m naivegrad.examples.original_mnist``; here a few
hundred steps on the real digits must clearly beat chance, in seconds.
"""

import warnings

import numpy as np
import pytest

from naivegrad import optim
import naivegrad.optimizer as optimizer
from naivegrad.core_tn import Tensor
from naivegrad.utils import fetch_mnist, initialize_layer_uniform

# The original's optimizers as its tests built them, and the same rules in the new API.
RECIPES = {
    "sgd": (lambda p: optimizer.SGD(p, lr=0.001), lambda p: optim.SGD(p, lr=0.001)),
    "rmsprop": (lambda p: optimizer.RMSProp(p, lr=0.0002), lambda p: optim.RMSProp(p, lr=0.0002, alpha=0.9)),
    "adam": (lambda p: optimizer.Adam(p, lr=0.001), lambda p: optim.Adam(p, lr=0.001, betas=(0.9, 0.999))),
}


class NaiveNet:
    """The original's README model: two weight matrices, relu between, log-probabilities out."""

    def __init__(self):
        self.l1 = Tensor(initialize_layer_uniform(784, 128))
        self.l2 = Tensor(initialize_layer_uniform(128, 10))

    def forward(self, x):
        return x.dot(self.l1).relu().dot(self.l2).logsoftmax()


def train(model, opt, X, Y, steps, zero_grad):
    """The original's loop on raw pixels; ``zero_grad=True`` adds the new API's ``opt.zero_grad()``."""
    for _ in range(steps):
        samp = np.random.randint(0, X.shape[0], size=(128,))
        x = Tensor(X[samp].reshape((-1, 28 * 28)).astype(np.float32))
        y = np.zeros((len(samp), 10), np.float32)
        y[range(y.shape[0]), Y[samp]] = -10.0
        y = Tensor(y)
        out = model.forward(x)
        loss = out.mul(y).mean()
        if zero_grad:
            opt.zero_grad()
        loss.backward()
        opt.step()


def accuracy(model, X, Y):
    out = model.forward(Tensor(X.reshape((-1, 28 * 28)).astype(np.float32)))
    return float((np.argmax(out.data, axis=1) == Y).mean())


def both_ways(name, X, Y, steps, seed=0):
    """The same seeded model trained by the original's loop and by the new API's; returns both models."""
    old_opt, new_opt = RECIPES[name]
    models = []
    for make, zero_grad in ((old_opt, False), (new_opt, True)):
        np.random.seed(seed)  # weights and batches come from numpy's global generator, as in the original
        model = NaiveNet()
        train(model, make([model.l1, model.l2]), X, Y, steps, zero_grad)
        models.append(model)
    return models


@pytest.mark.parametrize("name", list(RECIPES))
def test_original_loop_learns_real_digits_and_matches_the_new_api(name, real_mnist_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # only the test set is here: the 8,000 / 2,000 split
        X_train, Y_train, X_test, Y_test = fetch_mnist(real_mnist_dir)
    old, new = both_ways(name, X_train[:4000], Y_train[:4000], steps=200)
    np.testing.assert_array_equal(old.l1.data, new.l1.data)
    np.testing.assert_array_equal(old.l2.data, new.l2.data)
    acc = accuracy(old, X_test, Y_test)
    assert acc > 0.80, f"{name}: {acc:.2%} on the 2,000 held-out digits after 200 steps"


@pytest.mark.parametrize("name", list(RECIPES))
def test_same_trajectory_on_made_up_digits(name):
    """Runs everywhere (no real data needed): the two loops stay identical step after step."""
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(200, 28, 28), dtype=np.uint8)
    Y = rng.integers(0, 10, size=200, dtype=np.uint8)
    old, new = both_ways(name, X, Y, steps=25, seed=1)
    np.testing.assert_array_equal(old.l1.data, new.l1.data)
    np.testing.assert_array_equal(old.l2.data, new.l2.data)
    np.random.seed(1)
    assert not np.array_equal(old.l1.data, NaiveNet().l1.data)  # and they did move
