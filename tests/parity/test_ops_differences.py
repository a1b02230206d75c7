"""Every registered op against central finite differences, at points where they are valid.

Cases come from the op table (``tests/harness``) in "smooth" mode: away from kinks (relu and abs at 0, clip bounds),
from ties (maximum, max, pooling draw distinct values), from poles and out of the domains of log and sqrt.
The differences are taken in float64 on the tensor engine (h = 1e-6); both engines' gradients of <u, out>
must match them (tolerance 1e-6 relative in float64, 2**10 ulps of the dtype in float32), and so must the
scalar engine's forward-mode tangents J v.
"""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import harness
from harness.check import (
    assert_close, fd_rtol_for, magnitude, numerical_jvp, numerical_vjp, run_scalar, run_tensor,
    seeded_cases,
)
from harness.strategies import cases

EXAMPLES = max(6, settings.default.max_examples // 6)
SEEDS = max(10, settings.default.max_examples // 6)
H = 1e-6


@pytest.mark.parametrize("op", harness.OPS, ids=lambda op: op.name)
@settings(max_examples=EXAMPLES)
@given(data=st.data())
def test_gradients_and_tangents_match_central_differences(op, data):
    case = data.draw(cases(op, "smooth"))
    assume(case is not None)
    check_differences(op, case)


@pytest.mark.parametrize("op", harness.OPS, ids=lambda op: op.name)
def test_gradients_and_tangents_match_central_differences_on_seeded_cases(op):
    for case in seeded_cases(op, "smooth", SEEDS):
        check_differences(op, case)


def check_differences(op, case):
    form = next(iter(op.tensor_forms.values()))
    numerical, size = numerical_vjp(case, form, H)
    # Rounding in the differences: |<u, out>| * eps / h; truncation is h**2 * f''' (tiny on these domains).
    atol = 8 * np.finfo(np.float64).eps * size / H
    ctx = case.describe()
    tensor, scalar = run_tensor(case, form), run_scalar(case)
    for i, n in enumerate(numerical):
        if n is None:
            continue
        scale = magnitude(*case.leaves, n)
        assert_close(tensor.grads[i], n, np.float64, f"{op.name}: tensor gradient of leaf {i} vs differences",
                     scale, rtol=fd_rtol_for(case.dtype), atol=atol, context=ctx)
        assert_close(scalar.grads[i], n, np.float64, f"{op.name}: scalar gradient of leaf {i} vs differences",
                     scale, rtol=fd_rtol_for(np.float64), atol=atol, context=ctx)
    jv, size = numerical_jvp(case, form, H)
    assert_close(scalar.tangent, jv, np.float64, f"{op.name}: scalar tangent (J v) vs differences",
                 magnitude(*case.leaves, jv), rtol=fd_rtol_for(np.float64),
                 atol=8 * np.finfo(np.float64).eps * size / H, context=ctx)
