"""Parameter initialisation, as ``torch.nn.init``: fill a parameter in place from a distribution, on either engine.

>>> from naivegrad import nn
>>> layer = nn.Linear(256, 128, backend="tensor", seed=0)
>>> nn.init.kaiming_normal_(layer.weight, nonlinearity="relu", generator=0)   # N(0, 2 / 256)
>>> nn.init.zeros_(layer.bias)

Each function takes a parameter of either backend and overwrites its values in place (optimizers and tied
names stay attached), then returns it:

- tensor backend: a ``Tensor`` (an ``nn.Parameter``); its data keeps its dtype;
- scalar backend: a numpy object array of ``Value``s (what ``register_parameter`` makes; see
  ``naivegrad.nn.parameter``), or a single ``Value``; each Value's ``data`` is set;
- also a plain floating numpy array.

Randomness comes from numpy: ``generator=`` is a ``numpy.random.Generator`` (draws continue its stream) or an
int seed; ``seed=`` is the same thing under naivegrad's layers' name; with neither, a fresh unseeded
Generator. The draws are float64, made in C order over the parameter's shape, then cast to the parameter's
dtype, so one seed gives the same numbers on the scalar backend and on a float64 Tensor (a float32 Tensor
holds them rounded). They are not torch's numbers (torch has its own generator); the distributions,
bounds and standard deviations are torch's exactly.

Fans are torch's: for a weight of shape ``(out, in, *kernel)``, ``fan_in = in * prod(kernel)`` and
``fan_out = out * prod(kernel)`` (so a ``Linear`` weight ``(nout, nin)`` has ``fan_in = nin``); a parameter
with fewer than 2 dimensions has none (ValueError), as in torch.

Deliberate differences from ``torch.nn.init`` (``tests/nn/test_init_fuzz.py`` checks the rest against torch):

- the numbers are numpy's (see above), so a seed does not reproduce torch's draws, only their distribution;
- errors are ValueError/TypeError naming the value where torch's samplers raise RuntimeError (``uniform_``
  with a > b, ``normal_`` with std < 0, a negative ``gain``, ``trunc_normal_`` with a > b or std <= 0), and
  ``constant_`` rejects nan (torch fills it);
- ``calculate_gain("leaky_relu", param)`` also takes numpy numbers as the slope (torch: Python int/float);
- ``dirac_`` and ``sparse_`` are not provided.
"""

import math
import warnings
from numbers import Integral, Real

import numpy as np

from ..engines import is_tensor, is_value

__all__ = [
    "calculate_gain", "uniform_", "normal_", "constant_", "ones_", "zeros_",
    "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "trunc_normal_", "eye_",
    "orthogonal_",
]

_LINEAR_FNS = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for a nonlinearity, torch's table: 1 for ``"linear"``, the convolutions and
    ``"sigmoid"``; 5/3 for ``"tanh"``; sqrt(2) for ``"relu"``; sqrt(2 / (1 + negative_slope^2)) for
    ``"leaky_relu"`` (``param`` is the slope, 0.01 by default); 3/4 for ``"selu"``.

    >>> calculate_gain("tanh"), calculate_gain("leaky_relu", 0.2)
    (1.6666666666666667, 1.3867504905630728)
    """
    if nonlinearity in _LINEAR_FNS or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            negative_slope = 0.01
        elif isinstance(param, (bool, np.bool_)) or not isinstance(param, Real):
            raise ValueError(f"negative_slope {param!r} not a valid number")
        else:
            negative_slope = param
        return math.sqrt(2.0 / (1 + negative_slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    names = ", ".join(repr(n) for n in ("linear", "sigmoid", "tanh", "relu", "leaky_relu", "selu") + _LINEAR_FNS[1:])
    raise ValueError(f"Unsupported nonlinearity {nonlinearity!r}; use one of {names}")


# ---------------------------------------------------------------------------------------------- parameters
def _values_array(param):
    """The object array of Values (or None if ``param`` is not one), as a view of the same Values."""
    if is_value(param):
        out = np.empty((), dtype=object)
        out[()] = param
        return out
    if isinstance(param, np.ndarray) and param.dtype == object:
        for v in param.ravel().tolist():
            if not is_value(v):
                raise TypeError(f"an object array to initialise must hold only Values (a scalar-backend "
                                f"parameter), found a {type(v).__name__}: {v!r}")
        return param
    return None


def _shape(param):
    """The parameter's shape, or TypeError naming what it is."""
    if is_tensor(param):
        return tuple(param.shape)
    values = _values_array(param)
    if values is not None:
        return values.shape
    if isinstance(param, np.ndarray):
        if not np.issubdtype(param.dtype, np.floating):
            raise TypeError(f"can only initialise floating-point arrays, got dtype {param.dtype}")
        return param.shape
    raise TypeError(f"expected a parameter (a Tensor, an object array of Values, a Value or a float numpy array), "
                    f"got {type(param).__name__}: {param!r}")


def _write(param, values):
    """Write the float64 array ``values`` (the parameter's shape) into ``param`` in place; return ``param``."""
    if is_tensor(param):
        param.data[...] = values
        return param
    objs = _values_array(param)
    if objs is not None:
        for v, x in zip(objs.ravel().tolist(), np.asarray(values, dtype=np.float64).ravel().tolist()):
            v.data = x
        return param
    param[...] = values
    return param


def _rng(generator, seed):
    if generator is not None and seed is not None:
        raise TypeError("give generator= or seed=, not both")
    g = generator if generator is not None else seed
    if g is None or isinstance(g, np.random.Generator):
        return np.random.default_rng(g)
    if isinstance(g, (bool, np.bool_)) or not isinstance(g, (Integral, np.integer)) or g < 0:
        which = "generator" if generator is not None else "seed"
        raise TypeError(f"{which} must be a numpy.random.Generator or an int seed >= 0, got "
                        f"{type(g).__name__}: {g!r}")
    return np.random.default_rng(int(g))


def _real(name, value):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (Real, np.floating, np.integer)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}: {value!r}")
    if math.isnan(float(value)):
        raise ValueError(f"{name} must be a number, got nan")
    return float(value)


def _calculate_fan_in_and_fan_out(param):
    """(fan_in, fan_out) of a parameter of shape ``(out, in, *kernel)``, as torch's function of this name."""
    shape = _shape(param)
    if len(shape) < 2:
        raise ValueError(f"Fan in and fan out can not be computed for a parameter with fewer than 2 dimensions "
                         f"(shape {shape})")
    receptive_field_size = 1
    for s in shape[2:]:
        receptive_field_size *= s
    return shape[1] * receptive_field_size, shape[0] * receptive_field_size


def _calculate_correct_fan(param, mode):
    m = mode.lower() if isinstance(mode, str) else mode
    if m not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode!r} not supported, please use one of ['fan_in', 'fan_out']")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(param)
    return fan_in if m == "fan_in" else fan_out


# ---------------------------------------------------------------------------------------------- fills
def uniform_(tensor, a=0.0, b=1.0, generator=None, seed=None):
    """Fill with values drawn from U(a, b) (``a <= b``)."""
    shape = _shape(tensor)
    a, b = _real("a", a), _real("b", b)
    if a > b:
        raise ValueError(f"uniform_ needs a <= b, got a={a!r} and b={b!r}")
    return _write(tensor, _rng(generator, seed).uniform(a, b, size=shape))


def normal_(tensor, mean=0.0, std=1.0, generator=None, seed=None):
    """Fill with values drawn from N(mean, std^2) (``std >= 0``)."""
    shape = _shape(tensor)
    mean, std = _real("mean", mean), _real("std", std)
    if std < 0:
        raise ValueError(f"normal_ needs std >= 0, got std={std!r}")
    return _write(tensor, _rng(generator, seed).normal(mean, std, size=shape))


def constant_(tensor, val):
    """Fill with the value ``val``."""
    return _write(tensor, np.full(_shape(tensor), _real("val", val)))


def ones_(tensor):
    """Fill with 1."""
    return _write(tensor, np.ones(_shape(tensor)))


def zeros_(tensor):
    """Fill with 0."""
    return _write(tensor, np.zeros(_shape(tensor)))


def _gain(gain):
    # torch raises for a negative gain (its uniform_/normal_ reject the reversed bounds / negative std); taking
    # abs(gain) instead silently drew from a distribution the caller did not ask for.
    gain = _real("gain", gain)
    if gain < 0:
        raise ValueError(f"gain must be >= 0, got gain={gain!r}")
    return gain


def xavier_uniform_(tensor, gain=1.0, generator=None, seed=None):
    """Glorot / Xavier uniform: U(-a, a) with ``a = gain * sqrt(6 / (fan_in + fan_out))``."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = _gain(gain) * math.sqrt(2.0 / float(fan_in + fan_out))
    a = math.sqrt(3.0) * std
    return uniform_(tensor, -a, a, generator=generator, seed=seed)


def xavier_normal_(tensor, gain=1.0, generator=None, seed=None):
    """Glorot / Xavier normal: N(0, std^2) with ``std = gain * sqrt(2 / (fan_in + fan_out))``."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = _gain(gain) * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator=generator, seed=seed)


def _kaiming_std(tensor, a, mode, nonlinearity):
    fan = _calculate_correct_fan(tensor, mode)
    gain = calculate_gain(nonlinearity, a)
    return gain / math.sqrt(fan)


def _empty(tensor):
    if 0 in _shape(tensor):
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return True
    return False


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None, seed=None):
    """He / Kaiming uniform: U(-bound, bound) with ``bound = gain * sqrt(3 / fan)``, ``gain =
    calculate_gain(nonlinearity, a)`` and ``fan`` the fan_in or fan_out (``mode``).

    ``a`` is the leaky ReLU's negative slope (used only with ``nonlinearity="leaky_relu"``, the default, which
    with ``a=0`` gives ReLU's gain sqrt(2)). ``kaiming_uniform_(w, a=math.sqrt(5))`` is torch's default for
    ``Linear`` weights: U(-1/sqrt(fan_in), 1/sqrt(fan_in)). A zero-element parameter is left as it is, with
    torch's warning.
    """
    if _empty(tensor):
        return tensor
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound, generator=generator, seed=seed)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None, seed=None):
    """He / Kaiming normal: N(0, std^2) with ``std = gain / sqrt(fan)``; arguments as ``kaiming_uniform_``."""
    if _empty(tensor):
        return tensor
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    return normal_(tensor, 0.0, std, generator=generator, seed=seed)


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None, seed=None):
    """N(mean, std^2) truncated to [a, b]: draws outside [a, b] are redrawn, as torch's. ``a`` and ``b`` are
    values, not multiples of ``std`` (the default [-2, 2] is two standard deviations only when std=1).

    As torch: when [a, b] holds more than 0.3 of the normal's mass, normal draws are redrawn until inside;
    otherwise uniform draws on [a, b] are accepted with the normal density relative to its peak on [a, b]
    (exact, and fast far in a tail). A mean more than 2 std outside [a, b] gets torch's warning.
    """
    shape = _shape(tensor)
    mean, std, a, b = _real("mean", mean), _real("std", std), _real("a", a), _real("b", b)
    if std <= 0:
        raise ValueError(f"trunc_normal_ needs std > 0, got std={std!r}")
    if a > b:
        raise ValueError(f"trunc_normal_ needs a <= b, got a={a!r} and b={b!r}")
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. "
                      "The distribution of values may be incorrect.", stacklevel=2)
    rng = _rng(generator, seed)

    def cdf(x):
        return (1.0 + math.erf((x - mean) / (std * math.sqrt(2.0)))) / 2.0

    if cdf(b) - cdf(a) > 0.3:
        out = rng.normal(mean, std, size=shape)
        redraw = (out < a) | (out > b)
        while redraw.any():
            out[redraw] = rng.normal(mean, std, size=int(redraw.sum()))
            redraw = (out < a) | (out > b)
    else:
        peak = min(max(mean, a), b)  # where the density is highest on [a, b]

        def rejected(x):
            return np.log(rng.uniform(size=x.shape)) > 0.5 * (((peak - mean) / std) ** 2 - ((x - mean) / std) ** 2)

        out = rng.uniform(a, b, size=shape)
        redraw = rejected(out)
        while redraw.any():
            out[redraw] = rng.uniform(a, b, size=int(redraw.sum()))
            redraw[redraw] = rejected(out[redraw])
    return _write(tensor, out)


def eye_(tensor):
    """The identity matrix (ones on the diagonal, zeros elsewhere; rectangular too) in a 2-d parameter."""
    shape = _shape(tensor)
    if len(shape) != 2:
        raise ValueError(f"eye_ takes a parameter with 2 dimensions, got shape {shape}")
    return _write(tensor, np.eye(*shape))


def orthogonal_(tensor, gain=1.0, generator=None, seed=None):
    """A (semi-)orthogonal matrix times ``gain``, as torch's: the trailing dimensions are flattened into
    columns, and Q of the QR factorisation of a N(0, 1) matrix, its columns' signs fixed by R's diagonal (so Q
    is uniform, Haar-distributed); orthonormal rows when rows < columns. Zero elements: left as it is.
    """
    shape = _shape(tensor)
    if len(shape) < 2:
        raise ValueError(f"orthogonal_ takes a parameter with 2 or more dimensions, got shape {shape}")
    gain = _real("gain", gain)
    if 0 in shape:
        return tensor
    rows = shape[0]
    flat = _rng(generator, seed).standard_normal((rows, math.prod(shape[1:])))
    wide = rows < flat.shape[1]
    q, r = np.linalg.qr(flat.T if wide else flat)
    q = q * np.sign(np.diag(r))
    return _write(tensor, gain * (q.T if wide else q).reshape(shape))
