"""Every registered op with a PyTorch form against ``torch`` in float64: values and gradients.

A third, independent oracle: the same parity cases (kinks, ties, bounds, IEEE specials, and now and then inf,
-inf and nan among the inputs and the cotangent) must give PyTorch's values and PyTorch's conventions
(relu'(0) = 0, ties split in half by ``maximum`` and evenly by ``amax``, clamp's gradient 1 on the bounds, max
pooling's first maximum, exact zeros where a mask selects the gradient and 0 * inf = nan where a derivative
multiplies it...), on hypothesis cases and on seeded ones. Skipped without torch.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import harness
from harness.check import assert_close, magnitude, run_tensor, run_torch, seeded_cases
from harness.strategies import cases

EXAMPLES = max(6, settings.default.max_examples // 6)
SEEDS = max(12, settings.default.max_examples // 5)
WITH_TORCH = [op for op in harness.OPS if op.torch is not None]


@pytest.mark.parametrize("op", WITH_TORCH, ids=lambda op: op.name)
@settings(max_examples=EXAMPLES)
@given(data=st.data())
def test_values_and_gradients_match_torch_float64(op, data):
    pytest.importorskip("torch")
    check_against_torch(op, data.draw(cases(op, "parity", dtype=np.float64)))


@pytest.mark.parametrize("op", WITH_TORCH, ids=lambda op: op.name)
def test_values_and_gradients_match_torch_float64_on_seeded_cases(op):
    pytest.importorskip("torch")
    for case in seeded_cases(op, "parity", SEEDS * op.seeded, np.float64):
        check_against_torch(op, case)


def check_against_torch(op, case):
    expected = run_torch(case)
    result = run_tensor(case, next(iter(op.tensor_forms.values())))
    ctx = case.describe()
    assert_close(result.value, expected.value, np.float64, f"{op.name}: value vs torch",
                 magnitude(*case.leaves, expected.value), context=ctx)
    for i, (g, e) in enumerate(zip(result.grads, expected.grads)):
        if e is not None:
            assert_close(g, e, np.float64, f"{op.name}: gradient of leaf {i} vs torch",
                         magnitude(*case.leaves, case.cotangent, e), context=ctx)


def test_every_op_has_a_torch_form():
    assert not [op.name for op in harness.OPS if op.torch is None]
