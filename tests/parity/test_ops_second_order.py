"""Second derivatives of every op of the table on both engines: a Hessian-vector product H v of <u, op(x)>
(random cotangent u, random direction v) by reverse-over-reverse, against central differences of the engine's
own first derivative along v, against PyTorch's double backward (float64), and the two engines against each
other (``harness.second_order``).

Cases are seeded smooth-mode draws (kinks and ties kept away: finite differences are fair), float64; a few per op
by default, many more under ``--deep``. Ops the tensor engine cannot differentiate twice are listed once, with
the reason, in ``harness.second_order.NOT_TWICE_DIFFERENTIABLE``: for those the test asserts the
NotImplementedError (naming the op) instead, so the list cannot go stale. Every scalar reference is right to
every order (``harness.scalar_ref``), so none is passed over; the last test shows that the scalar check would
catch one that is right to first order only (a constant standing for a function of the inputs, or a node built
by hand).
"""

import itertools
import math

import numpy as np
import pytest
from hypothesis import settings

import harness
from harness.check import assert_close, magnitude, seeded_cases
from harness.scalar_ref import data_of, reduce_slices
from harness.second_order import (
    NOT_TWICE_DIFFERENTIABLE, hvp_scalar, hvp_tensor, hvp_torch, numerical_hvp_scalar, numerical_hvp_tensor,
)
from naivegrad import scalar as S
from naivegrad.scalar import Value

CASES = max(3, settings.default.max_examples // 20)  # 3 by default, 100 under --deep
OPS = pytest.mark.parametrize("op", harness.OPS, ids=lambda op: op.name)
FD_RTOL = 1e-6
ENGINE_RTOL = 1e-10


def _cases(op):
    """The first CASES (times ``op.seeded``) seeded smooth draws that the op's smooth filter keeps (std's rejects
    most: a slice of equal elements is its kink), so that no op is checked on nothing."""
    n = CASES * op.seeded
    cases = list(itertools.islice(seeded_cases(op, "smooth", 50 * n, np.float64), n))
    assert len(cases) == n, f"{op.name}: only {len(cases)} smooth cases among {50 * n} draws"
    return cases


def _fd_close(actual, numerical, size, case, what):
    for i, (a, n) in enumerate(zip(actual, numerical)):
        if a is None:
            continue
        # Differences of a gradient: rounding ~ eps * |grad| / h, truncation ~ h**2 * (third derivative).
        assert_close(a, n, np.float64, f"{what}: H v of leaf {i} vs differences of the gradient",
                     scale=magnitude(a, n), rtol=FD_RTOL, atol=1e-10 * size, context=case.describe())


def _engines_close(actual, expected, case, what):
    for i, (a, e) in enumerate(zip(actual, expected)):
        if a is None:
            continue
        assert_close(a, e, np.float64, f"{what}: H v of leaf {i}", rtol=ENGINE_RTOL,
                     scale=magnitude(*case.leaves, case.cotangent, *case.tangents, a, e), context=case.describe())


@OPS
def test_tensor_second_derivatives_match_differences_and_torch(op):
    cases = _cases(op)
    if op.name in NOT_TWICE_DIFFERENTIABLE:
        for key, form in op.tensor_forms.items():
            with pytest.raises(NotImplementedError, match="|".join(op.functions)):
                hvp_tensor(cases[0], form)
        return
    torch = pytest.importorskip("torch") if op.torch is not None else None
    for case in cases:
        expected = hvp_torch(case) if torch is not None else None
        for key, form in op.tensor_forms.items():
            hv = hvp_tensor(case, form)
            what = f"{op.name} as Tensor.{key}"
            fd, size = numerical_hvp_tensor(case, form)
            _fd_close(hv, fd, size, case, what)
            if expected is not None:
                _engines_close(hv, expected, case, f"{what} vs torch")


@OPS
def test_scalar_second_derivatives_match_differences_and_the_tensor_engine(op):
    cases = _cases(op)
    forms = [("reference", None)] + list(op.value_callables().items())
    tensor_ok = op.name not in NOT_TWICE_DIFFERENTIABLE
    for case in cases:
        expected = hvp_tensor(case, next(iter(op.tensor_forms.values()))) if tensor_ok else None
        for key, fn in forms:
            hv = hvp_scalar(case, fn)
            what = f"{op.name} as {key} (scalar engine)"
            fd, size = numerical_hvp_scalar(case, fn)
            _fd_close(hv, fd, size, case, what)
            if expected is not None:
                _engines_close(hv, expected, case, f"{what} vs the tensor engine")


def _fails(case, fn):
    """True where the scalar second-order check above rejects ``fn`` as the case's reference."""
    try:
        hv = hvp_scalar(case, fn)
        fd, size = numerical_hvp_scalar(case, fn)
        _fd_close(hv, fd, size, case, "")
        expected = hvp_tensor(case, next(iter(case.op.tensor_forms.values())))
        _engines_close(hv, expected, case, "")
    except ValueError as e:  # a node built by hand: refused by backward(create_graph=True)
        assert "made by hand" in str(e)
        return True
    except AssertionError:
        return True
    return False


def _var_with_a_constant_mean(x, axis, keepdims, correction):
    """var with the mean held constant: its gradient is var's (the mean's term sums to 0), its second derivative
    lacks the mean's -2 / (n (n - correction)): right to first order only."""
    def f(vs):
        m = sum(data_of(v) for v in vs) / len(vs) if vs else math.nan
        return S.sum([(v - m) * (v - m) for v in vs]) / max(0.0, len(vs) - correction)
    return reduce_slices(f, x, axis, keepdims)


def _max_with_a_hand_built_node(x, axis, keepdims):
    """max with the non-maximal elements' 0 * gradient through a node built by hand (no derivative rule)."""
    def f(vs):
        data = [data_of(v) for v in vs]
        tied = [v for v, d in zip(vs, data) if d == max(data)]
        rest = [v for v, d in zip(vs, data) if d != max(data)]
        out = S.sum(tied) * (1.0 / len(tied))
        return out + Value(0.0, rest) if rest else out
    return reduce_slices(f, x, axis, keepdims)


@pytest.mark.parametrize("name, wrong", [("var", _var_with_a_constant_mean), ("max", _max_with_a_hand_built_node)])
def test_the_scalar_check_rejects_a_reference_right_to_first_order_only(name, wrong):
    """The scalar check has teeth: a reference whose first derivative is the op's but whose second is not fails it
    on some case, where the op's own reference passes on every one (the test above)."""
    op = harness.get(name)
    cases = list(seeded_cases(op, "smooth", max(8, CASES), np.float64))
    assert any(_fails(case, wrong) for case in cases), f"the second-order check passes a wrong {name} reference"
    assert not any(_fails(case, None) for case in cases)


def test_the_list_names_ops_of_the_table():
    assert set(NOT_TWICE_DIFFERENTIABLE) <= set(harness.names())
