"""What layers accept as input: real numbers only, computed in the module's dtype whatever form they come in.

The dtype rule (documented on ``Module`` and ``Linear``): a module converts every input to its own dtype,
numpy arrays and Tensors alike, so the output's dtype is the model's; modules without parameters keep the
input's. Also: ``Tensor(requires_grad=...)`` takes a bool and nothing else.
"""

import numpy as np
import pytest

from naivegrad import Value, nn
from naivegrad.tensor import Tensor

BACKENDS = ["scalar", "tensor"]


def layers(backend):
    dtype = np.float64 if backend == "tensor" else None
    return [nn.Linear(2, 3, backend=backend, dtype=dtype, seed=0), nn.MLP(2, [3, 1], backend=backend, seed=0,
                                                                          dtype=dtype),
            nn.Neuron(2, backend=backend, dtype=dtype, seed=0)]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("bad", [np.array([[1 + 2j, 0.5]]), np.array([[1 + 2j, 0.5]], np.complex64),
                                 np.array([1 + 0j, 0.5]), [[1 + 2j, 0.5]]])
def test_complex_input_is_refused_naming_the_dtype(backend, bad):
    for layer in layers(backend):
        with pytest.raises(TypeError, match="complex"):
            layer(bad)


@pytest.mark.parametrize("backend", BACKENDS)
def test_complex_images_and_numpy_complex_scalars_are_refused(backend):
    conv = nn.Conv2d(1, 1, 2, backend=backend, seed=0)
    with pytest.raises(TypeError, match="complex128"):
        conv(np.ones((1, 1, 3, 3)) * (1 + 1j))
    with pytest.raises(TypeError, match="complex"):
        nn.ReLU(backend)(np.array([[1j, 2.0]]))
    if backend == "scalar":
        with pytest.raises(TypeError, match="complex"):
            nn.Linear(2, 1, backend="scalar")([np.complex64(1 + 1j), 2.0])
        with pytest.raises(TypeError, match="complex"):
            nn.Linear(2, 1, backend="scalar")([np.array([1j, 2.0])])


@pytest.mark.parametrize("backend", BACKENDS)
def test_strings_are_refused_naming_the_dtype(backend):
    with pytest.raises(TypeError, match="<U"):
        nn.Linear(2, 1, backend=backend)(np.array([["a", "b"]]))


def test_float32_model_computes_in_float32_for_float64_arrays_and_tensors():
    model = nn.MLP(2, [4, 1], seed=0)  # float32, the default
    x = np.random.default_rng(0).normal(size=(5, 2))
    from_array = model(x)
    from_tensor = model(Tensor(x, requires_grad=False))
    from_list = model(x.tolist())
    assert from_array.dtype == from_tensor.dtype == from_list.dtype == np.float32
    np.testing.assert_array_equal(from_array.numpy(), from_tensor.numpy())
    np.testing.assert_array_equal(from_array.numpy(), from_list.numpy())


def test_float64_model_computes_in_float64_for_float32_arrays_and_tensors():
    model = nn.MLP(2, [4, 1], seed=0, dtype=np.float64)
    x = np.random.default_rng(0).normal(size=(5, 2)).astype(np.float32)
    from_array = model(x)
    from_tensor = model(Tensor(x, requires_grad=False))
    assert from_array.dtype == from_tensor.dtype == np.float64
    np.testing.assert_array_equal(from_array.numpy(), from_tensor.numpy())


def test_input_gradient_flows_through_the_conversion_in_the_inputs_dtype():
    model = nn.Linear(3, 2, seed=0)  # float32
    x = Tensor(np.array([[1.0, -2.0, 0.5]]))  # float64, requires grad
    out = model(x)
    assert out.dtype == np.float32
    out.sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_allclose(x.grad, model.state_dict()["weight"].sum(0, keepdims=True), rtol=1e-6)
    assert model.weight.grad.dtype == np.float32


def test_parameter_free_modules_keep_the_inputs_dtype():
    for dt in (np.float32, np.float64):
        x = np.array([[-1.0, 2.0]], dt)
        assert nn.ReLU()(x).dtype == dt
        assert nn.ReLU()(Tensor(x)).dtype == dt
        assert nn.Sequential(nn.Tanh(), nn.ReLU())(x).dtype == dt
        assert nn.Flatten()(np.zeros((1, 2, 2), dt)).dtype == dt
    assert nn.Sequential(nn.Linear(2, 2, seed=0), nn.ReLU())(np.zeros((1, 2))).dtype == np.float32


def test_scalar_backend_computes_in_float64_for_every_input_form():
    model = nn.MLP(2, [3, 1], backend="scalar", seed=0)
    x32 = np.array([[0.5, -1.25], [2.0, 0.75]], np.float32)  # exactly representable in both dtypes
    reference = [v.data for v in model(x32.astype(np.float64))]
    for x in (x32, x32.tolist(), [[Value(float(v)) for v in r] for r in x32.tolist()]):
        out = model(x)
        assert [v.data for v in out] == reference
        assert all(type(v.data) is float for v in out)
    ints = np.array([[1, -2], [3, 0]])
    assert [v.data for v in model(ints)] == [v.data for v in model(ints.astype(np.float64))]
    with pytest.raises(TypeError, match=r"model\.to\('tensor'\)"):
        model(Tensor(x32))  # its gradient could not flow back into the Tensor: say so instead


@pytest.mark.parametrize("flag", ["no", "False", 1, 0, None, 1.0, [True]])
def test_requires_grad_must_be_a_bool(flag):
    with pytest.raises(TypeError, match="requires_grad"):
        Tensor([1.0], requires_grad=flag)
    try:
        Tensor([1.0], requires_grad=flag)
    except TypeError as e:
        assert repr(flag) in str(e)


def test_requires_grad_takes_python_and_numpy_bools():
    assert Tensor([1.0], requires_grad=True).requires_grad is True
    assert Tensor([1.0], requires_grad=False).requires_grad is False
    assert Tensor([1.0], requires_grad=np.bool_(True)).requires_grad is True
    assert Tensor([1.0], requires_grad=np.bool_(False)).requires_grad is False


@pytest.mark.parametrize("x, shown", [
    (np.zeros((2, 2, 2)), r"got shape \(2, 2, 2\); flatten the samples first"),
    (np.zeros((2, 3)), r"got shape \(2, 3\)$"),
    ([1.0, 2.0, 3.0], r"got shape \(3,\)$"),
])
def test_the_scalar_backend_names_the_shape_it_takes_and_the_one_it_got(x, shown):
    model = nn.MLP(2, [3, 1], backend="scalar", seed=0)
    with pytest.raises(ValueError, match=r"Linear with 2 input features on the scalar backend takes one sample "
                                         r"of shape \(2,\) or a batch of shape \(N, 2\), " + shown):
        model(x)
    neuron = nn.Neuron(3, backend="scalar", seed=0)
    with pytest.raises(ValueError, match=r"Neuron with 3 input features .* got shape \(2,\)"):
        neuron([1.0, 2.0])
