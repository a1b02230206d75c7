"""Every module of the package imports with only its runtime dependencies, numpy, tqdm and threadpoolctl.

Each module is imported in a fresh interpreter in which the test and optional packages (pytest, hypothesis,
torch, matplotlib, graphviz, micrograd, ...) cannot be imported: a ``sys.meta_path`` finder, installed before
anything else, raises ImportError for them. The modules are found by walking the package, so new and moved
modules are covered without editing this file. The optional extras fail only when used, naming what to install.
"""

import json
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

# Imports one module and says which packages it loaded that are not runtime dependencies.
CHECK_ONE = f"""
def check_one(name):
    import importlib

    before = set(sys.modules)
    importlib.import_module(name)
    allowed = set(sys.stdlib_module_names) | {{"naivegrad"}} | set({RUNTIME!r})
    extra = sorted({{n.partition(".")[0] for n in set(sys.modules) - before}} - allowed)
    if extra:
        raise SystemExit(f"importing {{name}} loaded packages that are not runtime dependencies: {{extra}}")
"""

IMPORT_ONE = BLOCKER + CHECK_ONE + "check_one(sys.argv[1])\n"

# Every module in one interpreter, each in a forked child of it, for a few ms a module instead of an interpreter
# start and the package's import (~0.4 s). The first name is checked from a bare interpreter (numpy only, a
# runtime dependency, so nothing it loads is ever reported); the parent then imports it (the ``naivegrad``
# package), and each later name is checked in a child that starts from there: importing a submodule imports its
# package first anyway, so what the child adds is what the submodule adds. Prints one JSON line: module ->
# [exit status, stderr tail].
IMPORT_ALL = BLOCKER + CHECK_ONE + """
import importlib
import json
import os
import traceback

import numpy  # noqa: F401

results = {}
for i, name in enumerate(sys.argv[1:]):
    if i == 1 and results[sys.argv[1]][0] == 0:
        importlib.import_module(sys.argv[1])
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: import, report on the pipe, leave without running the parent's cleanup
        os.close(read)
        status, message = 0, ""
        try:
            check_one(name)
        except SystemExit as e:
            status, message = 1, str(e)
        except BaseException:
            status, message = 1, traceback.format_exc()
        os.write(write, message.encode()[-3000:])
        os._exit(status)
    os.close(write)
    chunks = []
    while chunk := os.read(read, 65536):
        chunks.append(chunk)
    os.close(read)
    _, wait_status = os.waitpid(pid, 0)
    results[name] = [os.waitstatus_to_exitcode(wait_status), b"".join(chunks).decode(errors="replace")]
print(json.dumps(results))
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
    """module -> (exit status, stderr) of importing it alone in a fresh interpreter (a forked child of one where
    the fork exists; a new interpreter per module elsewhere)."""
    if hasattr(os, "fork"):
        done = _run(IMPORT_ALL, *MODULES, timeout=600)
        if done.returncode == 0:
            return {name: tuple(r) for name, r in json.loads(done.stdout.strip().splitlines()[-1]).items()}
        pytest.fail(f"the import checker itself failed:\n{done.stderr[-3000:]}")
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        runs = pool.map(lambda name: _run(IMPORT_ONE, name), MODULES)
        return {name: (r.returncode, r.stderr[-3000:]) for name, r in zip(MODULES, runs)}


def test_the_walk_finds_the_package():
    for name in ("naivegrad.engines", "naivegrad.nn.backend", "naivegrad.func.trees", "naivegrad.gradcheck"):
        assert name in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_module_imports_with_only_the_runtime_dependencies(name):
    status, stderr = _imports()[name]
    assert status == 0, f"importing {name} failed:\n{stderr}"


def test_a_module_that_loads_a_package_outside_the_runtime_dependencies_is_reported(tmp_path):
    # numpy.random's Generator loads Cython's runtime modules: what a module doing it at import time would report
    (tmp_path / "heavy_module.py").write_text("import numpy as np\nRNG = np.random.default_rng()\n")
    for order in (["heavy_module", "json"], ["json", "heavy_module"]):  # first (bare), and after the package
        done = _run(IMPORT_ALL, *order, cwd=tmp_path)
        results = json.loads(done.stdout.strip().splitlines()[-1])
        assert results["json"] == [0, ""]
        status, message = results["heavy_module"]
        assert status == 1 and "not runtime dependencies" in message and "cython" in message


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
