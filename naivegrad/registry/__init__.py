"""The op registry: every differentiable op of both engines, described once, so that checks can be generated.

>>> from naivegrad import registry
>>> op = registry.get("logsumexp")
>>> sorted(op.tensor_forms), op.functions
(['logsumexp'], ('logsumexp',))

Each ``Op`` (see ``spec.py``) says how to call the op on Values and on Tensors (every public spelling of it),
what its inputs may be (``Domain``: smooth range, kinks, IEEE specials), which options to draw, and, for
tensor-only ops, a reference composed from scalar-engine ops (``scalar_ref.py``). The tests in
``tests/parity`` loop over ``OPS``: values, gradients, tangents and finite differences on both engines, float32
and float64, and the differential fuzzer draws its DAGs from it. ``api.missing(OPS)`` must stay empty: a public
op that is not registered here (nor excused in ``api.NOT_OPS``) fails the completeness test.

Adding an op: write it on the engine(s), then add one ``Op`` to the ``ops_*.py`` module of its family (forms,
domain, shapes/params, reference if tensor-only, torch form); the generated checks then cover it.
"""

from . import ops_conv, ops_elementwise, ops_loss, ops_movement, ops_reduce
from .spec import MODES, Domain, Op

__all__ = ["OPS", "Op", "Domain", "MODES", "get", "names", "jvp_status"]

OPS = tuple(ops_elementwise.OPS + ops_reduce.OPS + ops_loss.OPS + ops_movement.OPS + ops_conv.OPS)

_BY_NAME = {op.name: op for op in OPS}
if len(_BY_NAME) != len(OPS):  # pragma: no cover - a typo in the tables
    raise RuntimeError("registry: two ops share a name")


def get(name):
    """The registered op called ``name`` (KeyError naming the known ones otherwise)."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"no registered op {name!r}; known: {', '.join(sorted(_BY_NAME))}") from None


def names():
    """The registered ops' names, in registry order."""
    return [op.name for op in OPS]


def jvp_status(op):
    """The tensor Functions ``op`` runs that have no forward-mode (``jvp``) rule yet: () when all have one."""
    from ..tensor import REGISTRY, Function

    return tuple(f for f in op.functions if REGISTRY[f].jvp is Function.jvp)
