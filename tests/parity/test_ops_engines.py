"""Every registered op: the tensor engine against the scalar engine, value and gradient, float32 and float64.

The cases come from the op table (``tests/harness``) in "parity" mode: broadcast shapes with size-0 and size-1 axes, one
tensor feeding several inputs, constant operands, and values on kinks, ties, clip bounds and IEEE specials
(log 0, sqrt of a negative, a zero divisor), where the engines must agree on the conventions, not just
approximately; in a share of cases a few inputs, cotangent or tangent elements are inf, -inf or nan, and the
nans, infinities and exact zeros must match (a mask gives 0, never 0 * inf). Each case runs every public spelling of the op (``a + b``, ``a.add(b)``, ``b.__radd__(a)``...)
on the tensor engine and every scalar-engine spelling (``scalar.sum``, ``scalar.conv.conv2d``...) against
the scalar reference. float64 values agree to 1e-12 relative; float32 to 2**10 ulps, and float32 stays float32.
Ops without sums (``Op.exact``: unary, constant, clip, movement) agree in float64 to 1e-12 of each element.

Each check runs on hypothesis cases (shrunk when they fail) and on seeded numpy-random cases: hypothesis keeps
the prefix of its choices across many examples (a handful of shapes per test), the seeded draws spread
evenly over shapes, broadcasting patterns and options.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import harness
from harness.check import (
    _call_tensor, _tensor, assert_close, draw_case, magnitude, nonfinite_rounding, rtol_for, run_scalar, run_tensor,
    seeded_cases,
)
from harness.draw import RandomDraw
from harness.strategies import cases

EXAMPLES = max(20, settings.default.max_examples // 3)
SEEDS = max(15, settings.default.max_examples // 4)
OPS = pytest.mark.parametrize("op", harness.OPS, ids=lambda op: op.name)


def _compare(result, expected, case, what, dtype):
    ctx = case.describe()
    assert_close(result.value, expected.value, dtype, f"{what}: value",
                 magnitude(*case.leaves, expected.value), context=ctx)
    rounding = nonfinite_rounding(dtype, case.cotangent)
    for i, (g, e) in enumerate(zip(result.grads, expected.grads)):
        if e is None:
            continue
        assert_close(g, e, dtype, f"{what}: gradient of leaf {i}",
                     magnitude(*case.leaves, case.cotangent, e), context=ctx, inf_or_nan=rounding)


@OPS
@settings(max_examples=EXAMPLES)
@given(data=st.data())
def test_every_tensor_form_matches_the_scalar_reference(op, data):
    check_tensor_forms(op, data.draw(cases(op, "parity")))


@OPS
def test_every_tensor_form_matches_the_scalar_reference_on_seeded_cases(op):
    for case in seeded_cases(op, "parity", SEEDS * op.seeded):
        check_tensor_forms(op, case)


def _compare_exact(result, expected, case, what):
    """For ``exact`` ops (no sums: one scalar op per output element) in float64: values to 1e-12 of each element
    itself, however small (sigmoid(-30), 1 - tanh(10)**2), and gradients to 1e-12 of themselves plus a few ulps
    of the cotangent (the engines may round ``out`` one ulp apart, and 1 - out**2 turns that into an absolute
    error of the cotangent's size)."""
    ctx = case.describe()
    assert_close(result.value, expected.value, np.float64, f"{what}: value (relative to each element)",
                 scale=0.0, context=ctx)
    atol = 1e-14 * (1.0 + float(np.abs(case.cotangent).max(initial=0.0)))
    for i, (g, e) in enumerate(zip(result.grads, expected.grads)):
        if e is not None:
            assert_close(g, e, np.float64, f"{what}: gradient of leaf {i} (relative to each element)",
                         scale=0.0, atol=atol, context=ctx)


def check_tensor_forms(op, case):
    expected = run_scalar(case)
    for key, form in op.tensor_forms.items():
        result = run_tensor(case, form)
        _compare(result, expected, case, f"{op.name} as Tensor.{key}", case.dtype)
        if op.exact and case.dtype == np.float64:
            _compare_exact(result, expected, case, f"{op.name} as Tensor.{key}")
        # float32 in, float32 out: no silent promotion by a constant or a helper array.
        assert result.dtype == case.dtype, f"Tensor.{key} turned {case.dtype} into {result.dtype}"
        for g, c in zip(result.grad_dtypes, case.constant):
            assert c or g == case.dtype, f"Tensor.{key} gave a {g} gradient to a {case.dtype} leaf"


@OPS
@settings(max_examples=EXAMPLES)
@given(data=st.data())
def test_every_scalar_form_matches_the_reference_in_both_modes(op, data):
    check_scalar_forms(op, data.draw(cases(op, "parity", dtype=np.float64)))


@OPS
def test_every_scalar_form_matches_the_reference_in_both_modes_on_seeded_cases(op):
    for case in seeded_cases(op, "parity", SEEDS * op.seeded, np.float64):
        check_scalar_forms(op, case)


def check_scalar_forms(op, case):
    """The scalar engine's own spellings (fused sum/dot, conv) against its reference composition, and its
    forward mode against its reverse mode: <u, J v> == <J^T u, v>."""
    expected = run_scalar(case)
    results = [("reference", expected)]
    for key, fn in op.value_callables().items():
        result = run_scalar(case, fn)
        _compare(result, expected, case, f"{op.name} as {key}", np.float64)
        assert_close(result.tangent, expected.tangent, np.float64, f"{op.name} as {key}: tangent",
                     magnitude(*case.leaves, *case.tangents, expected.tangent), context=case.describe())
        results.append((key, result))
    for key, r in results:
        assert_transpose_identity(r, case, f"{op.name} ({key})")


def assert_transpose_identity(r, case, what):
    """Forward mode's J v and reverse mode's J^T u agree: <u, J v> == <J^T u, v>."""
    with np.errstate(invalid="ignore", over="ignore"):
        forward = float(np.sum(r.tangent * case.cotangent))
        terms = [g * v for g, v, c in zip(r.grads, case.tangents, case.constant) if not c]
        reverse = sum(float(np.sum(t)) for t in terms)
        size = float(np.sum(np.abs(r.tangent * case.cotangent)) + sum(np.sum(np.abs(t)) for t in terms))
    if not np.isfinite(size):
        return  # IEEE specials (log 0, x / 0): inf - inf has no identity to check; the values were compared
    tol = 16 * rtol_for(case.dtype) * (size + 1.0)
    assert abs(forward - reverse) <= tol, (
        f"{what}: forward mode <u, J v> = {forward!r} but reverse mode <J^T u, v> = {reverse!r}"
        f"\n{case.describe()}")


def test_forms_run_through_the_functions_they_declare():
    """``Op.functions`` decides which jvp rules a case needs: each tensor form must use exactly those."""
    for op in harness.OPS:
        case = None
        for seed in range(50):
            case = draw_case(RandomDraw(seed), op, "parity")  # the first with no empty leaf
            if case is not None and all(a.size for a in case.leaves):
                break
        for key, form in op.tensor_forms.items():
            leaves = [_tensor(a, np.float64, True) for a in case.leaves]
            out = _call_tensor(case, form, leaves)
            seen, stack = set(), [out]
            while stack:
                t = stack.pop()
                if t._ctx is not None:
                    seen.add(t._ctx.fn.__name__.lower())
                    stack.extend(p for p in t._ctx.parents if p is not None)
            assert seen <= set(op.functions), f"{op.name}: Tensor.{key} runs {sorted(seen - set(op.functions))} too"
            assert seen, f"{op.name}: Tensor.{key} recorded no op at all"


def test_tolerances_pass_each_dtypes_rounding_and_fail_real_mistakes():
    """The comparison's tolerance comes from the dtype: float32 arithmetic passes as float32 and fails as float64;
    float64 passes a different summation order but not a relative error of 1e-9; float32 fails 1e-3."""
    x = np.random.default_rng(0).uniform(-3.0, 3.0, size=(32, 200))
    exact = x.sum(axis=1)                                       # pairwise, float64
    sequential = np.cumsum(x, axis=1)[:, -1]                    # another order: other roundings
    in_float32 = x.astype(np.float32).sum(axis=1, dtype=np.float32)
    scale = magnitude(x, exact)
    assert_close(sequential, exact, np.float64, "float64 order", scale)
    assert_close(in_float32, exact, np.float32, "float32 arithmetic", scale)
    with pytest.raises(AssertionError, match="float32 arithmetic judged as float64"):
        assert_close(in_float32, exact, np.float64, "float32 arithmetic judged as float64", scale)
    with pytest.raises(AssertionError, match="off by 1e-9"):
        assert_close(exact + 1e-9 * np.abs(exact).max(), exact, np.float64, "off by 1e-9", scale)
    with pytest.raises(AssertionError, match="off by 1e-3"):
        assert_close(in_float32 * np.float32(1 + 1e-3), exact, np.float32, "off by 1e-3", scale)
    assert rtol_for(np.float32) > 1e3 * rtol_for(np.float64)
