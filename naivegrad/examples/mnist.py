"""Handwritten digits on the tensor engine: an MLP, a small ConvNet and the seed's NaiveNet, on real MNIST.

    python -m naivegrad.examples.mnist [--model mlp|convnet|naivenet|all] [--steps N] [--data-dir DIR] [--torch]

Data: the 10,000 MNIST test digits (the t10k files), the first 8,000 to train on and the last 2,000 held
out (``naivegrad.data.mnist_t10k_split``). ``--data-dir`` defaults to ``../shared/data/mnist`` next to a
source checkout when that folder exists, else ``naivegrad.data.mnist``'s search (``$NAIVEGRAD_DATA``, the
cache, a download).

- ``mlp``: Flatten -> Linear(784, 128) -> ReLU -> Linear(128, 10); ``convnet``: Conv2d(1, 8, 3) -> ReLU ->
  MaxPool2d(2) -> Conv2d(8, 16, 3) -> ReLU -> MaxPool2d(2) -> Flatten -> Linear(400, 10). Both: float32,
  2,000 Adam steps (lr 1e-3) of 128 digits, cross-entropy; pixels scaled to [0, 1], then standardised with
  the training digits' mean and standard deviation (about 0.13 and 0.31).
- ``naivenet``: the seed's recipe, as it was written: two weight matrices from ``initialize_layer_uniform``,
  ``x.dot(l1).relu().dot(l2).logsoftmax()`` on raw pixels (0..255), the negative log-likelihood written as
  ``out.mul(y).mean()`` with -10 at each true class (times 10 classes, it is the mean NLL), 1,000 steps of
  128 random digits, SGD (lr 0.001) or RMSProp (lr 0.0002, decay 0.9 as the seed's); ``zero_grad()`` added,
  since gradients accumulate.

Prints each model's held-out accuracy and training time; ``--torch`` also trains the same network from the
same initial weights on the same batches with PyTorch (CPU, 2 threads), for comparison.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from .. import nn, optim
from ..data import DataLoader, mnist_t10k_split
from ..grad_mode import no_grad
from ..tensor import Tensor
from ..utils import initialize_layer_uniform

__all__ = ["DEFAULT_DATA_DIR", "load", "mlp", "convnet", "NaiveNet", "train", "train_naivenet", "accuracy",
           "torch_twin", "train_torch", "main"]

# A source checkout keeps the digits beside the repository: <repo>/../shared/data/mnist.
DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "mnist"


def load(data_dir=None):
    """((x_train, y_train), (x_held, y_held), raw): images float32 (N, 1, 28, 28) standardised with the
    training split's statistics, int64 labels, and ``raw`` = the uint8 images (train, held) for the seed's
    recipe. Raises FileNotFoundError (saying where to put which files) when the digits cannot be found."""
    (a, ya), (b, yb) = mnist_t10k_split(data_dir, progress=False)
    xa, xb = a.astype(np.float32) / 255, b.astype(np.float32) / 255
    mean, std = xa.mean(), xa.std()
    xa, xb = (xa - mean) / std, (xb - mean) / std
    return (xa[:, None], ya), (xb[:, None], yb), (a, b)


def mlp(seed=0):
    """The MLP 784-128-10 on NCHW digits (Flatten first), float32."""
    rng = np.random.default_rng(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 128, seed=rng), nn.ReLU(), nn.Linear(128, 10, seed=rng))


def convnet(seed=0):
    """conv3x3(1->8)-relu-maxpool2-conv3x3(8->16)-relu-maxpool2-flatten-linear(400->10), float32."""
    rng = np.random.default_rng(seed)
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, seed=rng), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, seed=rng), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(400, 10, seed=rng),
    )


def accuracy(predict, x, y, batch_size=500):
    """The fraction of ``x`` whose largest output is the label; ``predict`` maps a float32 batch to logits."""
    hits = 0
    with no_grad():
        for i in range(0, len(x), batch_size):
            out = predict(x[i:i + batch_size])
            hits += int((np.argmax(np.asarray(out), axis=1) == y[i:i + batch_size]).sum())
    return hits / len(x)


def train(model, train_data, steps=2000, batch_size=128, lr=1e-3, seed=0, log=None):
    """``steps`` Adam steps of cross-entropy on shuffled batches (epoch after epoch); returns seconds spent."""
    x, y = train_data
    loader = DataLoader(x, y, batch_size=batch_size, shuffle=True, seed=seed, drop_last=True)
    opt = optim.Adam(model.parameters(), lr=lr)
    start = time.perf_counter()
    step = 0
    while step < steps:
        for xb, yb in loader:
            loss = nn.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            if log and step % 500 == 0:
                log(f"  step {step:5d}  loss {loss.item():.4f}")
            if step == steps:
                break
    return time.perf_counter() - start


class NaiveNet:
    """The seed's MNIST model: two weight matrices, no biases; ``forward`` gives log-probabilities."""

    def __init__(self):
        self.l1 = Tensor(initialize_layer_uniform(784, 128))
        self.l2 = Tensor(initialize_layer_uniform(128, 10))

    def forward(self, x):
        return x.dot(self.l1).relu().dot(self.l2).logsoftmax()


def train_naivenet(images, labels, optimizer="sgd", steps=1000, batch_size=128, seed=0):
    """The seed's recipe on raw pixels (see the module docstring); returns (model, seconds)."""
    np.random.seed(seed)  # the seed drew its weights and its batches from numpy's global generator
    model = NaiveNet()
    params = [model.l1, model.l2]
    # The seed's RMSProp averaged squared gradients with decay 0.9 (PyTorch's default alpha is 0.99).
    opt = optim.SGD(params, lr=0.001) if optimizer == "sgd" else optim.RMSProp(params, lr=0.0002, decay=0.9)
    x_all = images.reshape(-1, 28 * 28).astype(np.float32)
    start = time.perf_counter()
    for _ in range(steps):
        samp = np.random.randint(0, len(x_all), size=batch_size)
        x = Tensor(x_all[samp], requires_grad=False)
        y = np.zeros((batch_size, 10), np.float32)
        y[range(batch_size), labels[samp]] = -10.0  # times the mean over 10 classes: the mean NLL
        loss = model.forward(x).mul(Tensor(y, requires_grad=False)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model, time.perf_counter() - start


# ---------------------------------------------------------------------- the same network in PyTorch
def torch_twin(model):
    """The equivalent ``torch.nn.Sequential`` holding a copy of ``model``'s weights (loaded by position)."""
    import torch

    tnn = torch.nn
    layers = []
    for m in model.items:
        if isinstance(m, nn.Conv2d):
            layers.append(tnn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding, m.dilation,
                                     m.groups, bias=m.bias is not None))
        elif isinstance(m, nn.MaxPool2d):
            layers.append(tnn.MaxPool2d(m.kernel_size, m.stride, m.padding))
        elif isinstance(m, nn.Linear):
            layers.append(tnn.Linear(m.nin, m.nout, bias=m.bias is not None))
        elif isinstance(m, nn.ReLU):
            layers.append(tnn.ReLU())
        elif isinstance(m, nn.Flatten):
            layers.append(tnn.Flatten(m.start_dim, m.end_dim))
        else:
            raise TypeError(f"torch_twin: no PyTorch counterpart for {type(m).__name__}")
    twin = tnn.Sequential(*layers)
    names = list(twin.state_dict())
    twin.load_state_dict({n: torch.from_numpy(v.copy()) for n, v in zip(names, model.state_dict().values())})
    return twin


def train_torch(twin, train_data, steps=2000, batch_size=128, lr=1e-3, seed=0, threads=2):
    """``train`` in PyTorch: the same batches in the same order; returns seconds spent."""
    import torch

    torch.set_num_threads(threads)
    x, y = train_data
    loader = DataLoader(x, y, batch_size=batch_size, shuffle=True, seed=seed, drop_last=True)
    opt = torch.optim.Adam(twin.parameters(), lr=lr)
    start = time.perf_counter()
    step = 0
    while step < steps:
        for xb, yb in loader:
            loss = torch.nn.functional.cross_entropy(twin(torch.from_numpy(xb)), torch.from_numpy(yb))
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            if step == steps:
                break
    return time.perf_counter() - start


def _torch_predict(twin):
    import torch

    def predict(xb):
        with torch.no_grad():
            return twin(torch.from_numpy(xb)).numpy()

    return predict


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("mlp", "convnet", "naivenet", "all"), default="all")
    parser.add_argument("--steps", type=int, default=None,
                        help="training steps (default: 2000 for mlp and convnet, 1000 for naivenet)")
    parser.add_argument("--data-dir", default=None, help="folder holding the MNIST t10k files")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--torch", action="store_true", help="also train the same network with PyTorch")
    args = parser.parse_args(argv)
    data_dir = args.data_dir
    if data_dir is None and DEFAULT_DATA_DIR.is_dir():
        data_dir = DEFAULT_DATA_DIR
    try:
        train_data, held, (raw_train, raw_held) = load(data_dir)
    except FileNotFoundError as e:
        print(e, file=sys.stderr)
        return 2
    print(f"MNIST: {len(train_data[1])} training digits, {len(held[1])} held out")
    models = ("mlp", "convnet", "naivenet") if args.model == "all" else (args.model,)
    for name in models:
        if name == "naivenet":
            steps = 1000 if args.steps is None else args.steps
            for opt_name in ("sgd", "rmsprop"):
                model, seconds = train_naivenet(raw_train, train_data[1], opt_name, steps, seed=args.seed)
                acc = accuracy(lambda xb: model.forward(Tensor(xb.reshape(-1, 784), requires_grad=False)).data,
                               raw_held.astype(np.float32), held[1])
                print(f"naivenet ({opt_name}, {steps} steps): held-out accuracy {acc:.2%}, "
                      f"{seconds:.1f} s ({seconds / steps * 1e3:.2f} ms/step)")
            continue
        steps = 2000 if args.steps is None else args.steps
        model = (mlp if name == "mlp" else convnet)(args.seed)
        twin = torch_twin(model) if args.torch else None  # copied before training: the same initial weights
        seconds = train(model, train_data, steps, seed=args.seed, log=print)
        acc = accuracy(lambda xb: model(xb).data, *held)
        print(f"{name} ({steps} Adam steps): held-out accuracy {acc:.2%}, {seconds:.1f} s "
              f"({seconds / steps * 1e3:.2f} ms/step)")
        if twin is not None:
            t_seconds = train_torch(twin, train_data, steps, seed=args.seed)
            t_acc = accuracy(_torch_predict(twin), *held)
            print(f"{name} in PyTorch: held-out accuracy {t_acc:.2%}, {t_seconds:.1f} s "
                  f"({t_seconds / steps * 1e3:.2f} ms/step); naivegrad / PyTorch time = {seconds / t_seconds:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
