"""examples/names_torch_twin.py, the PyTorch twin of ``naivegrad train --dataset names``: from naivegrad's
initial weights and on its batches, 20 steps of each language model in PyTorch take the command's run's very
steps (the same learning rates, training losses within 1e-4 in float32, the same held-out loss). This is what
shows the two recipes are the same; the full runs are measured in the README."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from naivegrad.app.blas import one_blas_thread  # noqa: E402
from naivegrad.app.lm import LMRun, load_text  # noqa: E402

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "names_torch_twin.py"
STEPS = 20
TOLERANCE = 1e-4  # float32: the two libraries round differently, ~1e-6 apart after 20 steps


@pytest.fixture(scope="module")
def twin():
    spec = importlib.util.spec_from_file_location("names_torch_twin", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield module
    torch.set_num_threads(threads)


@pytest.mark.parametrize("model", ["bigram", "mlp", "gpt"])
def test_twin_takes_the_commands_steps(twin, model):
    cfg = twin.recipe(model, steps=STEPS)  # the command's default recipe, on a 20-step schedule
    data = load_text(cfg)
    ours = LMRun(cfg, data, "tensor")
    theirs = twin.TwinRun(cfg, data)  # its own LMRun's weights and loader: made from the same seed
    start = {k: np.asarray(v, np.float64) for k, v in ours.model.state_dict().items()}
    torch_start = theirs.weights()
    assert sorted(start) == sorted(torch_start)
    for k in start:
        np.testing.assert_array_equal(torch_start[k], start[k], err_msg=k)

    rates = []
    with one_blas_thread():
        for _ in range(STEPS):
            rates.append(ours.learning_rate(ours.step, STEPS))
            ours.train_step(STEPS)
            theirs.step()
        held_out = ours.loss_on("test")
    np.testing.assert_allclose(theirs.history["lr"], rates, rtol=1e-12, atol=0)
    np.testing.assert_allclose(theirs.history["loss"], ours.history["loss"], rtol=0, atol=TOLERANCE)
    np.testing.assert_allclose(theirs.history["val_loss"], ours.history["val_loss"], rtol=0, atol=TOLERANCE)
    assert abs(theirs.loss_on("test") - held_out) < TOLERANCE
    a, b = theirs.weights(), ours.weights()
    assert max(float(np.abs(a[k] - b[k]).max()) for k in a) < TOLERANCE
    assert ours.history["loss"][-1] < ours.history["loss"][0]  # it trained at all
