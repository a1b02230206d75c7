"""``naivegrad train --dataset names`` and ``naivegrad sample``: the language models learn (short runs still end
far below the uniform and unigram losses), a resumed run is the uninterrupted one exactly, both engines agree,
sampling is deterministic and prints only names, and bad input is one line and exit 2."""

import json
import math
import re

import numpy as np
import pytest

from naivegrad.app import config, lm
from naivegrad.nn.serialization import atomic_savez

from cli_helpers import checkpoint, one_line_error

UNIFORM = math.log(27)  # 3.2958: a model that knows nothing
NAMES = ("train", "--dataset", "names", "--quiet")


def held_out(out, engine="tensor"):
    """The held-out loss the summary line of ``engine`` ends with."""
    m = re.search(rf"^{engine} engine: .*, held-out loss (\d+\.\d{{4}})$", out, re.M)
    assert m, out
    return float(m.group(1))


@pytest.fixture(scope="module")
def unigram():
    """The held-out loss of the training split's character frequencies (about 2.83)."""
    cfg = config.resolve({"dataset": "names", "model": "bigram"})
    return lm.unigram_loss(lm.load_text(cfg))


@pytest.fixture(scope="module")
def bigram_ckpt(tmp_path_factory):
    """A bigram trained for 300 steps, shared by the sampling tests."""
    from naivegrad.app import cli
    path = tmp_path_factory.mktemp("names") / "bigram.npz"
    assert cli.main([*NAMES, "--model", "bigram", "--steps", "300", "--save", str(path)]) == 0
    return path


# A few hundred steps each (the gpt: 2 blocks of width 32, 26,496 weights).
LEARNING = [
    ("bigram", ["--steps", 300], 2.60),
    ("mlp", ["--steps", 600], 2.45),
    ("gpt", ["--steps", 300, "--n-layer", 2, "--n-embd", 32, "--lr", 5e-3], 2.45),
]


@pytest.mark.parametrize("model, more, bound", LEARNING, ids=[m for m, _, _ in LEARNING])
def test_a_short_run_learns(run_cli, unigram, model, more, bound):
    status, out, err = run_cli(*NAMES, "--model", model, *more)
    assert status == 0, err
    loss = held_out(out)
    assert 2.0 < unigram < 3.0 and unigram < UNIFORM
    assert loss < bound < unigram - 0.2, (loss, unigram)
    assert re.search(r"val loss \d\.\d{4}", out)


def test_the_progress_bar_shows_the_validation_loss(run_cli):
    status, out, err = run_cli("train", "--dataset", "names", "--model", "bigram", "--steps", 60)
    assert status == 0
    assert re.search(r"loss=\d\.\d{4}, val=\d\.\d{4}", err), err


# (model, recipe, interrupted before step k, validation losses measured): the tensor runs are interrupted
# between their validations at steps 50, 100 and 120 (the last).
RESUMED = [
    ("gpt", ["--backend", "tensor", "--n-layer", 1, "--n-embd", 16, "--steps", 120, "--batch-size", 8], 70, 3),
    ("mlp", ["--backend", "tensor", "--steps", 120], 70, 3),
    ("bigram", ["--backend", "scalar", "--steps", 12], 7, 1),
]


@pytest.mark.parametrize("model, recipe, k, n_val", RESUMED, ids=[m for m, *_ in RESUMED])
def test_interrupted_then_resumed_equals_uninterrupted(run_cli, tmp_path, monkeypatch, model, recipe, k, n_val):
    whole, part = tmp_path / "whole.npz", tmp_path / "part.npz"
    argv = [*NAMES, "--model", model, *recipe]
    status, out_whole, err = run_cli(*argv, "--save", whole)
    assert status == 0, err
    real = lm.LMRun.train_step

    def interrupted(self, total):
        if self.step == k:
            raise KeyboardInterrupt
        return real(self, total)

    with monkeypatch.context() as patch:
        patch.setattr(lm.LMRun, "train_step", interrupted)
        status, out, err = run_cli(*argv, "--save", part)
    assert status == 130
    assert int(checkpoint(part)["step"]) == k
    status, out, err = run_cli("train", "--resume", part, "--save", part, "--quiet")
    assert status == 0, err
    a, b = checkpoint(part), checkpoint(whole)
    keys = sorted(x for x in a if x.startswith(("model.", "optimizer.", "loader.", "history.", "step")))
    assert keys == sorted(x for x in b if x.startswith(("model.", "optimizer.", "loader.", "history.", "step")))
    assert "history.val_loss" in keys and len(a["history.val_loss"]) == n_val
    for key in keys:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    assert held_out(out, recipe[1]) == held_out(out_whole, recipe[1])


@pytest.mark.parametrize("model", ["gpt", "mlp", "bigram"])
def test_both_engines_train_the_same_model(run_cli, model):
    status, out, err = run_cli(*NAMES, "--model", model, "--backend", "both", "--steps", 6)
    assert status == 0, err
    m = re.search(r"^engines agree: max \|scalar - tensor\| over ([\d,]+) final weights = (\S+), over 6 training "
                  r"losses = (\S+), over the logits of 32 held-out names = (\S+) ", out, re.M)
    assert m, out
    assert float(m.group(2)) < 1e-12 and float(m.group(3)) < 1e-12 and float(m.group(4)) < 1e-12
    assert abs(held_out(out, "scalar") - held_out(out, "tensor")) < 1e-9


def test_sample_prints_names_deterministically(run_cli, bigram_ckpt):
    status, out, err = run_cli("sample", bigram_ckpt, "--num", 25, "--seed", 3)
    assert status == 0 and err == ""
    lines = out.split("\n")
    assert lines[-1] == "" and len(lines) == 26
    assert all(re.fullmatch(r"[a-z]{1,15}", name) for name in lines[:-1]), lines
    assert len(set(lines)) > 10
    assert run_cli("sample", bigram_ckpt, "--num", 25, "--seed", 3)[1] == out
    assert run_cli("sample", bigram_ckpt, "--num", 25, "--seed", 4)[1] != out
    status, out, err = run_cli("sample", bigram_ckpt, "--num", 5, "--seed", 1, "--prompt", "ka",
                               "--temperature", 0.5)
    assert status == 0 and err == ""
    assert all(re.fullmatch(r"ka[a-z]{0,13}", name) for name in out.split()) and len(out.split()) == 5
    status, out, err = run_cli("sample", bigram_ckpt, "--num", 3, "--temperature", 0)
    assert status == 0 and len(set(out.split())) == 1  # always the likeliest letter


def test_sample_from_a_checkpoint_of_either_engine(run_cli, tmp_path):
    path = tmp_path / "gpt.npz"
    assert run_cli(*NAMES, "--model", "gpt", "--backend", "scalar", "--steps", 3, "--save", path)[0] == 0
    status, out, err = run_cli("sample", path, "--num", 4, "--seed", 0)
    assert status == 0 and len(out.split("\n")) == 5 and err == ""


def test_plot_draws_the_loss_curves(run_cli, tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "names.png"
    status, out, err = run_cli(*NAMES, "--model", "bigram", "--steps", 100, "--plot", path)
    assert status == 0, err
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# -- bad input: one line on stderr, exit 2, nothing trained
BAD_TRAIN = [
    (["--model", "gpt", "--dataset", "moons"], "language model"),
    (["--model", "bigram", "--dataset", "mnist"], "language model"),
    (["--model", "convnet", "--dataset", "names"], "does not model text"),
    (["--model", "transformer", "--dataset", "names"], "invalid choice"),
    (["--dataset", "moons", "--n-embd", 8], "--n-embd applies to the language models"),
    (["--dataset", "names", "--model", "gpt", "--block-size", 8], "--block-size must be >= 16"),
    (["--dataset", "names", "--model", "gpt", "--n-embd", 30, "--n-head", 4], "--n-head 4 must divide"),
    (["--dataset", "names", "--model", "mlp", "--hidden", "10,10"], "one hidden layer"),
    (["--dataset", "names", "--model", "bigram", "--n-embd", 8], "does not apply to --model bigram"),
    (["--dataset", "names", "--l2", 0.1], "--weight-decay"),
    (["--dataset", "names", "--test-fraction", 0.2], "does not apply to --dataset names"),
    (["--dataset", "names", "--optimizer", "sgd", "--weight-decay", 0.1], "--weight-decay applies to"),
    (["--dataset", "names", "--model", "gpt", "--n-embd", 4096, "--n-layer", 1000], "at most"),
]


@pytest.mark.parametrize("argv, words", BAD_TRAIN, ids=[" ".join(map(str, a)) for a, _ in BAD_TRAIN])
def test_bad_train_arguments_are_one_line_and_exit_2(run_cli, argv, words):
    status, out, err = run_cli("train", "--quiet", *argv)
    assert status == 2 and out == ""
    assert words in one_line_error(err)


def _moons_ckpt(run_cli, path):
    assert run_cli("train", "--quiet", "--steps", 2, "--save", path)[0] == 0
    return path


def test_bad_sample_input_is_one_line_and_exit_2(run_cli, tmp_path, bigram_ckpt):
    damaged = tmp_path / "damaged.npz"
    damaged.write_bytes(b"PK\x03\x04 this is not a zip archive")
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"hello")
    cases = [
        ([_moons_ckpt(run_cli, tmp_path / "moons.npz")], "not a language model"),
        ([tmp_path / "missing.npz"], "cannot sample: no checkpoint at"),
        ([damaged], "cannot sample from"),
        ([garbage], "not an .npz checkpoint"),
        ([bigram_ckpt, "--prompt", "Ka"], "'K' is not in the models' vocabulary"),
        ([bigram_ckpt, "--prompt", "a1"], "'1' is not in the models' vocabulary"),
        ([bigram_ckpt, "--prompt", "a" * 16], "more than block_size 16"),
        ([bigram_ckpt, "--num", 0], "--num must be"),
        ([bigram_ckpt, "--temperature", -1], "--temperature must be"),
        ([bigram_ckpt, "--temperature", "nan"], "--temperature must be"),
    ]
    for argv, words in cases:
        status, out, err = run_cli("sample", *argv)
        assert status == 2 and out == "", (argv, err)
        assert words in one_line_error(err), (argv, err)


def test_a_checkpoint_whose_weights_do_not_fit_is_refused(run_cli, tmp_path, bigram_ckpt):
    arrays = checkpoint(bigram_ckpt)
    arrays["model.wte.weight"] = arrays["model.wte.weight"][:, :20]  # not a 27 x 27 table
    bad = tmp_path / "bad.npz"
    atomic_savez(bad, arrays)
    for argv in (["sample", bad], ["train", "--resume", bad, "--quiet"]):
        status, out, err = run_cli(*argv)
        assert status == 2 and out == ""
        assert "not fit" in one_line_error(err)


def test_resume_refuses_another_model(run_cli, bigram_ckpt):
    status, out, err = run_cli("train", "--resume", bigram_ckpt, "--model", "mlp", "--quiet")
    assert status == 2
    assert "was trained with --model bigram" in one_line_error(err)


def test_the_language_models_refuse_tokens_outside_the_vocabulary_and_too_long_sequences():
    # What the command relies on when it checks a prompt: the models themselves refuse such ids.
    cfg = config.resolve({"dataset": "names", "model": "gpt", "n_layer": 1, "n_embd": 16})
    model = lm.build_lm(cfg, "tensor")
    with pytest.raises(ValueError, match="27"):
        model([[0, 27]])
    with pytest.raises(ValueError, match="block_size=16"):
        model([[0] * 17])
    assert json.loads(cfg.to_json())["block_size"] == 16


def test_engines_that_differ_are_reported_with_exit_1(run_cli, monkeypatch):
    real = lm.LMRun.own_logits

    def off(self, names=None):
        out = real(self, names)
        return out + 1e-6 if self.engine == "scalar" else out

    monkeypatch.setattr(lm.LMRun, "own_logits", off)
    status, out, err = run_cli(*NAMES, "--model", "bigram", "--backend", "both", "--steps", 2)
    assert status == 1
    assert "engines DISAGREE" in out and "held-out names = 1e-06" in out


def test_the_readme_quickstart_run_is_unchanged(run_cli):
    status, out, err = run_cli("train", "--quiet")
    assert status == 0
    assert out.startswith("naivegrad train: MLP(2, [16, 16, 1]) on moons (100 train points, 2 classes): hinge loss "
                          "+ 0.0001 L2, sgd lr 1 -> 0.1, full batch, seed 0\n")
    assert "train accuracy 99.0%" in out
