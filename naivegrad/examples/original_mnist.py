"""The original project's MNIST training, as its users wrote it, through its names: ``naivegrad.core_tn``,
``naivegrad.optimizer``, ``naivegrad.utils``.

    python -m naivegrad.examples.original_mnist [--optimizer sgd|rmsprop|adam] [--model naivenet|convnet]
                                                [--steps N] [--lr LR] [--seed S] [--data-dir DIR]

The loop is the original's README loop: ``out = model.forward(x)``, ``loss = out.mul(y).mean()``,
``loss.backward()``, ``optim.step()``, with no ``zero_grad()`` (``naivegrad.optimizer``'s step consumes the
gradients it used, as the original's replacing ``backward`` made that unnecessary). Raw pixels (0..255),
batches of 128 random digits drawn with ``np.random.randint``, the negative log-likelihood written as
``out.mul(y).mean()`` with -10 at each true class, weights from ``initialize_layer_uniform``; defaults are the
original's tests': NaiveNet (784-128-10, no biases) for 1,000 steps, SGD lr 0.001, RMSProp lr 0.0002 (decay
0.9), Adam lr 0.001; ``--model convnet`` is its ConvNet (8 5x5 filters, relu, 4608-128-10) for 400 steps.

Data: ``fetch_mnist``. ``--data-dir`` defaults to ``../shared/data/mnist`` beside a source checkout when it is
there (only the t10k test set: its first 8,000 digits train, the last 2,000 are the test set), else
``fetch_mnist``'s own search (``$NAIVEGRAD_DATA``, the cache, a download).
"""

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from tqdm import trange

import naivegrad.optimizer as optim
from naivegrad.core_tn import Tensor
from naivegrad.utils import fetch_mnist, initialize_layer_uniform

__all__ = ["NaiveNet", "NaiveConvNet", "make_optimizer", "train", "evaluate", "main"]

DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "mnist"

# The original's learning rates for each optimizer (its tests' values; Adam's is its default).
LEARNING_RATES = {"sgd": 0.001, "rmsprop": 0.0002, "adam": 0.001}
STEPS = {"naivenet": 1000, "convnet": 400}


class NaiveNet:
    """The original README's model: 784 -> 128 -> 10, relu between, log-probabilities out."""

    def __init__(self):
        self.l1 = Tensor(initialize_layer_uniform(784, 128))
        self.l2 = Tensor(initialize_layer_uniform(128, 10))

    def parameters(self):
        return [self.l1, self.l2]

    def forward(self, x):
        return x.dot(self.l1).relu().dot(self.l2).logsoftmax()


class NaiveConvNet:
    """The original's ConvNet: 8 filters of 5x5, relu, flattened by a shape held in a Tensor, then 128, 10."""

    def __init__(self, conv=5, chans=8):
        self.c1 = Tensor(initialize_layer_uniform(chans, 1, conv, conv))
        self.l1 = Tensor(initialize_layer_uniform((28 - conv + 1) ** 2 * chans, 128))
        self.l2 = Tensor(initialize_layer_uniform(128, 10))

    def parameters(self):
        return [self.c1, self.l1, self.l2]

    def forward(self, x):
        x.data = x.data.reshape((-1, 1, 28, 28))
        x = x.conv2d(self.c1).relu()
        x = x.reshape(Tensor(np.array((x.shape[0], -1))))
        return x.dot(self.l1).relu().dot(self.l2).logsoftmax()


def make_optimizer(name, params, lr=None):
    """The original's optimizer ``name`` over ``params``, at its learning rate unless ``lr`` is given."""
    lr = LEARNING_RATES[name] if lr is None else lr
    if name == "sgd":
        return optim.SGD(params, lr=lr)
    if name == "rmsprop":
        return optim.RMSProp(params, lr=lr)
    return optim.Adam(params, lr=lr)


def train(model, optimizer, X_train, Y_train, steps, batch_size=128, progress=True):
    """The original's loop (no zero_grad); returns the losses and batch accuracies."""
    losses, accuracies = [], []
    for _ in (t := trange(steps, disable=None if progress else True)):
        samp = np.random.randint(0, X_train.shape[0], size=(batch_size))
        x = Tensor(X_train[samp].reshape((-1, 28 * 28)).astype(np.float32))
        Y = Y_train[samp]
        y = np.zeros((len(samp), 10), np.float32)
        y[range(y.shape[0]), Y] = -10.0
        y = Tensor(y)

        out = model.forward(x)
        loss = out.mul(y).mean()
        loss.backward()
        optimizer.step()

        accuracy = (np.argmax(out.data, axis=1) == Y).mean()
        losses.append(loss.data.item())
        accuracies.append(accuracy)
        t.set_description(f"loss={losses[-1]:.2f}, accuracy={accuracy:.2f}")
    return losses, accuracies


def evaluate(model, X_test, Y_test, batch_size=1000):
    """The fraction of the test digits whose most likely class is the label."""
    hits = 0
    for i in range(0, len(X_test), batch_size):
        out = model.forward(Tensor(X_test[i:i + batch_size].reshape((-1, 28 * 28)).astype(np.float32)))
        hits += int((np.argmax(out.data, axis=1) == Y_test[i:i + batch_size]).sum())
    return hits / len(X_test)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--optimizer", choices=sorted(LEARNING_RATES), default="sgd")
    parser.add_argument("--model", choices=sorted(STEPS), default="naivenet")
    parser.add_argument("--steps", type=int, default=None, help="default: 1000 (naivenet), 400 (convnet)")
    parser.add_argument("--lr", type=float, default=None, help="default: 0.001 (sgd, adam), 0.0002 (rmsprop)")
    parser.add_argument("--seed", type=int, default=0, help="numpy's global seed: weights and batches")
    parser.add_argument("--data-dir", default=None, help="folder holding the MNIST files")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if args.steps is not None and args.steps < 1:
        parser.error("--steps must be at least 1")
    data_dir = args.data_dir
    if data_dir is None and DEFAULT_DATA_DIR.is_dir():
        data_dir = DEFAULT_DATA_DIR
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UserWarning)
            X_train, Y_train, X_test, Y_test = fetch_mnist(data_dir)
    except FileNotFoundError as e:
        print(e, file=sys.stderr)
        return 2
    split = " (only the t10k test set here: its first digits train, its last are the test set)" if caught else ""
    print(f"MNIST: {len(X_train)} training digits, {len(X_test)} test digits{split}")

    np.random.seed(args.seed)
    model = NaiveNet() if args.model == "naivenet" else NaiveConvNet()
    optimizer = make_optimizer(args.optimizer, model.parameters(), args.lr)
    steps = STEPS[args.model] if args.steps is None else args.steps
    start = time.perf_counter()
    train(model, optimizer, X_train, Y_train, steps, progress=not args.quiet)
    seconds = time.perf_counter() - start
    acc = evaluate(model, X_test, Y_test)
    lr = optimizer.param_groups[0]["lr"]
    print(f"{args.model}, {args.optimizer} (lr {lr:g}), {steps} steps, seed {args.seed}: test accuracy {acc:.2%}, "
          f"{seconds:.1f} s ({seconds / steps * 1e3:.1f} ms/step)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
