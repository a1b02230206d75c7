"""Helpers for the ``naivegrad`` command's tests: run it in a fresh interpreter, parse what it printed."""

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def module_command(*argv):
    """The command line of ``python -m naivegrad argv`` in this interpreter."""
    return [sys.executable, "-m", "naivegrad", *map(str, argv)]


def module_env(**extra):
    """The environment for a child interpreter: naivegrad importable from this checkout, plus ``extra``."""
    env = dict(os.environ, **extra)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env


def run_module(*argv, timeout=120):
    """``python -m naivegrad argv`` in a fresh interpreter; returns the CompletedProcess (text output)."""
    return subprocess.run(module_command(*argv), capture_output=True, text=True, timeout=timeout,
                          env=module_env())


def one_line_error(err):
    """The single non-empty line of ``err`` (the test fails if there are more, or a traceback)."""
    lines = [l for l in err.splitlines() if l.strip()]
    assert "Traceback" not in err, err
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{err}"
    return lines[0]


def accuracies(out):
    """{engine: (train accuracy, test accuracy or None)} in percent, parsed from the summary lines."""
    found = {}
    for m in re.finditer(r"^(scalar|tensor) engine: .*?train accuracy ([\d.]+)%(?:, test accuracy ([\d.]+)%)?",
                         out, re.M):
        found[m.group(1)] = (float(m.group(2)), float(m.group(3)) if m.group(3) else None)
    return found


def checkpoint(path):
    """A checkpoint's arrays as a dict (the file closed again)."""
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def model_weights(ckpt):
    return {k[len("model."):]: v for k, v in ckpt.items() if k.startswith("model.")}
