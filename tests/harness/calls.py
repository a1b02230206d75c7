"""One concrete call per op of the table (or per tensor ``Function``), at a seeded smooth point.

The generated parity tests draw many cases per op; some tests need one fixed, small call per op instead: the
transforms of ``naivegrad.func`` on each op (tests/func), the tensor engine's forward-mode API per Function
(tests/tensor/test_tensor_jvp.py), ``naivegrad.gradcheck`` per op (tests/gradcheck). They walk the table
through this module, so a new op reaches them by itself.

>>> call = smooth_call(harness.get("tanh"))
>>> call.fn(*[Tensor(a) for a in call.arrays])     # the op's first tensor form on its leaves
"""

import zlib
from dataclasses import dataclass
from typing import Callable

from . import OPS
from .check import _call_tensor, draw_case
from .draw import RandomDraw

__all__ = ["Call", "smooth_case", "smooth_call", "calls_by_function"]


@dataclass(frozen=True)
class Call:
    op: object          # the table's Op
    form: str           # which tensor form ``fn`` runs
    fn: Callable        # fn(*leaf Tensors) -> Tensor: the op's inputs picked from the leaves, options bound
    arrays: list        # the leaves, float64 arrays at a smooth point
    case: object        # the ``check.Case`` they come from (constant flags, tangents, cotangent...)


def smooth_case(op, limit=24, seeds=range(80)):
    """The first seeded smooth float64 case of ``op`` with no empty leaf, a nonempty output, and at most
    ``limit`` elements in its leaves and in its output; None if none of the seeds gives one."""
    for seed in seeds:
        case = draw_case(RandomDraw([zlib.crc32(op.name.encode()), seed]), op, "smooth", dtype="float64")
        if case is None or not case.cotangent.size or case.cotangent.size > limit:
            continue
        if all(a.size for a in case.leaves) and sum(a.size for a in case.leaves) <= limit:
            return case
    return None


def smooth_call(op, form=None, limit=24):
    """``op``'s tensor form ``form`` (default: its first) as a function of the leaves of ``smooth_case(op)``."""
    case = smooth_case(op, limit)
    if case is None:
        raise LookupError(f"{op.name}: no small smooth case among the seeds")
    key = form or next(iter(op.tensor_forms))
    tensor_form = op.tensor_forms[key]

    def fn(*leaves):
        return _call_tensor(case, tensor_form, leaves)

    fn.__name__ = f"{op.name}:{key}"
    return Call(op, key, fn, [a.copy() for a in case.leaves], case)


def calls_by_function(limit=24):
    """{REGISTRY name: Call} for every tensor ``Function``: the first op of the table whose forms run that
    Function alone, at its smooth call. A Function no such op runs is an error (the table must cover it)."""
    from naivegrad.tensor import REGISTRY

    out = {}
    for op in OPS:
        if len(op.functions) == 1 and op.functions[0] not in out and op.tensor_forms:
            out[op.functions[0]] = smooth_call(op, limit=limit)
    missing = sorted(set(REGISTRY) - set(out))
    if missing:
        raise LookupError(f"no op of the table runs these tensor Functions alone: {missing}")
    return out
