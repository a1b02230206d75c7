"""Check an engine's derivatives against central finite differences, on Tensors and on Values.

``gradcheck(func, inputs)`` builds the Jacobian of ``func`` at ``inputs`` three ways, in float64: reverse mode
(one ``backward`` per output element), forward mode (one run per input element with a one-hot tangent; on the
tensor engine only where every op has a ``jvp`` rule, otherwise skipped and said so), and central differences
(f(x + eps) - f(x - eps)) / (2 eps). It passes when both analytic Jacobians match the numerical one within
``atol + rtol * |numerical|`` (``np.allclose``), and otherwise names the worst element: which mode, input,
input index and output, analytic vs numerical.

>>> W = Tensor(np.random.randn(10, 5))
>>> gradcheck(lambda x: x.dot(W).relu().logsoftmax(), Tensor(np.random.randn(1, 10)))
True
>>> gradcheck(lambda a, b: (a * b).tanh(), (Value(0.5), 2.0))           # several inputs: a tuple
True

Inputs, and which engine runs ``func``:

- a ``Tensor``, a numpy array or a list of numbers (the seed's ``input``): one Tensor argument (tensor engine);
- a ``Value`` or a Python number: one Value argument (scalar engine); a list (nested lists, or an object
  array) holding Values: the same structure of fresh Values, as micrograd's ``MLP(x)`` takes them;
- a tuple of the above: several arguments, ``func(*inputs)``, as ``torch.autograd.gradcheck``. One engine per call.

``func`` returns a Tensor or a list/tuple of Tensors (tensor engine), or a Value or a (nested) list/tuple/object
array of Values (scalar engine; plain numbers among them are constants). Gradients held by leaves that ``func`` closes over (model parameters) are put
back as they were. ``jacobian`` and ``numerical_jacobian`` are the seed's one-input functions; both return an
array of shape (output size, input size), C order.
"""

import numbers
from dataclasses import dataclass, field

import numpy as np

from .grad_mode import enable_grad, no_grad
from .scalar import Value
from .tensor import Function, Tensor

__all__ = ["gradcheck", "check_gradients", "jacobian", "numerical_jacobian", "GradcheckError",
           "GradcheckResult", "Mismatch"]

EPS, ATOL, RTOL = 1e-6, 1e-5, 1e-3  # the seed's defaults (and PyTorch's)


class GradcheckError(RuntimeError):
    """Raised by ``gradcheck(..., raise_exception=True)`` when a Jacobian is off; ``.result`` has the details."""

    def __init__(self, result):
        super().__init__(str(result))
        self.result = result


@dataclass(frozen=True)
class Mismatch:
    """One element of a Jacobian: d output[output] / d input ``input`` [``index``] in ``mode``."""

    mode: str                # "reverse" or "forward"
    input: int               # which input (position in the inputs tuple)
    index: tuple             # the element of that input
    output: int              # flat position among all output elements
    output_index: tuple      # (which output, index inside it)
    analytic: float
    numerical: float
    allowed: float           # atol + rtol * |numerical|

    def __str__(self):
        which, inside = self.output_index
        out = f"output #{which}" + (f" at {list(inside)}" if inside else "")
        inp = f"input #{self.input}" + (f" at {list(self.index)}" if self.index else "")
        return (f"{self.mode} mode, d {out} / d {inp}: analytic {self.analytic!r} vs numerical "
                f"{self.numerical!r} (|difference| {abs(self.analytic - self.numerical):.3g}, allowed "
                f"{self.allowed:.3g})")


@dataclass
class GradcheckResult:
    """What ``check_gradients`` found. True when every checked Jacobian matches the differences."""

    ok: bool
    worst: Mismatch = None                         # the element furthest outside the tolerance (or closest to it)
    modes: tuple = ()                              # the modes that were compared
    skipped: dict = field(default_factory=dict)    # mode -> why it was not
    jacobians: dict = field(default_factory=dict)  # mode -> one (outputs, input size) array per input
    numerical: list = field(default_factory=list)  # the central-difference Jacobians, one per input

    def __bool__(self):
        return self.ok

    def __str__(self):
        head = "gradcheck passed" if self.ok else "gradcheck failed"
        parts = [f"{head} ({', '.join(self.modes) or 'no mode'} vs central differences)"]
        if self.worst is not None:
            parts.append(("worst element: " if self.ok else "worst mismatch: ") + str(self.worst))
        for mode, why in self.skipped.items():
            parts.append(f"{mode} mode not checked: {why}")
        return "; ".join(parts)


# ---------------------------------------------------------------------------------------------- inputs
class _Arg:
    """One differentiable argument: its float64 values and how to rebuild it for ``func``."""

    def __init__(self, engine, kind, data):
        self.engine, self.kind, self.data = engine, kind, data

    def build(self, data, grad=True, tangent=None):
        """(the argument for func, the leaves to read gradients from: a Tensor, or an object array of Values)."""
        if self.engine == "tensor":
            t = Tensor(np.array(data, dtype=np.float64), requires_grad=grad)
            if tangent is not None:
                t.tangent = np.asarray(tangent, dtype=np.float64)
            return t, t
        leaves = np.empty(data.shape, dtype=object)
        for i in np.ndindex(data.shape):
            leaves[i] = Value(float(data[i]), tangent=None if tangent is None else float(tangent[i]))
        if self.kind == "value":
            return leaves[()], leaves
        if self.kind == "objects":
            return leaves, leaves
        return leaves.tolist(), leaves  # nested lists, as given


def _has_value(x):
    if isinstance(x, Value):
        return True
    if isinstance(x, (list, tuple)):
        return any(_has_value(v) for v in x)
    return False


def _arg(x, what):
    if isinstance(x, Tensor):
        return _Arg("tensor", "tensor", np.array(x.data, dtype=np.float64))
    if isinstance(x, Value):
        return _Arg("scalar", "value", np.array(x.data))
    if isinstance(x, numbers.Real) and not isinstance(x, (bool, np.bool_)) and not isinstance(x, np.generic):
        return _Arg("scalar", "value", np.array(float(x)))
    if isinstance(x, np.ndarray) and x.dtype == object or isinstance(x, list) and _has_value(x):
        objs = np.asarray(x, dtype=object) if isinstance(x, list) else x
        data = np.empty(objs.shape)
        for i in np.ndindex(objs.shape):
            v = objs[i]
            if isinstance(v, Value):
                data[i] = v.data
            elif isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_)):
                data[i] = float(v)
            else:
                raise TypeError(f"{what}: an input of Values holds a {type(v).__name__}: {v!r}")
        return _Arg("scalar", "objects" if isinstance(x, np.ndarray) else "list", data)
    try:
        data = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{what}: input must be a Tensor or an array of numbers (tensor engine), or a Value, a "
                        f"number or a list of Values (scalar engine), got {type(x).__name__}: {x!r}") from None
    return _Arg("tensor", "tensor", data)


def _args(inputs, what):
    items = inputs if isinstance(inputs, tuple) else (inputs,)
    if not items:
        raise ValueError(f"{what}: no inputs to differentiate")
    args = [_arg(x, what) for x in items]
    engines = {a.engine for a in args}
    if len(engines) > 1:
        raise TypeError(f"{what}: inputs mix the tensor and the scalar engine "
                        f"({', '.join(type(x).__name__ for x in items)}); check one engine at a time")
    return args, isinstance(inputs, tuple)


# ---------------------------------------------------------------------------------------------- outputs
def _outputs(out, engine, what):
    """The outputs as a list of Tensors or Values, in order."""
    if engine == "tensor":
        outs = list(out) if isinstance(out, (list, tuple)) else [out]
        for o in outs:
            if not isinstance(o, Tensor):
                raise TypeError(f"{what}: func must return a Tensor (or a list/tuple of Tensors) for Tensor "
                                f"inputs, got {type(o).__name__}")
        return outs
    flat = []

    def walk(o):
        if isinstance(o, Value):
            flat.append(o)
        elif isinstance(o, numbers.Real) and not isinstance(o, (bool, np.bool_)):
            flat.append(Value(float(o)))  # a constant output (a clipped value, a padding): derivative 0
        elif isinstance(o, (list, tuple)):
            for v in o:
                walk(v)
        elif isinstance(o, np.ndarray) and o.dtype == object:
            for v in o.flat:
                walk(v)
        else:
            raise TypeError(f"{what}: func must return Values or numbers (or lists/tuples/object arrays of them) "
                            f"for Value inputs, got {type(o).__name__}: {o!r}")
    walk(out)
    return flat


def _output_positions(outs, engine):
    """(which output, index inside it) for each flat output element."""
    if engine == "scalar":
        return [(k, ()) for k in range(len(outs))]
    return [(k, i) for k, o in enumerate(outs) for i in np.ndindex(o.shape)]


def _flat_values(outs, engine):
    if engine == "scalar":
        return np.array([o.data for o in outs], dtype=np.float64)
    if not outs:
        return np.zeros(0)
    return np.concatenate([np.asarray(o.data, dtype=np.float64).ravel() for o in outs])


def _call(func, args, spread, data, grad=True, tangents=None):
    built = [a.build(d, grad, None if tangents is None else tangents[k]) for k, (a, d) in enumerate(zip(args, data))]
    values = [b[0] for b in built]
    out = func(*values) if spread else func(values[0])
    return out, [b[1] for b in built]


# ---------------------------------------------------------------------------------------------- Jacobians
def _closure_leaves(outs, inputs, engine):
    """Leaves of the graph that are not our inputs (their gradients are saved and restored)."""
    mine = {id(x) for x in inputs}
    seen, stack, leaves = set(), list(outs), []
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        if engine == "tensor":
            if t._ctx is None:
                if id(t) not in mine:
                    leaves.append(t)
                continue
            stack.extend(p for p in t._ctx.parents if p is not None)
        else:
            if not t._prev:
                if id(t) not in mine:
                    leaves.append(t)
                continue
            stack.extend(t._prev)
    return leaves


def _reverse(func, args, spread, what):
    with enable_grad():
        out, leaves = _call(func, args, spread, [a.data for a in args])
    outs = _outputs(out, args[0].engine, what)
    engine = args[0].engine
    n_out = sum(o.data.size for o in outs) if engine == "tensor" else len(outs)
    jac = [np.zeros((n_out, a.data.size)) for a in args]
    if engine == "tensor":
        inputs = list(leaves)
        others = _closure_leaves(outs, inputs, engine)
        saved = [t.grad for t in others]
        try:
            row = 0
            for o in outs:
                for k in range(o.data.size):
                    if o.requires_grad:
                        for t in inputs + others:
                            t.grad = None
                        seed = np.zeros(o.data.size, o.dtype)
                        seed[k] = 1
                        o.backward(seed.reshape(o.shape), retain_graph=True)
                        for j, t in enumerate(inputs):
                            if t.grad is not None:
                                jac[j][row] = np.asarray(t.grad, dtype=np.float64).ravel()
                    row += 1
        finally:
            for t, g in zip(others, saved):
                t.grad = g
    else:
        values = [list(arr.ravel()) for arr in leaves]
        inputs = [v for vs in values for v in vs]
        others = _closure_leaves(outs, inputs, engine)
        saved = [v.grad for v in others]
        try:
            for row, o in enumerate(outs):
                for v in inputs + others:
                    v.grad = 0.0
                o.backward()
                for j, vs in enumerate(values):
                    jac[j][row] = [v.grad for v in vs]
        finally:
            for v, g in zip(others, saved):
                v.grad = g
    return jac, _output_positions(outs, engine)


def _missing_jvp(exc):
    """The op whose missing jvp rule raised ``exc``, or None when the NotImplementedError came from elsewhere."""
    base = Function.jvp.__code__
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code is base:
            ctx = tb.tb_frame.f_locals.get("ctx")
            return getattr(getattr(ctx, "fn", None), "__name__", "an op")
        tb = tb.tb_next
    return None


def _forward(func, args, spread, what, n_out):
    engine = args[0].engine
    jac = [np.zeros((n_out, a.data.size)) for a in args]
    for j, a in enumerate(args):
        for i in range(a.data.size):
            tangents = [np.zeros(b.data.shape) for b in args]
            tangents[j].reshape(-1)[i] = 1.0
            with no_grad():
                out, _ = _call(func, args, spread, [b.data for b in args], grad=False, tangents=tangents)
            outs = _outputs(out, engine, what)
            if engine == "tensor":
                col = [np.zeros(o.data.size) if o.tangent is None else np.asarray(o.tangent, dtype=np.float64).ravel()
                       for o in outs]
                jac[j][:, i] = np.concatenate(col) if col else []
            else:
                jac[j][:, i] = [0.0 if o.tangent is None else o.tangent for o in outs]
    return jac


def _numerical(func, args, spread, eps, what):
    base = [np.array(a.data, dtype=np.float64) for a in args]
    engine = args[0].engine

    def f(data):
        with no_grad():
            out, _ = _call(func, args, spread, data, grad=False)
        return _flat_values(_outputs(out, engine, what), engine)

    n_out = f(base).size
    jac = []
    for a in base:
        J = np.zeros((n_out, a.size))
        flat = a.reshape(-1)
        for i in range(a.size):
            keep = flat[i]
            flat[i] = keep + eps
            plus = f(base)
            flat[i] = keep - eps
            minus = f(base)
            flat[i] = keep
            J[:, i] = (plus - minus) / (2 * eps)
        jac.append(J)
    return jac


def _check_positive(name, value, what):
    if not (isinstance(value, numbers.Real) and value >= 0 and np.isfinite(value)):
        raise ValueError(f"{what}: {name} must be a finite non-negative number, got {value!r}")


def check_gradients(func, inputs, eps=None, atol=None, rtol=None, modes=("reverse", "forward")):
    """Compare ``func``'s analytic Jacobians with central differences; a ``GradcheckResult`` (truthy if all match).

    ``modes``: which analytic Jacobians to compare ("reverse", "forward"). Forward mode on the tensor engine
    needs a ``jvp`` rule in every op ``func`` runs; without one it is skipped and ``result.skipped`` says why
    (asking for forward mode alone then raises ``NotImplementedError``).
    """
    what = "gradcheck"
    eps = EPS if eps is None else eps
    atol = ATOL if atol is None else atol
    rtol = RTOL if rtol is None else rtol
    if not (isinstance(eps, numbers.Real) and eps > 0 and np.isfinite(eps)):
        raise ValueError(f"{what}: eps must be a positive number, got {eps!r}")
    _check_positive("atol", atol, what)
    _check_positive("rtol", rtol, what)
    modes = tuple(modes)
    unknown = [m for m in modes if m not in ("reverse", "forward")]
    if unknown or not modes:
        raise ValueError(f"{what}: modes must be a non-empty subset of ('reverse', 'forward'), got {modes!r}")
    args, spread = _args(inputs, what)
    numerical = _numerical(func, args, spread, eps, what)
    n_out = numerical[0].shape[0]
    jacobians, skipped, positions = {}, {}, None
    if "reverse" in modes:
        jacobians["reverse"], positions = _reverse(func, args, spread, what)
    if "forward" in modes:
        try:
            jacobians["forward"] = _forward(func, args, spread, what, n_out)
        except NotImplementedError as e:
            op = _missing_jvp(e)
            if op is None:
                raise
            if modes == ("forward",):
                raise NotImplementedError(f"{what}: forward mode needs a jvp rule in {op}, which has none yet") from e
            skipped["forward"] = f"{op} has no jvp rule yet"
    if positions is None:
        with enable_grad():
            out, _ = _call(func, args, spread, [a.data for a in args])
        positions = _output_positions(_outputs(out, args[0].engine, what), args[0].engine)
    worst, worst_excess = None, -np.inf
    for mode, jac in jacobians.items():
        for k, (A, N) in enumerate(zip(jac, numerical)):
            if A.shape != N.shape:
                raise RuntimeError(f"{what}: {mode} mode gave a Jacobian of shape {A.shape} for input {k}, the "
                                   f"differences one of shape {N.shape}")
            if not A.size:
                continue
            with np.errstate(invalid="ignore", over="ignore"):
                allowed = atol + rtol * np.abs(N)
                excess = np.abs(A - N) - allowed
            excess[np.isnan(excess)] = np.inf  # nan anywhere is a mismatch (np.allclose's rule)
            r, c = np.unravel_index(int(np.argmax(excess)), A.shape)
            if excess[r, c] > worst_excess:
                worst_excess = excess[r, c]
                worst = Mismatch(mode, k, tuple(int(i) for i in np.unravel_index(c, args[k].data.shape)), int(r),
                                 (positions[r][0], tuple(int(i) for i in positions[r][1])),
                                 float(A[r, c]), float(N[r, c]), float(allowed[r, c]))
    return GradcheckResult(ok=not worst_excess > 0, worst=worst, modes=tuple(jacobians), skipped=skipped,
                           jacobians=jacobians, numerical=numerical)


def gradcheck(func, inputs, eps=None, atol=None, rtol=None, raise_exception=False, modes=("reverse", "forward")):
    """True when the engine's Jacobians (reverse mode, and forward mode where available) match central
    differences within ``atol + rtol * |numerical|`` (defaults: eps 1e-6, atol 1e-5, rtol 1e-3).

    On a mismatch: False, or with ``raise_exception=True`` a ``GradcheckError`` naming the worst element (mode,
    input, index, output, analytic vs numerical). ``check_gradients`` returns the full report instead.
    """
    result = check_gradients(func, inputs, eps, atol, rtol, modes)
    if not result.ok and raise_exception:
        raise GradcheckError(result)
    return result.ok


def jacobian(func, input):
    """d func(input) / d input by reverse mode, float64, shape (output size, input size) (the seed's function).

    Works on Tensors (as in the seed) and on Values (a Value, a number, or a list of Values as one input);
    gradients held by the graph's other leaves are left as they were."""
    args, spread = _args(input if not isinstance(input, tuple) else list(input), "jacobian")
    jac, _ = _reverse(func, args, spread, "jacobian")
    return jac[0]


def numerical_jacobian(func, input, eps=1e-6):
    """d func(input) / d input by central differences (f(x + eps) - f(x - eps)) / (2 eps), float64, shape
    (output size, input size), for Tensors and Values alike (the seed's function)."""
    if not (isinstance(eps, numbers.Real) and eps > 0):
        raise ValueError(f"numerical_jacobian: eps must be positive, got {eps!r}")
    args, spread = _args(input if not isinstance(input, tuple) else list(input), "numerical_jacobian")
    return _numerical(func, args, spread, eps, "numerical_jacobian")[0]
