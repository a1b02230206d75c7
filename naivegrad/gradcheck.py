"""Check gradients against finite differences, as the seed's ``gradcheck`` did.

``jacobian(func, input)`` is the Jacobian the engine computes (one backward per output element),
``numerical_jacobian(func, input, eps)`` the one central differences give, and ``gradcheck`` compares
them. Both Jacobians have shape (output.size, input.size), in C order.

>>> W = Tensor(np.random.randn(10, 5))
>>> gradcheck(lambda x: x.dot(W).relu().logsoftmax(), Tensor(np.random.randn(1, 10)))
True
"""

import numpy as np

from .grad_mode import no_grad
from .tensor import Tensor

__all__ = ["jacobian", "numerical_jacobian", "gradcheck"]


def _input_tensor(input, what):
    if isinstance(input, Tensor):
        return input
    try:
        return Tensor(np.asarray(input, dtype=np.float64))
    except (TypeError, ValueError):
        raise TypeError(f"{what}: input must be a Tensor or an array of numbers, "
                        f"got {type(input).__name__}") from None


def _output(func, x, what):
    out = func(x)
    if not isinstance(out, Tensor):
        raise TypeError(f"{what}: func must return a Tensor, got {type(out).__name__}")
    return out


def _leaves(root):
    """Every leaf Tensor of root's graph (whose .grad a backward would change)."""
    seen, stack, leaves = {id(root)}, [root], []
    while stack:
        t = stack.pop()
        if t._ctx is None:
            leaves.append(t)
            continue
        for p in t._ctx.parents:
            if p is not None and id(p) not in seen:
                seen.add(id(p))
                stack.append(p)
    return leaves


def jacobian(func, input):
    """d func(input) / d input from the engine's backward, as a float64 array (output.size, input.size).

    The gradients of the graph's leaves (``input`` and any parameters inside ``func``) are left as they were.
    """
    x = _input_tensor(input, "jacobian")
    if not x.requires_grad:
        x = Tensor(x.data, requires_grad=True)
    out = _output(func, x, "jacobian")
    J = np.zeros((out.data.size, x.data.size))
    if not out.requires_grad:  # func does not depend on x through the graph
        return J
    leaves = _leaves(out)
    saved = [t.grad for t in leaves]
    try:
        for o in range(out.data.size):
            for t in leaves:
                t.grad = None
            seed = np.zeros(out.data.size, out.dtype)
            seed[o] = 1
            out.backward(seed.reshape(out.shape), retain_graph=True)
            if x.grad is not None:
                J[o] = x.grad.ravel()
    finally:
        for t, g in zip(leaves, saved):
            t.grad = g
    return J


def numerical_jacobian(func, input, eps=1e-6):
    """d func(input) / d input by central differences (f(x + eps) - f(x - eps)) / (2 eps), in float64."""
    x = _input_tensor(input, "numerical_jacobian")
    if not eps > 0:
        raise ValueError(f"numerical_jacobian: eps must be positive, got {eps!r}")
    x0 = np.array(x.data, dtype=np.float64)
    with no_grad():
        def f(data):
            return np.array(_output(func, Tensor(data, requires_grad=False), "numerical_jacobian").data,
                              dtype=np.float64).ravel()

        n_out = f(x0).size
        NJ = np.zeros((n_out, x0.size))
        flat = x0.reshape(-1)
        for i in range(x0.size):
            keep = flat[i]
            flat[i] = keep + eps
            plus = f(x0)
            flat[i] = keep - eps
            minus = f(x0)
            flat[i] = keep
            NJ[:, i] = (plus - minus) / (2 * eps)
    return NJ


def gradcheck(func, input, eps=1e-6, atol=1e-5, rtol=1e-3):
    """True when the engine's Jacobian matches central differences within ``atol`` + ``rtol`` (np.allclose)."""
    NJ = numerical_jacobian(func, input, eps)
    J = jacobian(func, input)
    return bool(np.allclose(J, NJ, atol=atol, rtol=rtol))
