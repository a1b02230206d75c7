"""Losses that are ops of their own on the tensor engine: ``nll_loss`` and ``cross_entropy`` (log-softmax then
nll_loss), checked against picking Values out of an object array and summing them on the scalar engine."""

import numpy as np

from naivegrad import scalar
from naivegrad.tensor import Tensor, cross_entropy, nll_loss

from . import scalar_ref as ref
from .spec import Domain, Op

__all__ = ["OPS"]

REDUCTIONS = ("mean", "sum", "none")


def _shapes(draw):
    return ((draw.integers(0, 4), draw.integers(1, 4)),)


def _params(draw, shapes, mode):
    (n, c), = shapes
    target = np.array([draw.integers(0, c - 1) for _ in range(n)], dtype=np.int64)
    return {"target": target, "reduction": draw.sampled_from(REDUCTIONS)}


def nll_reference(logp, target, reduction):
    """-logp[i, target[i]], then averaged, summed or kept per sample."""
    picked = [logp[i, t] for i, t in enumerate(target)]
    if reduction == "none":
        return ref.objects(np.array([-p for p in picked] + [None], dtype=object)[:-1])
    total = -scalar.sum(picked)
    return ref.objects(total / float(len(picked)) if reduction == "mean" else total)


def _cross_entropy_reference(x, target, reduction):
    return nll_reference(ref.along_axis(ref.logsoftmax, x, 1), target, reduction)


def _float_target(target):
    return Tensor(target.astype(np.float64), requires_grad=False)  # class indices held as whole floats


def _torch_loss(name):
    def f(x, target, reduction):
        import torch
        import torch.nn.functional as F

        return getattr(F, name)(x, torch.from_numpy(target), reduction=reduction)
    return f


OPS = [
    Op(name="nll_loss", arity=1, shapes=_shapes, params=_params, reference=nll_reference, domain=Domain(-4.0, 0.0),
       tensor_forms={"tensor.nll_loss": lambda x, target, reduction: nll_loss(x, target, reduction),
                     "tensor.nll_loss#tensor_target": lambda x, target, reduction: nll_loss(
                         x, _float_target(target), reduction=reduction)},
       functions=("nllloss",), torch=_torch_loss("nll_loss"),
       source="nll_loss({0}, {target}, {reduction})"),
    Op(name="cross_entropy", arity=1, shapes=_shapes, params=_params, reference=_cross_entropy_reference,
       tensor_forms={"tensor.cross_entropy": lambda x, target, reduction: cross_entropy(x, target, reduction)},
       functions=("logsoftmax", "nllloss"), torch=_torch_loss("cross_entropy"),
       source="cross_entropy({0}, {target}, {reduction})"),
]
