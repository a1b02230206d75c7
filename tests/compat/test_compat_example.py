"""``python -m naivegrad.examples.original_mnist``: runs (a few steps here; the full runs are in the README),
and without digits says where to put them and exits with status 2."""

import pytest

from naivegrad.examples import original_mnist


@pytest.mark.parametrize("args", [["--optimizer", "sgd", "--steps", "30"],
                                  ["--optimizer", "rmsprop", "--steps", "30", "--seed", "3"],
                                  ["--optimizer", "adam", "--model", "convnet", "--steps", "3", "--lr", "0.002"]])
def test_a_short_run_reports_its_accuracy(args, real_mnist_dir, capsys):
    assert original_mnist.main([*args, "--data-dir", str(real_mnist_dir), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "MNIST: 8000 training digits, 2000 test digits (only the t10k test set here" in out
    assert "test accuracy" in out and f"{args[1]} (lr " in out


def test_no_digits_exit_2_with_the_reason(offline_env, capsys):
    assert original_mnist.main(["--data-dir", str(offline_env / "nothing"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "train-images-idx3-ubyte.gz" in err and "t10k-images-idx3-ubyte.gz" in err


def test_bad_steps_is_a_usage_error():
    with pytest.raises(SystemExit) as info:
        original_mnist.main(["--steps", "0"])
    assert info.value.code == 2
