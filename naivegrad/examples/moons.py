"""micrograd's demo: an MLP learns the two moons, on the scalar engine (or the tensor one).

    python -m naivegrad.examples.moons [--backend scalar|tensor] [--steps 100] [--seed 0]

Full-batch training with micrograd's max-margin (hinge) loss plus L2, and SGD whose learning rate decays
linearly from 1.0 to 0.1, exactly as in micrograd's notebook. Prints loss and accuracy as it goes.
"""

import argparse
import sys
import time

import numpy as np

from .. import nn
from ..data.generated import moons


def accuracy(scores, y):
    """Fraction of samples whose score has the sign of the label (labels in {-1, 1})."""
    s = np.array([v.data for v in scores]) if isinstance(scores, list) else scores.numpy().ravel()
    return float(np.mean((s > 0) == (y > 0)))


def train(backend="scalar", steps=100, seed=0, n=100, alpha=1e-4, log=print):
    """Train ``MLP(2, [16, 16, 1])`` on ``moons(n)``; returns (model, final accuracy)."""
    X, labels = moons(n, noise=0.1, seed=seed)
    y = labels * 2.0 - 1.0  # micrograd's labels are -1 and 1
    model = nn.MLP(2, [16, 16, 1], backend=backend, seed=seed, dtype=np.float64 if backend == "tensor" else None)
    params = model.parameters()
    acc = 0.0
    for k in range(steps):
        scores = model(X)
        data_loss = nn.hinge_loss(scores, y)
        reg = alpha * sum(((p * p).sum() if backend == "tensor" else p * p) for p in params)
        loss = data_loss + reg
        model.zero_grad()
        loss.backward()
        lr = 1.0 - 0.9 * k / steps
        for p in params:
            p.data -= lr * p.grad
        acc = accuracy(scores, y)
        if log and (k % 10 == 0 or k == steps - 1):
            log(f"step {k:3d}  loss {float(loss.data):.4f}  accuracy {acc:.1%}")
    return model, acc


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=nn.BACKENDS, default="scalar")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    _, acc = train(args.backend, args.steps, args.seed)
    print(f"final training accuracy {acc:.1%} in {time.perf_counter() - start:.1f} s ({args.backend} engine)")
    return 0 if acc >= 0.97 else 1


if __name__ == "__main__":
    sys.exit(main())
