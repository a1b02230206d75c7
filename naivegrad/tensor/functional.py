"""The module functions over tensors: ``where``, ``maximum``, ``minimum``, ``concatenate`` (``cat``), ``stack``,
and the one-node ``nll_loss``, ``cross_entropy`` and ``linear`` of ``torch.nn.functional``.

>>> where(x > 0, x, 0.1 * x)
"""

import numpy as np

from .tensor import Tensor, _axis_or_dim, _operand, _operand_tensor, _pair
from .ops.elementwise import Maximum, Minimum, Where
from .ops.linalg import Linear
from .ops.loss import NLLLoss
from .ops.movement import Concatenate, Stack


def where(condition, a, b):
    """``a`` where ``condition`` is true, else ``b`` (broadcast together); gradients flow to a and b.

    >>> where(x > 0, x, 0.1 * x)    # condition: a bool mask Tensor or array (other dtypes taken as != 0)
    """
    if isinstance(condition, Tensor):
        condition = condition.data
    return Where.apply(np.asarray(condition), *_promoted(a, b))


def _promoted(a, b):
    """``a`` and ``b`` as a binary op's operands, either of them a Tensor (PyTorch's promotion, see _pair)."""
    if isinstance(a, Tensor):
        return _pair(a, b)
    if isinstance(b, Tensor):
        b, a = _pair(b, a)
        return a, b
    return _operand(a), _operand(b)


def concatenate(tensors, axis=None, dim=None):
    """Tensors joined along an existing axis (all shapes equal except along ``axis``; default 0; ``dim`` is
    PyTorch's name for it)."""
    axis = _axis_or_dim(axis, dim, "concatenate", 0)
    return Concatenate.apply(*[_operand_tensor(t) for t in _sequence(tensors, "concatenate")], axis=axis)


cat = concatenate


def stack(tensors, axis=None, dim=None):
    """Tensors of equal shape joined along a new axis (``axis`` or ``dim``, default 0)."""
    axis = _axis_or_dim(axis, dim, "stack", 0)
    return Stack.apply(*[_operand_tensor(t) for t in _sequence(tensors, "stack")], axis=axis)


def _sequence(tensors, what):
    if isinstance(tensors, (Tensor, np.ndarray)) or not hasattr(tensors, "__iter__"):
        raise TypeError(f"{what} needs a sequence of tensors, got {type(tensors).__name__}")
    return list(tensors)


def nll_loss(input, target, reduction="mean"):
    """The negative log-likelihood of integer class ``target`` (N,) under log-probabilities ``input``
    (N, C), as ``torch.nn.functional.nll_loss``: one op (its backward is a scatter of -1/N).

    >>> nll_loss(logits.logsoftmax(axis=1), labels)    # the cross-entropy of a classifier
    """
    if isinstance(target, Tensor):
        target = target.data
    return NLLLoss.apply(_operand_tensor(input), target, reduction=reduction)


def linear(input, weight, bias=None):
    """``input @ weight.T + bias`` as one op, as ``torch.nn.functional.linear``: ``weight`` is
    (out_features, in_features), ``input`` (..., in_features), ``bias`` (out_features,) or None.

    >>> h = linear(x, w1, b1).relu()     # a dense layer: one node in the graph, not three
    """
    return Linear.apply(_operand_tensor(input), _operand_tensor(weight),
                        None if bias is None else _operand_tensor(bias))


def cross_entropy(input, target, reduction="mean"):
    """``nll_loss(input.logsoftmax(axis=1), target)``: the cross-entropy of logits (N, C) and classes (N,)."""
    return nll_loss(_operand_tensor(input).logsoftmax(axis=1), target, reduction)


def maximum(a, b):
    """Elementwise max (see ``Tensor.maximum``)."""
    return Maximum.apply(*_promoted(a, b))


def minimum(a, b):
    """Elementwise min (see ``Tensor.minimum``)."""
    return Minimum.apply(*_promoted(a, b))
