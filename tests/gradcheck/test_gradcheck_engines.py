"""``naivegrad.gradcheck`` on both engines: it passes correct derivatives of every op of the table, catches wrong
ones in either mode, and names the worst element. The seed's signatures are tested in
tests/tensor/test_tensor_seed_names.py."""

import numpy as np
import pytest

from naivegrad.gradcheck import (
    GradcheckError, check_gradients, gradcheck, jacobian, numerical_jacobian,
)
from naivegrad.scalar import Value
from naivegrad.tensor import Function, Tensor

import harness
from harness.calls import smooth_case


def _engine_functions(op, case):
    """The op as a function of its non-constant leaves: on Tensors (first tensor form) and on object arrays of
    Values (the scalar reference), constants closed over."""
    tensor_form = next(iter(op.tensor_forms.values()))
    ref = op.scalar_reference
    free = [k for k, c in enumerate(case.constant) if not c]

    def leaves_with(values, const):
        out = [const(a) for a in case.leaves]
        for k, v in zip(free, values):
            out[k] = v
        return [out[i] for i in case.inputs]

    def on_tensors(*ts):
        return tensor_form(*leaves_with(ts, lambda a: Tensor(a, requires_grad=False)), **case.params)

    def on_values(*vs):
        return ref(*leaves_with(vs, lambda a: a.astype(object)), **case.params)

    return on_tensors, on_values, free


@pytest.mark.parametrize("op", harness.OPS, ids=lambda op: op.name)
def test_gradcheck_passes_every_op_of_the_table_on_both_engines(op):
    case = smooth_case(op)
    if case is None:
        pytest.skip(f"{op.name}: no small smooth case among the seeds")
    on_tensors, on_values, free = _engine_functions(op, case)
    tensors = tuple(Tensor(case.leaves[k]) for k in free)
    values = tuple(case.leaves[k].astype(object) for k in free)
    result = check_gradients(on_tensors, tensors)
    assert result, f"{result}\n{case.describe()}"
    assert "reverse" in result.modes
    scalar_result = check_gradients(on_values, values)
    assert scalar_result, f"{scalar_result}\n{case.describe()}"
    assert scalar_result.modes == ("reverse", "forward")  # the scalar engine always has forward mode


# ---------------------------------------------------------------------------------------------- catching errors
class _OffByOneElement(Function):
    """x * y with a backward that is wrong at exactly one element of y's gradient: [1, 2]."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x * y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        gy = g * x
        gy[1, 2] += 0.25 * g[1, 2]  # only d out[1, 2] / d y[1, 2] is off
        return g * y, gy

    @staticmethod
    def jvp(ctx, xt, yt):
        x, y = ctx.saved_tensors
        return (0 if xt is None else xt * y) + (0 if yt is None else yt * x)


class _WrongTangent(Function):
    """sin with a right backward and a forward-mode rule off by a factor 2."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.sin(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * np.cos(x)

    @staticmethod
    def jvp(ctx, xt):
        (x,) = ctx.saved_tensors
        return 2 * xt * np.cos(x)


def test_the_worst_element_is_named_with_mode_input_index_and_values():
    rng = np.random.default_rng(0)
    x, y = Tensor(rng.normal(size=(2, 3))), Tensor(rng.normal(size=(2, 3)))
    result = check_gradients(lambda a, b: _OffByOneElement.apply(a, b), (x, y))
    assert not result
    w = result.worst
    assert (w.mode, w.input, w.index) == ("reverse", 1, (1, 2))
    assert w.output_index == (0, (1, 2)) and w.output == 5
    assert w.numerical == pytest.approx(x.data[1, 2], rel=1e-8)
    assert w.analytic == pytest.approx(x.data[1, 2] + 0.25, rel=1e-12)
    assert result.modes == ("reverse", "forward")  # forward mode agreed: only reverse is wrong
    np.testing.assert_allclose(result.jacobians["forward"][1], result.numerical[1], atol=1e-8)
    with pytest.raises(GradcheckError, match=r"reverse mode, d output #0 at \[1, 2\] / d input #1 at \[1, 2\]"):
        gradcheck(lambda a, b: _OffByOneElement.apply(a, b), (x, y), raise_exception=True)
    assert gradcheck(lambda a, b: _OffByOneElement.apply(a, b), (x, y)) is False


def test_a_wrong_forward_mode_rule_is_caught_even_with_a_right_backward():
    x = Tensor(np.array([0.3, -1.2, 2.0]))
    result = check_gradients(lambda t: _WrongTangent.apply(t), x)
    assert not result and result.worst.mode == "forward"
    assert check_gradients(lambda t: _WrongTangent.apply(t), x, modes=("reverse",))


def test_a_hand_built_scalar_node_with_wrong_locals_is_caught():
    def square(v):  # micrograd-style node built by hand: no local derivative recorded
        return Value(v.data ** 2, (v,), "square")

    result = check_gradients(square, Value(1.5))
    assert not result
    assert result.worst.analytic == 0.0 and result.worst.numerical == pytest.approx(3.0, rel=1e-8)
    assert gradcheck(lambda v: v * v, Value(1.5))


def test_forward_mode_without_jvp_rules_is_skipped_and_said_so():
    class NoJvp(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 3.0

        @staticmethod
        def backward(ctx, g):
            return g * 3.0

    result = check_gradients(lambda t: NoJvp.apply(t), Tensor([1.0, 2.0]))
    assert result and result.modes == ("reverse",)
    assert "NoJvp has no jvp rule" in result.skipped["forward"] and "not checked" in str(result)
    with pytest.raises(NotImplementedError, match="NoJvp"):
        check_gradients(lambda t: NoJvp.apply(t), Tensor([1.0, 2.0]), modes=("forward",))

    def user_error(t):
        raise NotImplementedError("my own")

    with pytest.raises(NotImplementedError, match="my own"):
        check_gradients(user_error, Tensor([1.0]))


# ---------------------------------------------------------------------------------------------- inputs and outputs
def test_value_inputs_in_every_form():
    assert gradcheck(lambda v: v.tanh() * 2.0, 0.7)                           # a number -> a Value
    assert gradcheck(lambda v: v.exp(), Value(0.3))
    assert gradcheck(lambda vs: [vs[0] * vs[1], vs[1].sin()], [Value(1.0), 2.0])  # a list holding Values
    assert gradcheck(lambda vs: vs[0][1] * vs[1][0], [[Value(1.0), Value(2.0)], [Value(3.0), Value(4.0)]])
    objs = np.array([Value(0.5), Value(-1.0)], dtype=object)
    assert gradcheck(lambda a: np.array([a[0] * a[1], a[0].relu()], dtype=object), objs)
    assert gradcheck(lambda a, b: (a / b, (a ** b,)), (Value(1.5), Value(0.5)))  # nested tuple output
    result = check_gradients(lambda v: [v.relu(), 0.0 if v.data < 2 else v], Value(1.0))  # a constant output
    assert result and result.jacobians["reverse"][0].tolist() == [[1.0], [0.0]]


def test_jacobians_of_values_have_the_seed_layout():
    J = jacobian(lambda vs: [vs[0] * vs[1], vs[1].exp(), vs[0] + 1.0], [Value(2.0), Value(0.5)])
    np.testing.assert_allclose(J, [[0.5, 2.0], [0.0, np.exp(0.5)], [1.0, 0.0]], rtol=1e-15)
    NJ = numerical_jacobian(lambda vs: [vs[0] * vs[1], vs[1].exp(), vs[0] + 1.0], [Value(2.0), Value(0.5)])
    np.testing.assert_allclose(NJ, J, rtol=1e-8, atol=1e-9)
    assert jacobian(lambda v: v * v, 3.0).shape == (1, 1)


def test_several_tensor_outputs_and_closed_over_parameters_keep_their_grads():
    W = Tensor(np.arange(6.0).reshape(3, 2) / 7)
    W.grad = marker = np.full((3, 2), 5.0)
    b = Value(0.25)
    b.grad = 9.0
    assert gradcheck(lambda x: [x @ W, (x * x).sum()], Tensor(np.array([[0.1, -0.2, 0.3]])))
    assert W.grad is marker
    assert gradcheck(lambda v: v * b + b.exp(), Value(1.0))
    assert b.grad == 9.0


def test_float32_tensors_are_checked_in_float64():
    x = Tensor(np.array([0.1, 0.7], dtype=np.float32))
    result = check_gradients(lambda t: t ** 3, x, atol=0.0, rtol=1e-9)
    assert result, str(result)  # float32 arithmetic would be ~1e-7 off
    np.testing.assert_allclose(np.diag(result.jacobians["reverse"][0]), 3 * x.data.astype(np.float64) ** 2,
                               rtol=1e-15)


def test_bad_arguments_are_refused_by_name():
    with pytest.raises(TypeError, match="mix the tensor and the scalar engine"):
        gradcheck(lambda a, b: a, (Tensor([1.0]), Value(1.0)))
    with pytest.raises(TypeError, match="Values or numbers"):
        gradcheck(lambda v: "3.0", Value(1.0))
    with pytest.raises(TypeError, match="Tensor"):
        gradcheck(lambda t: t.data, Tensor([1.0]))
    with pytest.raises(TypeError, match="str"):
        gradcheck(lambda t: t, "abc")
    with pytest.raises(TypeError, match="str"):
        gradcheck(lambda vs: vs[0], [Value(1.0), "x"])
    with pytest.raises(ValueError, match="eps"):
        gradcheck(lambda t: t, Tensor([1.0]), eps=0)
    with pytest.raises(ValueError, match="atol"):
        gradcheck(lambda t: t, Tensor([1.0]), atol=-1)
    with pytest.raises(ValueError, match="modes"):
        gradcheck(lambda t: t, Tensor([1.0]), modes=("sideways",))
    with pytest.raises(ValueError, match="no inputs"):
        gradcheck(lambda: 1, ())
