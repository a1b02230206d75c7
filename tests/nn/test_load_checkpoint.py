"""``model.load(path)`` reads a plain model file or the model part of a ``naivegrad train --save`` checkpoint.

A failed load leaves the model as it was; missing and unexpected keys and wrong shapes are named with both
shapes.
"""

import numpy as np
import pytest

from naivegrad import nn
from naivegrad.app import cli
from naivegrad.nn import serialization

BACKENDS = ["scalar", "tensor"]


@pytest.fixture(scope="module")
def train_checkpoint(tmp_path_factory):
    """A checkpoint written by ``naivegrad train --save`` (two steps on moons, the scalar engine)."""
    path = tmp_path_factory.mktemp("ckpt") / "ckpt.npz"
    assert cli.main(["train", "--steps", "2", "--quiet", "--save", str(path)]) == 0
    return path


def moons_model(backend, hidden=(16, 16), seed=7):
    return nn.MLP(2, list(hidden) + [1], backend=backend, seed=seed,
                  dtype=np.float64 if backend == "tensor" else None)


def saved_weights(path):
    with np.load(path, allow_pickle=False) as f:
        return {k[len("model."):]: f[k] for k in f.files if k.startswith("model.")}


@pytest.mark.parametrize("backend", BACKENDS)
def test_model_load_takes_the_model_part_of_a_training_checkpoint(train_checkpoint, backend):
    model = moons_model(backend)
    assert model.load(train_checkpoint) is model
    want = saved_weights(train_checkpoint)
    assert list(model.state_dict()) == list(want)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, want[k])


def test_plain_model_files_keep_loading(tmp_path):
    src = moons_model("tensor", seed=1)
    src.save(tmp_path / "plain.npz")
    dst = moons_model("scalar", seed=2)
    dst.load(tmp_path / "plain.npz")
    for k, v in dst.state_dict().items():
        np.testing.assert_array_equal(v, src.state_dict()[k])


def test_a_plain_file_of_a_model_with_a_model_submodule_is_not_mistaken_for_a_checkpoint(tmp_path):
    class Wrapper(nn.Module):
        def __init__(self, seed):
            super().__init__("tensor")
            self.model = nn.Linear(2, 1, seed=seed)

        def forward(self, x):
            return self.model.forward(x)

    Wrapper(1).save(tmp_path / "w.npz")
    dst = Wrapper(2).load(tmp_path / "w.npz")
    assert list(dst.state_dict()) == ["model.weight", "model.bias"]
    np.testing.assert_array_equal(dst.state_dict()["model.weight"], Wrapper(1).state_dict()["model.weight"])


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_failed_load_leaves_the_model_as_it_was_and_names_key_and_shapes(train_checkpoint, backend):
    model = moons_model(backend, hidden=(16, 8))  # layers.1 is (8, 16) here, (16, 16) in the checkpoint
    before = model.state_dict()
    with pytest.raises(ValueError, match=r"ckpt\.npz.*'layers\.1\.weight'.*\(16, 16\).*\(8, 16\)"):
        model.load(train_checkpoint)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k])

    deeper = nn.MLP(2, [16, 16, 16, 1], backend=backend, seed=0)
    before = deeper.state_dict()
    with pytest.raises(KeyError) as info:
        deeper.load(train_checkpoint)
    msg = str(info.value)
    assert "ckpt.npz" in msg and "missing 'layers.3.weight' (the model's shape (1, 16))" in msg
    assert "'layers.3.bias' (the model's shape (1,))" in msg
    assert "unexpected" not in msg and "optimizer" not in msg  # only the model part is compared
    for k, v in deeper.state_dict().items():
        np.testing.assert_array_equal(v, before[k])

    shallow = nn.MLP(2, [16, 1], backend=backend, seed=0)
    with pytest.raises(KeyError, match=r"unexpected 'layers\.2\.weight' \(shape \(1, 16\)\)"):
        shallow.load(train_checkpoint)


def test_load_state_dict_of_a_whole_checkpoint_points_at_model_load(train_checkpoint):
    model = moons_model("scalar")
    with pytest.raises(KeyError, match=r"model\.load\(path\)"):
        model.load_state_dict(nn.load(train_checkpoint))


def test_checkpoint_of_another_format_or_without_weights_is_refused(tmp_path, train_checkpoint):
    arrays = dict(nn.load(train_checkpoint))
    arrays["naivegrad_checkpoint"] = np.int64(99)
    serialization.atomic_savez(tmp_path / "future.npz", arrays)
    model = moons_model("tensor")
    before = model.state_dict()
    with pytest.raises(ValueError, match=r"future\.npz.*format 99"):
        model.load(tmp_path / "future.npz")
    no_model = {k: v for k, v in nn.load(train_checkpoint).items() if not k.startswith("model.")}
    serialization.atomic_savez(tmp_path / "empty.npz", no_model)
    with pytest.raises(ValueError, match=r"empty\.npz.*no 'model\.\*' entries"):
        model.load(tmp_path / "empty.npz")
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def test_the_loader_reads_the_format_the_app_writes():
    from naivegrad.app import checkpoint

    assert serialization.TRAINING_CHECKPOINT_FORMAT == checkpoint.CHECKPOINT_FORMAT


def test_key_errors_print_without_quotes_and_list_shapes():
    model = nn.Linear(2, 1, seed=0)
    sd = model.state_dict()
    sd["extra"] = np.zeros((4, 5))
    del sd["bias"]
    with pytest.raises(KeyError) as info:
        model.load_state_dict(sd)
    assert str(info.value) == ("state dict does not match Linear: missing 'bias' (the model's shape (1,)); "
                               "unexpected 'extra' (shape (4, 5))")
