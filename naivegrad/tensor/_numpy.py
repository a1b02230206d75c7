"""numpy calls that meet a Tensor: ``Tensor.__array_ufunc__`` and ``Tensor.__array_function__`` come here.

The derivative rules of the ops are written once, with numpy calls and operators (``np.exp(out) * g``,
``np.where(mask, g, 0)``, ``np.matmul(g, b.T)``). On a first-order backward they get arrays and run numpy. On
``backward(create_graph=True)`` they get Tensors, and numpy hands each call here, where it becomes the
Tensor op of the same meaning, recorded in the graph: so the gradient can be differentiated again.

- ufuncs: the arithmetic and comparison ufuncs go to Tensor's operators (``np.float64(2) * t`` and
  ``array + t`` give Tensors, as before), the elementwise functions to their ops (``np.exp`` -> ``exp``), and
  ``np.add.reduce`` / ``np.maximum.reduce`` / ``np.minimum.reduce`` to ``sum`` / ``max`` / ``min``;
- functions: ``np.where``, ``np.sum``, ``np.broadcast_to``, ``np.swapaxes``, ``np.moveaxis``, ``np.transpose``,
  ``np.reshape``, ``np.expand_dims``, ``np.squeeze``, ``np.concatenate``, ``np.stack``, ``np.flip``,
  ``np.cumsum``, ``np.roll``, ``np.tile``, ``np.matmul`` (a ufunc);
- anything else (``np.isfinite(t)``, ``np.allclose(t.grad, ...)``, calls with ``out=``: ``p.data -= lr * p.grad``
  with a Tensor grad) runs numpy on the Tensors' arrays and returns what numpy returns, arrays, with ``out=``
  written. While a ``create_graph`` backward runs a rule, such a call on a Tensor that requires grad giving a
  floating result raises NotImplementedError instead: the rule would treat a derivative as a constant.
"""

import numpy as np

from . import tensor as _t

# True while backward(create_graph=True) runs the ops' rules on Tensors (see the module docstring).
lifting = [False]


def _unwrap(x):
    """``x`` with every Tensor (inside lists, tuples and dicts too) replaced by its array."""
    t = type(x)
    if t is _t.Tensor:
        return x.data
    if t is tuple or t is list:
        return t(_unwrap(v) for v in x)
    if t is dict:
        return {k: _unwrap(v) for k, v in x.items()}
    return x


def _grad_tensor(x):
    """Whether ``x`` holds a Tensor that requires grad (inside lists, tuples, dicts)."""
    t = type(x)
    if t is _t.Tensor:
        return x.requires_grad
    if t is tuple or t is list:
        return any(_grad_tensor(v) for v in x)
    if t is dict:
        return any(_grad_tensor(v) for v in x.values())
    return False


def _fallback(name, call, args, kwargs):
    if lifting[0] and "out" not in kwargs and _grad_tensor((args, kwargs)):
        result = call(*_unwrap(args), **_unwrap(kwargs))
        if any(getattr(r, "dtype", np.dtype(bool)).kind in "fc"
               for r in (result if type(result) is tuple else (result,))):
            raise NotImplementedError(
                f"numpy's {name} has no Tensor implementation: a derivative rule calling it on a Tensor cannot be "
                f"differentiated again (backward(create_graph=True)); write the rule with Tensor-supported calls")
        return result
    return call(*_unwrap(args), **_unwrap(kwargs))


# ---------------------------------------------------------------------------------------------- ufuncs
def _binary(name, reflected):
    def run(a, b):
        if isinstance(a, _t.Tensor):
            return getattr(a, name)(b)
        return getattr(b, reflected)(a)
    return run


def _maximum(a, b):
    return _t.maximum(a, b)


def _minimum(a, b):
    return _t.minimum(a, b)


_BINARY = {
    np.add: _binary("__add__", "__radd__"), np.subtract: _binary("__sub__", "__rsub__"),
    np.multiply: _binary("__mul__", "__rmul__"), np.true_divide: _binary("__truediv__", "__rtruediv__"),
    np.power: _binary("__pow__", "__rpow__"), np.matmul: _binary("matmul", "__rmatmul__"),
    np.equal: _binary("__eq__", "__eq__"), np.not_equal: _binary("__ne__", "__ne__"),
    np.less: _binary("__lt__", "__gt__"), np.less_equal: _binary("__le__", "__ge__"),
    np.greater: _binary("__gt__", "__lt__"), np.greater_equal: _binary("__ge__", "__le__"),
    np.bitwise_and: _binary("__and__", "__rand__"), np.bitwise_or: _binary("__or__", "__ror__"),
    np.bitwise_xor: _binary("__xor__", "__rxor__"), np.maximum: _maximum, np.minimum: _minimum,
}

_UNARY = {
    np.negative: "__neg__", np.positive: "__pos__", np.invert: "__invert__", np.absolute: "abs", np.exp: "exp",
    np.log: "log", np.log1p: "log1p", np.expm1: "expm1", np.sqrt: "sqrt", np.tanh: "tanh", np.sin: "sin",
    np.cos: "cos", np.square: "square",
}

_REDUCE = {np.add: "sum", np.maximum: "max", np.minimum: "min"}


def ufunc(uf, method, inputs, kwargs):
    """``Tensor.__array_ufunc__``: the Tensor op for ``uf``, or numpy on the arrays (see the module docstring)."""
    if not kwargs:
        if method == "__call__":
            if len(inputs) == 2:
                run = _BINARY.get(uf)
                if run is not None:
                    return run(*inputs)
            elif len(inputs) == 1:
                name = _UNARY.get(uf)
                if name is not None:
                    return getattr(inputs[0], name)()
        elif method == "reduce" and len(inputs) == 1:
            name = _REDUCE.get(uf)
            if name is not None:
                return getattr(inputs[0], name)()
    elif method == "reduce" and len(inputs) == 1 and set(kwargs) <= {"axis", "keepdims"}:
        name = _REDUCE.get(uf)
        if name is not None and isinstance(inputs[0], _t.Tensor):
            return getattr(inputs[0], name)(axis=kwargs.get("axis", 0), keepdims=kwargs.get("keepdims", False))
    out = kwargs.get("out")
    if out is not None:  # p.data -= lr * p.grad: computed on the arrays, written into out
        kwargs = dict(kwargs, out=tuple(o.data if isinstance(o, _t.Tensor) else o for o in out))
        getattr(uf, method)(*_unwrap(inputs), **_unwrap(kwargs))
        return out[0] if len(out) == 1 else out
    return _fallback(f"{uf.__name__}.{method}" if method != "__call__" else uf.__name__,
                     getattr(uf, method), inputs, kwargs)


# ---------------------------------------------------------------------------------------------- functions
def _tensor(x):
    return x if isinstance(x, _t.Tensor) else _t.Tensor(x, requires_grad=False)


def _where(condition, x=None, y=None):
    if x is None or y is None or not (isinstance(x, _t.Tensor) or isinstance(y, _t.Tensor)):
        return NotImplemented
    return _t.where(condition, x, y)


def _sum(a, axis=None, dtype=None, out=None, keepdims=False, **rest):
    if dtype is not None or out is not None or rest or not isinstance(a, _t.Tensor):
        return NotImplemented
    return a.sum(axis=axis, keepdims=keepdims)


def _broadcast_to(array, shape, subok=False):
    return _tensor(array).broadcast_to(tuple(shape) if isinstance(shape, (tuple, list)) else (shape,))


def _swapaxes(a, axis1, axis2):
    return _tensor(a).transpose(axis1, axis2)


def _moveaxis(a, source, destination):
    a = _tensor(a)
    nd = a.ndim
    src = [s % nd for s in (source if isinstance(source, (tuple, list)) else (source,))]
    dst = [d % nd for d in (destination if isinstance(destination, (tuple, list)) else (destination,))]
    order = [n for n in range(nd) if n not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return a.permute(tuple(order))


def _transpose(a, axes=None):
    a = _tensor(a)
    return a.transpose() if axes is None else a.permute(tuple(axes))


def _reshape(a, shape=None, order="C", **kw):
    shape = kw.get("newshape", shape)
    if order != "C" or kw.get("copy") is not None or shape is None:
        return NotImplemented
    return _tensor(a).reshape(tuple(shape) if isinstance(shape, (tuple, list)) else (shape,))


def _expand_dims(a, axis):
    if isinstance(axis, (tuple, list)):
        return NotImplemented
    return _tensor(a).unsqueeze(axis)


def _squeeze(a, axis=None):
    return _tensor(a).squeeze(axis)


def _concatenate(arrays, axis=0, out=None, **rest):
    if axis is None or out is not None or rest:
        return NotImplemented
    return _t.concatenate(list(arrays), axis=axis)


def _stack(arrays, axis=0, out=None, **rest):
    if out is not None or rest:
        return NotImplemented
    return _t.stack(list(arrays), axis=axis)


def _flip(m, axis=None):
    m = _tensor(m)
    axes = range(m.ndim) if axis is None else [a % m.ndim for a in (axis if isinstance(axis, (tuple, list))
                                                                     else (axis,))]
    return m[tuple(slice(None, None, -1) if i in axes else slice(None) for i in range(m.ndim))]


def _cumsum(a, axis=None, dtype=None, out=None):
    if axis is None or dtype is not None or out is not None:
        return NotImplemented
    return _tensor(a).cumsum(axis)


def _roll(a, shift, axis=None):
    from .ops.movement import Roll

    if axis is None:
        if isinstance(shift, (tuple, list)):
            return NotImplemented
    elif isinstance(axis, (tuple, list)) or isinstance(shift, (tuple, list)):
        axis = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
        shift = tuple(shift) if isinstance(shift, (tuple, list)) else (shift,) * len(axis)
    return Roll.apply(_tensor(a), shifts=shift, dims=axis)


def _tile(A, reps):
    from .ops.movement import Tile

    A = _tensor(A)
    reps = tuple(reps) if isinstance(reps, (tuple, list)) else (reps,)
    return Tile.apply(A, reps=(1,) * (A.ndim - len(reps)) + reps)


_FUNCTIONS = {
    np.where: _where, np.sum: _sum, np.broadcast_to: _broadcast_to, np.swapaxes: _swapaxes,
    np.moveaxis: _moveaxis, np.transpose: _transpose, np.reshape: _reshape, np.expand_dims: _expand_dims,
    np.squeeze: _squeeze, np.concatenate: _concatenate, np.stack: _stack, np.flip: _flip, np.cumsum: _cumsum,
    np.roll: _roll, np.tile: _tile,
}


def function(func, args, kwargs):
    """``Tensor.__array_function__``: the Tensor op for ``func``, or numpy on the arrays."""
    impl = _FUNCTIONS.get(func)
    if impl is not None:
        r = impl(*args, **kwargs)
        if r is not NotImplemented:
            return r
    return _fallback(getattr(func, "__name__", repr(func)), func, args, kwargs)
