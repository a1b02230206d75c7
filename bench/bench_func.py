"""Forward against reverse mode: ``jacfwd`` vs ``jacrev`` for f: R^n -> R^m at (n, m) = (4, 256) and (256, 4).

Theory: jacfwd evaluates f once per input (n passes), jacrev once forward and then backward once per output
(m passes), so jacfwd should win at (4, 256) and jacrev at (256, 4). f is a tanh network with two hidden
layers of width 32, ``tanh(W3 @ tanh(W2 @ tanh(W1 @ x)))``: every output depends on all of the hidden
computation, which a backward pass per output walks again (on the scalar engine a backward walks only the
nodes its output reaches; with a single hidden layer that is so little that jacrev keeps up with jacfwd
even at (4, 256)).

- scalar engine: f on a list of Values, each layer a fused ``dot`` per unit;
- tensor engine: the same with ``@`` and ``tanh`` (skipped, saying why, until those ops have jvp rules);
- tensor engine with user-defined Functions carrying their own jvp (``MatVec``, ``Tanh`` below): the
  func machinery on the tensor engine, measurable before the built-in jvp rules exist.

Each (engine, n, m) is one benchmark group, so the table's ratio column reads jacfwd / jacrev directly;
``bench_*_winner`` checks that the mode theory favours is the faster one, timing both interleaved in one
process. ``python bench/bench_func.py`` prints the same comparisons.

Second order: ``hvp`` (reverse-over-reverse: one backward with ``create_graph=True``, then one backward of
<grad, v> through the recorded graph) against two plain ``grad`` calls, on a tensor-engine MLP loss whose
parameters are a dict (group "hvp-vs-2grads"). Theory: a Hessian-vector product costs a small constant
times a gradient; ``bench_hvp_ratio`` times both interleaved in one process and reports hvp / (2 grads).
"""

import time

import numpy as np
import pytest

import naivegrad.scalar as S
from naivegrad.func import grad, hvp, jacfwd, jacrev
from naivegrad.tensor import REGISTRY, Function, Tensor

SHAPES = [(4, 256), (256, 4)]
HIDDEN = 32


def weights(n, m, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((HIDDEN, n)) / np.sqrt(n), rng.standard_normal((HIDDEN, HIDDEN)) / np.sqrt(HIDDEN),
            rng.standard_normal((m, HIDDEN)) / np.sqrt(HIDDEN))


# ---------------------------------------------------------------------------------------------- the functions
def scalar_problem(n, m):
    ws = [w.tolist() for w in weights(n, m)]

    def f(v):
        for w in ws:
            v = [S.dot(row, v).tanh() for row in w]
        return v

    return f, np.linspace(-1.0, 1.0, n).tolist()


def tensor_problem(n, m):
    ws = [Tensor(w, requires_grad=False) for w in weights(n, m)]

    def f(x):
        for w in ws:
            x = (w @ x).tanh()
        return x

    return f, np.linspace(-1.0, 1.0, n)


class MatVec(Function):
    """A @ x for a constant matrix A (keyword), with its forward rule."""

    @staticmethod
    def forward(ctx, x, A=None):
        ctx.A = A
        return A @ x

    @staticmethod
    def backward(ctx, g):
        return ctx.A.T @ g

    @staticmethod
    def jvp(ctx, t):
        return ctx.A @ t


class Tanh(Function):
    """tanh with its forward rule."""

    @staticmethod
    def forward(ctx, x):
        y = np.tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * (1.0 - y * y)

    @staticmethod
    def jvp(ctx, t):
        (y,) = ctx.saved_tensors
        return (1.0 - y * y) * t


def userops_problem(n, m):
    ws = weights(n, m)

    def f(x):
        for w in ws:
            x = Tanh.apply(MatVec.apply(x, A=w))
        return x

    return f, np.linspace(-1.0, 1.0, n)


def _builtin_jvp_missing():
    missing = [name for name in ("matmul", "tanh") if REGISTRY[name].jvp is Function.jvp]
    return f"tensor ops without a jvp rule yet: {', '.join(missing)}" if missing else None


PROBLEMS = {"scalar": scalar_problem, "tensor": tensor_problem, "tensor-userops": userops_problem}


def _problem(engine, n, m):
    if engine == "tensor":
        reason = _builtin_jvp_missing()
        if reason:
            pytest.skip(f"jacfwd on the built-in tensor ops needs their forward-mode rules ({reason})")
    f, x = PROBLEMS[engine](n, m)
    fwd, rev = jacfwd(f)(x), jacrev(f)(x)
    assert fwd.shape == rev.shape == (m, n) and np.allclose(fwd, rev, rtol=1e-10, atol=1e-12)
    return f, x


# ---------------------------------------------------------------------------------------------- benchmarks
@pytest.mark.parametrize("engine", list(PROBLEMS))
@pytest.mark.parametrize("n,m", SHAPES)
@pytest.mark.parametrize("mode", ["jacfwd", "jacrev"])
def bench_jacobian(benchmark, engine, n, m, mode):
    f, x = _problem(engine, n, m)
    benchmark.group = f"jacobian-{engine}-n{n}-m{m}"
    transform = (jacfwd if mode == "jacfwd" else jacrev)(f)
    benchmark.pedantic(transform, args=(x,), rounds=5, iterations=1, warmup_rounds=1)


def _median_times(fns, rounds):
    """Median seconds per call of each fn, measured in interleaved rounds (load spikes hit all alike)."""
    times = {k: [] for k in fns}
    for _ in range(rounds):
        for k, fn in fns.items():
            t = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t)
    return {k: float(np.median(v)) for k, v in times.items()}


def compare(engine, n, m, rounds=5):
    f, x = _problem(engine, n, m)
    fwd, rev = jacfwd(f), jacrev(f)
    return _median_times({"jacfwd": lambda: fwd(x), "jacrev": lambda: rev(x)}, rounds)


@pytest.mark.parametrize("engine", list(PROBLEMS))
@pytest.mark.parametrize("n,m", SHAPES)
def bench_mode_winner(engine, n, m):
    t = compare(engine, n, m)
    expected, other = ("jacfwd", "jacrev") if n < m else ("jacrev", "jacfwd")
    assert t[expected] < t[other], (
        f"{engine} at n={n}, m={m}: {expected} should win, but took {t[expected] * 1e3:.1f} ms against "
        f"{other}'s {t[other] * 1e3:.1f} ms"
    )


# ---------------------------------------------------------------------------------------------- hvp vs 2 grads
def mlp_loss_problem(batch=64, n_in=32, hidden=64, n_out=10, seed=0):
    """A tanh MLP's mean squared error as a function of its parameters (a dict), its parameters, a direction."""
    rng = np.random.default_rng(seed)
    x = Tensor(rng.standard_normal((batch, n_in)), requires_grad=False)
    y = Tensor(rng.standard_normal((batch, n_out)), requires_grad=False)
    params = {"W1": rng.standard_normal((n_in, hidden)) / np.sqrt(n_in), "b1": np.zeros(hidden),
              "W2": rng.standard_normal((hidden, n_out)) / np.sqrt(hidden), "b2": np.zeros(n_out)}
    v = {k: rng.standard_normal(p.shape) for k, p in params.items()}

    def loss(p):
        h = (x @ p["W1"] + p["b1"]).tanh()
        return ((h @ p["W2"] + p["b2"] - y) ** 2).mean()

    return loss, params, v


@pytest.mark.parametrize("what", ["hvp", "two-grads"])
def bench_hvp_vs_two_grads(benchmark, what):
    loss, params, v = mlp_loss_problem()
    benchmark.group = "hvp-vs-2grads"
    g = grad(loss)
    fn = (lambda: hvp(loss, params, v)) if what == "hvp" else (lambda: (g(params), g(params)))
    benchmark.pedantic(fn, rounds=20, iterations=1, warmup_rounds=2)


def hvp_ratio(rounds=30):
    """Median seconds of hvp and of two grad calls (interleaved, one process), and hvp / two grads."""
    loss, params, v = mlp_loss_problem()
    g = grad(loss)
    t = _median_times({"hvp": lambda: hvp(loss, params, v), "two-grads": lambda: (g(params), g(params))}, rounds)
    return t["hvp"], t["two-grads"], t["hvp"] / t["two-grads"]


def bench_hvp_ratio():
    t_hvp, t_two, ratio = hvp_ratio()
    print(f"\nhvp {t_hvp * 1e3:.2f} ms, two grads {t_two * 1e3:.2f} ms: hvp / (2 grads) = {ratio:.2f}")
    assert ratio < 5, f"hvp costs {ratio:.1f} times two gradients: the create_graph backward is too slow"


# ---------------------------------------------------------------------------------------------- as a script
def main():
    t_hvp, t_two, ratio = hvp_ratio()
    print(f"tensor MLP loss: hvp {t_hvp * 1e3:.2f} ms, two grads {t_two * 1e3:.2f} ms -> hvp / (2 grads) {ratio:.2f}")
    for engine in PROBLEMS:
        for n, m in SHAPES:
            try:
                t = compare(engine, n, m, rounds=7)
            except pytest.skip.Exception as e:
                print(f"{engine:15s} n={n:3d} m={m:3d}: skipped ({e})")
                continue
            print(f"{engine:15s} n={n:3d} m={m:3d}: jacfwd {t['jacfwd'] * 1e3:8.2f} ms, "
                  f"jacrev {t['jacrev'] * 1e3:8.2f} ms  ->  jacfwd/jacrev {t['jacfwd'] / t['jacrev']:.2f}")


if __name__ == "__main__":
    main()
