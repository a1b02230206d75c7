"""Gradient clipping, as ``torch.nn.utils``: ``clip_grad_norm_`` and ``clip_grad_value_``, for both engines.

>>> loss.backward()
>>> total = nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)   # the norm before clipping
>>> opt.step()

``parameters`` is what ``model.parameters()`` returns on either backend, or any mix of:

- Tensors (``nn.Parameter``s): a Tensor whose ``grad`` is None is skipped, as in torch;
- Values (the scalar backend's ``parameters()``), or numpy object arrays of Values (a scalar-backend
  parameter as ``named_parameters()`` gives it): a Value's grad is a number, always present, and each Value
  counts as one gradient (as a 0-d torch tensor would: this matters only for ``norm_type=0``);
- a single Tensor or Value.

The gradients change in place as far as their owner sees it: a Value's ``grad`` is set, a Tensor's ``grad``
is replaced by the scaled (or clamped) array, in its dtype, never written into, because the engine may share
one gradient array between nodes.
"""

import math
from collections.abc import Iterable
from numbers import Real

import numpy as np

from ..engines import is_tensor, is_value

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def _grad_array(t):
    g = t.grad
    if g is None:
        return None
    if is_tensor(g):
        g = g.data
    return np.asarray(g)


class _Grads:
    """The gradients of ``parameters``: Tensors' arrays and Values' numbers gathered in one float64 vector."""

    def __init__(self, parameters, where="parameters"):
        if is_tensor(parameters) or is_value(parameters):
            items = [parameters]
        elif isinstance(parameters, np.ndarray) and parameters.dtype == object:
            items = [parameters]
        elif isinstance(parameters, (str, bytes)) or not isinstance(parameters, Iterable):
            raise TypeError(f"{where} must be a Tensor, a Value or an iterable of them (e.g. model.parameters()), "
                            f"got {type(parameters).__name__}: {parameters!r}")
        else:
            items = list(parameters)
        self.tensors = []  # Tensors that have a grad
        self.values = []
        seen = set()
        for i, p in enumerate(items):
            if isinstance(p, np.ndarray) and p.dtype == object:
                members = p.ravel().tolist()
            else:
                members = [p]
            for v in members:
                if id(v) in seen:
                    continue  # a parameter listed twice (tied) is clipped once
                seen.add(id(v))
                if is_value(v):
                    self.values.append(v)
                elif is_tensor(v):
                    if v.grad is not None:
                        self.tensors.append(v)
                else:
                    raise TypeError(f"{where}: item {i} is a {type(v).__name__}, not a Tensor or a Value: {v!r}")

    def tensor_arrays(self):
        """Each Tensor's gradient as an array, in its dtype."""
        return [_grad_array(t) for t in self.tensors]

    def value_grads(self):
        """The Values' gradients as one float64 vector (a grad that is itself a Value, after
        ``create_graph=True``, counts by its number)."""
        return np.fromiter((float(v.grad) for v in self.values), np.float64, len(self.values))

    def __bool__(self):
        return bool(self.tensors or self.values)


def _norm_type(norm_type):
    try:
        p = float(norm_type)
    except (TypeError, ValueError):
        raise TypeError(f"norm_type must be a number or 'inf', got {type(norm_type).__name__}: {norm_type!r}") from None
    if isinstance(norm_type, bool) or math.isnan(p):
        raise ValueError(f"norm_type must be a number or 'inf', got {norm_type!r}")
    return p


def _vector_norm(x, p):
    """torch.linalg.vector_norm of a 1-D array for the order ``p`` (inf, -inf, 0 and any other real)."""
    if x.size == 0:
        return x.dtype.type(0.0) if p >= 0 else x.dtype.type(math.inf)
    if x.size == 1:
        # torch returns a one-element norm as |x| (for order 0: whether x is non-zero), exactly, where a
        # reduction would square it: a gradient of 1e200 (or 1e20 in float32) has a norm of 1e200, not inf
        # (which would make clip_grad_norm_ zero every gradient), and one of 1e-200 has 1e-200, not 0.
        a = abs(x[0])
        return x.dtype.type(a != 0) if p == 0 else x.dtype.type(a)
    return x.dtype.type(np.linalg.norm(x, ord=p))


def _get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The ``norm_type``-norm of the gradients of the parameters ``tensors`` taken as one vector: the norm of
    each gradient's norm, as torch computes it (torch's ``get_total_norm`` of the grads).

    Returns a numpy floating scalar (it has ``.item()``, as torch's 0-d result does) in the gradients' dtype
    (the common one if they differ; float64 for Values); 0.0 when there are no gradients. ``foreach`` is
    accepted for torch's signature and ignored.
    """
    grads = _Grads(tensors, "tensors")
    p = _norm_type(norm_type)
    if not grads:
        return np.float64(0.0)
    arrays = grads.tensor_arrays()
    values = grads.value_grads() if grads.values else None
    dtype = np.result_type(*arrays, *([values] if values is not None else []))
    if not np.issubdtype(dtype, np.floating):
        dtype = np.float64
    with np.errstate(invalid="ignore", over="ignore"):  # nan and inf gradients give a nan or inf norm
        # Each gradient's norm in its own dtype, as torch takes it (a float32 one in float32 among float64s),
        # then the norms promoted to the common dtype, as torch.stack does.
        norms = [_vector_norm(np.asarray(a, a.dtype if np.issubdtype(a.dtype, np.floating) else dtype).ravel(), p)
                 for a in arrays]
        if values is not None:
            # Each Value is one gradient of one element: its norm is |g| (for order 0: whether it is non-zero).
            norms.extend(((values != 0) if p == 0 else np.abs(values)).astype(dtype).tolist())
        norms = np.array(norms, dtype=dtype)
        total = _vector_norm(norms, p)
    if error_if_nonfinite and not math.isfinite(float(total)):
        raise RuntimeError(f"The total norm of order {p} for gradients from `parameters` is non-finite ({total}), "
                           "so it cannot be clipped. To disable this error and scale the gradients by the "
                           "non-finite norm anyway, set `error_if_nonfinite=False`")
    return total


def _max_norm(max_norm):
    if isinstance(max_norm, bool) or not isinstance(max_norm, (Real, np.floating, np.integer)):
        raise TypeError(f"max_norm must be a real number, got {type(max_norm).__name__}: {max_norm!r}")
    if math.isnan(float(max_norm)) or max_norm < 0:
        raise ValueError(f"max_norm must be a number >= 0, got {max_norm!r}")
    return float(max_norm)


def _clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Scale every gradient by ``min(max_norm / (total_norm + 1e-6), 1)``, torch's rule (always multiplied,
    even by 1), given a total norm computed before (``_get_total_norm``)."""
    grads = _Grads(parameters)
    max_norm = _max_norm(max_norm)
    if not grads:
        return
    total = np.asarray(total_norm)
    dtype = total.dtype if np.issubdtype(total.dtype, np.floating) else np.dtype(np.float64)
    coef = np.minimum(dtype.type(max_norm) / (total.astype(dtype) + dtype.type(1e-6)), dtype.type(1.0))
    with np.errstate(invalid="ignore", over="ignore"):  # inf * 0 is nan, as in torch: no warning
        for t in grads.tensors:
            g = _grad_array(t)
            t.grad = (g * coef.astype(g.dtype)).astype(g.dtype, copy=False)
    c = float(coef)
    for v in grads.values:
        v.grad = float(v.grad) * c


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Rescale the gradients so that their total ``norm_type``-norm is at most ``max_norm``, as torch's
    ``clip_grad_norm_``; returns the total norm before clipping.

    The total norm is the norm of all gradients as one vector (``norm_type`` any real, or ``inf`` / ``"inf"``
    for the largest absolute value). Every gradient is multiplied by ``min(max_norm / (total + 1e-6), 1)``.
    With ``error_if_nonfinite=True`` a nan or infinite total raises RuntimeError (and nothing changes);
    otherwise the gradients are scaled by that coefficient anyway, as in torch (nan gives nan gradients).

    The result is a numpy floating scalar in the gradients' dtype (float64 on the scalar backend, the
    Tensors' dtype on the tensor one): use it as a number, or ``.item()`` as with torch's 0-d tensor.
    ``foreach`` is accepted for torch's signature and ignored.
    """
    if not (is_tensor(parameters) or is_value(parameters) or isinstance(parameters, np.ndarray)):
        if isinstance(parameters, Iterable) and not isinstance(parameters, (str, bytes)):
            parameters = list(parameters)  # a generator is read once, for both passes
    max_norm = _max_norm(max_norm)
    total = _get_total_norm(parameters, norm_type, error_if_nonfinite, foreach)
    _clip_grads_with_norm_(parameters, max_norm, total, foreach)
    return total


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient element into ``[-clip_value, clip_value]``, as torch's ``clip_grad_value_``.

    ``clip_value`` must be a number >= 0 (inf clamps nothing); nan gradients stay nan. Returns None.
    """
    if isinstance(clip_value, bool) or not isinstance(clip_value, (Real, np.floating, np.integer)):
        raise TypeError(f"clip_value must be a real number, got {type(clip_value).__name__}: {clip_value!r}")
    c = float(clip_value)
    if math.isnan(c) or c < 0:
        raise ValueError(f"clip_value must be a number >= 0, got {clip_value!r}")
    grads = _Grads(parameters)
    for t in grads.tensors:
        g = _grad_array(t)
        t.grad = np.clip(g, g.dtype.type(-c), g.dtype.type(c)).astype(g.dtype, copy=False)
    for v in grads.values:
        x = float(v.grad)
        v.grad = x if math.isnan(x) else min(max(x, -c), c)
