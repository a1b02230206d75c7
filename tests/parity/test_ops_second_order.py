"""Second derivatives of every op of the table on both engines: a Hessian-vector product H v of <u, op(x)>
(random cotangent u, random direction v) by reverse-over-reverse, against central differences of the engine's
own first derivative along v, against PyTorch's double backward (float64), and the two engines against each
other (``harness.second_order``).

Cases are seeded smooth-mode draws (kinks and ties kept away: finite differences are fair), float64; a few per op
by default, many more under ``--deep``. Ops the tensor engine cannot differentiate twice are listed once, with
the reason, in ``harness.second_order.NOT_TWICE_DIFFERENTIABLE``: for those the test asserts the
NotImplementedError (naming the op) instead, so the list cannot go stale. Scalar references that are right to
first order only (``FIRST_ORDER_REFERENCES``) are asserted to fail, for the same reason; ``REFERENCE_CORNERS``
names the references that hand-build a node at a corner (passed over there, with that error only).
"""

import numpy as np
import pytest
from hypothesis import settings

import harness
from harness.check import assert_close, magnitude, seeded_cases
from harness.second_order import (
    FIRST_ORDER_REFERENCES, NOT_TWICE_DIFFERENTIABLE, REFERENCE_CORNERS, hvp_scalar, hvp_tensor, hvp_torch,
    numerical_hvp_scalar,
    numerical_hvp_tensor,
)

CASES = max(3, settings.default.max_examples // 20)  # 3 by default, 100 under --deep
OPS = pytest.mark.parametrize("op", harness.OPS, ids=lambda op: op.name)
FD_RTOL = 1e-6
ENGINE_RTOL = 1e-10


def _cases(op):
    return list(seeded_cases(op, "smooth", CASES * op.seeded, np.float64))


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
    forms = list(op.value_callables().items())
    if op.name in FIRST_ORDER_REFERENCES:
        assert not forms, f"{op.name} has Value forms: check those instead of listing its reference"
        assert any(_fails(case) for case in seeded_cases(op, "smooth", max(8, CASES), np.float64)), (
            f"{op.name}'s scalar reference passes the second-order check now: remove it from FIRST_ORDER_REFERENCES")
        return
    forms = [("reference", None)] + forms
    tensor_ok = op.name not in NOT_TWICE_DIFFERENTIABLE
    for case in cases:
        expected = hvp_tensor(case, next(iter(op.tensor_forms.values()))) if tensor_ok else None
        for key, fn in forms:
            try:
                hv = hvp_scalar(case, fn)
            except ValueError as e:
                if key == "reference" and op.name in REFERENCE_CORNERS and "made by hand" in str(e):
                    continue  # a corner the reference gives PyTorch's convention by hand (see REFERENCE_CORNERS)
                raise
            what = f"{op.name} as {key} (scalar engine)"
            fd, size = numerical_hvp_scalar(case, fn)
            _fd_close(hv, fd, size, case, what)
            if expected is not None:
                _engines_close(hv, expected, case, f"{what} vs the tensor engine")


def _fails(case):
    try:
        hv = hvp_scalar(case)
        fd, size = numerical_hvp_scalar(case)
        _fd_close(hv, fd, size, case, "")
    except (ValueError, AssertionError):
        return True
    return False


def test_the_lists_name_ops_of_the_table():
    names = set(harness.names())
    assert set(NOT_TWICE_DIFFERENTIABLE) | set(FIRST_ORDER_REFERENCES) | set(REFERENCE_CORNERS) <= names
