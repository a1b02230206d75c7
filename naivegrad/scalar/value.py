"""The scalar engine: one ``Value`` per number, micrograd's idea made exact and fast.

Every op has a *derivative rule*, written once, as on paper: a small function of the op's arguments and its
output that returns d out / d argument for each argument::

    def _d_sqrt(x, out):
        return (div(0.5, out),)        # d/dx sqrt(x) = 1 / (2 sqrt(x))

    def _d_sin(x, out):
        return (cos(x),)

The rule serves both orders of differentiation:

- first order: the op evaluates its rule on floats as it runs and records the local derivatives in the
  output node (``_local``). Reverse mode (``backward()``) multiplies them by the incoming gradient; forward
  mode multiplies them by the operands' tangents.
- higher orders: the node's ``_op`` (micrograd's op name) is an ``Op``, a str that also carries the rule
  (and the number operand of ``x * 2.0`` or ``2.0 ** x``), so ``backward(create_graph=True)``
  (``naivegrad.scalar.higher_order``) evaluates the *same* rule on the node's operands, which are Values:
  the local derivatives come out as Values with a graph, and the gradient can be differentiated again.

A rule therefore only uses arithmetic, the functions ``div``, ``log``, ``pow_``, ``sin``, ``cos``, ``exp``,
``sigmoid`` and ``normal_cdf`` defined below, which work on floats and on Values alike, and ``float()`` to read
a number for a branch. The rules of abs, relu, leaky_relu and sign, whose derivatives are constant on either
side of the kink, read numbers only. An op with numeric options (``softplus(beta, threshold)``,
``leaky_relu(negative_slope)``, ``elu(alpha)``) records an Op that carries them (``_WithOptions``): its rule
takes them after the operand; gelu's two forms (``approximate="none"`` or ``"tanh"``) are two Ops.

Where an op passes no gradient at all to an operand, its rule gives ``SELECTED`` rather than 0.0: relu where
x <= 0, and d/da a ** b at b == 0. It is 0.0 whose products are 0.0 too, so an infinite or nan gradient (or
tangent) gives exactly 0 there, as PyTorch's masks do (threshold_backward, where), and not 0 * inf = nan. A
derivative that is merely 0 (abs at 0, x * 0) multiplies, as in PyTorch.

Numerics follow IEEE-754 as numpy and PyTorch do (log(0) = -inf, exp(1000) = inf, (-8) ** 0.5 = nan):
the functions in ``naivegrad.scalar.ieee`` replace ``math``'s, which raise instead.
"""

import math
from itertools import count
from numbers import Real
from operator import attrgetter
from types import FunctionType

from ..grad_mode import _state as _grad_state, threads_off as _threads_off
from ..op_options import gelu_approximate as _approximate, number as _number
from . import ieee
from ._collector import pausing_collector, pausing_op

__all__ = ["Value"]

_ids = count()                 # creation order is a topological order: operands always exist first
_by_creation = attrgetter("_id")
_new = object.__new__


# ---------------------------------------------------------------------------- what rules compute with
# Arithmetic works on floats and Values alike; so do these. On floats they are the IEEE functions (no
# exceptions, as numpy), on Values the ops of the same name, which record nodes.
div = ieee.div  # a / b, stepping in only where float division raises, which a Value's never does


def log(x):
    return x.log() if type(x) is Value else ieee.log(x)


def pow_(a, b):
    return a ** b if type(a) is Value or type(b) is Value else ieee.pow_(a, b)


def sin(x):
    return x.sin() if type(x) is Value else ieee.sin(x)


def cos(x):
    return x.cos() if type(x) is Value else ieee.cos(x)


def exp(x):
    return x.exp() if type(x) is Value else ieee.exp(x)


def sigmoid(x):
    return x.sigmoid() if type(x) is Value else ieee.sigmoid(x)


def normal_cdf(x):
    """Phi(x) = erfc(-x / sqrt(2)) / 2, the standard normal distribution function (gelu's weight). No Value method
    has it, so on a Value it makes a node of its own, whose rule is the normal density: gelu's rule, which uses
    it, differentiates again."""
    if type(x) is Value:
        d = x.data
        return _unary(_normal_cdf(d), x, _d_normal_cdf(d, None), _NORMAL_CDF)
    return _normal_cdf(x)


class _Selected(float):
    """0.0, as the local derivative of an operand that gets no gradient: its products are 0.0, even by inf
    or nan. Only rules give it, and only for those operands, so every other product stays a plain float's."""

    __slots__ = ()

    def __mul__(self, other):
        return 0.0

    __rmul__ = __mul__


SELECTED = _Selected(0.0)


# ---------------------------------------------------------------------------- the derivative rules
# One per op: rule(*arguments, out) -> (d out / d argument, for each argument). Number arguments get a
# derivative too (it is simply not used), so that one rule covers a * b, a * 2.0, 2.0 ** a and a ** b.
def _d_add(a, b, out):
    return 1.0, 1.0


def _d_sub(a, b, out):
    return 1.0, -1.0


def _d_mul(a, b, out):
    return b, a


def _d_div(a, b, out):
    return div(1.0, b), -div(out, b)  # d/db a / b = -a / b**2 = -out / b


def _d_pow(a, b, out):
    na, nb = float(a), float(b)  # the numbers, for PyTorch's conventions:
    # d/da a**b = b a**(b-1), taken as 0 at b == 0 (not 0 * inf at a == 0), selected: a ** 0 is the constant
    # 1. An exponent that is a Value keeps the expression there (it is 0, and its d/db is a**-1) where a**-1
    # is finite.
    if nb == 0.0 and (type(b) is not Value or not math.isfinite(ieee.pow_(na, -1.0))):
        da = SELECTED
    else:
        da = b * pow_(a, b - 1.0)
    # d/db a**b = a**b ln a, taken as 0 where a == 0 and b >= 0 (the limit from a > 0, not 0 * -inf).
    db = 0.0 if (na == 0.0 and nb >= 0.0) else out * log(a)
    return da, db


def _d_neg(x, out):
    return (-1.0,)


def _d_abs(x, out):
    return (1.0 if x > 0 else -1.0 if x < 0 else 0.0,)  # abs'(0) = 0, as in PyTorch (a number: see _Steps)


def _d_exp(x, out):
    return (out,)


def _d_log(x, out):
    return (div(1.0, x),)


def _d_log1p(x, out):
    return (div(1.0, 1.0 + x),)


def _log1p(x):
    """log(1 + x) on a float, accurate for tiny x (math.log1p), IEEE at the pole: -inf at -1, nan below -1."""
    if x > -1.0:
        return math.log1p(x)
    return -math.inf if x == -1.0 else math.nan


def _d_sqrt(x, out):
    return (div(0.5, out),)


def _d_tanh(x, out):
    return (1.0 - out * out,)


def _d_sigmoid(x, out):
    return (out * (1.0 - out),)


def _d_relu(x, out):
    # relu'(0) = 0, as in PyTorch (a number: see _Steps); no gradient passes where x <= 0, and all of it
    # elsewhere, at nan too (PyTorch's threshold_backward).
    return (SELECTED,) if x <= 0.0 else (1.0,)


def _d_sin(x, out):
    return (cos(x),)


def _d_cos(x, out):
    return (-sin(x),)


def _d_expm1(x, out):
    # e**x as out + 1, as PyTorch: exact to an ulp of 1 (it is 0 below x = -37, where e**x is below 1e-16, so an
    # infinite gradient there gives nan, as in PyTorch)
    return (out + 1.0,)


_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_SQRT1_2 = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_GELU_TANH_SCALE = 2.0 * math.sqrt(2.0 / math.pi)  # (1 + tanh(u)) / 2 = sigmoid(2u), u = sqrt(2/pi) (x + c x**3)
_GELU_TANH_CUBIC = 0.044715


def _d_erf(x, out):
    return (_TWO_OVER_SQRT_PI * exp(-x * x),)


def _normal_cdf(x):
    # erfc, not 1 + erf(x / sqrt 2): exact in the left tail too, where 1 + erf loses every digit below x = -8
    return 0.5 * ieee.erfc(-x * _SQRT1_2)


def _d_normal_cdf(x, out):
    return (exp(-0.5 * x * x) * _INV_SQRT_2PI,)


def _d_gelu(x, out):
    # d/dx x Phi(x) = Phi(x) + x phi(x); at ±inf it is nan (inf * 0), as in PyTorch
    return (normal_cdf(x) + x * exp(-0.5 * x * x) * _INV_SQRT_2PI,)


def _gelu_tanh_arg(x):
    """2u = 2 sqrt(2/pi) (x + 0.044715 x**3): PyTorch's tanh gelu is x (1 + tanh(u)) / 2 = x sigmoid(2u)."""
    return _GELU_TANH_SCALE * (x + _GELU_TANH_CUBIC * x * x * x)


def _d_gelu_tanh(x, out):
    # d/dx x s(2u) = s + x s(2u) s(-2u) d(2u)/dx: s(-2u) is 1 - s(2u) without the cancellation
    z = _gelu_tanh_arg(x)
    s = sigmoid(z)
    return (s + x * (s * sigmoid(-z)) * (_GELU_TANH_SCALE * (1.0 + 3.0 * _GELU_TANH_CUBIC * x * x)),)


def _d_silu(x, out):
    # d/dx x s(x) = s(x) (1 + x s(-x)): s(-x) is 1 - s(x) without the cancellation
    return (sigmoid(x) * (1.0 + x * sigmoid(-x)),)


def _d_softplus(x, beta, threshold, out):
    # Above the threshold the output is x (PyTorch's switch, beta * x > threshold): derivative 1 there.
    return (1.0,) if float(x) * beta > threshold else (sigmoid(x * beta),)


def _softplus(x, beta, threshold):
    """log(1 + e**(beta x)) / beta on a float, and x itself where beta x > threshold, as PyTorch."""
    bx = x * beta
    return x if bx > threshold else _log1p(ieee.exp(bx)) / beta


def _d_leaky_relu(x, negative_slope, out):
    # 1 where x > 0, the slope at 0 and below (and at nan), as PyTorch: a number (see _Steps)
    return (1.0 if x > 0.0 else negative_slope,)


def _d_elu(x, alpha, out):
    # alpha e**x at x <= 0, so elu'(0) = alpha, and 1 above (and at nan), as PyTorch
    return (alpha * exp(x),) if float(x) <= 0.0 else (1.0,)


def _d_rsqrt(x, out):
    return (-0.5 * out * out * out,)  # d/dx x**-1/2 = -x**-3/2 / 2


def _d_square(x, out):
    return (2.0 * x,)


def _d_reciprocal(x, out):
    return (-(out * out),)


def _d_sign(x, out):
    return (SELECTED,)  # piecewise constant: no gradient passes, exactly 0 even for inf or nan (PyTorch's zeros)


def _sign(x):
    """1.0, -1.0, or 0.0 at ±0 and at nan (PyTorch's sign: (0 < x) - (x < 0); numpy's gives nan)."""
    return 1.0 if x > 0.0 else -1.0 if x < 0.0 else 0.0


# ---------------------------------------------------------------------------- op names that know their rule
class Op(str):
    """An op's name, as micrograd records it in ``_op`` ("*", "tanh", "**2.0"), that also knows the op's rule.

    It is a str, so printing and drawing a graph see the name alone. An op with a number operand carries
    that number (the 2.0 of ``x * 2.0``, ``x ** 2.0`` or ``2.0 ** x``) and which side it was on: a node
    keeps its Value operands only (``_prev``), and the rule needs all its arguments.
    """

    def __new__(cls, name, rule, number=None, number_first=False):
        op = super().__new__(cls, name)
        op.rule, op.number, op.number_first = rule, number, number_first
        return op

    def __reduce__(self):  # copy and pickle: str's own way would call __new__ with the name alone
        return type(self), (str(self), self.rule, self.number, self.number_first), self.__dict__

    def derivatives(self, node):
        """The rule evaluated on ``node``'s own operands: d node / d operand, one per operand in ``_prev``.

        On a node of Values this gives Values (with their graph): ``backward(create_graph=True)`` uses it.
        """
        if self.number is None:
            return self.rule(*node._prev, node)
        (x,) = node._prev
        if self.number_first:
            return self.rule(self.number, x, node)[1:]
        return self.rule(x, self.number, node)[:1]


class _Steps(Op):
    """The Op of abs and relu, whose derivatives are constant on either side of a kink: their rules compare
    numbers, and give numbers, whatever the order of differentiation."""

    def derivatives(self, node):
        return self.rule(*[x.data for x in node._prev], node.data)


class _WithOptions(Op):
    """The Op of a unary op with options (softplus's beta and threshold, leaky_relu's slope, elu's alpha): it
    carries them, and its rule takes them after the operand, ``rule(x, *options, out)``. ``steps`` as for
    ``_Steps``: a rule constant on either side of a kink reads numbers."""

    def __new__(cls, name, rule, options, steps=False):
        op = Op.__new__(cls, name, rule)
        op.options, op.steps = options, steps
        return op

    def __reduce__(self):
        return type(self), (str(self), self.rule, self.options, self.steps), self.__dict__

    def derivatives(self, node):
        (x,) = node._prev
        if self.steps:
            return self.rule(x.data, *self.options, node.data)
        return self.rule(x, *self.options, node)


class _OptionOps(dict):
    """The Ops of one op with options, by options (as _WithNumber: a loop's ``x.leaky_relu(0.2)`` makes one)."""

    def __init__(self, name, rule, steps=False):
        super().__init__()
        self.name, self.rule, self.steps = name, rule, steps

    def __missing__(self, options):
        op = _WithOptions(self.name, self.rule, options, self.steps)
        if all(o == o and o != 0.0 for o in options):  # 0.0 == -0.0 and nan != nan as keys: not kept
            if len(self) >= 1024:
                self.clear()
            self[options] = op
        return op


class _WithNumber(dict):
    """The Ops of one binary op with a number operand, by number: a loop's ``x * 0.5`` makes its Op once."""

    def __init__(self, name, rule, number_first=False, named=False):
        super().__init__()
        self.name, self.rule, self.number_first, self.named = name, rule, number_first, named

    def __missing__(self, c):
        op = Op(self.name + repr(c) if self.named else self.name, self.rule, c, self.number_first)
        if c != 0.0 and c == c:  # as keys, 0.0 == -0.0 and nan != nan: those Ops are not kept
            if len(self) >= 1024:
                self.clear()
            self[c] = op
        return op


_ADD, _SUB, _MUL, _DIV, _POW = Op("+", _d_add), Op("-", _d_sub), Op("*", _d_mul), Op("/", _d_div), Op("**", _d_pow)
_NEG, _ABS, _EXP, _LOG = Op("neg", _d_neg), _Steps("abs", _d_abs), Op("exp", _d_exp), Op("log", _d_log)
_SQRT, _TANH, _SIGMOID = Op("sqrt", _d_sqrt), Op("tanh", _d_tanh), Op("sigmoid", _d_sigmoid)
_RELU, _SIN, _COS = _Steps("relu", _d_relu), Op("sin", _d_sin), Op("cos", _d_cos)
_LOG1P = Op("log1p", _d_log1p)
_EXPM1, _ERF, _NORMAL_CDF = Op("expm1", _d_expm1), Op("erf", _d_erf), Op("normal_cdf", _d_normal_cdf)
_GELU, _GELU_TANH, _SILU = Op("gelu", _d_gelu), Op("gelu_tanh", _d_gelu_tanh), Op("silu", _d_silu)
_RSQRT, _SQUARE, _RECIPROCAL = Op("rsqrt", _d_rsqrt), Op("square", _d_square), Op("reciprocal", _d_reciprocal)
_SIGN = _Steps("sign", _d_sign)
_SOFTPLUS, _ELU = _OptionOps("softplus", _d_softplus), _OptionOps("elu", _d_elu)
_LEAKY_RELU = _OptionOps("leaky_relu", _d_leaky_relu, steps=True)
_PLUS, _MINUS, _RSUB = _WithNumber("+", _d_add), _WithNumber("-", _d_sub), _WithNumber("rsub", _d_sub, True)
_TIMES, _OVER, _RDIV = _WithNumber("*", _d_mul), _WithNumber("/", _d_div), _WithNumber("rdiv", _d_div, True)
_POWER, _RPOW = _WithNumber("**", _d_pow, named=True), _WithNumber("rpow", _d_pow, True, named=True)  # "**2.0"

# + and - are linear: their rules do not look at the arguments, so their derivatives are evaluated once, here
# (for a number operand, ``[:1]`` keeps the derivative with respect to the left argument, ``[1:]`` the right's).
_D_ADD, _D_SUB, _D_NEG = _d_add(None, None, None), _d_sub(None, None, None), _d_neg(None, None)
_D_ADD_LEFT, _D_SUB_LEFT, _D_SUB_RIGHT = _D_ADD[:1], _D_SUB[:1], _D_SUB[1:]


# ---------------------------------------------------------------------------- making nodes
class _Unrecorded(Op):
    """The op of a result computed under no_grad: an empty name and no operands, as a leaf has, but its own
    type, so that backward() can tell it from a leaf (or from a constant, such as a sum of numbers) and refuse."""


_UNRECORDED = _Unrecorded("", None)


# A node keeps its operands and their local derivatives in slots of its own: ``_a`` and ``_da`` for the
# first operand, ``_b`` and ``_db`` for the second (None for a unary op), or, for a node with more operands
# (a fused ``sum`` or ``dot``, a node built by hand), all of them as tuples in ``_a`` and ``_da``. A leaf has
# ``_a = None``. Slots, not micrograd's ``_prev`` tuple: a node is then one object for Python's cyclic
# garbage collector to count and walk, not two or three (micrograd's graph code sets collections off between
# our ops, and a round of its demo was half collector; bench/bench_scalar.py). ``_prev`` and ``_local`` are
# read back from the slots (properties of Value), for inspection and drawing.
def _unary(data, x, local, op):
    """Make the output of a unary op on the Value ``x`` (a number operand lives in ``op``); ``local`` is the
    rule's 1-tuple, d(data)/dx."""
    out = _new(Value)
    out.data = data
    out.grad = 0.0
    out._id = next(_ids)
    (d,) = local
    t = x.tangent  # forward mode: the same local derivative times the operand's tangent
    out.tangent = None if t is None else d * t
    if not _threads_off[0] or _grad_state.enabled:  # recording (the count spares most ops a thread-local read)
        out._a, out._da, out._b, out._op = x, d, None, op
    else:
        out._a, out._op = None, _UNRECORDED
    return out


def _binary(data, a, b, local, op):
    """Make the output of a binary op on the Values ``a`` and ``b``; ``local`` is the rule's pair of local
    derivatives."""
    out = _new(Value)
    out.data = data
    out.grad = 0.0
    out._id = next(_ids)
    da, db = local
    ta, tb = a.tangent, b.tangent
    if ta is None:
        out.tangent = None if tb is None else db * tb
    else:
        out.tangent = da * ta if tb is None else da * ta + db * tb
    if not _threads_off[0] or _grad_state.enabled:
        out._a, out._b, out._da, out._db, out._op = a, b, da, db, op
    else:
        out._a, out._op = None, _UNRECORDED
    return out


def _record_many(out, prev, local, op):
    """Record operands ``prev`` (a tuple of Values) with local derivatives ``local`` (a tuple) and ``op`` in the
    new node ``out``, as an n-ary node: a fused sum or dot, or a node built by hand. No operands: a leaf's
    slots, so that backward() stops there (a constant, such as the max of numbers)."""
    if _threads_off[0] and not _grad_state.enabled:
        out._a, out._op = None, _UNRECORDED
    elif prev:
        out._a, out._da, out._b, out._op = prev, local, None, op
    else:
        out._a, out._op = None, op


def _const(x):
    """A plain real number as a float, or None: a constant operand gets no node of its own (as in PyTorch)."""
    if type(x) is float:  # not isinstance: a numpy float64 must become a float, or numpy arithmetic leaks in
        return x
    if type(x) is int or isinstance(x, Real):  # (an int first: the ABC check is slow, and 1 - x is common)
        return float(x)
    return None


class Value:
    """A scalar that remembers how it was computed, so that ``backward()`` can find its gradient.

    >>> a, b = Value(2.0), Value(-3.0)
    >>> c = a * b + a.tanh(); c.backward(); a.grad   # dc/da = b + 1 - tanh(a)**2
    -2.929349...

    Attributes: ``data`` (float), ``grad`` (float, accumulated by ``backward``), ``tangent`` (float or None,
    the forward-mode derivative carried along), and micrograd's ``_prev`` (the operands, in order) and
    ``_op`` (the op's name, an ``Op``: a str that also carries the op's derivative rule) for inspection and
    drawing; ``_local`` holds d(data)/d(operand) for each operand (both read back from the node's slots,
    see ``_unary``).
    """

    __slots__ = ("data", "grad", "tangent", "_a", "_b", "_da", "_db", "_op", "_id", "__weakref__")

    def __init__(self, data, _children=(), _op="", *, tangent=None):
        if type(data) is not float:  # (a float, the common case, needs no checks)
            if isinstance(data, Value):
                data = data.data
            elif not isinstance(data, Real):
                raise TypeError(f"Value() needs a real number, got {type(data).__name__}: {data!r}")
            data = float(data)
        self.data = data
        self.grad = 0.0
        self.tangent = None if tangent is None else float(tangent)
        # micrograd lets users build nodes by hand; such nodes have no local derivatives to walk, and their
        # op is only a name (a str, never an ``Op``): no rule to differentiate them again.
        prev = tuple(_children)
        self._a = prev or None
        if prev:
            self._da, self._b = (0.0,) * len(prev), None
        self._op = str(_op) if isinstance(_op, Op) else _op
        self._id = next(_ids)

    @property
    def _prev(self):
        """The operands, in order (micrograd's ``_prev``, a tuple here): () for a leaf."""
        a = self._a
        if a is None or type(a) is tuple:
            return a or ()
        b = self._b
        return (a,) if b is None else (a, b)

    @property
    def _local(self):
        """d(data)/d(operand) for each operand in ``_prev``, as floats."""
        a = self._a
        if a is None:
            return ()
        if type(a) is tuple:
            return self._da
        return (self._da,) if self._b is None else (self._da, self._db)

    # ------------------------------------------------------------------ binary ops
    # A number operand is an argument of the rule but not an operand of the node (its Op carries it): ``[:1]``
    # keeps the derivative with respect to the Value on the left, ``[1:]`` the one on the right.
    def __add__(self, other):
        if type(other) is Value:
            return _binary(self.data + other.data, self, other, _D_ADD, _ADD)
        c = _const(other)
        if c is None:
            return NotImplemented
        return _unary(self.data + c, self, _D_ADD_LEFT, _PLUS[c])

    __radd__ = __add__

    def __mul__(self, other):
        a = self.data
        if type(other) is Value:
            b = other.data
            out = a * b
            return _binary(out, self, other, _d_mul(a, b, out), _MUL)
        c = _const(other)
        if c is None:
            return NotImplemented
        out = a * c
        return _unary(out, self, _d_mul(a, c, out)[:1], _TIMES[c])

    __rmul__ = __mul__

    def __sub__(self, other):
        if type(other) is Value:
            return _binary(self.data - other.data, self, other, _D_SUB, _SUB)
        c = _const(other)
        if c is None:
            return NotImplemented
        return _unary(self.data - c, self, _D_SUB_LEFT, _MINUS[c])

    def __rsub__(self, other):  # other - self
        c = _const(other)
        if c is None:
            return NotImplemented
        return _unary(c - self.data, self, _D_SUB_RIGHT, _RSUB[c])

    def __truediv__(self, other):
        a = self.data
        if type(other) is Value:
            b = other.data
            out = ieee.div(a, b)
            return _binary(out, self, other, _d_div(a, b, out), _DIV)
        c = _const(other)
        if c is None:
            return NotImplemented
        out = ieee.div(a, c)
        return _unary(out, self, _d_div(a, c, out)[:1], _OVER[c])

    def __rtruediv__(self, other):  # other / self
        c = _const(other)
        if c is None:
            return NotImplemented
        b = self.data
        out = ieee.div(c, b)
        return _unary(out, self, _d_div(c, b, out)[1:], _RDIV[c])

    def __pow__(self, other):
        a = self.data
        if type(other) is Value:
            b = other.data
            out = ieee.pow_(a, b)
            return _binary(out, self, other, _d_pow(a, b, out), _POW)
        n = _const(other)
        if n is None:
            return NotImplemented
        out = ieee.pow_(a, n)
        return _unary(out, self, _d_pow(a, n, out)[:1], _POWER[n])

    def __rpow__(self, other):  # other ** self
        c = _const(other)
        if c is None:
            return NotImplemented
        b = self.data
        out = ieee.pow_(c, b)
        return _unary(out, self, _d_pow(c, b, out)[1:], _RPOW[c])

    # ------------------------------------------------------------------ unary ops
    def __neg__(self):
        return _unary(-self.data, self, _D_NEG, _NEG)

    def __pos__(self):
        return self

    def __abs__(self):
        x = self.data
        out = abs(x)
        return _unary(out, self, _d_abs(x, out), _ABS)

    abs = __abs__

    def exp(self):
        x = self.data
        out = ieee.exp(x)
        return _unary(out, self, _d_exp(x, out), _EXP)

    def log(self):
        x = self.data
        out = ieee.log(x)
        return _unary(out, self, _d_log(x, out), _LOG)

    def log1p(self):
        x = self.data
        out = _log1p(x)
        return _unary(out, self, _d_log1p(x, out), _LOG1P)

    def sqrt(self):
        x = self.data
        out = ieee.sqrt(x)
        return _unary(out, self, _d_sqrt(x, out), _SQRT)

    def tanh(self):
        x = self.data
        out = math.tanh(x)
        return _unary(out, self, _d_tanh(x, out), _TANH)

    def sigmoid(self):
        x = self.data
        out = ieee.sigmoid(x)
        return _unary(out, self, _d_sigmoid(x, out), _SIGMOID)

    def relu(self):
        x = self.data
        out = x if not x <= 0.0 else 0.0  # `not x <= 0` keeps nan as nan (numpy's maximum(nan, 0))
        return _unary(out, self, _d_relu(x, out), _RELU)

    def expm1(self):
        """e**x - 1, accurate for tiny x; derivative e**x."""
        x = self.data
        out = ieee.expm1(x)
        return _unary(out, self, _d_expm1(x, out), _EXPM1)

    def erf(self):
        """The error function, 2/sqrt(pi) times the integral of e**-t**2 from 0 to x; derivative
        2/sqrt(pi) e**-x**2."""
        x = self.data
        out = ieee.erf(x)
        return _unary(out, self, _d_erf(x, out), _ERF)

    def gelu(self, approximate="none"):
        """x Phi(x) (Phi: the standard normal distribution function), or with ``approximate="tanh"``
        x (1 + tanh(sqrt(2/pi) (x + 0.044715 x**3))) / 2, as PyTorch's ``gelu``.

        >>> Value(1.0).gelu().data, Value(1.0).gelu(approximate="tanh").data
        (0.841344746068543, 0.8411919906082768)
        """
        x = self.data
        if _approximate(approximate) == "none":
            out = x * _normal_cdf(x)
            return _unary(out, self, _d_gelu(x, out), _GELU)
        out = x * ieee.sigmoid(_gelu_tanh_arg(x))
        return _unary(out, self, _d_gelu_tanh(x, out), _GELU_TANH)

    def silu(self):
        """x sigmoid(x) (swish); derivative sigmoid(x) (1 + x sigmoid(-x))."""
        x = self.data
        out = x * ieee.sigmoid(x)
        return _unary(out, self, _d_silu(x, out), _SILU)

    def softplus(self, beta=1.0, threshold=20.0):
        """log(1 + e**(beta x)) / beta, and x itself where beta x > threshold, as PyTorch's ``softplus``;
        derivative sigmoid(beta x), and 1 above the threshold."""
        beta, threshold = _number(beta, "beta", "softplus"), _number(threshold, "threshold", "softplus")
        x = self.data
        out = _softplus(x, beta, threshold)
        return _unary(out, self, _d_softplus(x, beta, threshold, out), _SOFTPLUS[beta, threshold])

    def leaky_relu(self, negative_slope=0.01):
        """x where x > 0, else ``negative_slope`` times x; its derivative is the slope at 0 (PyTorch's)."""
        slope = _number(negative_slope, "negative_slope", "leaky_relu")
        x = self.data
        out = x if x > 0.0 else x * slope
        return _unary(out, self, _d_leaky_relu(x, slope, out), _LEAKY_RELU[(slope,)])

    def elu(self, alpha=1.0):
        """x where x > 0, else alpha (e**x - 1); derivative 1 above 0, alpha e**x at 0 and below (PyTorch's)."""
        alpha = _number(alpha, "alpha", "elu")
        x = self.data
        out = x if x > 0.0 else alpha * ieee.expm1(x)
        return _unary(out, self, _d_elu(x, alpha, out), _ELU[(alpha,)])

    def rsqrt(self):
        """1 / sqrt(x): inf at 0 (-inf at -0.0), nan below 0; derivative -x**-1.5 / 2."""
        x = self.data
        out = ieee.div(1.0, ieee.sqrt(x))
        return _unary(out, self, _d_rsqrt(x, out), _RSQRT)

    def square(self):
        """x * x; derivative 2x."""
        x = self.data
        out = x * x
        return _unary(out, self, _d_square(x, out), _SQUARE)

    def reciprocal(self):
        """1 / x: ±inf at ±0; derivative -1/x**2."""
        x = self.data
        out = ieee.div(1.0, x)
        return _unary(out, self, _d_reciprocal(x, out), _RECIPROCAL)

    def sign(self):
        """1.0 above 0, -1.0 below, 0.0 at ±0 and at nan, as PyTorch's ``sign``; its gradient is exactly 0."""
        x = self.data
        out = _sign(x)
        return _unary(out, self, _d_sign(x, out), _SIGN)

    def sin(self):
        x = self.data
        out = ieee.sin(x)
        return _unary(out, self, _d_sin(x, out), _SIN)

    def cos(self):
        x = self.data
        out = ieee.cos(x)
        return _unary(out, self, _d_cos(x, out), _COS)

    # ------------------------------------------------------------------ reverse mode
    def backward(self, create_graph=False):
        """Accumulate d(self)/d(leaf) into every leaf's ``grad``, walking the graph in reverse.

        As in PyTorch, leaf gradients add up across calls (zero them between steps). Interior nodes are
        reset first, so a second backward through the same graph adds exactly one more gradient.
        With ``create_graph=True`` the gradients are themselves Values with a graph, so they can be
        differentiated again (higher-order derivatives); see ``naivegrad.func``. A Value computed under
        ``no_grad`` recorded no graph: its backward() raises RuntimeError, as a Tensor's does.
        """
        if type(self._op) is _Unrecorded:
            raise RuntimeError("backward() on a Value that does not require grad (computed under no_grad, so "
                               "it records no graph to differentiate)")
        if create_graph:
            from .higher_order import backward_with_graph

            return backward_with_graph(self)
        _backward(self)

    # ------------------------------------------------------------------ conveniences
    def item(self):
        """The value as a Python float (PyTorch's name)."""
        return self.data

    def __float__(self):
        return self.data

    def __repr__(self):
        return f"Value(data={self.data!r}, grad={self.grad!r})"


class _Zero(float):
    """0.0, as a new object every time (a float subclass: even where equal floats may be one object)."""

    def __new__(cls):
        return super().__new__(cls, 0.0)


@pausing_collector
def _backward(root):
    """d root / d node, into every node's grad: interior nodes are reset first, leaves accumulate."""
    # The interior nodes reachable from root (leaves only receive), newest first: creation order is a topological
    # order. On the way each gets grad = zero, a 0.0 made for this call: that resets it, and marks it as found
    # (a node with many parents is listed once) without a set to look it up in.
    zero = _Zero()
    order, stack = [], [root]
    keep, push = order.append, stack.append
    if root._a is not None:
        keep(root)
        root.grad = zero
    while stack:
        v = stack.pop()
        a = v._a
        if type(a) is tuple:
            for child in a:
                if child._a is not None and child.grad is not zero:
                    child.grad = zero
                    keep(child)
                    push(child)
        elif a is not None:
            if a._a is not None and a.grad is not zero:
                a.grad = zero
                keep(a)
                push(a)
            b = v._b
            if b is not None and b._a is not None and b.grad is not zero:
                b.grad = zero
                keep(b)
                push(b)
    order.sort(key=_by_creation, reverse=True)
    root.grad += 1.0
    for v in order:
        # One loop body per kind of node, as fast as Python gets: unary and binary ops, then n-ary nodes.
        a = v._a
        g = v.grad
        if type(a) is tuple:
            for child, local in zip(a, v._da):
                child.grad += local * g
        else:
            a.grad += v._da * g
            b = v._b
            if b is not None:
                b.grad += v._db * g


def _topological(root):
    """Every node reachable from ``root``, outputs before their operands (an iterative walk: no depth limit)."""
    seen = {root}
    order = [root]
    stack = [root]
    push, add = stack.append, seen.add
    while stack:
        for child in stack.pop()._prev:
            if child not in seen:
                add(child)
                order.append(child)
                push(child)
    order.sort(key=_by_creation, reverse=True)
    return order


# ---------------------------------------------------------------------------- every op pauses the collector
# A graph built op by op in a loop (``y = y * a + b``, a million times) is all new objects, all alive: left
# alone, Python's cyclic garbage collector walks it again and again as it grows (a large graph builds several
# times slower), and no call of naivegrad's spans the loop. So every op runs with the collector paused, as
# naivegrad's larger calls do (see naivegrad.scalar._collector): a collection that comes due meanwhile happens
# at the next allocation outside an op. The ops are wrapped here, all at once (every method that makes a node
# with ``_unary`` or ``_binary``, a new one included), so that each still reads as its math. An op with options (gelu,
# softplus...) takes the general wrapper, which passes keywords and defaults on.
def _pause_ops(cls):
    paused = {}
    for name, attr in list(vars(cls).items()):
        if isinstance(attr, FunctionType) and {"_unary", "_binary"} & set(attr.__code__.co_names):
            wrap = pausing_collector if attr.__defaults__ else pausing_op
            setattr(cls, name, paused.setdefault(id(attr), wrap(attr)))  # an alias (__radd__) shares one


_pause_ops(Value)
