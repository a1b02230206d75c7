"""``naivegrad.autograd.grad``: gradients of outputs with respect to chosen inputs, as ``torch.autograd.grad``,
without touching any ``.grad``.

Both engines: Tensors go through the tensor engine's backward (below), Values through the scalar engine's
``naivegrad.scalar.higher_order.grad`` (same signature and conventions; with ``create_graph=True`` the
gradients are Values with a graph).

>>> x = Tensor([1.0, 2.0]); y = (x ** 3).sum()
>>> (g,) = grad(y, [x], create_graph=True)     # 3 x**2, a Tensor with a graph
>>> (h,) = grad(g.sum(), [x])                  # 6 x: the second derivative
"""

import numbers

import numpy as np

from .tensor.tensor import Tensor, _make
from .tensor.backward import _seed, _walk

__all__ = ["grad"]


def _is_tensor(x):
    return isinstance(x, Tensor)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False):
    """d(sum_i <grad_outputs[i], outputs[i]>) / d(inputs), as ``torch.autograd.grad``; no ``.grad`` changes.

    ``outputs``: a Tensor or a sequence of them; ``inputs``: a Tensor or a sequence (leaves or interior
    tensors, each requiring grad); ``grad_outputs``: one gradient per output (arrays or Tensors; None: 1 for a
    single-element output). Returns a tuple with one gradient per input, always Tensors (as PyTorch): with
    ``create_graph=True`` they carry the graph of the backward (differentiable again: Hessian-vector
    products, gradient penalties), otherwise they are constants (``requires_grad=False``). An input the
    outputs do not depend on is a RuntimeError, or None with ``allow_unused=True``. ``retain_graph`` defaults
    to ``create_graph``: without either, the graph's saved arrays are released, as by ``backward()``.
    """
    if _on_scalar_engine(outputs, inputs):
        # Values: the scalar engine's own reverse mode (its graph is never released: retain_graph is moot).
        return _scalar_grad(outputs, inputs, grad_outputs, create_graph, allow_unused)
    if _is_tensor(outputs):
        outputs = [outputs]
    outputs = list(outputs)
    single = _is_tensor(inputs)
    inputs = [inputs] if single else list(inputs)
    if not outputs:
        raise ValueError("grad(): outputs is empty")
    for what, seq in (("outputs", outputs), ("inputs", inputs)):
        for x in seq:
            if not _is_tensor(x):
                raise TypeError(f"grad(): {what} must be Tensors, got {type(x).__name__}")
    for x in inputs:
        if not x.requires_grad:
            raise RuntimeError("grad(): one of the inputs does not require grad (requires_grad=False, "
                               "detached, or computed under no_grad)")
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif _is_tensor(grad_outputs) or isinstance(grad_outputs, np.ndarray):
        grad_outputs = [grad_outputs]
    grad_outputs = list(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad(): {len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
    if retain_graph is None:
        retain_graph = create_graph
    seeds = [_seed(o, g, create_graph, "grad()") for o, g in zip(outputs, grad_outputs)]
    _, grads = _walk(outputs, seeds, retain_graph, create_graph, inputs)
    result = []
    for i, x in enumerate(inputs):
        g = grads.get(x)
        if g is None:
            if not allow_unused:
                raise RuntimeError(f"grad(): input {i} (shape {x.shape}) is not used by the outputs: pass "
                                   f"allow_unused=True to get None for it")
            result.append(None)
        elif _is_tensor(g):
            result.append(g)
        else:
            result.append(_make(np.array(g), False, None))  # a copy: the walk's arrays may be shared
    return tuple(result)


# ---------------------------------------------------------------------------------------------- scalar engine
def _on_scalar_engine(outputs, inputs):
    """True when ``outputs`` (or, failing that, ``inputs``) are Values: the scalar engine's branch."""
    from .scalar import Value

    for x in (outputs, inputs):
        first = x if not isinstance(x, (list, tuple)) else (x[0] if x else None)
        if first is not None:
            return isinstance(first, Value)
    return False


def _scalar_sequence(x, what):
    from .scalar import Value

    seq = [x] if isinstance(x, Value) else list(x)
    for v in seq:
        if not isinstance(v, Value):
            raise TypeError(f"grad: {what} must be Values (scalar engine) or Tensors (tensor engine), not a mix; "
                            f"got {type(v).__name__}: {v!r}")
    return seq


def _scalar_grad(outputs, inputs, grad_outputs, create_graph, allow_unused):
    """``grad`` on Values: ``naivegrad.scalar.higher_order.grad`` with torch's conventions on top (a tuple,
    None or an error for inputs the outputs do not reach, ``grad_outputs`` entries that may be None)."""
    from .scalar import Value
    from .scalar.higher_order import _reachable
    from .scalar.higher_order import grad as value_grad

    outputs = _scalar_sequence(outputs, "outputs")
    inputs = _scalar_sequence(inputs, "inputs")
    if grad_outputs is None:
        weights = [1.0] * len(outputs)
    else:
        weights = [grad_outputs] if not isinstance(grad_outputs, (list, tuple)) else list(grad_outputs)
        if len(weights) != len(outputs):
            raise ValueError(f"grad: grad_outputs has {len(weights)} entries for {len(outputs)} outputs")
        for i, w in enumerate(weights):
            if w is None:
                weights[i] = 1.0
            elif not isinstance(w, (Value, numbers.Real)) or isinstance(w, bool):
                raise TypeError(f"grad: grad_outputs[{i}] must be a number or a Value, got {type(w).__name__}")
    if not outputs:
        raise ValueError("grad(): outputs is empty")
    if not inputs:
        return ()
    reached = set(_reachable(outputs, min(v._id for v in inputs)))
    used = [v in reached for v in inputs]
    if not all(used) and not allow_unused:
        i = used.index(False)
        raise RuntimeError(f"grad(): input {i} ({inputs[i]!r}) is not used by the outputs: pass "
                           f"allow_unused=True to get None for it")
    grads = value_grad(outputs, inputs, weights, create_graph=create_graph)
    out = []
    for g, u in zip(grads, used):
        if not u:
            out.append(None)
        else:
            out.append(g if type(g) is Value else Value(float(g)))
    return tuple(out)
