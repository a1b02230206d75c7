"""Weights leave naivegrad through safetensors (optional): nn.save / model.load, and PyTorch reads the file."""

import builtins

import numpy as np
import pytest

from naivegrad import nn

safetensors = pytest.importorskip("safetensors")


def _model(seed=0):
    return nn.MLP(3, [4, 2], backend="tensor", seed=seed, dtype=np.float64)


def test_round_trip_restores_every_weight_bit_for_bit(tmp_path):
    src, dst = _model(0), _model(1)
    path = tmp_path / "m.safetensors"
    nn.save(src, path)
    assert path.read_bytes()[8:9] == b"{"  # the safetensors layout: a u64 header length, then JSON
    dst.load(path)
    for (k, a), (k2, b) in zip(src.state_dict().items(), dst.state_dict().items()):
        assert k == k2 and a.dtype == b.dtype and np.array_equal(a, b)
    assert list(nn.load(path)) == sorted(src.state_dict())


def test_scalar_backend_saves_and_loads_too(tmp_path):
    src = nn.MLP(3, [4, 2], backend="scalar", seed=0)
    dst = nn.MLP(3, [4, 2], backend="tensor", seed=5, dtype=np.float64)
    src.save(tmp_path / "s.safetensors")  # Module.save picks the format from the name
    dst.load(tmp_path / "s.safetensors")
    for k, v in src.state_dict().items():
        assert np.array_equal(dst.state_dict()[k], v)


def test_damaged_file_names_the_path_and_leaves_the_model_as_it_was(tmp_path):
    model = _model(0)
    before = model.state_dict()
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    with pytest.raises(ValueError, match="bad.safetensors"):
        model.load(bad)
    for k, v in model.state_dict().items():
        assert np.array_equal(v, before[k])


def test_wrong_shapes_name_the_key_and_keep_the_weights(tmp_path):
    nn.save(nn.MLP(3, [5, 2], backend="tensor", seed=0, dtype=np.float64), tmp_path / "other.safetensors")
    model = _model(0)
    before = model.state_dict()
    with pytest.raises(ValueError, match=r"layers.0.weight.*\(5, 3\).*\(4, 3\)"):
        model.load(tmp_path / "other.safetensors")
    assert all(np.array_equal(v, before[k]) for k, v in model.state_dict().items())


def test_a_missing_package_gives_an_install_hint(tmp_path, monkeypatch):
    real_import = builtins.__import__

    def no_safetensors(name, *args, **kwargs):
        if name.startswith("safetensors"):
            raise ImportError("no module named safetensors")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_safetensors)
    with pytest.raises(ImportError, match=r"naivegrad\[safetensors\]"):
        nn.save(_model(), tmp_path / "m.safetensors")
    assert not (tmp_path / "m.safetensors").exists()


def test_pytorch_loads_the_file_into_the_same_architecture(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file

    model = _model(3)
    path = tmp_path / "m.safetensors"
    nn.save(model, path)
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2)).double()
    # naivegrad's MLP names its Linear layers layers.0, layers.1; the Sequential's are 0 and 2 (ReLU between)
    where = {"layers.0.": "0.", "layers.1.": "2."}
    state = {where[k[:9]] + k[9:]: v for k, v in load_file(str(path)).items()}
    net.load_state_dict(state)
    x = np.random.default_rng(0).standard_normal((5, 3))
    np.testing.assert_allclose(net(torch.tensor(x)).detach().numpy(), model(x).data, rtol=1e-12, atol=1e-12)
