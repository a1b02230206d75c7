"""``math`` functions with IEEE-754 results instead of exceptions, as numpy and PyTorch compute them.

``math.log(0)`` raises where numpy returns -inf, ``math.exp(1000)`` raises where numpy returns inf,
``1 / 0.0`` raises where numpy returns inf, and ``(-8) ** 0.5`` gives a complex number where numpy gives nan.
The scalar engine defines the semantics the tensor engine must match, so it uses these instead.
Each takes the fast path first and pays for the special case only when ``math`` refuses.
"""

import math

inf = math.inf
nan = math.nan


def div(a, b):
    """a / b with a zero divisor giving ±inf (or nan for 0/0), as in IEEE-754."""
    try:
        return a / b
    except ZeroDivisionError:
        if a == 0.0 or a != a:
            return nan
        return math.copysign(inf, a) * math.copysign(1.0, b)


def exp(x):
    try:
        return math.exp(x)
    except OverflowError:
        return inf


def expm1(x):
    """e**x - 1, accurate for tiny x (math.expm1), inf on overflow."""
    try:
        return math.expm1(x)
    except OverflowError:
        return inf


erf = math.erf    # both are defined everywhere (erf(±inf) = ±1, erfc(inf) = 0, nan in, nan out): never raise
erfc = math.erfc


def log(x):
    if x > 0.0:
        return math.log(x)
    if x == 0.0:
        return -inf
    return nan  # negative or nan


def sqrt(x):
    if x >= 0.0:
        return math.sqrt(x)
    return nan  # negative or nan (math.sqrt(-0.0) is -0.0, as in IEEE)


def sin(x):
    try:
        return math.sin(x)
    except ValueError:  # sin(±inf)
        return nan


def cos(x):
    try:
        return math.cos(x)
    except ValueError:
        return nan


def sigmoid(x):
    # Two branches so that exp never overflows: 1 / (1 + e^-x) for x >= 0, e^x / (1 + e^x) below.
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    if x < 0.0:
        e = math.exp(x)
        return e / (1.0 + e)
    return nan


def _odd_integer(y):
    return y == math.floor(y) and y % 2.0 == 1.0


def pow_(x, y):
    """x ** y as C's pow: real results only (nan where the real power does not exist), ±inf on overflow."""
    try:
        return math.pow(x, y)
    except OverflowError:
        return -inf if (x < 0.0 and _odd_integer(y)) else inf
    except ValueError:
        if x == 0.0:  # 0 ** negative: ±inf, the sign of zero kept for odd integer powers
            return math.copysign(inf, x) if _odd_integer(y) else inf
        return nan  # negative base, non-integer exponent
