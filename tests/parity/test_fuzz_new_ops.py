"""Differential fuzzing of the recently added tensor ops against PyTorch float64: chains of one to three of
gather, index_select, masked_fill (broadcast masks, a number or a 0-d tensor value), cumsum, prod, var / std
(correction 0, 1, 2; dim tuples; keepdim), norm (p = 2, 1, inf, -inf, 0, 3.5, 0.5, 'fro'), max / min along a
dim (values and indices), split / chunk, repeat / tile, flip, roll, tril / triu, einsum (one operand, or the
same node twice: traces, diagonals, ellipses, repeated letters) and the elementwise expm1, erf, gelu (exact,
tanh), silu, softplus (beta, threshold), leaky_relu, elu, rsqrt, square, reciprocal, sign.

The DAG fuzzer (test_fuzz_dags.py) does not draw these ops (most take options that depend on the shape they
meet); here each op draws its options from the shape of the node it is applied to. Inputs: 0 to 3 axes, sides
0 to 4, grid values (ties and exact zeros are frequent), now and then inf, -inf and nan, and often not
contiguous (a transposed or strided numpy array, or a transpose, step slice or flip in the graph). The
cotangent is now and then non-finite too. Values, indices and the gradients of the input and of w (the 0-d
tensor masked_fill may take as its value) must match PyTorch's; in a share of the cases (finite ones) the
second order too: the gradient of <v, gradient> through backward(create_graph=True), against
torch.autograd.grad.

The project's documented differences from PyTorch are kept out by guards (see ``_guard``): prod over
non-finite values (PyTorch divides result / x), var / std with n <= correction (PyTorch's gradient has no
single rule there), einsum with non-finite operands (the order of summation: inf * 0 grouped differently),
the gelus' left tail (more accurate here than PyTorch's, whose derivative is 0 there: 0 * inf = nan), and
elu'(nan) (PyTorch's depends on the tensor's size). A node whose operand lies within 1e-9 of a kink (0) or of
a tie without being on it is rejected: the two libraries' last-ulp differences would pick different sides. In
the second order, elu at 0 and softplus at beta x = threshold are left out: PyTorch's double backward takes
the other side of the kink (strict x < 0, beta x < threshold) than its backward does.

Found by these tests (each with its own test at the end of the file): the second derivative of prod() with
two zeros or more (it was 0), the gradient of norm(0) (zeros flowed back and met 0 * nan upstream; PyTorch
passes nothing), and the second derivatives of silu, softplus and the tanh gelu at x = 0 (the rules' sigmoid
went through |x|, whose derivative at 0 is 0).
"""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.draw import HypothesisDraw
from naivegrad import no_grad
from naivegrad.tensor import Tensor, cat, einsum

torch = pytest.importorskip("torch")
F = torch.nn.functional
# var / std of an empty slice (n = 0, an empty output): PyTorch warns, both give nan
pytestmark = pytest.mark.filterwarnings("ignore:.*degrees of freedom:UserWarning")

EXAMPLES = max(20, settings.default.max_examples * 2)
RTOL = 1e-9
NONFINITE = (math.inf, -math.inf, math.nan)
GRID = [k * 0.25 for k in range(-12, 13)]


# ---------------------------------------------------------------------------------------------- the ops
def _dim(draw, nd):
    """A dim for an op along one axis (0-d tensors take 0 and -1), negative half the time."""
    n = max(nd, 1)
    d = draw.integers(0, n - 1)
    return d - n if draw.booleans() else d


def _dims(draw, nd):
    """None, one dim or a tuple of distinct dims."""
    kind = draw.integers(0, 2) if nd else 0
    if kind == 0:
        return None
    if kind == 1:
        return _dim(draw, nd)
    axes = list(range(nd))
    k = draw.integers(1, nd)
    out = []
    for _ in range(k):
        a = draw.sampled_from([a for a in axes if a not in out])
        out.append(a)
    return tuple(a - nd if draw.booleans() else a for a in out)


def _size(shape, dims):
    if dims is None:
        return math.prod(shape)
    dims = dims if isinstance(dims, tuple) else (dims,)
    return math.prod(shape[d] for d in dims) if shape else 1


def p_gather(draw, s):
    nd = len(s)
    d = _dim(draw, nd)
    n = s[d] if nd else 1
    if n == 0:
        return None
    ishape = [draw.integers(0, m) if i != d % max(nd, 1) else draw.integers(0, 4) for i, m in enumerate(s)]
    idx = np.array([draw.integers(0, n - 1) for _ in range(math.prod(ishape))], dtype=np.int64).reshape(ishape)
    return {"dim": d, "index": idx}


def p_index_select(draw, s):
    nd = len(s)
    if nd == 0:
        return {"dim": _dim(draw, 0), "index": np.array([0])}
    d = _dim(draw, nd)
    n = s[d]
    if n == 0:
        return None
    k = draw.integers(0, 4)
    return {"dim": d, "index": np.array([draw.integers(0, n - 1) for _ in range(k)], dtype=np.int64)}


def p_masked_fill(draw, s):
    nd = len(s)
    keep = draw.integers(0, nd)  # the mask's trailing axes (broadcast), each may be 1
    mshape = tuple(1 if draw.booleans(0.3) else m for m in s[nd - keep:])
    mask = np.array([draw.booleans() for _ in range(math.prod(mshape))], dtype=bool).reshape(mshape)
    value = draw.sampled_from([0.0, -1.5, 2.0, math.inf, -math.inf, math.nan, "w"])
    return {"mask": mask, "value": value}


def p_one_dim(draw, s):
    return {"dim": _dim(draw, len(s))}


def p_reduce_dim(draw, s):
    d = _dim(draw, len(s))
    if s and s[d] == 0:
        return None
    return {"dim": d, "keepdim": draw.booleans()}


def p_prod(draw, s):
    d = None if not s or draw.booleans(0.33) else _dim(draw, len(s))
    return {"dim": d, "keepdim": draw.booleans() and d is not None}


def p_stat(draw, s):
    dims = _dims(draw, len(s))
    n = _size(s, dims)
    options = [c for c in (0, 1, 2) if c < n]
    if not options:
        return None
    return {"dim": dims, "correction": draw.sampled_from(options), "keepdim": draw.booleans()}


NORM_PS = (2, 1, math.inf, -math.inf, 0, 3.5, 0.5, "fro")


def p_norm(draw, s):
    p = draw.sampled_from(NORM_PS)
    dims = _dims(draw, len(s))
    if p == "fro" and isinstance(dims, int):
        dims = (dims,)
    if p == "fro" and isinstance(dims, tuple) and len(dims) > 2:
        dims = dims[:2]  # torch.norm's "fro" over a dim tuple: a matrix norm (two dims at most)
    if (p in (math.inf, -math.inf)) and _size(s, dims) == 0:
        return None
    return {"p": p, "dim": dims, "keepdim": draw.booleans()}


def p_split(draw, s):
    if not s:
        return None
    d = _dim(draw, len(s))
    n = s[d]
    if draw.booleans() or n == 0:
        arg = draw.integers(1, 3)
    else:
        cut = draw.integers(0, n)
        arg = [cut, n - cut]
    return {"arg": arg, "dim": d, "piece": draw.integers(0, 3), "whole": draw.booleans()}


def p_chunk(draw, s):
    if not s:
        return None
    return {"chunks": draw.integers(1, 4), "dim": _dim(draw, len(s)), "piece": draw.integers(0, 3),
            "whole": draw.booleans()}


def p_reps(draw, s):
    extra = draw.integers(0 if s else 1, 1)  # PyTorch's repeat takes at least one size
    reps = tuple(draw.integers(0, 2) if draw.booleans(0.2) else draw.integers(1, 2) for _ in range(len(s) + extra))
    return {"reps": reps}


def p_tile(draw, s):
    k = draw.integers(0, len(s) + 1)
    return {"reps": tuple(draw.integers(1, 2) for _ in range(k))}


def p_flip(draw, s):
    if not s:
        return {"dims": ()}
    dims = _dims(draw, len(s))
    return {"dims": () if dims is None else (dims if isinstance(dims, tuple) else (dims,))}


def p_roll(draw, s):
    if not s or draw.booleans(0.25):
        return {"shifts": draw.integers(-5, 5), "dims": None}
    k = draw.integers(1, len(s))
    return {"shifts": tuple(draw.integers(-5, 5) for _ in range(k)),
            "dims": tuple(_dim(draw, len(s)) for _ in range(k))}


def p_triangle(draw, s):
    if len(s) < 2:
        return None
    return {"diagonal": draw.integers(-4, 4)}


# einsum equations on one operand, or on the node twice (x, x): (equation, which shapes it fits)
EINSUM = (
    ("ij->ji", lambda s: len(s) == 2), ("ii", lambda s: len(s) == 2 and s[0] == s[1]),
    ("ii->i", lambda s: len(s) == 2 and s[0] == s[1]), ("...i->...", lambda s: len(s) >= 1),
    ("i...->...", lambda s: len(s) >= 1), ("...->", lambda s: True), ("...ii->...i", lambda s: len(s) >= 2 and
                                                                        s[-1] == s[-2]),
    ("iij->j", lambda s: len(s) == 3 and s[0] == s[1]), ("i...i", lambda s: len(s) >= 2 and s[0] == s[-1]),
    ("ij,ij->i", lambda s: len(s) == 2), ("ij,kj->ik", lambda s: len(s) == 2), ("ij,ik->jk", lambda s: len(s) == 2),
    ("...i,...i->...", lambda s: len(s) >= 1), ("i,j->ij", lambda s: len(s) == 1),
    ("ij,jk->ik", lambda s: len(s) == 2 and s[0] == s[1]), ("ii,ij->j", lambda s: len(s) == 2 and s[0] == s[1]),
    ("...ij,...kj->...ik", lambda s: len(s) >= 2), ("bij,bkj->bik", lambda s: len(s) == 3),
    (",->", lambda s: len(s) == 0), ("...,...", lambda s: True),
)


def p_einsum(draw, s):
    options = [eq for eq, fits in EINSUM if fits(s)]
    return {"equation": draw.sampled_from(options)} if options else None


SOFTPLUS = ((1.0, 20.0), (2.0, 1.0), (0.5, 20.0), (1.0, 0.0), (-1.0, 1.0), (3.0, -1.0))


def _value(value, w):
    return w if value == "w" else value


def _nt_pieces(x, p, pieces):
    out = pieces
    if p["whole"]:
        return cat(list(out[::-1]), dim=p["dim"])
    return out[p["piece"] % len(out)]


def _th_pieces(x, p, pieces):
    if p["whole"]:
        return torch.cat(list(pieces[::-1]), dim=p["dim"])
    return pieces[p["piece"] % len(pieces)]


def _operands(eq, x):
    return (x, x) if "," in eq else (x,)


# name: (params sampler or None, naivegrad form, torch form); forms take (x, w, params)
OPS = {
    "gather": (p_gather, lambda x, w, p: x.gather(p["dim"], p["index"]),
               lambda x, w, p: x.gather(p["dim"], torch.tensor(p["index"]))),
    "index_select": (p_index_select, lambda x, w, p: x.index_select(p["dim"], p["index"]),
                     lambda x, w, p: x.index_select(p["dim"], torch.tensor(p["index"], dtype=torch.long))),
    "masked_fill": (p_masked_fill, lambda x, w, p: x.masked_fill(p["mask"], _value(p["value"], w)),
                    lambda x, w, p: x.masked_fill(torch.tensor(p["mask"]), _value(p["value"], w))),
    "cumsum": (p_one_dim, lambda x, w, p: x.cumsum(p["dim"]), lambda x, w, p: x.cumsum(p["dim"])),
    "prod": (p_prod, lambda x, w, p: x.prod() if p["dim"] is None else x.prod(p["dim"], p["keepdim"]),
             lambda x, w, p: x.prod() if p["dim"] is None else x.prod(p["dim"], p["keepdim"])),
    "var": (p_stat, lambda x, w, p: x.var(p["dim"], correction=p["correction"], keepdim=p["keepdim"]),
            lambda x, w, p: x.var(p["dim"], correction=p["correction"], keepdim=p["keepdim"])),
    "std": (p_stat, lambda x, w, p: x.std(p["dim"], correction=p["correction"], keepdim=p["keepdim"]),
            lambda x, w, p: x.std(p["dim"], correction=p["correction"], keepdim=p["keepdim"])),
    "norm": (p_norm, lambda x, w, p: x.norm(p["p"], p["dim"], p["keepdim"]),
             lambda x, w, p: (torch.norm(x, "fro", p["dim"], p["keepdim"]) if p["p"] == "fro" else
                              torch.linalg.vector_norm(x, p["p"], p["dim"], p["keepdim"]))),
    "max_dim": (p_reduce_dim, lambda x, w, p: x.max(dim=p["dim"], keepdim=p["keepdim"]),
                lambda x, w, p: x.max(dim=p["dim"], keepdim=p["keepdim"])),
    "min_dim": (p_reduce_dim, lambda x, w, p: x.min(dim=p["dim"], keepdim=p["keepdim"]),
                lambda x, w, p: x.min(dim=p["dim"], keepdim=p["keepdim"])),
    "split": (p_split, lambda x, w, p: _nt_pieces(x, p, x.split(p["arg"], p["dim"])),
              lambda x, w, p: _th_pieces(x, p, x.split(p["arg"], p["dim"]))),
    "chunk": (p_chunk, lambda x, w, p: _nt_pieces(x, p, x.chunk(p["chunks"], p["dim"])),
              lambda x, w, p: _th_pieces(x, p, x.chunk(p["chunks"], p["dim"]))),
    "repeat": (p_reps, lambda x, w, p: x.repeat(*p["reps"]), lambda x, w, p: x.repeat(*p["reps"])),
    "tile": (p_tile, lambda x, w, p: x.tile(p["reps"]), lambda x, w, p: x.tile(p["reps"])),
    "flip": (p_flip, lambda x, w, p: x.flip(p["dims"]), lambda x, w, p: x.flip(p["dims"])),
    "roll": (p_roll, lambda x, w, p: x.roll(p["shifts"], p["dims"]), lambda x, w, p: x.roll(p["shifts"], p["dims"])),
    "tril": (p_triangle, lambda x, w, p: x.tril(p["diagonal"]), lambda x, w, p: x.tril(p["diagonal"])),
    "triu": (p_triangle, lambda x, w, p: x.triu(p["diagonal"]), lambda x, w, p: x.triu(p["diagonal"])),
    "einsum": (p_einsum, lambda x, w, p: einsum(p["equation"], *_operands(p["equation"], x)),
               lambda x, w, p: torch.einsum(p["equation"], *_operands(p["equation"], x))),
    "expm1": (None, lambda x, w, p: x.expm1(), lambda x, w, p: torch.expm1(x)),
    "erf": (None, lambda x, w, p: x.erf(), lambda x, w, p: torch.erf(x)),
    "gelu": (None, lambda x, w, p: x.gelu(), lambda x, w, p: F.gelu(x)),
    "gelu_tanh": (None, lambda x, w, p: x.gelu(approximate="tanh"), lambda x, w, p: F.gelu(x, approximate="tanh")),
    "silu": (None, lambda x, w, p: x.silu(), lambda x, w, p: F.silu(x)),
    "softplus": (lambda draw, s: {"bt": draw.sampled_from(SOFTPLUS)},
                 lambda x, w, p: x.softplus(beta=p["bt"][0], threshold=p["bt"][1]),
                 lambda x, w, p: F.softplus(x, beta=p["bt"][0], threshold=p["bt"][1])),
    "leaky_relu": (lambda draw, s: {"slope": draw.sampled_from([0.01, 0.2, 0.0, -0.5, 1.5])},
                   lambda x, w, p: x.leaky_relu(p["slope"]), lambda x, w, p: F.leaky_relu(x, p["slope"])),
    "elu": (lambda draw, s: {"alpha": draw.sampled_from([1.0, 0.5, 2.0, 0.0])},
            lambda x, w, p: x.elu(p["alpha"]), lambda x, w, p: F.elu(x, p["alpha"])),
    "rsqrt": (None, lambda x, w, p: x.rsqrt(), lambda x, w, p: torch.rsqrt(x)),
    "square": (None, lambda x, w, p: x.square(), lambda x, w, p: torch.square(x)),
    "reciprocal": (None, lambda x, w, p: x.reciprocal(), lambda x, w, p: torch.reciprocal(x)),
    "sign": (None, lambda x, w, p: x.sign(), lambda x, w, p: torch.sign(x)),
}
SELECTING = ("max_dim", "min_dim")  # a near tie would pick different elements


# ---------------------------------------------------------------------------------------------- guards
def _tiny(x):
    """Some element within 1e-9 of 0 without being 0 (a kink or a zero-count the engines may see differently)."""
    a = np.abs(x[np.isfinite(x)])
    return bool(np.any((a > 0) & (a < 1e-9)))


def _near_ties(x):
    v = np.unique(x[np.isfinite(x)])
    if v.size < 2:
        return False
    d = np.diff(v)
    return bool(np.any(d < 1e-9 * np.maximum(1.0, np.abs(v[1:]))))


def _guard(name, x, p, out):
    """False where the two libraries are known (and documented) to differ, or a last-ulp difference would
    decide the result (see the module docstring)."""
    finite = np.isfinite(x)
    if _tiny(x) or (np.size(out) and _tiny(np.asarray(out))):
        return False
    if name == "prod" and not finite.all():
        return False  # PyTorch's result / x (tests/harness/ops_reduce.py: prod's domain)
    if name in SELECTING or (name == "norm" and p["p"] in (math.inf, -math.inf)):
        if _near_ties(np.abs(x) if name == "norm" else x):
            return False
    if name == "einsum" and not finite.all():
        return False  # summation order with non-finite operands (naivegrad/tensor/ops/einsum.py docstring)
    if name == "elu" and np.isnan(x).any():
        return False  # PyTorch's elu'(nan): 1 on a few elements, nan when vectorised (ops_elementwise.py: ELU)
    if name in ("gelu", "gelu_tanh") and np.any(finite & (x < -5.0)):
        return False  # the left tail: PyTorch's derivative is 0 there (tests/harness/ops_elementwise.py)
    if np.size(out) and np.nanmax(np.abs(np.where(np.isfinite(out), out, 0.0)), initial=0.0) > 1e6:
        return False
    return True


def _guard_second(name, x, p, out):
    """No operand on a kink of the op's first derivative, where the second derivative is a convention:
    PyTorch's double backward of elu and softplus takes the other side (x < 0, beta x < threshold, strict)
    than their backward (x <= 0, beta x <= threshold); and non-finite values (operands or results) stay out of
    the second order, where the two libraries' different formulas (prod's products of the others: exclusive
    cumulative products there, a product per row here) group inf * 0 differently."""
    if not (np.isfinite(x).all() and np.isfinite(out).all()):
        return False
    if name in ("elu", "leaky_relu", "sign") and np.any(x == 0):
        return False
    if name == "softplus" and np.any(x * p["bt"][0] == p["bt"][1]):
        return False
    if name in ("max_dim", "min_dim") and np.unique(x).size != x.size:
        return False  # ties
    return True


# ---------------------------------------------------------------------------------------------- one chain
LAYOUTS = ("contiguous", "numpy_T", "numpy_strided", "graph_T", "graph_slice", "graph_flip")


@st.composite
def chains(draw_fn, first=None, second=False):
    """(leaf array, layout, w, [(op name, params)], cotangent), or None when no op fits; ``first``: the first
    op's name (else drawn like the others). ``second``: for a second-order check (finite inputs and cotangent,
    and no node on a kink, where PyTorch's double backward has conventions of its own: see ``_guard``)."""
    draw = HypothesisDraw(draw_fn)
    nd = draw.integers(0, 3)
    shape = tuple(0 if draw.booleans(0.1) else draw.integers(1, 4) for _ in range(nd))
    layout = draw.sampled_from(LAYOUTS)
    base_shape = shape
    if layout == "numpy_T" or (layout == "graph_T" and nd >= 2):
        base_shape = shape[::-1]
    elif layout in ("numpy_strided", "graph_slice") and nd:
        base_shape = shape[:-1] + (2 * shape[-1],)
    n = math.prod(base_shape)
    base = np.array([draw.sampled_from(GRID) for _ in range(n)], dtype=np.float64).reshape(base_shape)
    if n and not second and draw.booleans(0.25):
        for _ in range(draw.integers(1, min(2, n))):
            base.reshape(-1)[draw.integers(0, n - 1)] = draw.sampled_from(NONFINITE)
    w = draw.sampled_from([0.75, -2.0, 0.0])
    pool = sorted(OPS)
    steps = []
    x = _leaf_nt(base, layout, nd, requires_grad=False)
    w_t = Tensor(np.array(w))
    k = draw.integers(1, 3)
    attempts = 0
    while len(steps) < k and attempts < 20:
        attempts += 1
        name = first if first is not None and not steps else draw.sampled_from(pool)
        sampler, form, _ = OPS[name]
        p = {} if sampler is None else sampler(draw, tuple(x.shape))
        if p is None:
            continue
        try:
            with no_grad(), np.errstate(all="ignore"):
                out = form(x, w_t, p)
        except (ValueError, IndexError, TypeError):
            continue
        values = out.values if name in SELECTING else out
        if not _guard(name, x.data, p, values.data) or (second and not _guard_second(name, x.data, p, values.data)):
            continue
        steps.append((name, p))
        x = values
    if not steps:
        return None
    cot = np.array([draw.sampled_from(GRID) for _ in range(x.data.size)], dtype=np.float64).reshape(x.shape)
    if cot.size and not second and draw.booleans(0.2):
        cot.reshape(-1)[draw.integers(0, cot.size - 1)] = draw.sampled_from(NONFINITE)
    return base, layout, w, steps, cot


def _leaf_nt(base, layout, nd, requires_grad=True):
    if layout == "numpy_T":
        return Tensor(base.T, requires_grad=requires_grad)
    if layout == "numpy_strided" and nd:
        return Tensor(base[..., ::2], requires_grad=requires_grad)
    t = Tensor(base, requires_grad=requires_grad)
    return _view(t, layout, nd)


def _view(t, layout, nd):
    if layout == "graph_T" and nd >= 2:
        return t.transpose(-1, -2)
    if layout == "graph_slice" and nd:
        return t[..., ::2]
    if layout == "graph_flip" and nd:
        return t.flip(0)
    return t


def _leaf_torch(base, layout, nd):
    if layout == "numpy_T":
        leaf = torch.tensor(base.T.copy(), requires_grad=True)
        return leaf, leaf
    if layout == "numpy_strided" and nd:
        leaf = torch.tensor(base[..., ::2].copy(), requires_grad=True)
        return leaf, leaf
    leaf = torch.tensor(base, requires_grad=True)
    return leaf, _view(leaf, layout, nd)


def describe(chain):
    base, layout, w, steps, cot = chain
    return (f"leaf {base.tolist()!r} (shape {base.shape}), layout {layout}, w {w}\n"
            + "\n".join(f"  {name} {p!r}" for name, p in steps) + f"\ncotangent {cot.tolist()!r}")


def _compare(a, b, what, chain):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    ok = a.shape == b.shape
    if ok:
        ok = np.array_equal(np.isnan(a), np.isnan(b)) and np.array_equal(a[np.isinf(b)], b[np.isinf(b)]) \
            and np.array_equal(np.isinf(a), np.isinf(b))
    if ok:
        f = np.isfinite(b)
        scale = max(1.0, float(np.abs(b[f]).max(initial=0.0)))
        ok = np.allclose(a[f], b[f], rtol=RTOL, atol=RTOL * scale)
    if not ok:
        raise AssertionError(f"{what} differs from torch:\n{a!r}\nvs torch\n{b!r}\n{describe(chain)}")


def check_chain(chain, second=False):
    """The chain on both libraries: values (and indices) at each step, then the gradients of <cot, output>
    with respect to the input and w; ``second``: then also the gradient of <v, those gradients> (a
    Hessian-vector product, through backward(create_graph=True) and torch.autograd.grad)."""
    base, layout, w, steps, cot = chain
    nd = base.ndim
    if layout == "numpy_T":
        leaf = Tensor(base.T, requires_grad=True)
        x = leaf
    elif layout == "numpy_strided" and nd:
        leaf = Tensor(base[..., ::2], requires_grad=True)
        x = leaf
    else:
        leaf = Tensor(base, requires_grad=True)
        x = _view(leaf, layout, nd)
    wn = Tensor(np.array(w), requires_grad=True)
    tleaf, tx = _leaf_torch(base, layout, nd)
    tw = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    with np.errstate(all="ignore"):
        for i, (name, p) in enumerate(steps):
            _, form, tform = OPS[name]
            x, tx = form(x, wn, p), tform(tx, tw, p)
            if name in SELECTING:
                _compare(x.indices.data, tx.indices.numpy(), f"step {i} ({name}): indices", chain)
                x, tx = x.values, tx.values
            _compare(x.data, tx.detach().numpy(), f"step {i} ({name}): value", chain)
        (x * Tensor(cot)).sum().backward(create_graph=second)
    loss = (tx * torch.tensor(cot)).sum()
    if not loss.requires_grad:
        tgrads = [None, None]
    else:
        tgrads = list(torch.autograd.grad(loss, (tleaf, tw), create_graph=second, allow_unused=True))
    pairs = ((leaf, 0, "the input's gradient"), (wn, 1, "w's gradient"))
    for mine, k, what in pairs:
        g = np.zeros(mine.shape) if mine.grad is None else np.asarray(getattr(mine.grad, "data", mine.grad))
        tg = np.zeros(g.shape) if tgrads[k] is None else tgrads[k].detach().numpy()
        _compare(g, tg, what, chain)
    if not second:
        return
    # d/d(input, w) of <v, gradient of the input> + 2 <1, gradient of w>
    v = np.linspace(-1.0, 1.5, leaf.data.size).reshape(leaf.shape)
    firsts = [mine.grad for mine, _, _ in pairs]
    for mine, _, _ in pairs:
        mine.grad = None
    terms = [(f * Tensor(c)).sum() for f, c in zip(firsts, (v, np.array(2.0))) if isinstance(f, Tensor)]
    if terms:
        total = terms[0] if len(terms) == 1 else terms[0] + terms[1]
        if total.requires_grad:
            total.backward()
    tterms = [(f * torch.tensor(c)).sum() for f, c in zip(tgrads, (v, np.array(2.0)))
              if f is not None and f.requires_grad]
    hs = [None, None]
    if tterms:
        hs = list(torch.autograd.grad(sum(tterms), (tleaf, tw), allow_unused=True))
    for (mine, k, what), h in zip(pairs, hs):
        g = np.zeros(mine.shape) if mine.grad is None else np.asarray(getattr(mine.grad, "data", mine.grad))
        th = np.zeros(g.shape) if h is None or h._is_zerotensor() else h.detach().numpy()
        _compare(g, th, "second order: the derivative of " + what, chain)


@settings(max_examples=EXAMPLES, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                        HealthCheck.filter_too_much])
@given(chain=chains())
def test_chains_of_new_ops_match_torch_float64(chain):
    if chain is not None:
        check_chain(chain)


@settings(max_examples=EXAMPLES, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                        HealthCheck.filter_too_much])
@given(chain=chains(second=True))
def test_chains_of_new_ops_match_torch_float64_to_second_order(chain):
    if chain is not None:
        check_chain(chain, second=True)


@pytest.mark.parametrize("name", sorted(OPS))
@settings(max_examples=max(10, settings.default.max_examples // 3),
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
@given(data=st.data())
def test_each_new_op_first_in_a_chain_matches_torch_float64(name, data):
    """Every op of the list, then (sometimes) one or two others after it; half the time to second order."""
    second = data.draw(st.booleans())
    chain = data.draw(chains(first=name, second=second))
    if chain is not None:
        check_chain(chain, second)


# ---------------------------------------------------------------------------------------------- found by the above
def _hvp(fn, tfn, x, u, v):
    """(naivegrad, torch): d/dx <v, d/dx <u, fn(x)>> at x (float64 arrays)."""
    t = Tensor(np.array(x, dtype=np.float64), requires_grad=True)
    (fn(t) * Tensor(np.array(u, dtype=np.float64))).sum().backward(create_graph=True)
    first = t.grad
    t.grad = None
    (first * Tensor(np.array(v, dtype=np.float64))).sum().backward()
    tt = torch.tensor(np.array(x, dtype=np.float64), requires_grad=True)
    (g,) = torch.autograd.grad((tfn(tt) * torch.tensor(u, dtype=torch.float64)).sum(), tt, create_graph=True)
    (h,) = torch.autograd.grad((g * torch.tensor(v, dtype=torch.float64)).sum(), tt)
    return np.asarray(first.data), np.asarray(t.grad), g.detach().numpy(), h.numpy()


def test_prod_of_everything_with_two_zeros_has_a_nonzero_second_derivative_as_torch():
    """d2 (x0 x1 x2 x3) / dx0 dx1 = x2 x3 at x0 = x1 = 0: the first-order gradient there is 0 exactly (PyTorch's
    shortcut without grad mode), but on the create_graph path it must be the products of the others, which
    still depend on the zeros (it was a constant 0: the Hessian came out 0)."""
    x = [[0.0, 0.0], [1.5, -2.0]]
    g, h, tg, th = _hvp(lambda t: t.prod(), lambda t: t.prod(), x, 1.0, [[1.0, 0.5], [-1.0, 2.0]])
    np.testing.assert_array_equal(g, tg)  # all 0
    np.testing.assert_allclose(h, th, rtol=1e-12)
    assert h[0, 0] == -1.5 and h[0, 1] == -3.0  # 0.5 * (1.5 * -2) and 1 * (1.5 * -2)


def test_norm_0_passes_no_gradient_back_as_torch():
    """The count of nonzeros has no gradient (PyTorch's is undefined: nothing flows back). Zeros flowing back
    met erf's derivative at nan, 0 * nan = nan, where PyTorch leaves the input's gradient alone."""
    x = Tensor(np.array([math.nan, 1.0, 0.0]), requires_grad=True)
    y = x.erf().norm(0) + x.sum()
    y.backward()
    tx = torch.tensor([math.nan, 1.0, 0.0], dtype=torch.float64, requires_grad=True)
    (torch.linalg.vector_norm(torch.erf(tx), 0) + tx.sum()).backward()
    np.testing.assert_array_equal(x.grad, tx.grad.numpy())  # [1, 1, 1], not [nan, 1, 1]
    z = Tensor(np.array([2.0, 0.0]), requires_grad=True)
    z.norm(0).backward()
    tz = torch.tensor([2.0, 0.0], dtype=torch.float64, requires_grad=True)
    torch.linalg.vector_norm(tz, 0).backward()
    assert z.grad is None and tz.grad is None


@pytest.mark.parametrize("name", ["silu", "softplus", "gelu_tanh"])
def test_second_derivative_of_the_sigmoid_activations_at_zero_as_torch(name):
    """silu, softplus and the tanh gelu are smooth at 0, but their rules' sigmoid was e**-|z| there: on the
    create_graph path |z|'s derivative sgn(0) = 0 made the second derivative at x = 0 wrong (silu's half of
    it, softplus's 0)."""
    _, fn, tfn = OPS[name]
    p = {"bt": (1.0, 20.0)}
    x = [0.0, -0.0, 0.5, -1.25]
    g, h, tg, th = _hvp(lambda t: fn(t, None, p), lambda t: tfn(t, None, p), x, [1.0, -2.0, 0.5, 1.5],
                        [0.75, 1.0, -1.0, 2.0])
    np.testing.assert_allclose(g, tg, rtol=1e-12)
    np.testing.assert_allclose(h, th, rtol=1e-12, atol=1e-15)
