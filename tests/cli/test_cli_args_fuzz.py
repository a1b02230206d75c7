"""Property-based fuzzing of the ``naivegrad`` command line, in-process.

Hypothesis draws argument lists from the parser's own option table (``cli.build_parser()``: every option of
``train``, ``sample`` and ``graph``, its type and choices), with valid, boundary and invalid values: zero,
negative and huge numbers, ``nan`` / ``inf``, empty strings, unknown choices, wrong types, paths that do not
exist, are folders or files in the way, cannot be written (``/proc``), repeated options, ``--opt=value``
spellings, unknown options and options of another subcommand. Each argv runs through ``cli.main`` in a fresh
folder holding a classifier checkpoint, a language-model checkpoint and a few traps, and must keep the
contract of ``naivegrad.app.cli``:

- exit status 0, or 2 with exactly one line on stderr that starts ``naivegrad: error:`` and names an option,
  a value or the missing argument given (status 1 or 130 only with a last line saying what happened);
- never a traceback, never an exception out of ``main``;
- a refused run changes no file (nothing at the ``--save`` / ``--plot`` / ``-o`` paths, no probe left behind);
  a successful one changes at most its output paths.

Training is made cheap, not skipped: ``fit`` runs at most one real step, MNIST is 128 synthetic digits, and a
run whose settings pass every check but would build something big (a huge ``--hidden``, millions of
``--samples``, a large language model, a language model's evaluation on 3,204 names, a million sampled names)
stops at that point with ``Accepted``, which counts as accepted: the arguments were all checked by then.

Deliberate behaviours (not bugs), as the fuzzing meets them:

- argparse's prefixes are accepted (``--st 5`` is ``--steps 5``), and an ambiguous one is a usage error;
- a repeated option takes its last value;
- a negative number that argparse does not recognise as one (``-inf``, ``-1e5``) is read as an option, so
  ``--lr -1e5`` is "expected one argument" (``--lr=-1e5`` reaches the check of the value);
- ``--hidden ""`` is no hidden layer (a linear model), ``--batch-size`` larger than the data is the full batch,
  and ``--steps`` has no upper bound (a long run is the user's choice; Ctrl-C stops it cleanly);
- ``--lr 0`` is accepted (the weights stay as initialised or resumed: an evaluation), as are seeds past 2**32
  (numpy's generators take any non-negative integer) and a huge finite ``--l2`` or ``--lr``, which end in the
  one-line "training diverged" report (status 1) rather than a refusal;
- ``--data-dir ""`` is the current folder; a path of spaces is a file name like any other;
- without matplotlib (as here) every ``--plot`` is refused before training, after its path is checked.

The regression tests at the end pin the violations this fuzzing found.
"""

import argparse
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings, strategies as st

from naivegrad.app import cli, config, datasets, sample_command, train_command
from naivegrad.app.models import mlp_parameter_count
from naivegrad.data import mnist_files

from cli_helpers import one_line_error

# ---------------------------------------------------------------------------------------------- the option table
PARSER = cli.build_parser()
COMMANDS = next(a for a in PARSER._actions if isinstance(a, argparse._SubParsersAction)).choices
OPTIONS = {  # command -> [(option string, action)], --help left out (it is tried on its own)
    name: [(a.option_strings[-1], a) for a in sub._actions if a.option_strings and a.dest != "help"]
    for name, sub in COMMANDS.items()
}
POSITIONALS = {name: [a for a in sub._actions if not a.option_strings] for name, sub in COMMANDS.items()}

INTS = ["0", "1", "2", "3", "-1", "-3", "17", "1000000", "1000001", "10000000", "10000001", str(2 ** 32),
        "99999999999999999999", "1.5", "1e3", "nan", "inf", "", "x", " 7 ", "+2", "1_0", "0x10"]
FLOATS = ["0", "-0.0", "1e-3", "0.1", "0.5", "1", "0.999", "1.5", "-1", "nan", "-nan", "inf", "1e308", "1e400",
          "5e-324", "1e6", "", "x", "1,5", "0x1p-3"]
#: File names, relative to the example's folder (see ``_populate``): usable, existing, missing and unwritable.
PATHS = ["out.npz", "out.png", "out.dot", "out.svg", "out.jpg", "out", "run.npz", "names.npz", "text.npz",
         "empty.npz", "folder", "folder.npz", "folder/", "missing/out.npz", "file/out.npz", "/proc/ng-fuzz.npz",
         "", " ", "-", "out.NPZ", ".npz"]
HIDDEN = ["16,16", "4", "", ",", "0", "-1", "4,0", "1e3", "16,,16", " 8 ", "3,3,3", "x", "100000000,2",
          "3000,3000", "2000"]
PROMPTS = ["", "ka", "KA", "a" * 15, "a" * 16, ".", "é", "a b", "-", "x1"]
EXPRS = ["a=2.0; b=-3.0; (a*b).tanh()", "a=3.0; b=a*a", "a=1.0; a/0", "a=-1.0; a.log()", "a=2.0; b",
         "x = 1; __import__('os')", "a=(2.0", "", "a=1e308; a*a", "a=nan; a", "1.0", "a=2.0; a**a**a**a"]
TRAIN_STARTS = [[], [], [], ["--backend", "tensor"], ["--dataset", "names", "--model", "bigram"],
                ["--dataset", "names", "--model", "mlp", "--hidden", "8"],
                ["--dataset", "names", "--n-embd", "8", "--n-layer", "1", "--n-head", "2"],
                ["--dataset", "mnist", "--hidden", "8"], ["--dataset", "blobs"], ["--dataset", "spirals"],
                ["--resume", "run.npz"], ["--resume", "names.npz"]]
PATH_DESTS = {"save", "plot", "resume", "checkpoint", "output", "data_dir"}


GOOD = {int: ["1", "2", "3", "17"], float: ["0", "1e-3", "0.1", "0.5"], "hidden": ["4", "16,16", "3,3,3", ""],
        "prompt": ["", "ka", "a" * 15], "expr": EXPRS[:2], "path": ["out.npz", "out.png", "out.dot", "out.svg"]}


def values_for(action):
    """A strategy of value strings for ``action``: about half of them good, the rest boundaries and wrong ones."""
    if action.choices:
        others = ["", "unknown", "sgd", "names", "both", "LR", "mlp", "tensor"]
        return st.one_of(st.sampled_from(list(action.choices)),
                         st.sampled_from([c.upper() for c in action.choices] + others))
    if action.dest in ("checkpoint", "resume"):  # mostly a real checkpoint, so that the other options are reached
        return st.sampled_from(["names.npz"] * 8 + ["run.npz"] * 4 + PATHS)
    if action.dest in PATH_DESTS:
        kind, every = "path", PATHS
    elif action.type in (int, float):
        kind, every = action.type, INTS if action.type is int else FLOATS
    else:
        kind, every = action.dest, {"hidden": HIDDEN, "prompt": PROMPTS, "expr": EXPRS}.get(action.dest, ["", "x"])
    return st.one_of(st.sampled_from(GOOD.get(kind, every)), st.sampled_from(every))


@st.composite
def argvs(draw):
    """An argument list: a command (now and then a wrong one or none), its positional argument, and a few options
    drawn from its table, with now and then another command's option or an unknown one."""
    command = draw(st.sampled_from(["train"] * 6 + ["sample"] * 3 + ["graph"] * 2 + ["", "fit", "--version"]))
    if command not in COMMANDS:
        return [command] if command else []
    argv = [command]
    if command == "train":  # a start that reaches the other datasets, models and resuming more often
        argv += draw(st.sampled_from(TRAIN_STARTS))
    for positional in POSITIONALS[command]:
        if draw(st.integers(0, 9)):
            argv.append(draw(values_for(positional)))
    own = [o for o in OPTIONS[command]]
    foreign = [o for c, opts in OPTIONS.items() if c != command for o in opts
               if o[0] not in dict(OPTIONS[command])]
    for _ in range(draw(st.integers(0, 5))):
        kind = draw(st.integers(0, 19))
        if kind == 0 and foreign:
            option, action = draw(st.sampled_from(foreign))
        elif kind == 1:
            argv.append(draw(st.sampled_from(["--frobnicate", "-x", "--", "--help", "--st", "--s", "extra"])))
            continue
        else:
            option, action = draw(st.sampled_from(own))
        if action.nargs == 0:  # a flag
            argv.append(option)
        elif draw(st.integers(0, 4)) == 0:
            argv.append(f"{option}={draw(values_for(action))}")
        else:
            argv += [option, draw(values_for(action))]
    if command == "train" and draw(st.integers(0, 3)):
        argv.append("--quiet")
    return argv


# ---------------------------------------------------------------------------------------------- cheap training
class Accepted(Exception):
    """Raised where an accepted run would start to cost real time or memory: every check has passed."""


MAX_SCALAR_COST = 100_000     # weights x samples on the scalar engine, per example
MAX_TENSOR_COST = 20_000_000  # the same on numpy


def _guarded_load_data(real):
    def load_data(cfg):
        if cfg.language_model:  # built when small; its training stops in ``fit`` (see _one_step_fit)
            weights = config.lm_parameter_count(cfg.model, cfg.block_size, cfg.n_embd, cfg.n_layer, cfg.hidden)
            if weights > 20_000:
                raise Accepted(f"a language model of {weights} weights")
            return real(cfg)
        n = 128 if cfg.dataset == "mnist" else cfg.samples
        weights = (mlp_parameter_count(cfg.n_inputs, cfg.hidden, cfg.n_outputs) if cfg.model == "mlp"
                   else 10 ** 6)  # the convnet is a tensor-engine model
        scalar = cfg.backend in ("scalar", "both")
        if n * weights > (MAX_SCALAR_COST if scalar else MAX_TENSOR_COST):
            raise Accepted(f"{weights} weights on {n} samples")
        return real(cfg)
    return load_data


def _one_step_fit(real):
    def fit(runs, steps, **kwargs):
        if kwargs["config"].language_model:
            raise Accepted("a language model")  # its summary evaluates 3,204 names: seconds, not milliseconds
        return real(runs, min(steps, runs[0].step + 1), **kwargs)
    return fit


def _few_names(real):
    def sample_names(model, num, *args, **kwargs):
        if num > 50:
            raise Accepted(f"{num} names")
        return real(model, num, *args, **kwargs)
    return sample_names


def _fake_mnist(data_dir=None, n_train=8000, **kwargs):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (128, 28, 28)).astype(np.uint8)
    labels = np.arange(128) % 10
    return (images[:96], labels[:96]), (images[96:], labels[96:])


def _offline(url, *args, **kwargs):
    raise OSError("the fuzz tests stay offline")


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """A classifier's checkpoint (moons, 3 steps) and a language model's (names bigram, 2 steps), made once."""
    folder = tmp_path_factory.mktemp("checkpoints")
    run, names = folder / "run.npz", folder / "names.npz"
    assert cli.main(["train", "--quiet", "--backend", "tensor", "--steps", "3", "--save", str(run)]) == 0
    assert cli.main(["train", "--quiet", "--dataset", "names", "--model", "bigram", "--steps", "2",
                     "--batch-size", "32", "--save", str(names)]) == 0
    return run, names


@pytest.fixture(scope="module")
def patched(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(train_command, "load_data", _guarded_load_data(train_command.load_data))
        mp.setattr(train_command, "fit", _one_step_fit(train_command.fit))
        mp.setattr(sample_command, "sample_names", _few_names(sample_command.sample_names))
        mp.setattr(datasets, "mnist_t10k_split", _fake_mnist)
        mp.setattr(mnist_files._download, "download", _offline)
        mp.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
        mp.delenv("NAIVEGRAD_DATA", raising=False)
        yield


def _populate(folder, checkpoints):
    """The files an argv may name: the two checkpoints, a text file posing as one, an empty one, a folder, a
    folder named like a checkpoint, and a file where a folder is expected."""
    run, names = checkpoints
    shutil.copy(run, folder / "run.npz")
    shutil.copy(names, folder / "names.npz")
    (folder / "text.npz").write_text("not a checkpoint\n")
    (folder / "empty.npz").write_bytes(b"")
    (folder / "folder").mkdir()
    (folder / "folder.npz").mkdir()
    (folder / "file").write_text("x")


def _snapshot(folder):
    found = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = os.path.join(root, name)
            rel = os.path.relpath(path, folder)
            found[rel] = None if os.path.isdir(path) else open(path, "rb").read()
    return found


def _last_value(argv, *options):
    """The value the last of ``options`` was given in ``argv`` (argparse keeps the last), or None."""
    value = None
    for i, arg in enumerate(argv):
        for option in options:
            if arg == option and i + 1 < len(argv):
                value = argv[i + 1]
            elif arg.startswith(option + "="):
                value = arg[len(option) + 1:]
    return value


def run_in(folder, argv, capsys):
    """(status or Accepted, stdout, stderr) of ``cli.main(argv)`` run in ``folder``."""
    capsys.readouterr()
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        try:
            status = cli.main(list(argv))
        except Accepted as e:
            status = e
    finally:
        os.chdir(cwd)
    out, err = capsys.readouterr()
    return status, out, err


ALIASES = {o: a.option_strings for sub in COMMANDS.values() for a in sub._actions for o in a.option_strings}


def names_something_given(line, argv):
    """Does the message name an option of ``argv`` (by any of its spellings), a value given (as typed, or as its
    repr: ``''``), or the argument that is missing?"""
    if "the following arguments are required" in line or "choose a command" in line:
        return True
    words = set()
    for arg in argv:
        option, eq, value = arg.partition("=") if arg.startswith("-") else ("", "", arg)
        words.update(ALIASES.get(option, [option]))
        if eq or not option:
            words.update({value.strip(), repr(value)})
    words.discard("")
    return any(w in line for w in words)


def check_contract(argv, status, out, err, before, after):
    assert "Traceback" not in err, (argv, err)
    if isinstance(status, Accepted):
        assert err.strip() == "" or "--quiet" not in argv, (argv, err)
        assert after == before, (argv, "files changed before the run started")
        return
    assert status in (0, 1, 2, 130), (argv, status, err)
    if status == 2:
        line = one_line_error(err)
        assert line.startswith("naivegrad: error: "), (argv, line)
        assert names_something_given(line, argv), (argv, line)
        assert out == "", (argv, out)
        assert after == before, (argv, line, "a refused run changed files")
        return
    if status != 0:
        last = err.replace("\r", "\n").strip().splitlines()[-1]
        assert last.startswith("naivegrad"), (argv, err)
    outputs = {_last_value(argv, "--save"), _last_value(argv, "--plot"), _last_value(argv, "-o", "--output")}
    changed = {k for k in set(before) | set(after) if before.get(k, 0) != after.get(k, 0)}
    assert changed <= {os.path.normpath(p) for p in outputs if p}, (argv, changed)


# ---------------------------------------------------------------------------------------------- the property
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
          max_examples=max(settings.default.max_examples * 2, 1), deadline=None)
@given(argv=argvs())
def test_any_command_line_succeeds_or_fails_in_one_line(argv, checkpoints, patched, capsys, tmp_path):
    with tempfile.TemporaryDirectory(dir=tmp_path) as d:
        folder = Path(d)
        _populate(folder, checkpoints)
        before = _snapshot(folder)
        status, out, err = run_in(folder, argv, capsys)
        event(f"{argv[0] if argv else '-'}: {'accepted' if isinstance(status, Accepted) else status}")
        check_contract(argv, status, out, err, before, _snapshot(folder))


# ---------------------------------------------------------------------------------------------- regressions
@pytest.mark.parametrize("option", ["--save", "--plot", "--resume"])
def test_an_empty_path_is_refused_not_ignored(run_cli, tmp_path, monkeypatch, option):
    """``--save ""`` and ``--plot ""`` were truth-tested away: the run trained and saved nothing, exit 0;
    ``--resume ""`` started a fresh run. Now each is one line naming the option (--resume: "no checkpoint")."""
    monkeypatch.chdir(tmp_path)
    status, out, err = run_cli("train", "--quiet", "--steps", 1, option, "")
    assert status == 2 and out == ""
    line = one_line_error(err)
    assert ("no checkpoint at ''" if option == "--resume" else f"{option} '': give a file name") in line, line
    assert list(tmp_path.iterdir()) == []


def test_graph_output_empty_names_the_option(run_cli, tmp_path, monkeypatch):
    """``graph -o ""`` said "draw: unsupported file extension '' of '.'", naming neither -o nor the value."""
    monkeypatch.chdir(tmp_path)
    status, out, err = run_cli("graph", "a=2.0; a*a", "-o", "")
    assert status == 2 and out == ""
    assert "-o '': give a file name" in one_line_error(err)
    assert list(tmp_path.iterdir()) == []


def test_a_huge_test_fraction_is_a_usage_error_not_an_overflow(run_cli):
    """``--test-fraction 1e308``: samples * 1e308 is inf, and int(round(inf)) raised OverflowError (a
    traceback) before the check that the fraction is below 1."""
    status, out, err = run_cli("train", "--quiet", "--test-fraction", "1e308")
    assert status == 2 and out == ""
    assert "--test-fraction 1e+308" in one_line_error(err)


def test_noise_that_makes_the_points_infinite_is_refused(run_cli):
    """``--noise 1e308`` was accepted: the points became inf and the run "diverged" with advice to lower
    --lr. The noise of a 2-D set is now bounded (``config.MAX_NOISE``), like --samples and the weights."""
    status, out, err = run_cli("train", "--quiet", "--noise", "1e308")
    assert status == 2 and out == ""
    assert "--noise must be at most 1e+06, got 1e+308" in one_line_error(err)
    status, _, _ = run_cli("train", "--quiet", "--steps", 1, "--noise", config.MAX_NOISE)
    assert status == 0


def test_a_tiny_sampling_temperature_samples_the_likeliest_names(run_cli, checkpoints):
    """``sample --temperature 5e-324``: logits / T overflowed, the softmax was nan and numpy's ``choice``
    raised "Probabilities contain NaN" out of ``main``. The logits are now shifted by their maximum before the
    division, so a tiny T samples the likeliest letters, as T = 0 does."""
    _, names = checkpoints
    status, tiny, err = run_cli("sample", names, "--num", 3, "--temperature", "5e-324")
    assert status == 0 and err == ""
    status, greedy, _ = run_cli("sample", names, "--num", 3, "--temperature", 0)
    assert status == 0 and len(greedy.split()) == 3 and tiny == greedy


def test_the_mlp_language_model_refuses_a_context_longer_than_a_name(run_cli, monkeypatch):
    """``--dataset names --model mlp --block-size N`` took any N: a context past 16 (the start token and the
    longest name's 15 letters) reads only padding, and makemore's layout is an (examples, N) array: 1,000
    was 1.8 GB of zeros, 100,000 ran out of memory."""
    monkeypatch.setattr(train_command, "load_data", lambda cfg: pytest.fail("the data was built"))
    status, out, err = run_cli("train", "--quiet", "--dataset", "names", "--model", "mlp", "--block-size", 17)
    assert status == 2 and out == ""
    assert "--block-size must be <= 16" in one_line_error(err)
    assert config.resolve({"dataset": "names", "model": "mlp", "block_size": 16}).block_size == 16
