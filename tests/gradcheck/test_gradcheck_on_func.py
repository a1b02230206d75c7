"""``naivegrad.gradcheck`` is built on ``naivegrad.func``: its analytic Jacobians are ``jacrev``'s and ``jacfwd``'s,
laid out as (output size, input size) per input, with several outputs in one row in order."""

import numpy as np
import pytest

from naivegrad import func
from naivegrad.func.tensor_engine import MissingJvpRule
from naivegrad.gradcheck import check_gradients, jacobian, numerical_jacobian
from naivegrad.scalar import Value
from naivegrad.tensor import Function, Tensor


def test_tensor_jacobians_are_jacrev_and_jacfwd_in_the_seed_layout():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(2, 3)), rng.normal(size=(3,))

    def f(a, b):
        return (a * b).tanh() @ b

    result = check_gradients(f, (Tensor(x), Tensor(y)))
    assert result and result.modes == ("reverse", "forward")
    for mode, transform in (("reverse", func.jacrev), ("forward", func.jacfwd)):
        jx, jy = transform(f, argnums=(0, 1))(x, y)
        np.testing.assert_array_equal(result.jacobians[mode][0], jx.reshape(2, 6))
        np.testing.assert_array_equal(result.jacobians[mode][1], jy.reshape(2, 3))
    np.testing.assert_array_equal(jacobian(lambda a: f(a, Tensor(y)), Tensor(x)), func.jacrev(f)(x, y).reshape(2, 6))


def test_scalar_jacobians_are_jacrev_and_jacfwd_over_nested_lists():
    point = [[0.5, -1.0], [2.0, 0.25]]

    def f(m):
        return [m[0][0] * m[1][1], (m[0][1] + m[1][0]).sin(), m[1][0] ** 2]

    result = check_gradients(f, [[Value(v) for v in row] for row in point])
    assert result
    np.testing.assert_array_equal(result.jacobians["reverse"][0], func.jacrev(f)(point).reshape(3, 4))
    np.testing.assert_array_equal(result.jacobians["forward"][0], func.jacfwd(f)(point).reshape(3, 4))


def test_several_tensor_outputs_form_one_row_and_the_worst_names_its_output():
    class HalfWrongSquare(Function):  # d/dx x**2 reported as x: off everywhere x != 0
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * x

        @staticmethod
        def jvp(ctx, t):
            (x,) = ctx.saved_tensors
            return 2 * x * t

    x = Tensor(np.array([[0.5, -1.5], [3.0, 0.1]]))
    result = check_gradients(lambda t: [t.sum(), t * 2.0, HalfWrongSquare.apply(t)], x)
    assert not result
    assert [J.shape for J in result.jacobians["reverse"]] == [(9, 4)]  # 1 + 4 + 4 output elements
    w = result.worst
    assert (w.mode, w.output_index, w.output, w.index) == ("reverse", (2, (1, 0)), 7, (1, 0))
    assert w.analytic == pytest.approx(3.0) and w.numerical == pytest.approx(6.0)
    assert "d output #2 at [1, 0] / d input #0 at [1, 0]" in str(result)


def test_no_outputs_and_empty_inputs_pass_trivially():
    assert check_gradients(lambda t: [], Tensor([1.0, 2.0])).jacobians["reverse"][0].shape == (0, 2)
    assert check_gradients(lambda v: [], Value(1.0)).numerical[0].shape == (0, 1)
    result = check_gradients(lambda t: t * 2.0, Tensor(np.zeros((0, 3))))
    assert result and result.jacobians["forward"][0].shape == (0, 0)


def test_a_missing_jvp_rule_is_the_func_error_and_skips_forward_mode():
    class NoJvp(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 3.0

        @staticmethod
        def backward(ctx, g):
            return g * 3.0

    with pytest.raises(MissingJvpRule, match="NoJvp has no forward-mode rule") as info:
        func.jacfwd(lambda t: NoJvp.apply(t))(np.ones(2))
    assert info.value.op is NoJvp and isinstance(info.value, NotImplementedError)
    result = check_gradients(lambda t: NoJvp.apply(t), Tensor([1.0, 2.0]))
    assert result.modes == ("reverse",) and result.skipped == {"forward": "NoJvp has no jvp rule yet"}


def test_inputs_are_never_modified_and_numerical_differences_stay_float64():
    x = Tensor(np.array([0.1, 0.7], dtype=np.float32))
    before = x.data.copy()
    NJ = numerical_jacobian(lambda t: t ** 2, x)
    assert NJ.dtype == np.float64 and x.data.dtype == np.float32
    np.testing.assert_array_equal(x.data, before)
    np.testing.assert_allclose(np.diag(NJ), 2 * before.astype(np.float64), rtol=1e-8)
    v = [Value(1.5), Value(-0.5)]
    check_gradients(lambda vs: vs[0] * vs[1], v)
    assert [p.data for p in v] == [1.5, -0.5] and [p.grad for p in v] == [0.0, 0.0]
