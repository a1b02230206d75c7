"""The README's main job, ``naivegrad train``, against the bare library steps it runs.

``naivegrad train --quiet`` (the whole command in-process: argument parsing, data, model, 100 SGD steps of
micrograd's two-moons MLP 2-16-16-1 on the scalar engine, the final accuracy, the summary) and, as the
baseline, the same 100 steps written with the library alone: ``moons(100)``, ``nn.MLP(..., backend="scalar",
seed=0)``, hinge loss + 1e-4 L2, SGD with micrograd's learning-rate decay. Both sit in one benchmark group,
so the table's ratio column reads the command's cost over the library's directly. The target: the command
within 1.3x the library steps, and in <= 3 s of wall time from the shell on a quiet 2-core machine.

    pytest bench/bench_main_job.py                       # the timings, and the command from the shell
    pytest bench/bench_main_job.py --benchmark-disable   # each once (CI)
    python bench/bench_main_job.py [ROUNDS]              # interleaved rounds, CPU and wall time, the share of
                                                         # the steps spent in Python's garbage collector,
                                                         # and the real command in a fresh interpreter

The timed library loop does exactly what the command does (``bench_the_job_is_the_library_steps`` checks
that both end with bit-identical weights), so the ratio is the command's own overhead. Shared machines are
noisy: compare the ratio, not the seconds; the script mode's CPU times are steadier than wall times.
"""

import contextlib
import gc
import io
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time

import numpy as np

from naivegrad import nn, optim
from naivegrad.app import cli
from naivegrad.data import moons
from naivegrad.scalar import sum as vsum

STEPS = 100  # the command's default on moons
LR, ALPHA, SEED = 1.0, 1e-4, 0
GROUP = f"main-job: naivegrad train, moons MLP 2-16-16-1, scalar engine, {STEPS} steps"
EXPECTED = "train accuracy 99.0%"


def library_steps(steps=STEPS, gc_off=False):
    """The main job written with the library alone; returns the trained model.

    ``gc_off`` pauses Python's cyclic garbage collector around each step (the graph is freed by reference
    counting either way), to measure what the collector costs."""
    X, labels = moons(100, noise=0.1, seed=SEED)
    y = labels * 2.0 - 1.0
    model = nn.MLP(2, [16, 16, 1], backend="scalar", seed=SEED)
    params = model.parameters()
    opt = optim.SGD(params, lr=LR)
    for k in range(steps):
        if gc_off:
            gc.disable()
        loss = nn.hinge_loss(model(X), y) + ALPHA * vsum([p * p for p in params])
        opt.zero_grad()
        loss.backward()
        opt.param_groups[0]["lr"] = LR * (1.0 - 0.9 * k / steps)  # micrograd's decay, lr -> lr / 10
        opt.step()
        del loss
        if gc_off:
            gc.enable()
    return model


def command(*extra):
    """``naivegrad train --quiet`` in this process; returns what it printed (it must succeed)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = cli.main(["train", "--quiet", *map(str, extra)])
    assert status == 0, out.getvalue()
    return out.getvalue()


def _collect():
    gc.collect()  # the previous round's garbage must not be billed to this one (returns None: no arguments)


def _run(benchmark, fn):
    benchmark.extra_info["steps"] = STEPS
    return benchmark.pedantic(fn, setup=_collect, rounds=3, iterations=1, warmup_rounds=0)


def bench_library_steps(benchmark):
    benchmark.group = GROUP
    model = _run(benchmark, library_steps)
    assert np.isfinite(model.state_dict()["layers.0.weight"]).all()


def bench_naivegrad_train(benchmark):
    benchmark.group = GROUP
    printed = _run(benchmark, command)
    assert EXPECTED in printed, printed


SHELL_GROUP = "main-job: naivegrad train --quiet from the shell, a fresh interpreter (wall time; target <= 3 s)"


def _console_command():
    """``naivegrad train --quiet`` as typed in a shell: the console script next to this interpreter."""
    script = shutil.which("naivegrad", path=os.path.dirname(sys.executable))
    return ([script] if script else [sys.executable, "-m", "naivegrad"]) + ["train", "--quiet"]


def bench_naivegrad_train_from_the_shell(benchmark):
    """The whole command in a fresh interpreter (start-up and imports included): the wall time the target
    is about, in its own group."""
    benchmark.group = SHELL_GROUP
    argv = _console_command()
    res = benchmark.pedantic(subprocess.run, args=(argv,), kwargs=dict(capture_output=True, text=True),
                             rounds=3, iterations=1, warmup_rounds=0)
    assert res.returncode == 0 and EXPECTED in res.stdout, res.stdout + res.stderr


def bench_the_job_is_the_library_steps(tmp_path):
    """Not timed: the command and the baseline take the same steps (a short run, bit-identical weights)."""
    steps = 5
    ckpt = tmp_path / "job.npz"
    command("--steps", steps, "--save", ckpt)
    with np.load(ckpt) as f:
        saved = {k[len("model."):]: f[k] for k in f.files if k.startswith("model.")}
    ours = {k: np.asarray(v, np.float64) for k, v in library_steps(steps).state_dict().items()}
    assert saved.keys() == ours.keys()
    for k in ours:
        np.testing.assert_array_equal(saved[k], ours[k], err_msg=k)


# ---------------------------------------------------------------------------------------------- as a script
def _times(fn):
    gc.collect()
    c, w = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - c, time.perf_counter() - w


def _child(argv):
    """(wall, CPU) seconds of a fresh interpreter running ``argv``."""
    r0, w = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    wall, r1 = time.perf_counter() - w, resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def main(rounds=3):
    """Interleaved in-process rounds (command, library steps, library steps without the collector), then
    the real command and a bare import in fresh interpreters. Prints medians (CPU and wall) and ratios."""
    runs = {"command": command, "library": library_steps, "library, gc paused": lambda: library_steps(gc_off=True)}
    t = {k: [] for k in runs}
    for _ in range(rounds):
        for k, fn in runs.items():
            t[k].append(_times(fn))
    med = {k: (statistics.median(c for c, _ in v), statistics.median(w for _, w in v)) for k, v in t.items()}
    for k, (c, w) in med.items():
        print(f"{k:20s} CPU {c:5.2f} s  wall {w:5.2f} s   (median of {rounds})")
    lib = med["library"]
    print(f"command / library steps: CPU {med['command'][0] / lib[0]:.2f}x, wall {med['command'][1] / lib[1]:.2f}x")
    print(f"garbage collector: {1 - med['library, gc paused'][0] / lib[0]:.0%} of the library steps' CPU time")
    exe = [sys.executable]
    child = {"naivegrad train --quiet": _console_command(),
             "import naivegrad.app.cli": exe + ["-c", "import naivegrad.app.cli"],
             "python -c pass": exe + ["-c", "pass"]}
    c = {k: [] for k in child}
    for _ in range(rounds):
        for k, argv in child.items():
            c[k].append(_child(argv))
    for k, v in c.items():
        print(f"{k:26s} wall {statistics.median(w for w, _ in v):5.2f} s  "
              f"CPU {statistics.median(u for _, u in v):5.2f} s   (fresh interpreter, median of {rounds})")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:2]))
