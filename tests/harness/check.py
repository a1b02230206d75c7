"""Run one registered op on both engines (and PyTorch) and compare: the harness behind tests/parity.

A ``Case`` is one drawn input: leaf arrays (float64 holding values exact in the case's dtype), which op input
each leaf feeds (one leaf may feed several: ``x * x``), which leaves are constants (no ``requires_grad``), the
options, an output cotangent u and leaf tangents v. ``run_tensor`` / ``run_scalar`` / ``run_torch`` return the
output, the gradient of <u, output> for each leaf, and the output tangent (forward mode, J v).
``numerical_vjp`` / ``numerical_jvp`` are the central-difference versions (float64, tensor engine).
``assert_close`` compares with a tolerance derived from the dtype and reports the worst element.

>>> case = draw_case(RandomDraw(0), harness.get("mul"), "parity")
>>> assert_close(run_tensor(case, case.op.tensor_forms["__mul__"]).value, run_scalar(case).value, case.dtype)
"""

from dataclasses import dataclass, field

import numpy as np

from naivegrad import no_grad, scalar
from naivegrad.engines import is_value
from naivegrad.scalar import Value

from .scalar_ref import objects
from .spec import Domain
from .values import ParityElements, SmoothElements, distinct, with_nonfinite

__all__ = ["Case", "Result", "draw_case", "seeded_cases", "run_tensor", "run_scalar", "run_torch", "numerical_vjp",
           "numerical_jvp", "assert_close", "nonfinite_rounding", "magnitude", "rtol_for", "fd_rtol_for", "DTYPES"]

DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_DIRECTIONS = Domain(-2.0, 2.0)
# Non-finite draws (parity mode only): in a share of cases (``Op.nonfinite`` for the inputs, NONFINITE_CASES
# for the cotangent and for the tangents, each its own coin) a few elements are inf, -inf or nan
# (``values.with_nonfinite``). Then the engines and PyTorch must agree on every nan, infinity and exact zero: a
# derivative that selects (relu, clip, maximum, where, max pooling, x ** 0) gives 0 where it does not pass the
# gradient on, one that multiplies (mul, abs, amax) gives 0 * inf = nan.
NONFINITE_CASES = 0.25


@dataclass
class Case:
    op: object
    mode: str
    dtype: np.dtype
    params: dict
    leaves: list                      # float64 arrays (values exact in dtype)
    inputs: tuple                     # the leaf feeding each op input
    constant: tuple                   # per leaf: passed without requires_grad
    tangents: list = field(default_factory=list)
    cotangent: np.ndarray = None

    def describe(self):
        """The case as text, enough to rebuild it by hand."""
        lines = [f"op {self.op.name} ({self.mode}), dtype {self.dtype}, params {self.params!r}",
                 f"inputs use leaves {self.inputs}, constant leaves {self.constant}"]
        for i, a in enumerate(self.leaves):
            lines.append(f"leaf {i} {a.shape}: {np.array2string(a, precision=17, separator=', ')}")
        if self.cotangent is not None:
            lines.append(f"cotangent {self.cotangent.shape}: "
                         f"{np.array2string(self.cotangent, precision=17, separator=', ')}")
        return "\n".join(lines)


@dataclass
class Result:
    value: np.ndarray                 # the output, float64 (from the engine's dtype)
    grads: list                       # per leaf (None for constants): d <u, output> / d leaf, float64
    tangent: np.ndarray = None        # the output's tangent (J v), float64, or None
    dtype: np.dtype = None            # the dtype the engine produced
    grad_dtypes: tuple = ()


def _round(a, dtype):
    return np.asarray(a, dtype=np.float64).astype(dtype).astype(np.float64)


def draw_case(draw, op, mode="parity", dtype=None):
    """One case of ``op``; None when a smooth-mode draw still touches a kink (the caller rejects it)."""
    shapes, params = op.draw_shapes_and_params(draw, mode)
    domains = op.input_domains(params)[:len(shapes)]
    if len(domains) < len(shapes):  # n-ary ops: every input shares the first domain
        domains = domains + (domains[0],) * (len(shapes) - len(domains))
    # Which leaf feeds each input: sometimes one tensor feeds several inputs (gradients must add up).
    inputs = list(range(len(shapes)))
    if op.alias and not (mode == "smooth" and op.ties):
        for i in range(1, len(shapes)):
            for j in range(i):
                if inputs[j] == j and shapes[j] == shapes[i] and domains[j] == domains[i] and draw.booleans():
                    inputs[i] = j
                    break
    leaf_ids = sorted(set(inputs))
    renumber = {old: new for new, old in enumerate(leaf_ids)}
    inputs = tuple(renumber[i] for i in inputs)
    leaf_shapes = [shapes[i] for i in leaf_ids]
    leaf_domains = [domains[i] for i in leaf_ids]
    constant = [False] * len(leaf_ids)
    if op.constants and len(leaf_ids) > 1:
        constant = [draw.booleans(0.2) for _ in leaf_ids]
        if all(constant):
            constant[draw.integers(0, len(constant) - 1)] = False
    if dtype is None:
        dtype = draw.sampled_from(DTYPES)
    dtype = np.dtype(dtype)
    parity = mode == "parity"
    if mode == "smooth" and op.ties:
        leaves = distinct(draw, leaf_shapes, leaf_domains[0])
    elif parity:
        leaves = [draw.array(s, ParityElements(d)) for s, d in zip(leaf_shapes, leaf_domains)]
        if op.nonfinite and draw.booleans(op.nonfinite):  # a few inf, -inf, nan in one leaf, or in each
            chosen = range(len(leaves)) if draw.booleans(0.25) else [draw.integers(0, len(leaves) - 1)]
            for i in chosen:
                leaves[i] = with_nonfinite(draw, leaves[i], leaf_domains[i].nonfinite)
    else:
        leaves = [draw.array(s, SmoothElements(d)) for s, d in zip(leaf_shapes, leaf_domains)]
    leaves = [_round(a, dtype) for a in leaves]
    if mode == "smooth":
        if not all(d.is_smooth(a) for d, a in zip(leaf_domains, leaves)):
            return None
        if op.smooth is not None and not op.smooth([leaves[i] for i in inputs], params):
            return None
    nonfinite = parity and draw.booleans(NONFINITE_CASES)
    tangents = [_round(_directions(draw, s, nonfinite), dtype) for s in leaf_shapes]
    case = Case(op, mode, dtype, params, leaves, inputs, tuple(constant), tangents)
    with no_grad():
        out = _call_tensor(case, next(iter(op.tensor_forms.values())), [_tensor(a, np.float64, False) for a in leaves])
    if mode == "smooth" and not np.isfinite(out.data).all():
        return None  # the mean or logsumexp of nothing (nan, -inf): no derivative to approximate
    case.cotangent = _round(_directions(draw, np.shape(out.data), parity and draw.booleans(NONFINITE_CASES)), dtype)
    return case


def _directions(draw, shape, nonfinite):
    """A tangent or a cotangent: finite values, and a few inf, -inf and nan when ``nonfinite``."""
    a = draw.array(shape, ParityElements(_DIRECTIONS))
    return with_nonfinite(draw, a) if nonfinite else a


def seeded_cases(op, mode, count, dtype=None):
    """``count`` draws of ``op`` from numpy's generator seeded by the op's name and the draw's number: the same
    cases on every run, spread evenly over shapes and options (smooth-mode rejects are skipped)."""
    import zlib

    from .draw import RandomDraw

    for i in range(count):
        case = draw_case(RandomDraw([zlib.crc32(op.name.encode()), i]), op, mode, dtype)
        if case is not None:
            yield case


# ---------------------------------------------------------------------------------------------- engines
def _tensor(a, dtype, requires_grad):
    from naivegrad.tensor import Tensor

    return Tensor(np.asarray(a, dtype=dtype), requires_grad=requires_grad)


def _call_tensor(case, form, leaves):
    return form(*[leaves[i] for i in case.inputs], **case.params)


def run_tensor(case, form, tangents=False, backward=True):
    """The tensor engine in the case's dtype: value, gradients of <u, out>, and (``tangents``) J v."""
    leaves = [_tensor(a, case.dtype, not c) for a, c in zip(case.leaves, case.constant)]
    if tangents:
        for t, v, c in zip(leaves, case.tangents, case.constant):
            if not c:
                t.tangent = v.astype(case.dtype)
    out = _call_tensor(case, form, leaves)
    grads = [None] * len(leaves)
    if backward:
        out.backward(case.cotangent.astype(case.dtype))
        for i, (t, c) in enumerate(zip(leaves, case.constant)):
            if not c:
                grads[i] = np.zeros(t.shape) if t.grad is None else np.asarray(t.grad, dtype=np.float64)
    tangent = None
    if tangents:
        tangent = np.zeros(out.shape) if out.tangent is None else np.asarray(out.tangent, dtype=np.float64)
    return Result(np.asarray(out.data, dtype=np.float64), grads, tangent, out.data.dtype,
                  tuple(None if t.grad is None else t.grad.dtype for t in leaves))


def _value_leaves(case):
    out = []
    for a, t, c in zip(case.leaves, case.tangents, case.constant):
        arr = np.empty(a.shape, dtype=object)
        for i in np.ndindex(a.shape):
            arr[i] = float(a[i]) if c else Value(float(a[i]), tangent=float(t[i]))
        out.append(arr)
    return out


def run_scalar(case, fn=None):
    """The scalar engine (float64): ``fn`` on object arrays of Values (default: the op's reference)."""
    fn = case.op.scalar_reference if fn is None else fn
    leaves = _value_leaves(case)
    out = objects(fn(*[leaves[i] for i in case.inputs], **case.params))
    flat = list(out.ravel())
    value = np.array([v.data if is_value(v) else float(v) for v in flat]).reshape(out.shape)
    tangent = np.array([(v.tangent or 0.0) if is_value(v) else 0.0 for v in flat]).reshape(out.shape)
    loss = scalar.dot(flat, [float(u) for u in case.cotangent.ravel()]) if flat else Value(0.0)
    if out.shape != case.cotangent.shape:
        raise AssertionError(f"{case.op.name}: the scalar side's output has shape {out.shape}, the tensor "
                             f"engine's {case.cotangent.shape}")
    loss.backward()
    grads = []
    for arr, c in zip(leaves, case.constant):
        grads.append(None if c else np.array([v.grad for v in arr.ravel()]).reshape(arr.shape))
    return Result(value, grads, tangent, np.dtype(np.float64))


def run_torch(case, fn=None):
    """PyTorch in float64 (value, gradients); needs torch."""
    import torch

    fn = case.op.torch if fn is None else fn
    leaves = [torch.tensor(a, dtype=torch.float64, requires_grad=not c) for a, c in zip(case.leaves, case.constant)]
    out = fn(*[leaves[i] for i in case.inputs], **case.params)
    grads = [None] * len(leaves)
    if out.requires_grad:
        out.backward(torch.tensor(case.cotangent, dtype=torch.float64))
    for i, (t, c) in enumerate(zip(leaves, case.constant)):
        if not c:
            grads[i] = np.zeros(t.shape) if t.grad is None else t.grad.numpy().astype(np.float64)
    return Result(out.detach().numpy().astype(np.float64), grads, None, np.dtype(np.float64))


# ---------------------------------------------------------------------------------------------- differences
def _loss_and_magnitude(case, form, leaves):
    with no_grad():
        out = np.asarray(_call_tensor(case, form, [_tensor(a, np.float64, False) for a in leaves]).data)
    terms = out * case.cotangent
    return float(terms.sum()), float(np.abs(terms).sum())


def numerical_vjp(case, form, h=1e-6):
    """d <u, form(leaves)> / d leaf by central differences in float64, one element at a time.

    Returns (gradients, magnitude): magnitude bounds |<u, out>|, for the rounding error of the differences."""
    base = [a.copy() for a in case.leaves]
    grads, magnitude = [], 0.0
    for k, (a, c) in enumerate(zip(base, case.constant)):
        if c:
            grads.append(None)
            continue
        g = np.zeros(a.shape)
        flat = a.reshape(-1)
        for i in range(flat.size):
            keep = flat[i]
            flat[i] = keep + h
            plus, m1 = _loss_and_magnitude(case, form, base)
            flat[i] = keep - h
            minus, m2 = _loss_and_magnitude(case, form, base)
            flat[i] = keep
            g.reshape(-1)[i] = (plus - minus) / (2 * h)
            magnitude = max(magnitude, m1, m2)
        grads.append(g)
    return grads, magnitude


def numerical_jvp(case, form, h=1e-6):
    """(form(x + h v) - form(x - h v)) / 2h in float64: the output tangent by central differences."""
    def at(sign):
        leaves = [a if c else a + sign * h * v for a, v, c in zip(case.leaves, case.tangents, case.constant)]
        with no_grad():
            return np.asarray(_call_tensor(case, form, [_tensor(a, np.float64, False) for a in leaves]).data,
                              dtype=np.float64)
    plus, minus = at(1.0), at(-1.0)
    return (plus - minus) / (2 * h), float(max(np.abs(plus).max(initial=0), np.abs(minus).max(initial=0)))


# ---------------------------------------------------------------------------------------------- comparing
def rtol_for(dtype):
    """Relative tolerance between engines: 1e-12 in float64, 2**10 ulps (about 1.2e-4) in float32."""
    return max(1e-12, 2.0 ** 10 * np.finfo(dtype).eps)


def fd_rtol_for(dtype):
    """Tolerance against central differences (float64, h = 1e-6): 1e-6, or the dtype's own if coarser."""
    return max(1e-6, 2.0 ** 10 * np.finfo(dtype).eps)


def assert_close(actual, expected, dtype, what="", scale=1.0, rtol=None, atol=0.0, context="", inf_or_nan=False):
    """``actual`` (computed in ``dtype``) against ``expected`` (float64, rounded to ``dtype`` here).

    Same shape; nan exactly where expected is nan; the same infinities; elsewhere
    |actual - expected| <= rtol * (|expected| + scale) + atol, reporting the worst element otherwise.

    ``inf_or_nan``: nan is accepted where ±inf is expected. For float32 results from an infinite cotangent (or
    tangent): a derivative that rounds to 0 in float32 (1 - tanh(10)**2) meets the inf as 0 * inf = nan, where
    float64 gives inf (see ``nonfinite_rounding``)."""
    dtype = np.dtype(dtype)
    rtol = rtol_for(dtype) if rtol is None else rtol
    actual = np.asarray(actual, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        expected = np.asarray(expected, dtype=np.float64).astype(dtype).astype(np.float64)
    if actual.shape != expected.shape:
        raise AssertionError(f"{what}: shape {actual.shape}, expected {expected.shape}\n{context}")
    bad = np.isnan(actual) != np.isnan(expected)
    inf = np.isinf(expected) | np.isinf(actual)
    bad |= inf & ~np.isnan(expected) & (actual != expected)
    if inf_or_nan:
        bad &= ~(np.isnan(actual) & np.isinf(expected))
    finite = np.isfinite(expected) & np.isfinite(actual)
    excess = np.zeros(actual.shape)
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(actual - expected)
        allowed = rtol * (np.abs(expected) + scale) + atol
        excess[finite] = (diff - allowed)[finite]
    excess[bad] = np.inf
    if actual.size and excess.max() > 0:
        i = np.unravel_index(int(np.argmax(excess)), actual.shape)
        raise AssertionError(
            f"{what}: worst element {tuple(int(k) for k in i)}: {actual[i]!r} vs expected {expected[i]!r} "
            f"(|diff| {diff[i]:.3g} > {allowed[i]:.3g}; rtol {rtol:.3g}, scale {scale:.3g}); "
            f"{int((excess > 0).sum())} of {actual.size} elements off\n{context}")


def nonfinite_rounding(dtype, *directions):
    """True for a float32 (or narrower) case whose cotangent or tangents hold inf or nan: ``assert_close``'s
    ``inf_or_nan``. A float64 case must match exactly."""
    if np.dtype(dtype) == np.float64:
        return False
    return any(d is not None and not np.isfinite(d).all() for d in directions)


def magnitude(*arrays):
    """max(1, largest finite |element|) over the arrays: the scale of absolute rounding errors."""
    m = 1.0
    for a in arrays:
        if a is None:
            continue
        a = np.asarray(a, dtype=np.float64)
        fin = a[np.isfinite(a)]
        if fin.size:
            m = max(m, float(np.abs(fin).max()))
    return m
