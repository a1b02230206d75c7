"""Module behaviour on both backends: structure, state dicts, loading safely, checkpoints, conventions."""

import os

import gc
import warnings

import numpy as np
import pytest

from naivegrad import Value, nn
from naivegrad.nn import serialization

BACKENDS = ["scalar", "tensor"]


def mlp(backend, seed=0, **kw):
    dtype = np.float64 if backend == "tensor" else None
    return nn.MLP(2, [4, 3, 1], backend=backend, seed=seed, dtype=dtype, **kw)


def flat_state(model):
    return np.concatenate([a.ravel() for a in model.state_dict().values()])


@pytest.mark.parametrize("backend", BACKENDS)
def test_mlp_state_dict_names_and_shapes_follow_torch_linear(backend):
    sd = mlp(backend).state_dict()
    assert [(k, v.shape) for k, v in sd.items()] == [
        ("layers.0.weight", (4, 2)), ("layers.0.bias", (4,)),
        ("layers.1.weight", (3, 4)), ("layers.1.bias", (3,)),
        ("layers.2.weight", (1, 3)), ("layers.2.bias", (1,)),
    ]


def test_sequential_names_skip_parameter_free_modules():
    model = nn.Sequential(nn.Linear(3, 5, backend="scalar"), nn.ReLU(), nn.Linear(5, 2, backend="scalar"))
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert model.backend == "scalar" and model[1].backend == "scalar"


def test_sequential_rejects_mixed_backends_naming_the_item():
    with pytest.raises(ValueError, match="item 1"):
        nn.Sequential(nn.Linear(3, 5, backend="scalar"), nn.Linear(5, 2, backend="tensor"))


def test_same_seed_gives_identical_weights_on_both_backends_and_dtypes():
    a = mlp("scalar", seed=7).state_dict()
    b = mlp("tensor", seed=7).state_dict()
    c = nn.MLP(2, [4, 3, 1], backend="tensor", seed=7).state_dict()  # float32 default
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
        np.testing.assert_array_equal(a[k], c[k].astype(np.float64))
        assert c[k].dtype == np.float32 and a[k].dtype == np.float64
    assert not np.array_equal(flat_state(mlp("scalar", seed=8)), flat_state(mlp("scalar", seed=7)))


def test_default_init_is_uniform_within_one_over_sqrt_fan_in():
    model = nn.Linear(400, 300, backend="tensor", seed=0)
    w = model.state_dict()["weight"]
    bound = 1 / np.sqrt(400)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert abs(w.mean()) < 0.01 * bound * 10 and abs(w.std() - bound / np.sqrt(3)) < 0.02 * bound


def test_scalar_parameters_are_values_in_state_dict_order():
    model = mlp("scalar")
    params = model.parameters()
    assert all(type(p) is Value for p in params)
    np.testing.assert_array_equal([p.data for p in params], flat_state(model))
    name, w = next(model.named_parameters())
    assert name == "layers.0.weight" and w.shape == (4, 2) and w.dtype == object


def test_scalar_output_conventions_follow_micrograd():
    model = mlp("scalar")
    assert isinstance(model([0.5, -1.0]), Value)
    batch = model(np.zeros((3, 2)))
    assert isinstance(batch, list) and len(batch) == 3 and all(isinstance(v, Value) for v in batch)
    wide = nn.MLP(2, [3], backend="scalar", seed=0)
    one = wide([1.0, 2.0])
    assert isinstance(one, list) and len(one) == 3
    rows = wide([[1.0, 2.0], [3.0, 4.0]])
    assert len(rows) == 2 and all(len(r) == 3 for r in rows)


def test_scalar_neuron_is_one_fused_dot_node():
    n = nn.Neuron(3, nonlin=False, backend="scalar", seed=0)
    out = n([1.0, 2.0, 3.0])
    assert out._op == "dot" and len(out._prev) == 4  # three weights and the bias: the inputs are constants
    w = n.state_dict()["weight"]
    assert out.data == pytest.approx(w @ [1.0, 2.0, 3.0] + n.state_dict()["bias"], rel=1e-15)


@pytest.mark.parametrize("backend", BACKENDS)
def test_load_state_dict_checks_everything_before_writing(backend):
    model = mlp(backend)
    before = model.state_dict()
    bad = mlp(backend, seed=3).state_dict()
    bad["layers.2.bias"] = np.zeros(2)  # wrong shape, and it comes after entries that would load fine
    with pytest.raises(ValueError, match=r"layers\.2\.bias.*\(2,\).*\(1,\)"):
        model.load_state_dict(bad)
    missing = mlp(backend, seed=3).state_dict()
    del missing["layers.1.weight"]
    with pytest.raises(KeyError, match=r"layers\.1\.weight"):
        model.load_state_dict(missing)
    extra = mlp(backend, seed=3).state_dict()
    extra["layers.9.weight"] = np.zeros(1)
    with pytest.raises(KeyError, match=r"layers\.9\.weight"):
        model.load_state_dict(extra)
    strings = mlp(backend, seed=3).state_dict()
    strings["layers.0.bias"] = np.array(["a"] * 4)
    with pytest.raises(TypeError, match=r"layers\.0\.bias"):
        model.load_state_dict(strings)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


@pytest.mark.parametrize("backend", BACKENDS)
def test_load_state_dict_writes_in_place(backend):
    model = mlp(backend)
    params = model.parameters()
    other = mlp(backend, seed=5)
    model.load_state_dict(other.state_dict())
    assert all(a is b for a, b in zip(params, model.parameters()))  # optimizers stay attached
    np.testing.assert_array_equal(flat_state(model), flat_state(other))


@pytest.mark.parametrize("backend", BACKENDS)
def test_save_load_round_trip(tmp_path, backend):
    model = mlp(backend)
    path = tmp_path / "m.npz"
    nn.save(model, path)
    fresh = mlp(backend, seed=99)
    fresh.load(path)
    np.testing.assert_array_equal(flat_state(fresh), flat_state(model))


def test_damaged_checkpoint_gives_clear_error_and_keeps_weights(tmp_path):
    model = mlp("scalar")
    path = tmp_path / "m.npz"
    nn.save(model, path)
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    before = flat_state(model)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ValueError, match="m.npz"):
            model.load(path)
        gc.collect()
    # the damaged file's handle is closed, not left to the collector
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]
    np.testing.assert_array_equal(flat_state(model), before)
    with pytest.raises(FileNotFoundError, match="nothing.npz"):
        nn.load(tmp_path / "nothing.npz")


def test_interrupted_save_leaves_old_checkpoint_intact(tmp_path, monkeypatch):
    model = mlp("scalar")
    path = tmp_path / "m.npz"
    nn.save(model, path)
    good = path.read_bytes()

    def explode(f, **arrays):
        f.write(b"partial garbage")
        raise KeyboardInterrupt

    monkeypatch.setattr(serialization.np, "savez", explode)
    with pytest.raises(KeyboardInterrupt):
        nn.save(mlp("scalar", seed=1), path)
    assert path.read_bytes() == good
    assert os.listdir(tmp_path) == ["m.npz"]  # no temporary file left behind


def test_to_moves_between_engines_keeping_weights_and_outputs():
    model = mlp("scalar")
    x = np.random.default_rng(0).normal(size=(5, 2))
    expected = np.array([v.data for v in model(x)])
    model.to("tensor", dtype=np.float64)
    assert model.backend == "tensor" and all(m.backend == "tensor" for m in model.modules())
    np.testing.assert_allclose(model(x).numpy().ravel(), expected, rtol=1e-12)
    model.to("scalar")
    np.testing.assert_allclose([v.data for v in model(x)], expected, rtol=1e-15)


@pytest.mark.parametrize("backend", BACKENDS)
def test_zero_grad_and_grad_dict(backend):
    model = mlp(backend)
    loss = nn.mse_loss(model(np.ones((2, 2))), [1.0, -1.0])
    loss.backward()
    grads = model.grad_dict()
    assert list(grads) == list(model.state_dict())
    assert any(np.any(g != 0) for g in grads.values())
    model.zero_grad()
    assert all(np.all(g == 0) for g in model.grad_dict().values())


def test_train_eval_flags_reach_every_module():
    model = mlp("scalar")
    assert model.eval() is model and not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_repr_shows_architecture_and_backend():
    text = repr(mlp("scalar"))
    assert "MLP(2, [4, 3, 1], backend='scalar')" in text and "(layers.2): Layer(3, 1, linear)" in text


@pytest.mark.parametrize(
    "make, error, pattern",
    [
        (lambda: nn.MLP(2, [16, 1], backend="gpu"), ValueError, "gpu"),
        (lambda: nn.MLP(2, 16), ValueError, "16"),
        (lambda: nn.MLP(0, [16]), ValueError, "nin"),
        (lambda: nn.MLP(2, [16, 1], backend="scalar", dtype=np.float32), ValueError, "float32"),
        (lambda: nn.MLP(2, [16, 1], backend="tensor", dtype=np.int32), ValueError, "int32"),
        (lambda: nn.MLP(2, [1], activation="gelu"), ValueError, "gelu"),
        (lambda: nn.Sequential(nn.ReLU(), "relu"), TypeError, "str"),
    ],
)
def test_bad_construction_arguments_are_named(make, error, pattern):
    with pytest.raises(error, match=pattern):
        make()


def test_scalar_backend_rejects_non_numeric_input():
    with pytest.raises(TypeError, match="str"):
        mlp("scalar")(["a", "b"])


def test_non_npz_checkpoint_is_named_as_such(tmp_path):
    path = tmp_path / "notes.npz"
    path.write_text("just some text")
    with pytest.raises(ValueError, match="notes.npz.*not an .npz archive"):
        nn.load(path)


def test_activations_apply_elementwise_to_scalar_image_rows():
    x = np.array([[[[1.0, -2.0], [3.0, -4.0]]]])  # one (C, H, W) image
    out = nn.ReLU("scalar")(x)
    assert [[v.data for v in row] for row in out[0][0]] == [[1.0, 0.0], [3.0, 0.0]]


def test_backends_are_the_engines_and_the_losses_dispatch_on_them():
    from naivegrad import engines, tensor

    assert nn.BACKENDS == engines.ENGINES == ("scalar", "tensor")
    for backend in BACKENDS:
        model = mlp(backend)
        assert model.backend in engines.ENGINES
        loss = nn.mse_loss(model([[0.5, -1.0], [1.0, 2.0]]), [0.0, 1.0])
        assert engines.engine_of(loss) == backend
    with pytest.raises(TypeError, match="model.to\\('scalar'\\)"):
        mlp("tensor")([Value(1.0), Value(2.0)])
    assert isinstance(nn.mse_loss(tensor.Tensor([1.0, 2.0]), [0.0, 0.0]), tensor.Tensor)
