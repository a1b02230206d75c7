"""Forward mode on the tensor engine: for every registered op whose ``Function``s have a ``jvp`` rule, the
tensor tangent J v equals the scalar engine's (elementwise), equals central differences, and satisfies the
transpose identity <u, J v> == <J^T u, v> with the tensor engine's own reverse mode.

Ops whose Functions have no jvp rule yet are skipped, each with the names of the missing rules in the reason
(``pytest -ra`` counts them); when a rule lands, its ops' checks turn on by themselves.
"""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import harness
from harness.check import (
    assert_close, fd_rtol_for, magnitude, nonfinite_rounding, numerical_jvp, rtol_for, run_scalar, run_tensor,
    seeded_cases,
)
from harness.strategies import cases

EXAMPLES = max(8, settings.default.max_examples // 5)
SEEDS = max(15, settings.default.max_examples // 4)


def _params():
    out = []
    for op in harness.OPS:
        missing = harness.jvp_status(op)
        marks = [pytest.mark.skip(reason=f"no jvp rule yet in {', '.join(sorted(set(missing)))}")] if missing else []
        out.append(pytest.param(op, id=op.name, marks=marks))
    return out


PARAMS = _params()


@pytest.mark.parametrize("op", PARAMS)
@settings(max_examples=EXAMPLES)
@given(data=st.data())
def test_tensor_tangents_match_the_scalar_engine_and_reverse_mode(op, data):
    check_tensor_tangents(op, data.draw(cases(op, "parity")))


@pytest.mark.parametrize("op", PARAMS)
def test_tensor_tangents_match_the_scalar_engine_and_reverse_mode_on_seeded_cases(op):
    for case in seeded_cases(op, "parity", SEEDS * op.seeded):
        check_tensor_tangents(op, case)


def check_tensor_tangents(op, case):
    expected = run_scalar(case)
    ctx = case.describe()
    for key, form in op.tensor_forms.items():
        r = run_tensor(case, form, tangents=True)
        assert_close(r.tangent, expected.tangent, case.dtype, f"{op.name} as Tensor.{key}: tangent",
                     magnitude(*case.leaves, *case.tangents, expected.tangent), context=ctx,
                     inf_or_nan=nonfinite_rounding(case.dtype, *case.tangents))
        with np.errstate(invalid="ignore", over="ignore"):
            forward = float(np.sum(r.tangent * case.cotangent))
            terms = [g * v for g, v, c in zip(r.grads, case.tangents, case.constant) if not c]
            reverse = sum(float(np.sum(t)) for t in terms)
            size = float(np.sum(np.abs(r.tangent * case.cotangent)) + sum(np.sum(np.abs(t)) for t in terms))
        if np.isfinite(size):
            assert abs(forward - reverse) <= 16 * rtol_for(case.dtype) * (size + 1.0), (
                f"{op.name} as Tensor.{key}: <u, J v> = {forward!r} but <J^T u, v> = {reverse!r}\n{ctx}")


@pytest.mark.parametrize("op", PARAMS)
@settings(max_examples=max(4, EXAMPLES // 2))
@given(data=st.data())
def test_tensor_tangents_match_central_differences(op, data):
    case = data.draw(cases(op, "smooth"))
    assume(case is not None)
    form = next(iter(op.tensor_forms.values()))
    jv, size = numerical_jvp(case, form)
    r = run_tensor(case, form, tangents=True, backward=False)
    assert_close(r.tangent, jv, np.float64, f"{op.name}: tensor tangent vs differences", magnitude(*case.leaves, jv),
                 rtol=fd_rtol_for(case.dtype), atol=8 * np.finfo(np.float64).eps * size / 1e-6,
                 context=case.describe())


def test_the_skipped_ops_are_exactly_those_missing_a_jvp_rule():
    """The skip list is computed, not written down: an op is skipped iff one of its Functions lacks jvp."""
    from naivegrad.tensor import REGISTRY, Function

    without = {name for name, cls in REGISTRY.items() if cls.jvp is Function.jvp}
    for p in PARAMS:
        op = p.values[0]
        assert bool(p.marks) == bool(set(op.functions) & without), op.name
