"""Mutation check: does the parity suite catch deliberate mistakes in the engines' derivative rules?

Each fault (a flipped sign, a dropped term, a wrong axis, a missing accumulation, a wrong tie rule...) is a
one-line edit of an engine source file. For each fault, alone, this script copies the ``naivegrad`` package as
committed (HEAD; ``--working-tree`` for the files on disk) to a temporary folder, applies the edit there (the
working tree is never touched: other people work in it), and runs a targeted subset of tests/parity (the ops'
tests and the DAG fuzzer) against the copy (``PYTHONPATH`` = the copy, hypothesis shrinking off). The tests and
the op table they walk (``tests/harness``, imported as ``harness`` through tests/conftest.py) come from this
repository; only the package is the copy. A fault is caught when those tests fail. Every fault must be caught;
one that survives points at a missing test.

    PYTHONPATH=. python bench/mutation.py              # all faults, a table at the end
    PYTHONPATH=. python bench/mutation.py -k relu -j 2 # faults whose name contains "relu", 2 at a time
    PYTHONPATH=. python bench/mutation.py --list       # the faults, without running anything

Exit status 0 when every fault is caught (and the unmutated copy passes the same tests), 1 otherwise.
"""

import argparse
import importlib.util
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OPS_TESTS = ["tests/parity/test_ops_engines.py", "tests/parity/test_ops_differences.py",
             "tests/parity/test_ops_tangents.py", "tests/parity/test_fuzz_dags.py"]
FUZZ = "random_dags_agree_on_both_engines"  # the fuzzer runs against every fault too


@dataclass(frozen=True)
class Fault:
    name: str        # short id
    kind: str        # what sort of mistake
    path: str        # engine file, relative to the repository
    old: str         # text that must occur exactly once
    new: str
    ops: str         # pytest -k expression over the op ids of tests/harness: the targeted subset


S, F = "naivegrad/scalar/value.py", "naivegrad/scalar/fused.py"
E, R = "naivegrad/tensor/ops/elementwise.py", "naivegrad/tensor/ops/reduce.py"
M, A = "naivegrad/tensor/ops/movement.py", "naivegrad/tensor/ops/activation.py"
L, C = "naivegrad/tensor/ops/linalg.py", "naivegrad/tensor/ops/conv.py"
SH, B = "naivegrad/tensor/shapes.py", "naivegrad/tensor/backward.py"

FAULTS = [
    # ---- the scalar engine (the reference itself must not drift: finite differences and the tensor engine catch it)
    Fault("scalar-sub-sign", "flipped sign", S, "return 1.0, -1.0", "return 1.0, 1.0", "sub"),
    Fault("scalar-mul-swapped", "swapped operands", S, "return b, a", "return a, b", "mul"),
    Fault("scalar-div-denominator", "flipped sign", S, "return div(1.0, b), -div(out, b)",
          "return div(1.0, b), div(out, b)", "div"),
    Fault("scalar-pow-exponent", "off by one", S, "da = b * pow_(a, b - 1.0)", "da = b * pow_(a, b)", "pow"),
    Fault("scalar-rpow-log", "dropped factor", S, "else out * log(a)", "else out", "rpow"),
    Fault("scalar-tanh", "dropped term", S, "(1.0 - out * out,)", "(1.0 - out,)", "tanh"),
    Fault("scalar-sigmoid", "flipped sign", S, "(out * (1.0 - out),)", "(out * (1.0 + out),)", "sigmoid"),
    Fault("scalar-relu-at-0", "wrong kink convention", S, "return (SELECTED,) if x <= 0.0 else (1.0,)",
          "return (SELECTED,) if x < 0.0 else (1.0,)", "relu"),
    Fault("scalar-relu-multiplies", "multiplies instead of selecting (0 * inf)", S,
          "return (SELECTED,) if x <= 0.0 else (1.0,)", "return (0.0,) if x <= 0.0 else (1.0,)", "relu"),
    Fault("scalar-abs-at-0", "wrong kink convention", S, "1.0 if x > 0 else -1.0 if x < 0 else 0.0",
          "1.0 if x >= 0 else -1.0", "abs"),
    Fault("scalar-cos", "flipped sign", S, "return (-sin(x),)", "return (sin(x),)", "cos"),
    Fault("scalar-log", "wrong power", S, "return (div(1.0, x),)", "return (div(1.0, x * x),)", "log"),
    Fault("scalar-backward-accumulate", "missing accumulation", S, "a.grad += v._da * g",
          "a.grad = v._da * g", "mul or matmul or expand"),
    Fault("scalar-tangent-local", "dropped factor (forward mode)", S,
          "out.tangent = None if t is None else d * t", "out.tangent = None if t is None else t", "exp or mul"),
    Fault("scalar-backward-accumulate-nary", "missing accumulation (fused nodes)", S, "child.grad += local * g",
          "child.grad = local * g", "fused_dot or fused_sum"),
    Fault("scalar-tangent-binary", "wrong operand (forward mode, two operands)", S,
          "else da * ta + db * tb", "else da * ta + db * ta", "mul or div"),
    Fault("scalar-dot-weights", "swapped operands", F, "return xs, ws, 1.0", "return ws, xs, 1.0", "fused_dot"),
    Fault("scalar-sum-last-term", "dropped term", F, "return (1.0,) * len(terms)",
          "return (1.0,) * (len(terms) - 1) + (0.0,) * min(1, len(terms))", "fused_sum or sum"),
    # ---- the tensor engine
    Fault("unbroadcast-lead-axes", "missing accumulation (unbroadcast)", SH,
          "grad = _sum(grad, axis=tuple(range(lead)))", "grad = grad[(0,) * lead]", "add or mul"),
    Fault("unbroadcast-stretched-mean", "wrong reduction (unbroadcast)", SH,
          "grad = _sum(grad, axis=stretched, keepdims=True)", "grad = grad.mean(axis=stretched, keepdims=True)",
          "add or sub"),
    Fault("unbroadcast-wrong-axis", "wrong axis (unbroadcast)", SH,
          "stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)",
          "stretched = tuple(len(shape) - 1 - i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)",
          "add or mul or where"),
    Fault("tensor-sub-sign", "flipped sign", E, "return 1, -1", "return 1, 1", "sub"),
    Fault("tensor-mul-swapped", "swapped operands", E, "return b, a", "return a, a", "mul"),
    Fault("tensor-div-denominator", "flipped sign", E, "(-(q / b) if need[1] else None)",
          "((q / b) if need[1] else None)", "div"),
    Fault("tensor-pow-exponent-grad", "dropped factor", E, "out * np.log(a)", "np.log(a)", "pow"),
    Fault("tensor-relu-at-0", "wrong kink convention", E, "return out != 0", "return out >= 0", "relu"),
    Fault("tensor-mask-multiplies", "multiplies instead of selecting (0 * inf)", E, "    bits = _BITS.get(g.dtype)\n",
          "    return mask * g\n", "relu or clip or where"),
    Fault("tensor-pow-zero-exponent", "multiplies instead of selecting (0 * inf)", E,
          "return _Selected(~zero, d) if zero.any() else d", "return np.where(zero, 0.0, d)", "pow"),
    Fault("tensor-abs-negative", "dropped term", E, "    sign -= x < 0\n", "", "abs"),
    Fault("tensor-maximum-tie", "wrong tie rule", E, "np.where(np.equal(a, b), 0.5, 1.0)",
          "np.where(np.equal(a, b), 1.0, 1.0)", "maximum or minimum"),
    Fault("tensor-clip-bound", "wrong kink convention", E, "inside &= x >= lo", "inside &= x > lo", "clip"),
    Fault("tensor-where-swapped", "swapped operands", E, "return None, c, (~c", "return None, ~c, (~c", "where"),
    Fault("tensor-max-tie", "wrong tie rule", R,
          "share = g.reshape(ctx.kept_shape) / hit.sum(axis=ctx.axes, keepdims=True).astype(g.dtype)",
          "share = g.reshape(ctx.kept_shape) + 0 * hit.sum(axis=ctx.axes, keepdims=True).astype(g.dtype)",
          "max or min"),
    Fault("tensor-max-nan", "wrong nan rule", R, "hit = value(x) == value(out).reshape(ctx.kept_shape)\n",
          "hit = (value(x) == value(out).reshape(ctx.kept_shape)) | np.isnan(value(x))\n", "max or min"),
    Fault("tensor-mean-count", "dropped factor", R, "_spread(ctx, g / g.dtype.type(ctx.count))", "_spread(ctx, g)",
          "mean"),
    Fault("tensor-logsumexp", "dropped term", R, "return g.reshape(ctx.kept_shape) * np.exp(x - out.reshape(ctx.kept_shape))",
          "return g.reshape(ctx.kept_shape) * np.exp(x)", "logsumexp"),
    Fault("tensor-softmax", "dropped factor", A, "s * (v - _reduce(np.add, v * s, ctx.axis))",
          "s * (v - _reduce(np.add, v, ctx.axis))", "softmax"),
    Fault("tensor-logsoftmax", "dropped exp", A, "g - np.exp(out) * _reduce(np.add, g, ctx.axis)",
          "g - out * _reduce(np.add, g, ctx.axis)", "logsoftmax"),
    Fault("tensor-mul-jvp", "swapped operands (forward mode, shared base)", E,
          "for d, t in zip(local, tangents):", "for d, t in zip(local[::-1], tangents):", "mul"),
    Fault("tensor-div-jvp", "flipped sign (forward mode, shared base)", E, "return total + _times(d, t, selects)",
          "return total - _times(d, t, selects)", "div"),
    Fault("tensor-nll-mean", "dropped factor", "naivegrad/tensor/ops/loss.py", "g = g / g.dtype.type(n)", "g = g",
          "nll_loss or cross_entropy"),
    Fault("tensor-matmul-square", "missing transpose", L, "(np.matmul(g, b.T) if na else None)",
          "(np.matmul(g, b.T if b.shape[0] != b.shape[1] else b) if na else None)", "matmul"),
    Fault("tensor-linear-bias", "missing accumulation (batch)", L, "gb = g2.sum(axis=0) if nb else None",
          "gb = g2[0] if nb else None", "linear"),
    Fault("tensor-transpose-inverse", "wrong axes", M, "np.transpose(g, tuple(np.argsort(ctx.axes).tolist()))",
          "np.transpose(g, tuple(ctx.axes))",
          "transpose"),
    Fault("tensor-stack-axis", "wrong axis", M, "gm = np.moveaxis(g, ctx.axis, 0)", "gm = np.moveaxis(g, 0, ctx.axis)",
          "stack"),
    Fault("tensor-getitem-accumulate", "missing accumulation (indexing)", M,
          "out[s[sel]] += values[rows[sel]]", "out[s[sel]] = values[rows[sel]]",
          "getitem or index_select or gather"),
    Fault("tensor-pad-window", "wrong offset", M, "slice(b, b + n) for (b, _), n", "slice(0, n) for (b, _), n", "pad"),
    Fault("tensor-accumulate", "missing accumulation (shared tensors)", B,
          "                        p.grad = _add_grads(p.grad, pg)\n",
          "                        p.grad = pg\n",
          "mul or add"),
    Fault("conv-col2im-accumulate", "missing accumulation (col2im)", C,
          "grad[:, :, rows, columns] += cols[:, :, i, j]", "grad[:, :, rows, columns] = cols[:, :, i, j]",
          "conv2d or avg_pool2d"),
    Fault("conv-weight-batch", "missing accumulation (batch)", C,
          "np.matmul(gm[lo:hi], cols[lo:hi].transpose(0, 1, 3, 2)).sum(axis=0)",
          "np.matmul(gm[lo:hi], cols[lo:hi].transpose(0, 1, 3, 2))[0]",
          "conv2d"),
    Fault("maxpool-tie", "wrong tie rule", C, "np.maximum(arg, (v > best) * arg.dtype.type(j), out=arg)",
          "np.maximum(arg, (v >= best) * arg.dtype.type(j), out=arg)", "max_pool2d or maxpool2x2"),
    Fault("conv-wide-inf-weight", "missing guard (0 * inf)", C,
          "wide = stride == (1, 1) and bool(np.isfinite(weight).all())", "wide = stride == (1, 1)", "conv2d"),
    Fault("maxpool-finite-shortcut", "missing guard (0 * inf)", C, "finite = bool(np.isfinite(g.sum()))",
          "finite = True", "max_pool2d or maxpool2x2 or amax"),
    Fault("maxpool-window-start", "wrong offset (padding, stride)", C,
          "first = np.maximum(0, before - s * np.arange(o))", "first = np.maximum(0, before - np.arange(o))",
          "max_pool2d"),
]


def in_git_checkout():
    """True when ROOT is a git checkout with a commit: faults apply to HEAD's files, which needs one."""
    try:
        return subprocess.run(["git", "-C", ROOT, "rev-parse", "--verify", "-q", "HEAD"], capture_output=True,
                              check=False).returncode == 0
    except OSError:  # no git program at all
        return False


NOT_A_CHECKOUT = ("this copy of naivegrad is not a git checkout (a source archive or sdist): the mutation check "
                  "mutates the committed files; run it with --working-tree, or from a clone")


def copy_package(dest, working_tree=False):
    """The ``naivegrad`` package into ``dest``: as committed (HEAD), or as it is on disk (``working_tree``).

    HEAD by default: others edit the engines while this runs, and a half-saved file would make a fault look
    caught (or survive) for the wrong reason."""
    if working_tree:
        shutil.copytree(os.path.join(ROOT, "naivegrad"), os.path.join(dest, "naivegrad"),
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        return
    archive = subprocess.run(["git", "-C", ROOT, "archive", "--format=tar", "HEAD", "naivegrad"],
                             capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        try:
            tar.extractall(dest, filter="data")
        except TypeError:  # Python before 3.11.4: no extraction filters (our own archive: trusted)
            tar.extractall(dest)


def _source(path, working_tree=False):
    if working_tree:
        with open(os.path.join(ROOT, path)) as f:
            return f.read()
    return subprocess.run(["git", "-C", ROOT, "show", f"HEAD:{path}"], capture_output=True, text=True,
                          check=True).stdout


def apply(fault, dest):
    """Apply ``fault`` to the copy in ``dest``; a ValueError if its text is missing or ambiguous."""
    path = os.path.join(dest, fault.path)
    with open(path) as f:
        text = f.read()
    n = text.count(fault.old)
    if n != 1:
        raise ValueError(f"{fault.name}: the text to mutate occurs {n} times in {fault.path} (expected once); "
                         f"update the fault to the current source")
    with open(path, "w") as f:
        f.write(text.replace(fault.old, fault.new))


def stale(faults=FAULTS, working_tree=False):
    """Faults whose text no longer occurs exactly once in the engine sources (HEAD, or the working tree)."""
    return [f.name for f in faults if _source(f.path, working_tree).count(f.old) != 1]


# setup.cfg spreads tests over cores (pytest-xdist, -n auto); a fault run is one -x run in one process, and
# the faults themselves run in parallel (-j).
ONE_PROCESS = ("-n", "0") if importlib.util.find_spec("xdist") else ()


def run_tests(dest, ops, extra=()):
    """Run the targeted parity tests against the package in ``dest``: (pytest exit code, seconds, last line)."""
    env = dict(os.environ, PYTHONPATH=dest, PYTHONDONTWRITEBYTECODE="1", NAIVEGRAD_NO_SHRINK="1")
    cmd = [sys.executable, "-m", "pytest", *[os.path.join(ROOT, t) for t in OPS_TESTS], "-x", "-q", "-rf",
           "--no-header", "-p", "no:cacheprovider", *ONE_PROCESS, "-k", f"({ops}) or {FUZZ}", "--rootdir", ROOT, *extra]
    start = time.time()
    proc = subprocess.run(cmd, cwd=dest, env=env, capture_output=True, text=True)
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    failed = [line.split()[1].split("::", 1)[-1] for line in lines if line.startswith("FAILED ")]
    last = lines[-1] if lines else proc.stderr.strip()[-200:]
    return proc.returncode, time.time() - start, failed[0] if failed else last


def check_copy_is_used(dest):
    """The subprocess must import the copy of the package, never the working tree's, and the op table
    (``tests/harness``) from this repository, as the test run does (tests/conftest.py puts tests/ on the path)."""
    env = dict(os.environ, PYTHONPATH=dest)
    probe = ("import sys; sys.path.insert(0, sys.argv[1]); import naivegrad, harness; "
             "print(naivegrad.__file__); print(harness.__file__)")
    proc = subprocess.run([sys.executable, "-c", probe, os.path.join(ROOT, "tests")], cwd=dest, env=env,
                          capture_output=True, text=True)
    lines = proc.stdout.split()
    if proc.returncode or len(lines) != 2:
        raise RuntimeError(f"the test run cannot import naivegrad and the harness: {proc.stderr.strip()[-300:]}")
    package, table = lines
    if not package.startswith(os.path.realpath(dest)) and not package.startswith(dest):
        raise RuntimeError(f"the test run imports naivegrad from {package}, not from the copy in {dest}")
    if not os.path.realpath(table).startswith(os.path.realpath(os.path.join(ROOT, "tests", "harness"))):
        raise RuntimeError(f"the test run imports the op table from {table}, not from tests/harness")


def run_fault(fault, extra=(), working_tree=False):
    """(status, seconds, detail): status is "caught", "SURVIVED" or "error"."""
    with tempfile.TemporaryDirectory(prefix="naivegrad-mutant-") as dest:
        copy_package(dest, working_tree)
        try:
            apply(fault, dest)
        except ValueError as e:
            return "error", 0.0, str(e)
        check_copy_is_used(dest)
        code, seconds, last = run_tests(dest, fault.ops, extra)
    if code == 1:
        return "caught", seconds, last
    if code == 0:
        return "SURVIVED", seconds, last
    return "error", seconds, f"pytest exit code {code}: {last}"


def baseline(ops, extra=(), working_tree=False):
    """The same targeted tests on an unmutated copy: they must pass, or a 'caught' means nothing."""
    with tempfile.TemporaryDirectory(prefix="naivegrad-baseline-") as dest:
        copy_package(dest, working_tree)
        check_copy_is_used(dest)
        return run_tests(dest, ops, extra)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-k", default="", help="only faults whose name contains this")
    parser.add_argument("-j", type=int, default=1, help="faults run in parallel")
    parser.add_argument("--list", action="store_true", help="list the faults and exit")
    parser.add_argument("--seed", default=None, help="hypothesis seed for the test runs (default: random)")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--working-tree", action="store_true",
                        help="mutate the package as it is on disk (default: as committed, HEAD)")
    args = parser.parse_args(argv)
    faults = [f for f in FAULTS if args.k in f.name]
    if args.list:
        for f in faults:
            print(f"{f.name:28} {f.kind:38} {f.path}")
        return 0
    extra = () if args.seed is None else (f"--hypothesis-seed={args.seed}",)
    ops = " or ".join(sorted({f.ops for f in faults}))
    wt = args.working_tree
    if not wt and not in_git_checkout():
        print(f"mutation.py: {NOT_A_CHECKOUT}", file=sys.stderr)
        return 2
    code, seconds, last = baseline(ops, extra, wt)
    print(f"baseline (no fault), targeted tests: {'pass' if code == 0 else 'FAIL'} in {seconds:.0f} s: {last}")
    if code != 0:
        return 1
    with ThreadPoolExecutor(max_workers=max(1, args.j)) as pool:
        results = list(pool.map(lambda f: (f, run_fault(f, extra, wt)), faults))
    caught = sum(1 for _, (status, _, _) in results if status == "caught")
    if args.markdown:
        print("\n| fault | kind | file | result | first failing test |\n| --- | --- | --- | --- | --- |")
        for f, (status, seconds, detail) in results:
            print(f"| {f.name} | {f.kind} | {f.path.replace('naivegrad/', '')} | {status} | `{detail}` |")
    else:
        for f, (status, seconds, detail) in results:
            print(f"{status:9} {f.name:28} {f.kind:38} {seconds:5.1f} s  {detail[:90]}")
    print(f"\ncaught {caught} of {len(results)} faults")
    return 0 if caught == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
