"""The op table: every differentiable op of both engines, described once, so that the tests can be generated.

This is test harness, not library: it lives with the tests (``tests/harness``; ``tests/conftest.py`` puts
``tests/`` on ``sys.path``, so test modules say ``import harness``), it needs hypothesis for some of its parts,
and nothing in ``naivegrad`` imports it.

>>> import harness
>>> op = harness.get("logsumexp")
>>> sorted(op.tensor_forms), op.functions
(['logsumexp', 'logsumexp#positional'], ('logsumexp',))

Each ``Op`` (see ``spec.py``) says how to call the op on Values and on Tensors (every public spelling of it),
what its inputs may be (``Domain``: smooth range, kinks, IEEE specials), which options to draw, and, for
tensor-only ops, a reference composed from scalar-engine ops (``scalar_ref.py``). Every generated test walks
``OPS``: tests/parity (values, gradients, tangents, finite differences, PyTorch, float32 and float64, and the
DAG fuzzer), tests/gradcheck, tests/func (transforms per op, second order per scalar op), the forward-mode
API tests of tests/tensor, the scalar oracles' op list, and bench/mutation.py's targeted runs.
``api.missing(OPS)`` must stay empty: a public op that is not in the table (nor excused in ``api.NOT_OPS``)
fails the completeness test.

Adding an op: write it on the engine(s), then add one ``Op`` to the ``ops_*.py`` module of its family (forms,
domain, shapes/params, reference if tensor-only, torch form); the generated checks then cover it.
"""

from . import ops_conv, ops_elementwise, ops_loss, ops_movement, ops_reduce
from .spec import MODES, Domain, Op

__all__ = ["OPS", "Op", "Domain", "MODES", "get", "names", "jvp_status"]

OPS = tuple(ops_elementwise.OPS + ops_reduce.OPS + ops_loss.OPS + ops_movement.OPS + ops_conv.OPS)

_BY_NAME = {op.name: op for op in OPS}
if len(_BY_NAME) != len(OPS):  # pragma: no cover - a typo in the tables
    raise RuntimeError("harness: two ops share a name")


def get(name):
    """The op called ``name`` in the table (KeyError naming the known ones otherwise)."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"no op {name!r} in the table; known: {', '.join(sorted(_BY_NAME))}") from None


def names():
    """The table's op names, in table order."""
    return [op.name for op in OPS]


def jvp_status(op):
    """The tensor Functions ``op`` runs that have no forward-mode (``jvp``) rule yet: () when all have one."""
    from naivegrad.tensor import REGISTRY, Function

    return tuple(f for f in op.functions if REGISTRY[f].jvp is Function.jvp)
