"""The elementwise ops with options (gelu, softplus, leaky_relu, elu) and sign's hard zero, on both engines.

The op table (tests/harness/ops_elementwise.py) checks values and derivatives over a few values of the options;
these check how the options are passed (by position, by keyword, as numpy numbers), that bad ones are refused
with a message naming them, and the conventions PyTorch fixes at the kinks, on both engines alike.
"""

import copy
import math
import pickle

import numpy as np
import pytest

import naivegrad.tensor as nt
from naivegrad.scalar import Value
from naivegrad.scalar.higher_order import grad
from naivegrad.tensor import Tensor

CALLS = [  # (method, args, kwargs): the same options spelled every way
    ("gelu", (), {}), ("gelu", ("tanh",), {}), ("gelu", (), {"approximate": "tanh"}), ("gelu", ("none",), {}),
    ("softplus", (2.0,), {}), ("softplus", (), {"beta": 0.5, "threshold": 1.0}), ("softplus", (np.float64(2.0), 3), {}),
    ("leaky_relu", (0.2,), {}), ("leaky_relu", (), {"negative_slope": -0.5}), ("leaky_relu", (np.float32(0.25),), {}),
    ("elu", (2.0,), {}), ("elu", (), {"alpha": 0.5}), ("elu", (1,), {}),
]
XS = [-3.0, -1.0, -0.25, 0.0, -0.0, 0.5, 1.5, 3.0]


@pytest.mark.parametrize("name, args, kwargs", CALLS)
def test_options_by_position_and_keyword_agree_on_both_engines(name, args, kwargs):
    t = Tensor(np.array(XS), requires_grad=True)
    out = getattr(t, name)(*args, **kwargs)
    out.backward(np.ones(len(XS)))
    for i, x in enumerate(XS):
        v = Value(x)
        o = getattr(v, name)(*args, **kwargs)
        o.backward()
        assert out.data[i] == pytest.approx(o.data, rel=1e-12, abs=1e-300), (name, x)
        assert t.grad[i] == pytest.approx(v.grad, rel=1e-12, abs=1e-300), (name, x)


def test_module_functions_are_the_methods():
    x = Tensor([-1.5, 0.0, 2.0], requires_grad=False)
    assert np.array_equal(nt.gelu(x, approximate="tanh").data, x.gelu(approximate="tanh").data)
    assert np.array_equal(nt.silu(x).data, x.silu().data)
    assert np.array_equal(nt.softplus(x, 2.0, 1.0).data, x.softplus(2.0, 1.0).data)
    assert np.array_equal(nt.leaky_relu(x, 0.2).data, x.leaky_relu(0.2).data)
    assert np.array_equal(nt.elu(x, alpha=0.5).data, x.elu(0.5).data)
    assert np.array_equal(nt.erf([0.5, -2.0]).data, Tensor([0.5, -2.0]).erf().data)


BAD = [
    ("gelu", (), {"approximate": "fast"}, ValueError, "'fast'"),
    ("gelu", (None,), {}, ValueError, "None"),
    ("gelu", (1.0,), {}, ValueError, "1.0"),
    ("softplus", ("2",), {}, TypeError, "beta must be a real number, got str: '2'"),
    ("softplus", (1.0, None), {}, TypeError, "threshold must be a real number, got NoneType"),
    ("leaky_relu", ("a",), {}, TypeError, "negative_slope must be a real number, got str: 'a'"),
    ("elu", ([1.0],), {}, TypeError, "alpha must be a real number, got list"),
]


@pytest.mark.parametrize("name, args, kwargs, error, message", BAD)
def test_bad_options_are_refused_naming_the_value_on_both_engines(name, args, kwargs, error, message):
    for x in (Value(1.0), Tensor([1.0, 2.0])):
        with pytest.raises(error, match=message.replace("(", r"\(").replace("[", r"\[")) as info:
            getattr(x, name)(*args, **kwargs)
        assert name in str(info.value)


def test_an_option_that_is_a_value_or_a_tensor_is_refused():
    with pytest.raises(TypeError, match="negative_slope must be a real number, got Value"):
        Value(1.0).leaky_relu(Value(0.2))
    with pytest.raises(TypeError, match="alpha must be a real number, got Tensor"):
        Tensor([1.0]).elu(Tensor([1.0]))


@pytest.mark.parametrize("x", [0.0, -0.0])
def test_kink_conventions_are_pytorchs(x):
    # leaky_relu'(0) = negative_slope, elu'(0) = alpha (the left branch at 0), softplus at its threshold the
    # log1p branch (beta x > threshold is strict); on both engines.
    for name, kwargs, want in [("leaky_relu", {}, 0.01), ("leaky_relu", {"negative_slope": -0.5}, -0.5),
                               ("elu", {}, 1.0), ("elu", {"alpha": 2.0}, 2.0), ("elu", {"alpha": -1.0}, -1.0),
                               ("gelu", {}, 0.5), ("gelu", {"approximate": "tanh"}, 0.5), ("silu", {}, 0.5),
                               ("softplus", {}, 0.5)]:
        v = Value(x)
        getattr(v, name)(**kwargs).backward()
        t = Tensor([x], requires_grad=True)
        getattr(t, name)(**kwargs).backward(np.ones(1))
        assert v.grad == want and t.grad[0] == want, (name, kwargs, v.grad, t.grad)
    v = Value(20.0)
    out = v.softplus()
    out.backward()
    assert out.data == math.log1p(math.exp(20.0)) and v.grad < 1.0
    v = Value(20.5)
    out = v.softplus()
    out.backward()
    assert out.data == 20.5 and v.grad == 1.0


@pytest.mark.parametrize("g", [math.inf, -math.inf, math.nan])
def test_sign_passes_exactly_zero_whatever_the_gradient(g):
    xs = [-2.0, -0.0, 0.0, 3.0, math.inf, math.nan]
    t = Tensor(np.array(xs), requires_grad=True)
    out = t.sign()
    assert out.data.tolist()[:4] == [-1.0, 0.0, 0.0, 1.0] and out.data[4] == 1.0 and out.data[5] == 0.0
    assert not np.signbit(out.data[1])  # sign(-0.0) = +0.0, as PyTorch
    out.backward(np.full(len(xs), g))
    assert np.array_equal(t.grad, np.zeros(len(xs))) and not np.signbit(t.grad).any()
    t.tangent = np.full(len(xs), g)
    assert np.array_equal(t.sign().tangent, np.zeros(len(xs)))
    for x in xs:
        v = Value(x, tangent=g)
        o = v.sign()
        assert grad(o, [v], [g]) == [0.0] and o.tangent == 0.0


def test_special_values():
    # rsqrt(0) = inf, rsqrt(-0.0) = -inf, reciprocal(±0) = ±inf, erf(±inf) = ±1, expm1 exact for tiny x.
    for x, name, want in [(0.0, "rsqrt", math.inf), (-0.0, "rsqrt", -math.inf), (0.0, "reciprocal", math.inf),
                          (-0.0, "reciprocal", -math.inf), (math.inf, "erf", 1.0), (-math.inf, "erf", -1.0),
                          (1e-20, "expm1", 1e-20), (-1e-300, "expm1", -1e-300), (710.0, "expm1", math.inf),
                          (-math.inf, "expm1", -1.0), (math.inf, "gelu", math.inf), (50.0, "softplus", 50.0)]:
        assert getattr(Value(x), name)().data == want, (name, x)
        assert getattr(Tensor([x]), name)().data[0] == want, (name, x)
    for x in (-math.inf,):  # -inf * 0, as PyTorch
        assert math.isnan(Value(x).gelu().data) and math.isnan(Value(x).silu().data)


def test_integer_tensors_are_promoted_with_options_too():
    t = Tensor(np.array([-2, 0, 3]))
    for out in (t.gelu(approximate="tanh"), t.leaky_relu(0.5), t.elu(alpha=2.0), t.softplus(beta=2), t.erf()):
        assert out.data.dtype.kind == "f"
    assert t.leaky_relu(0.5).data.tolist() == [-1.0, 0.0, 3.0]


def test_float32_stays_float32():
    t = Tensor(np.array([-2.0, 0.5, 3.0], dtype=np.float32), requires_grad=True)
    for name, kwargs in [("gelu", {}), ("gelu", {"approximate": "tanh"}), ("silu", {}), ("softplus", {"beta": 2.0}),
                         ("leaky_relu", {"negative_slope": 0.2}), ("elu", {"alpha": 0.5}), ("erf", {}),
                         ("expm1", {}), ("rsqrt", {}), ("square", {}), ("reciprocal", {}), ("sign", {})]:
        t.grad = None
        out = getattr(t, name)(**kwargs)
        out.backward(np.ones(3, dtype=np.float32))
        assert out.data.dtype == np.float32 and t.grad.dtype == np.float32, name


def test_graphs_with_options_copy_pickle_and_differentiate_twice():
    x = Value(-0.7)
    y = x.softplus(2.0, 1.0) * x.leaky_relu(0.2) + x.elu(0.5) + x.gelu("tanh") + x.gelu()
    for z in (copy.deepcopy(y), pickle.loads(pickle.dumps(y))):
        (leaf,) = [n for n in _nodes(z) if not n._prev]
        (g,) = grad(z, [leaf], create_graph=True)
        (h,) = grad(g, [leaf])
        (g0,) = grad(y, [x], create_graph=True)
        assert g.data == g0.data and h == grad(g0, [x])[0]


def _nodes(root):
    seen, stack = {id(root): root}, [root]
    while stack:
        for c in stack.pop()._prev:
            if id(c) not in seen:
                seen[id(c)] = c
                stack.append(c)
    return list(seen.values())
