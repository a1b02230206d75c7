"""Elementwise ops with numpy broadcasting: the scalar engine's set, plus maximum, minimum, clip and where.
(Its pointwise activations with options, gelu, silu, softplus, leaky_relu and elu, are in ``activation.py``.)

Each op is a ``forward`` and one rule, ``local``, giving the local derivatives of its output with respect to
each operand (d out / d operand, what the scalar engine records per op), as a plain expression in the
operands and the output. The base ``Elementwise`` (and its faster forms ``Binary`` and ``Unary``) turns that
one rule into both modes:

- reverse (``backward``): each operand that needs a gradient gets ``unbroadcast(local * g, its shape)``;
- forward (``jvp``): the output's tangent is the sum of ``local * tangent`` over the operands that have a
  tangent, as an array of the output's shape and dtype (a broadcast operand's tangent broadcasts forward).

The derivatives are the scalar engine's (the reference), written in the same form so that the two engines
agree to the last bit where they can: relu'(0) = 0, abs'(0) = 0, d/dx x**0 = 0, d/db a**b = 0 where a == 0
and b >= 0. A positional operand may be a Python float (a constant: ``t * 2.0``), which gets no gradient.
"""

import math

import numpy as np

from ..function import Function
from ..tensor import Tensor
from ..shapes import unbroadcast
from ._rules import astype, value
from ._tangents import fit

__all__ = ["Add", "Sub", "Mul", "Div", "Pow", "Neg", "Abs", "Exp", "Log", "Log1p", "Sqrt", "Tanh", "Sigmoid", "Relu",
           "Sin", "Cos", "Expm1", "Erf", "Rsqrt", "Square", "Reciprocal", "Sign", "Maximum", "Minimum", "Clip",
           "Where"]


class Elementwise(Function):
    """Base of the elementwise ops: a subclass writes ``forward`` and one rule, ``local``.

    ``forward(ctx, *operands)`` returns the output and saves, with ``ctx.save_for_backward``, the operands in
    order (a constant as it is), then the output, last: ``(a, b, out)``. Those are the rule's arguments.

    ``local(need, *saved)`` returns the local derivative of the output with respect to each operand, in
    order: an array broadcastable to the output, a number, or None for an operand that needs none.
    ``need[i]`` says whether operand i needs its derivative (a gradient is wanted, or it carries a tangent),
    so that a costly one is only computed when used. An int 1 passes the gradient on without a copy.

    ``selects = True`` is for ops whose output copies an operand, or a constant, where the derivative is 0
    (maximum, minimum, where, relu, clip): their local derivatives are masks (or weights) that select the
    gradient, zero where the mask is, even where the gradient is inf or nan (PyTorch's where and
    threshold_backward), instead of multiplying it by zero (0 * inf = nan). The others multiply, as PyTorch
    does too (mul by 0, abs at 0: 0 * inf = nan).

    Ops of two operands derive from ``Binary`` and of one from ``Unary``, which do the same as this class,
    faster (their rules run on every training step).
    """

    selects = False

    @staticmethod
    def local(need, *saved):
        raise NotImplementedError("an Elementwise subclass must define local(need, *saved)")

    @staticmethod
    def arguments(ctx):
        """The rule's arguments: what forward saved (an op with a constant operand, where's condition, keeps it
        out of ``saved_tensors``, which a create_graph backward turns into Tensors, and adds it here)."""
        return ctx.saved_tensors

    @staticmethod
    def backward(ctx, g):
        fn = ctx.fn
        need = ctx.needs_input_grad
        saved = fn.arguments(ctx)
        local = fn.local(need, *saved)
        return tuple([_gradient(d, g, x, fn.selects) if n and d is not None else None
                      for n, d, x in zip(need, local, saved)])

    @staticmethod
    def jvp(ctx, *tangents):
        fn = ctx.fn
        saved = fn.arguments(ctx)
        out = saved[-1]
        local = fn.local(tuple([t is not None for t in tangents]), *saved)
        total = None
        for d, t in zip(local, tangents):
            if t is not None and d is not None:
                total = _plus(total, d, t, fn.selects)
        if total is None:  # no operand has a tangent (or a derivative): the output's is zero
            return np.zeros(out.shape, out.dtype)
        return fit(total, out.shape, out.dtype)


class Binary(Elementwise):
    """Base of the two-operand ops that multiply (not select): ``forward`` saves ``(a, b, out)`` and
    ``local(need, a, b, out)`` returns ``(d out/da, d out/db)``. Elementwise's backward, unrolled."""

    @staticmethod
    def backward(ctx, g):
        need = ctx.needs_input_grad
        a, b, out = ctx.saved_tensors
        da, db = ctx.fn.local(need, a, b, out)
        ga = gb = None
        if need[0]:
            if type(da) is not int:
                ga = da * g
            else:  # add's and sub's exact 1 and -1: g itself, or -g (as _times)
                ga = g if da == 1 else -g if da == -1 else da * g
            if ga.shape != a.shape:
                ga = unbroadcast(ga, a.shape)
        if need[1]:
            if type(db) is not int:
                gb = db * g
            else:
                gb = g if db == 1 else -g if db == -1 else db * g
            if gb.shape != b.shape:
                gb = unbroadcast(gb, b.shape)
        return ga, gb


class Unary(Elementwise):
    """Base of the one-operand ops: ``forward(ctx, x)`` saves ``(x, out)`` (clip saves its bounds between
    them), and ``local(*saved)`` returns the one local derivative d out / dx (no ``need``: x needs it): for a
    selecting op (``selects``: relu, clip) a bool mask, True where the gradient passes.

    ``methods = ("exp",)`` makes the op a ``Tensor`` method of that name (``t.exp()``), documented by the
    class's docstring: an elementwise op is written here once, and the Tensor has it. An op with options
    (``t.gelu(approximate="tanh")``, ``t.leaky_relu(0.2)``) also defines ``options(...)``, a static method
    with the options' signature and defaults that checks them and returns them as the keywords of ``forward``.
    """

    methods = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in cls.__dict__.get("methods", ()):
            setattr(Tensor, name, _tensor_method(cls, name))

    @staticmethod
    def local(*saved):
        raise NotImplementedError("a Unary subclass must define local(x, out)")

    @staticmethod
    def backward(ctx, g):
        fn = ctx.fn
        d = fn.local(*ctx.saved_tensors)
        if fn.selects:
            return _select(d, g)
        return d * g if type(d) is not int else _times(d, g, False)

    @staticmethod
    def jvp(ctx, t):
        fn = ctx.fn
        saved = ctx.saved_tensors
        out = saved[-1]
        if t is None:
            return np.zeros(out.shape, out.dtype)
        d = fn.local(*saved)
        return fit(_select(d, t) if fn.selects else _times(d, t, False), out.shape, out.dtype)


def _tensor_method(fn, name):
    options = getattr(fn, "options", None)
    if options is None:
        def method(self):
            return fn.apply(self)
    else:  # options by position or keyword, checked: forward gets them as keywords (never differentiated)
        def method(self, *args, **kwargs):
            return fn.apply(self, **options(*args, **kwargs))

    method.__name__, method.__qualname__, method.__doc__ = name, f"Tensor.{name}", fn.__doc__
    return method


def _times(d, g, selects):
    """The local derivative ``d`` times ``g`` (a gradient or a tangent). An int 1 or -1 (a derivative that is
    exactly that, as add's and sub's) passes g on as it is (no copy) or negated (as ``-g``: no multiply); a
    selecting op's mask (or weight) picks g, giving 0 where the mask is 0 whatever g is."""
    if type(d) is int:
        return g if d == 1 else -g if d == -1 else d * g
    if selects:
        if d.dtype == bool:
            return _select(d, g)
        return np.where(d != 0, g * d.astype(g.dtype, copy=False), np.zeros((), g.dtype))
    return d * g


# The unsigned int of each float's width: _select masks a float's bits with it.
_BITS = {np.dtype(np.float64): np.uint64, np.dtype(np.float32): np.uint32, np.dtype(np.float16): np.uint16}


def _select(mask, g):
    """``g`` where the bool ``mask`` is True, else +0.0 (``np.where(mask, g, 0)``), in g's dtype.

    A float's bits and-ed with all ones (-1) or all zeros: relu's backward runs on every training step, and
    with a random mask this is three times faster than np.where, and a microsecond or two slower than
    ``mask * g``, which would give 0 * inf = nan where the mask is False."""
    bits = _BITS.get(g.dtype)
    if bits is None or type(mask) is not np.ndarray or mask.shape != g.shape or type(g) is not np.ndarray:
        return np.where(mask, g, np.zeros((), g.dtype))
    out = mask.astype(bits)
    np.negative(out, out=out)  # 1 -> all ones, 0 -> 0
    out &= g.view(bits)
    return out.view(g.dtype)


def _gradient(d, g, x, selects):
    """The gradient of the operand ``x`` whose local derivative is ``d``, from the output's gradient ``g``."""
    pg = _times(d, g, selects)
    return pg if pg.shape == x.shape else unbroadcast(pg, x.shape)


def _plus(total, d, t, selects):
    """``total + d * t``, forward mode's sum over the operands (``total`` None: the first term). An int d of
    -1 subtracts t, as ``a - b`` does."""
    if total is None:
        return _times(d, t, selects)
    if type(d) is int and d == -1:
        return total - t
    if selects and d.dtype == bool:  # the output is this operand where d is: the others' terms are 0 there
        return np.where(d, t, total)
    return total + _times(d, t, selects)


# ---------------------------------------------------------------------------------------------- arithmetic
class Add(Binary):
    """a + b; d/da = d/db = 1."""

    @staticmethod
    def forward(ctx, a, b):
        out = np.add(a, b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def local(need, a, b, out):
        return 1, 1


class Sub(Binary):
    """a - b; d/da = 1, d/db = -1."""

    @staticmethod
    def forward(ctx, a, b):
        out = np.subtract(a, b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def local(need, a, b, out):
        return 1, -1


class Mul(Binary):
    """a * b; d/da = b, d/db = a."""

    @staticmethod
    def forward(ctx, a, b):
        out = np.multiply(a, b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def local(need, a, b, out):
        return b, a


class Div(Binary):
    """a / b, with IEEE results for a zero divisor (±inf, or nan for 0/0); d/da = 1/b, d/db = -a/b**2, written
    -(q/b) with q = a/b as the scalar engine does."""

    @staticmethod
    def forward(ctx, a, b):
        q = np.true_divide(a, b)
        ctx.save_for_backward(a, b, q)
        return q

    @staticmethod
    def local(need, a, b, q):
        return (_recip(b) if need[0] else None), (-(q / b) if need[1] else None)


def _recip(b):
    """1 / b with IEEE results; a Python float stays one (a numpy float64 scalar would upcast float32)."""
    r = np.true_divide(1.0, b)
    return float(r) if isinstance(r, np.generic) else r


class Pow(Binary):
    """a ** b (real results: nan where the real power does not exist, ±inf on overflow); d/da = b a**(b-1),
    d/db = a**b ln a. Where b == 0 the output is the constant 1 and d/da selects: exactly 0 whatever the
    gradient (or tangent), as PyTorch's ``where(exponent == 0, 0, ...)``, not 0 * inf = nan."""

    @staticmethod
    def forward(ctx, a, b):
        out = _power(a, b)
        if out.dtype.itemsize == 1 and out.dtype.kind == "i":  # numpy's bool ** bool is int8
            out = _bool_power(a, b, out)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def local(need, a, b, out):
        return (_dpow(a, b) if need[0] else None), (_dpow_exponent(a, b, out) if need[1] else None)


def _bool_power(a, b, out):
    """PyTorch's bool ** bool: a bool tensor to a Python bool is a bool tensor (a ** True is a, a ** False is
    all True), and a bool tensor as the exponent of a bool is refused ("pow" is not implemented for bool)."""
    if np.result_type(a) != np.bool_ or np.result_type(b) != np.bool_:
        return out  # int8 operands: numpy's int8 is right
    if isinstance(b, (bool, np.bool_)) and isinstance(a, np.ndarray):
        return np.logical_or(a, not b)
    raise TypeError("** of a bool tensor by a bool tensor is not supported (as in PyTorch): make one of them a "
                    "number first with .long() or .float()")


def _power(a, b):
    """``np.power(a, b)``, with C's pow where b is 0.5. numpy takes a power by one exponent 0.5 (a number, or a
    broadcast 0-d array) as a square root: nan at -inf and -0.0 at -0.0, where pow (the scalar engine, and
    numpy itself with an array of exponents) gives inf and 0.0. So a power does not depend on how its exponent
    was broadcast."""
    out = np.power(a, b)
    half = value(b) == 0.5
    if half.any() if type(half) is np.ndarray else half:
        va = value(a)
        out = astype(np.where(half & (va == 0), 0.0, np.where(half & np.isneginf(va), np.inf, out)), out.dtype)
    return out


class _Selected:
    """A local derivative that is ``d`` where ``mask`` holds and is selected away elsewhere: times a gradient
    or a tangent g it gives d * g where mask, and an exact 0 elsewhere, even where g is inf or nan (a plain
    0 would give 0 * inf = nan). For an operand that a multiplying op passes no gradient in places (d/da a**0):
    the bases multiply ``local * g`` as for any derivative, and this product selects."""

    __slots__ = ("mask", "d")
    __array_ufunc__ = None  # g * selected: numpy hands the product to __rmul__

    def __init__(self, mask, d):
        self.mask, self.d = mask, d

    def __mul__(self, g):
        p = self.d * g
        return np.where(self.mask, p, np.zeros((), p.dtype))

    __rmul__ = __mul__


def _dpow(a, b):
    """d/da a**b: b * a**(b - 1), selected away where b == 0 (0 for any gradient: a ** 0 is the constant 1), as
    PyTorch's ``where(exponent == 0, 0, ...)`` and the scalar engine."""
    vb = value(b)
    if np.ndim(vb) == 0 and vb == 0:
        # Not b * a**-1 selected away: a derivative that does not depend on a, so that differentiating it again
        # gives 0 too (a**-1's own derivative is -inf at a == 0, and 0 * inf = nan), as PyTorch's zeros.
        return _Selected(False, 0)
    d = b * _power(a, b - 1)
    if np.ndim(vb) == 0:
        return d
    zero = vb == 0
    return _Selected(~zero, d) if zero.any() else d


def _dpow_exponent(a, b, out):
    """d/db a**b: a**b ln a, taken as 0 where a == 0 and b >= 0 (the limit from a > 0), as PyTorch."""
    return astype(np.where((value(a) == 0) & (value(b) >= 0), 0.0, out * np.log(a)), out.dtype)


class Neg(Unary):
    """-x; derivative -1."""

    @staticmethod
    def forward(ctx, x):
        out = np.negative(x)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def local(x, out):
        return -1


class Abs(Unary):
    """|x|, with abs'(0) = 0 (and 0 at nan, as the scalar engine)."""

    methods = ("abs", "__abs__")

    @staticmethod
    def forward(ctx, x):
        out = np.abs(x)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def local(x, out):
        return _sign(value(x))  # piecewise constant: a constant on the Tensor path too


def _sign(x):
    """abs'(x): 1 above 0, -1 below, 0 at 0 and at nan (np.sign would give nan there), in x's dtype."""
    sign = (x > 0).astype(x.dtype)
    sign -= x < 0
    return sign


# ---------------------------------------------------------------------------------------------- functions
class Exp(Unary):
    """e ** x; derivative e ** x, the output."""

    methods = ("exp",)

    @staticmethod
    def forward(ctx, x):
        out = np.exp(x)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def local(x, out):
        return out


class Log(Unary):
    """Natural log: log(0) = -inf, log(x < 0) = nan; derivative 1/x."""

    methods = ("log",)

    @staticmethod
    def forward(ctx, x):
        out = np.log(x)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def local(x, out):
        return 1.0 / x


class Log1p(Unary):
    """log(1 + x), accurate for tiny x: log1p(-1) = -inf, log1p(x < -1) = nan; derivative 1/(1 + x)."""

    methods = ("log1p",)

    @staticmethod
    def forward(ctx, x):
        out = np.log1p(x)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def local(x, out):
        return 1.0 / (1.0 + x)


class Sqrt(Unary):
    """Square root (nan below 0); its derivative 0.5 / sqrt(x) is inf at 0."""

    methods = ("sqrt",)

    @staticmethod
    def forward(ctx, x):
        out = np.sqrt(x)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def local(x, out):
        return 0.5 / out


class Tanh(Unary):
    """Hyperbolic tangent; derivative 1 - tanh(x)**2."""

    methods = ("tanh",)

    @staticmethod
    def forward(ctx, x):
        out = np.tanh(x)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def local(x, out):
        return 1.0 - out * out


class Sigmoid(Unary):
    """1 / (1 + e**-x), two-branched so that exp never overflows; derivative s * (1 - s)."""

    methods = ("sigmoid",)

    @staticmethod
    def forward(ctx, x):
        e = np.exp(-np.abs(x))  # e**x for x < 0 and e**-x for x >= 0: never above 1
        out = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def local(x, out):
        return out * (1.0 - out)


class Relu(Unary):
    """max(x, 0), nan kept; relu'(0) = 0. The gradient selects, as PyTorch's threshold_backward: exactly 0
    where x <= 0, whatever it is (inf, nan), and passed on elsewhere, nan included."""

    methods = ("relu",)
    selects = True

    @staticmethod
    def forward(ctx, x):
        out = np.maximum(x, 0)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def local(x, out):
        # out = max(x, 0) is 0 exactly where x <= 0, and nan where x is: out != 0 is the mask, one comparison.
        return out != 0


class Sin(Unary):
    """Sine; derivative cos(x)."""

    methods = ("sin",)

    @staticmethod
    def forward(ctx, x):
        out = np.sin(x)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def local(x, out):
        return np.cos(x)


class Cos(Unary):
    """Cosine; derivative -sin(x)."""

    methods = ("cos",)

    @staticmethod
    def forward(ctx, x):
        out = np.cos(x)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def local(x, out):
        return -np.sin(x)


class Expm1(Unary):
    """e**x - 1, accurate for tiny x; derivative e**x, taken as out + 1 (as the scalar engine and PyTorch)."""

    methods = ("expm1",)

    @staticmethod
    def forward(ctx, x):
        out = np.expm1(x)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def local(x, out):
        return out + 1.0


_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)

# erf and erfc in numpy, vectorized: the rational approximations of Sun's fdlibm (s_erf.c, 1993; the algorithm
# glibc's and CPython's libm erf follow), on the same four intervals of |x|, evaluated on each interval's
# elements at once. Float64 throughout (float32 and float16 are widened, then rounded once to their dtype, as
# math.erf on each element did). Measured against math.erf / math.erfc on millions of points over the whole
# float64 line: erf within 1 ulp, erfc within 4 (its tail multiplies two numpy exps, each within 1 ulp where
# glibc's is within half of one) (tests/tensor/test_erf_vectorized.py).
_ERX = 8.45062911510467529297e-01  # erf(1) rounded to 24 bits: erf = erx + P/Q on [0.84375, 1.25)
_EFX = 1.28379167095512586316e-01  # 2/sqrt(pi) - 1: erf(x) = x + efx x below 2**-28
_PP = (1.28379167095512558561e-01, -3.25042107247001499370e-01, -2.84817495755985104766e-02,
       -5.77027029648944159157e-03, -2.37630166566501626084e-05)
_QQ = (1.0, 3.97917223959155352819e-01, 6.50222499887672944485e-02, 5.08130628187576562776e-03,
       1.32494738004321644526e-04, -3.96022827877536812320e-06)
_PA = (-2.36211856075265944077e-03, 4.14856118683748331666e-01, -3.72207876035701323847e-01,
       3.18346619901161753674e-01, -1.10894694282396677476e-01, 3.54783043256182359371e-02,
       -2.16637559486879084300e-03)
_QA = (1.0, 1.06420880400844228286e-01, 5.40397917702171048937e-01, 7.18286544141962662868e-02,
       1.26171219808761642112e-01, 1.36370839120290507362e-02, 1.19844998467991074170e-02)
_RA = (-9.86494403484714822705e-03, -6.93858572707181764372e-01, -1.05586262253232909814e+01,
       -6.23753324503260060396e+01, -1.62396669462573470355e+02, -1.84605092906711035994e+02,
       -8.12874355063065934246e+01, -9.81432934416914548592e+00)
_SA = (1.0, 1.96512716674392571292e+01, 1.37657754143519042600e+02, 4.34565877475229228821e+02,
       6.45387271733267880336e+02, 4.29008140027567833386e+02, 1.08635005541779435134e+02,
       6.57024977031928170135e+00, -6.04244152148580987438e-02)
_RB = (-9.86494292470009928597e-03, -7.99283237680523006574e-01, -1.77579549177547519889e+01,
       -1.60636384855821916062e+02, -6.37566443368389627722e+02, -1.02509513161107724954e+03,
       -4.83519191608651397019e+02)
_SB = (1.0, 3.03380607434824582924e+01, 3.25792512996573918826e+02, 1.53672958608443695994e+03,
       3.19985821950859553908e+03, 2.55305040643316442583e+03, 4.74528541206955367215e+02,
       -2.24409524465858183362e+01)
_HIGH_WORD = np.uint64(0xFFFFFFFF00000000)


def _poly(c, t):
    """c[0] + c[1] t + c[2] t**2 + ... by Horner, on an array t (in place after the first product)."""
    acc = c[-1] * t
    for k in c[-2:0:-1]:
        acc += k
        acc *= t
    acc += c[0]
    return acc


def _ratio(p, q, t):
    """p(t) / q(t), p and q coefficient tuples, lowest degree first. (Both by Horner at once on a (2, n) array,
    one numpy call per degree, measured 10% slower than this.)"""
    num = _poly(p, t)
    num /= _poly(q, t)
    return num


def _small(x, complement):
    """erf(x) (erfc(x)) for |x| < 0.84375: x + x y, y = P/Q(x**2) an even rational function (erfc: 1 - erf(x),
    or for x >= 1/4, 0.5 - (x y + (x - 0.5)), which does not cancel)."""
    z = x * x
    y = _ratio(_PP, _QQ, z)
    y *= x
    if not complement:
        y += x
        tiny = np.flatnonzero(np.abs(x) < 2.0 ** -28)
        if tiny.size:  # x**2 negligible: x + efx x, scaled by 8 so that it rounds once even for subnormal x
            t = x[tiny]
            y[tiny] = 0.125 * (8.0 * t + (8.0 * _EFX) * t)
        return y
    half = np.multiply(x >= 0.25, 0.5)  # h = 1/2 from x = 1/4 up, else 0: (1 - h) - (x y + (x - h))
    y += x - half  # exact subtraction (Sterbenz: 1/4 <= x < 1 against 1/2)
    half -= 1.0
    np.negative(half, out=half)
    half -= y
    return half


def _mid(x, complement):
    """erf(x) (erfc(x)) for 0.84375 <= |x| < 1.25: erx + P/Q(|x| - 1), P/Q a rational function (erfc: (1 - erx)
    - P/Q, or (1 + erx) + P/Q below 0; 1 -+ erx are exact)."""
    s = np.abs(x)
    s -= 1.0
    p = _ratio(_PA, _QA, s)
    if not complement:
        p += _ERX
        return np.copysign(p, x, out=p)
    sign = np.copysign(1.0, x)
    p *= sign
    sign *= -_ERX
    sign += 1.0
    sign -= p
    return sign


def _tail(x, complement, far):
    """erfc(|x|) for 1.25 <= |x| < 28: exp(-x**2 - 0.5625 + R/S(1/x**2)) / |x|, R/S a rational function (one on
    [1.25, 1/0.35), ``far`` the other above), with x**2 split as z**2 (z = |x| with its low 32 bits cleared, so
    z*z is exact) plus (|x| - z)(|x| + z), so that exp's argument keeps every bit. erf(x) = ±(1 - erfc(|x|)),
    erfc(x) = 2 - erfc(|x|) below 0."""
    a = np.abs(x)
    s = a * a
    np.divide(1.0, s, out=s)
    r = _ratio(_RB, _SB, s) if far else _ratio(_RA, _SA, s)
    z = (a.view(np.uint64) & _HIGH_WORD).view(np.float64)
    d = z - a
    a2 = z + a
    d *= a2
    r += d
    np.exp(r, out=r)
    z *= z
    z += 0.5625
    np.negative(z, out=z)
    np.exp(z, out=z)
    z *= r
    z /= a
    sign = np.copysign(1.0, x)
    if not complement:  # sign (1 - c)
        np.subtract(1.0, z, out=z)
        z *= sign
        return z
    z *= sign  # (1 - sign) + sign c: c above 0, 2 - c below
    np.subtract(1.0, sign, out=sign)
    z += sign
    return z


_BLOCK = 1 << 14  # elements per block: its temporaries (128 kB) stay in cache and malloc's free lists


def _erf_core(x, complement):
    """erf(x) (or erfc(x), ``complement``) of a float64 array, any shape, same shape out, by blocks of
    ``_BLOCK`` elements (on large arrays, fresh temporaries of the full size cost more in page faults than the
    arithmetic)."""
    flat = x.reshape(-1)
    if flat.size <= _BLOCK:
        return _erf_block(flat, complement).reshape(x.shape)
    out = np.empty_like(flat)
    for i in range(0, flat.size, _BLOCK):
        out[i:i + _BLOCK] = _erf_block(flat[i:i + _BLOCK], complement)
    return out.reshape(x.shape)


def _erf_block(flat, complement):
    """erf(x) (erfc(x)) of a 1-D float64 array: each interval's elements are gathered by index (``take``),
    computed together and put back."""
    a = np.abs(flat)
    if flat.size and a.max() < 0.84375:  # all small: no gathers (nan fails the test)
        return _small(flat, complement)
    out = np.empty_like(flat)
    top = 28.0 if complement else 6.0  # erfc(x >= 28) underflows to 0 (and erfc(x <= -6) = 2 - tiny = 2)
    bounds = a >= 0.84375
    region = bounds.view(np.int8).copy()
    for b in (1.25, 1.0 / 0.35, top):
        np.greater_equal(a, b, out=bounds)
        region += bounds.view(np.int8)
    if complement:  # x <= -6: 2 - tiny = 2, with the large ones
        np.less_equal(flat, -6.0, out=bounds)
        bounds &= a < top
        region += bounds.view(np.int8)
    done = 0
    for k, fn in enumerate((_small, _mid, lambda v, c: _tail(v, c, False), lambda v, c: _tail(v, c, True))):
        idx = np.flatnonzero(region == k)  # nan is in none of the intervals: in region 0, where it gives nan
        if idx.size:
            out[idx] = fn(flat.take(idx), complement)
            done += idx.size
    if done < flat.size:  # |x| >= 6 (erfc: x >= 28 or x <= -6) and ±inf
        idx = np.flatnonzero(region == 4)
        v = flat.take(idx)
        out[idx] = np.where(v > 0.0, 0.0, 2.0) if complement else np.copysign(1.0, v)
    return out


def _erf_array(x, complement=False):
    """erf (erfc) of an ndarray, in its dtype: computed in float64, rounded once to a narrower float dtype."""
    x = np.asarray(x)
    with np.errstate(all="ignore"):
        out = _erf_core(np.asarray(x, np.float64), complement)
    return out.astype(x.dtype, copy=False) if x.dtype.kind == "f" else out


def _erf(x):
    """erf elementwise in x's dtype, vectorized (``_erf_core``; the scalar engine's math.erf to 1 ulp, numpy
    has none). A Tensor (a rule on the create_graph path) gets the op ``Erf``."""
    if type(x) is Tensor:
        return Erf.apply(x)
    return _erf_array(x)


def _erfc(x):
    """1 - erf(x) elementwise in x's dtype (vectorized, as ``_erf``), exact where erf is near -1 or 1; for a
    Tensor, the op ``_Erfc``."""
    if type(x) is Tensor:
        return _Erfc.apply(x)
    return _erf_array(x, complement=True)


class Erf(Unary):
    """The error function: erf(±inf) = ±1; derivative 2/sqrt(pi) e**-x**2."""

    methods = ("erf",)

    @staticmethod
    def forward(ctx, x):
        out = _erf(x)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def local(x, out):
        return _TWO_OVER_SQRT_PI * np.exp(-x * x)


class _Erfc(Unary):
    """1 - erf(x) (not a Tensor method: gelu's rule uses it); derivative -2/sqrt(pi) e**-x**2."""

    @staticmethod
    def forward(ctx, x):
        out = _erfc(x)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def local(x, out):
        return -_TWO_OVER_SQRT_PI * np.exp(-x * x)


class Rsqrt(Unary):
    """1 / sqrt(x): inf at 0 (-inf at -0.0), nan below 0; derivative -out**3 / 2."""

    methods = ("rsqrt",)

    @staticmethod
    def forward(ctx, x):
        out = 1.0 / np.sqrt(x)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def local(x, out):
        return -0.5 * out * out * out


class Square(Unary):
    """x * x; derivative 2x."""

    methods = ("square",)

    @staticmethod
    def forward(ctx, x):
        out = x * x
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def local(x, out):
        return 2.0 * x


class Reciprocal(Unary):
    """1 / x: ±inf at ±0; derivative -out**2."""

    methods = ("reciprocal",)

    @staticmethod
    def forward(ctx, x):
        out = 1.0 / x
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def local(x, out):
        return -(out * out)


class Sign(Unary):
    """1 above 0, -1 below, 0 at ±0 and at nan (PyTorch's sign, not numpy's nan). Piecewise constant: the
    gradient selects nothing, exactly 0 even where it is inf or nan (PyTorch's zeros)."""

    methods = ("sign",)
    selects = True

    @staticmethod
    def forward(ctx, x):
        out = _sign(x)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def local(x, out):
        return np.zeros(np.shape(x), dtype=bool)


def erf(x):
    """``torch.erf``: the error function of a Tensor, elementwise (``x.erf()``)."""
    return (x if isinstance(x, Tensor) else Tensor(x)).erf()


def _sigmoid(z):
    """1 / (1 + e**-z), two-branched as Sigmoid's forward, so that exp never overflows.

    A Tensor z (a rule on the create_graph path: silu, softplus, the tanh gelu) takes the exponent -z or z by
    the sign of z's value, not -|z|: |z|'s derivative at 0 is sgn(0) = 0, which would make the sigmoid's
    derivative 0 at z = 0 (it is 1/4) and the second derivatives of those activations wrong there."""
    if type(z) is Tensor:
        e = np.exp(np.where(z.data >= 0, -z, z))
    else:
        e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


# ---------------------------------------------------------------------------------------------- selections
class Maximum(Elementwise):
    """Elementwise max(a, b), nan propagated. Gradient: to the larger operand; on a tie each operand gets
    half (PyTorch's convention for ``torch.maximum``)."""

    selects = True

    @staticmethod
    def forward(ctx, a, b):
        out = np.maximum(a, b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def local(need, a, b, out):
        return _tie_split(need, a, b, np.less, np.greater)


class Minimum(Elementwise):
    """Elementwise min(a, b), nan propagated. Gradient: to the smaller operand; on a tie each operand gets
    half (PyTorch's convention for ``torch.minimum``)."""

    selects = True

    @staticmethod
    def forward(ctx, a, b):
        out = np.minimum(a, b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def local(need, a, b, out):
        return _tie_split(need, a, b, np.greater, np.less)


def _tie_split(need, a, b, a_loses, b_loses):
    """The local derivatives of max(a, b) (or min): 1 for the operand that wins, 0 for the one that loses,
    1/2 each on a tie. Where either is nan neither loses: both pass the gradient on."""
    a, b = value(a), value(b)  # piecewise constant: weights, constants on the Tensor path too
    share = np.where(np.equal(a, b), 0.5, 1.0)
    return (share * ~a_loses(a, b) if need[0] else None), (share * ~b_loses(a, b) if need[1] else None)


class Clip(Unary):
    """x limited to [min, max] (keyword options; either may be None). Gradient 1 where
    min <= x <= max, bounds included, else 0 (PyTorch's ``clamp``), selected: 0 even for an infinite or nan
    gradient, and at a nan x."""

    selects = True

    @staticmethod
    def forward(ctx, x, min=None, max=None):
        if min is None and max is None:
            raise ValueError("clip: give min, max or both (both are None)")
        out = np.clip(x, min, max)  # its dtype may be wider than x's (numpy float64 bounds)
        ctx.save_for_backward(x, (min, max), out)  # the bounds are constants (options), kept as a pair
        return out

    @staticmethod
    def local(x, bounds, out):
        return _inside(value(x), *bounds)


def _inside(x, lo, hi):
    """Where clip lets x through, bounds included (nan never): clip's derivative, as a bool array."""
    inside = np.ones(x.shape, dtype=bool)
    if lo is not None:
        inside &= x >= lo
    if hi is not None:
        inside &= x <= hi
    return inside


class Where(Elementwise):
    """``where(condition, a, b)``: a where condition is true, else b; condition (a bool array) gets no
    gradient, a gets the gradient where it was chosen and b elsewhere."""

    selects = True

    @staticmethod
    def forward(ctx, condition, a, b):
        c = np.asarray(condition)
        if c.dtype != bool:
            c = c != 0
        out = np.where(c, a, b)
        ctx.condition = c  # a constant: not among the saved operands
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def arguments(ctx):
        return (ctx.condition,) + ctx.saved_tensors

    @staticmethod
    def local(need, c, a, b, out):
        # The condition is piecewise constant: no derivative (a tangent it carries contributes nothing).
        return None, c, (~c if need[2] else None)
