"""``naivegrad.nn_bundle_sc``: the original's Neuron, Layer and MLP on the scalar engine (``core_sc.Scalar``),
with its constructors, attributes, weights drawn from Python's ``random``, and its results bit for bit."""

import random

import pytest

from naivegrad import Value
from naivegrad.core_sc import Scalar
from naivegrad.nn_bundle_sc import MLP, Layer, Module, Neuron


def test_neuron_draws_its_weights_from_python_random():
    random.seed(3)
    n = Neuron(4)
    random.seed(3)
    expected = [random.uniform(-1, 1) for _ in range(4)]
    assert [w.data for w in n.w] == expected
    assert n.b.data == 0 and n.nonlin is True
    assert all(isinstance(p, Scalar) for p in n.parameters())
    assert n.parameters() == n.w + [n.b]
    assert repr(n) == "ReLU Neuron(4)" and repr(Neuron(2, nonlin=False)) == "Linear Neuron(2)"


def test_neuron_computes_relu_of_w_dot_x_plus_b_in_the_originals_order():
    random.seed(0)
    n = Neuron(3)
    x = [0.5, -1.25, 2.0]
    expected = n.b.data
    for w, xi in zip(n.w, x):
        expected = expected + w.data * xi   # bias first, then one product at a time
    out = n(x)
    assert isinstance(out, Value) and out.data == max(0.0, expected)
    lin = Neuron(3, nonlin=False)
    assert lin(x).data == sum((w.data * xi for w, xi in zip(lin.w, x)), lin.b.data)


def test_layer_returns_one_value_or_a_list():
    random.seed(1)
    one, many = Layer(2, 1), Layer(2, 3, nonlin=False)
    assert isinstance(one([1.0, 2.0]), Value)
    outs = many([1.0, 2.0])
    assert isinstance(outs, list) and len(outs) == 3
    assert len(many.neurons) == 3 and all(not n.nonlin for n in many.neurons)
    assert len(many.parameters()) == 3 * 3
    assert repr(many) == "Layer of [Linear Neuron(2), Linear Neuron(2), Linear Neuron(2)]"


def test_mlp_shapes_parameters_and_last_layer_linear():
    random.seed(2)
    model = MLP(2, [16, 16, 1])
    assert len(model.parameters()) == 16 * 3 + 16 * 17 + 17
    assert [len(l.neurons) for l in model.layers] == [16, 16, 1]
    assert [l.neurons[0].nonlin for l in model.layers] == [True, True, False]
    assert repr(model).startswith("MLP of [Layer of [ReLU Neuron(2), ")
    out = model([Scalar(0.5), Scalar(-1.0)])
    assert isinstance(out, Value)


def test_mlp_weights_follow_python_random_layer_by_layer():
    random.seed(9)
    model = MLP(3, [2, 1])
    random.seed(9)
    draws = [random.uniform(-1, 1) for _ in range(3 * 2 + 2)]
    weights = [w.data for layer in model.layers for n in layer.neurons for w in n.w]
    assert weights == draws


def test_zero_grad_and_backward_accumulate_as_micrograd():
    random.seed(4)
    model = MLP(2, [4, 1])
    x = [1.0, -2.0]
    model(x).backward()
    first = [p.grad for p in model.parameters()]
    model(x).backward()
    assert [p.grad for p in model.parameters()] == [2 * g for g in first]
    model.zero_grad()
    assert all(p.grad == 0 for p in model.parameters())


def test_module_base_has_no_parameters():
    assert Module().parameters() == []
    Module().zero_grad()


def test_a_tiny_mlp_learns_xor_with_the_micrograd_loop():
    random.seed(5)
    model = MLP(2, [8, 1])
    xs = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
    ys = [-1.0, 1.0, 1.0, -1.0]
    for _ in range(200):
        scores = [model(x) for x in xs]
        loss = sum(((1 + -y * s).relu() for y, s in zip(ys, scores)), Scalar(0.0))
        model.zero_grad()
        loss.backward()
        for p in model.parameters():
            p.data -= 0.05 * p.grad
    assert [model(x).data > 0 for x in xs] == [y > 0 for y in ys]


@pytest.mark.parametrize("bad", [-1, 2.0, "3"])
def test_sizes_must_be_non_negative_ints(bad):
    with pytest.raises((TypeError, ValueError)):
        Neuron(bad)
