"""Every module of the package imports with only its runtime dependencies, numpy, tqdm and threadpoolctl.

Each module is imported in a fresh interpreter in which the test and optional packages (pytest, hypothesis,
torch, matplotlib, graphviz, micrograd, ...) cannot be imported: a ``sys.meta_path`` finder, installed before
anything else, raises ImportError for them. The modules are found by walking the package, so new and moved
modules are covered without editing this file. The optional extras fail only when used, naming what to install.
"""

import os
import pkgutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path

import pytest

import naivegrad

RUNTIME = ("numpy", "tqdm", "threadpoolctl")
BLOCKED = ("pytest", "_pytest", "pytest_benchmark", "xdist", "hypothesis", "torch", "matplotlib", "mpl_toolkits",
           "graphviz", "micrograd")

# Run first in every child: refuse the blocked packages from now on (and check none is loaded already).
BLOCKER = f"""
import sys

BLOCKED = frozenset({BLOCKED!r})
loaded = sorted(n for n in sys.modules if n.partition(".")[0] in BLOCKED)
if loaded:
    raise SystemExit(f"loaded before the blocker was installed: {{loaded}}")


class Blocked:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}} (blocked: not a runtime dependency)", name=name)
        return None


sys.meta_path.insert(0, Blocked())
"""

IMPORT_ONE = BLOCKER + f"""
import importlib

name = sys.argv[1]
before = set(sys.modules)
importlib.import_module(name)
allowed = set(sys.stdlib_module_names) | {{"naivegrad"}} | set({RUNTIME!r})
extra = sorted({{n.partition(".")[0] for n in set(sys.modules) - before}} - allowed)
if extra:
    raise SystemExit(f"importing {{name}} loaded packages that are not runtime dependencies: {{extra}}")
"""


def _package_modules():
    """Every module and package under ``naivegrad``, as the installed package has them right now. A package
    that fails to import here is still listed (its own test then fails); only its contents are not."""
    walk = pkgutil.walk_packages(naivegrad.__path__, "naivegrad.", onerror=lambda name: None)
    return ["naivegrad"] + [info.name for info in walk]


MODULES = _package_modules()


def _child_env():
    env = dict(os.environ)
    # The child imports the very files this test walked, installed or not.
    root = str(Path(naivegrad.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join([root] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _run(code, *args, cwd=None, timeout=120):
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=_child_env(),
                          cwd=cwd, timeout=timeout)


@lru_cache(maxsize=None)
def _imports():
    """module -> the finished child process that imported it; every child runs once, a few at a time."""
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        return dict(zip(MODULES, pool.map(lambda name: _run(IMPORT_ONE, name), MODULES)))


def test_the_walk_finds_the_package():
    for name in ("naivegrad.engines", "naivegrad.nn.backend", "naivegrad.func.trees", "naivegrad.gradcheck"):
        assert name in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_module_imports_with_only_the_runtime_dependencies(name):
    done = _imports()[name]
    assert done.returncode == 0, f"importing {name} failed:\n{done.stderr[-3000:]}"


def test_the_blocker_blocks():
    done = _run(BLOCKER + "import matplotlib\n")
    assert done.returncode != 0 and "blocked: not a runtime dependency" in done.stderr
    done = _run(BLOCKER + "import numpy, tqdm\n")
    assert done.returncode == 0, done.stderr


# ---------------------------------------------------------------------------------------------- optional extras
def _cli(tmp_path, *argv):
    """``python -m naivegrad ARGV`` in a child where the blocked packages cannot be imported."""
    code = BLOCKER + "import runpy\nsys.argv = sys.argv[1:]\nrunpy.run_module('naivegrad', run_name='__main__')\n"
    return _run(code, "naivegrad", *argv, cwd=tmp_path)


def test_drawing_without_graphviz_fails_when_rendering_and_names_the_extra(tmp_path):
    code = BLOCKER + """
from naivegrad import Value, viz

out = Value(2.0) * Value(-3.0) + 1.0
assert viz.draw(out, "graph.dot").read_text().startswith("digraph")  # DOT text needs no Graphviz
try:
    viz.draw(out, "graph.svg")
except viz.GraphvizNotInstalled as e:
    print(e)
else:
    raise SystemExit("drew an SVG without graphviz")
"""
    done = _run(code, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert 'pip install "naivegrad[viz]"' in done.stdout and "graphviz Python package" in done.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["graph.dot"]  # no half-written picture

    done = _cli(tmp_path, "graph", "a=2.0; b=-3.0; (a*b).tanh()", "-o", "cli.svg")
    assert done.returncode == 2 and "naivegrad[viz]" in done.stderr, done.stderr
    assert not (tmp_path / "cli.svg").exists()


def test_plotting_without_matplotlib_fails_when_asked_for_and_names_the_extra(tmp_path):
    done = _cli(tmp_path, "train", "--steps", "1", "--quiet", "--plot", "run.png")
    assert done.returncode == 2, done.stderr
    assert "matplotlib" in done.stderr and "naivegrad[plot]" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "run.png").exists()
