"""Shape helpers shared by the ops: undoing broadcasting in gradients, and checking axis arguments."""

import operator

import numpy as np

__all__ = ["unbroadcast", "normalize_axes", "normalize_axis"]

_sum = np.add.reduce


def unbroadcast(grad, shape):
    """Sum ``grad`` over the dimensions that broadcasting added or stretched, giving an array of ``shape``.

    The gradient of a broadcast operand is the sum of the gradients of all the copies broadcasting made:
    every binary op passes its output gradient through this helper, once per operand.

    >>> unbroadcast(np.ones((4, 2, 3)), (2, 1)).tolist()
    [[12.0], [12.0]]
    """
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    if lead:
        grad = _sum(grad, axis=tuple(range(lead)))  # ufunc.reduce: ndarray.sum adds a Python-level frame
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = _sum(grad, axis=stretched, keepdims=True)
    return grad


class AxisError(ValueError, IndexError):
    """An axis (``dim``) out of range: an IndexError, as PyTorch raises ("Dimension out of range"), and a
    ValueError, as naivegrad raised before (numpy's ``AxisError`` is both too)."""


def normalize_axis(axis, ndim, shape, what):
    """``axis`` (an int, negative counting from the end) as a non-negative int, or an ``AxisError`` naming it."""
    if type(axis) is not int:
        try:
            axis = operator.index(axis)
        except TypeError:
            raise TypeError(f"{what}: axis must be an int, got {type(axis).__name__}: {axis!r}") from None
    if axis < 0:
        if axis < -ndim:
            raise AxisError(f"{what}: axis {axis} is out of range for a tensor of shape {tuple(shape)}")
        return axis + ndim
    if axis >= ndim:
        raise AxisError(f"{what}: axis {axis} is out of range for a tensor of shape {tuple(shape)}")
    return axis


def scalar_dims(dims, what, distinct=True):
    """The dims of a 0-d tensor, checked: 0 and -1 only, as in PyTorch (``torch.tensor(3.).sum(0)``, ``softmax(0)``,
    ``flip(0)``), and named once unless not ``distinct`` (``transpose(0, -1)``): they are the same dim. Returns
    ``()``: an op over them is an op over no axis at all."""
    dims = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
    if distinct and len(dims) > 1:
        raise ValueError(f"{what}: repeated axis in {dims!r} for a tensor of shape () (0 and -1 are its one dim)")
    for d in dims:
        if type(d) is not int:
            try:
                d = operator.index(d)
            except TypeError:
                raise TypeError(f"{what}: axis must be an int, got {type(d).__name__}: {d!r}") from None
        if d not in (0, -1):
            raise AxisError(f"{what}: axis {d} is out of range for a tensor of shape () (a 0-d tensor has "
                            f"dims 0 and -1)")
    return ()


def normalize_axes(axis, ndim, shape, what):
    """``axis`` (None, an int or a tuple of ints) as a sorted tuple of distinct non-negative axes.

    A 0-d tensor has the dims 0 and -1, as in PyTorch (``torch.tensor(3.).sum(0)``): reducing or squeezing
    over them is reducing over no axis at all, ``()``."""
    if axis is None:
        return tuple(range(ndim))
    if ndim == 0:
        return scalar_dims(axis, what)
    if isinstance(axis, (tuple, list)):
        axes = tuple(normalize_axis(a, ndim, shape, what) for a in axis)
        if len(set(axes)) != len(axes):
            raise ValueError(f"{what}: repeated axis in {axis!r} for a tensor of shape {tuple(shape)}")
        return tuple(sorted(axes))
    return (normalize_axis(axis, ndim, shape, what),)
