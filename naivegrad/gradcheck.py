"""Check an engine's derivatives against central finite differences, on Tensors and on Values.

``gradcheck(func, inputs)`` builds the Jacobian of ``func`` at ``inputs`` three ways, in float64: reverse mode
(``naivegrad.func.jacrev``: one backward pass per output element), forward mode (``naivegrad.func.jacfwd``: one
run per input element; on the tensor engine only where every op has a ``jvp`` rule, otherwise skipped and said
so), and central differences (f(x + eps) - f(x - eps)) / (2 eps). It passes when both analytic Jacobians match
the numerical one within ``atol + rtol * |numerical|`` (``np.allclose``), and otherwise names the worst
element: which mode, input, input index and output, analytic vs numerical.

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
array of Values (scalar engine; plain numbers among them are constants). Gradients held by leaves that ``func``
closes over (model parameters) are left as they were. ``jacobian`` and ``numerical_jacobian`` are the seed's
one-input functions; both return an array of shape (output size, input size), C order.

``gradgradcheck(func, inputs)`` checks second derivatives as ``torch.autograd.gradgradcheck``: it runs
``gradcheck`` on the first derivative, ``(inputs, u) -> u^T J(inputs)`` (a vjp, differentiated again: the
engine's backward with ``create_graph=True``), with a random cotangent ``u`` (or ``grad_outputs``) that is itself
an input, so that the Jacobian of the first derivative (its Hessian-vector products, by reverse and by forward
mode) is compared with central differences of the first derivative.

>>> gradgradcheck(lambda x: (x @ W).tanh().logsoftmax(), Tensor(np.random.randn(2, 10)))
True
"""

import numbers
from dataclasses import dataclass, field

import numpy as np

from .engines import SCALAR, TENSOR, engine_of, is_tensor, is_value
from .func import jacfwd, jacrev, vjp
from .func.tensor_engine import MissingJvpRule
from .func.trees import flatten, tree_shape, unflatten
from .grad_mode import no_grad
from .scalar import Value
from .tensor import Tensor, concatenate

__all__ = ["gradcheck", "gradgradcheck", "check_gradients", "check_second_order", "jacobian", "numerical_jacobian",
           "GradcheckError", "GradcheckResult", "Mismatch"]

EPS, ATOL, RTOL = 1e-6, 1e-5, 1e-3  # the seed's defaults (and PyTorch's)
_MODES = {"reverse": jacrev, "forward": jacfwd}


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
def _is_real(x):
    return isinstance(x, numbers.Real) and not isinstance(x, (bool, np.bool_))


def _holds_value(x):
    return is_value(x) or isinstance(x, (list, tuple)) and any(_holds_value(v) for v in x)


def _engine_of_input(x):
    """Which engine differentiates the input ``x``: Tensors, numpy arrays and lists of numbers go to the tensor
    engine; Values, Python numbers, lists holding Values and object arrays to the scalar engine."""
    engine = engine_of(x)
    if engine is not None:
        return engine
    if _is_real(x) and not isinstance(x, np.generic) or isinstance(x, np.ndarray) and x.dtype == object \
            or isinstance(x, list) and _holds_value(x):
        return SCALAR
    return TENSOR


def _floats(x, what):
    """A Value, a number, or lists / an object array holding them, with each Value replaced by its float."""
    if isinstance(x, np.ndarray):
        out = np.empty(x.shape, dtype=object)
        for i in np.ndindex(x.shape):
            out[i] = _floats(x[i], what)
        return out
    if isinstance(x, (list, tuple)):
        return [_floats(v, what) for v in x]
    if is_value(x):
        return x.data
    if _is_real(x):
        return float(x)
    raise TypeError(f"{what}: an input of Values holds a {type(x).__name__}: {x!r}")


class _Input:
    """One differentiable argument: its float64 numbers (``data``: the array, or the scalar engine's leaves in
    order), its ``shape``, and how to rebuild it around other numbers for ``func``."""

    def __init__(self, x, what):
        self.engine, self.tree = _engine_of_input(x), None
        if self.engine == SCALAR:
            leaves, self.tree = flatten(_floats(x, what), what)
            self.data = np.array(leaves, dtype=np.float64)
            self.shape = tree_shape(self.tree, what)
            return
        try:
            self.data = np.array(x.data if is_tensor(x) else x, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"{what}: input must be a Tensor or an array of numbers (tensor engine), or a Value, "
                            f"a number or a list of Values (scalar engine), got {type(x).__name__}: {x!r}") from None
        self.shape = self.data.shape

    def build(self, data=None):
        """A fresh argument holding ``data`` (default: the input's own numbers): a Tensor, or Values in the
        input's structure (a Value, nested lists, an object array)."""
        data = self.data if data is None else data
        if self.tree is None:
            return Tensor(np.array(data, dtype=np.float64), requires_grad=False)
        return unflatten(self.tree, [Value(v) for v in data.tolist()])


def _inputs(inputs, what):
    items = inputs if isinstance(inputs, tuple) else (inputs,)
    if not items:
        raise ValueError(f"{what}: no inputs to differentiate")
    args = [_Input(x, what) for x in items]
    if len({a.engine for a in args}) > 1:
        raise TypeError(f"{what}: inputs mix the tensor and the scalar engine "
                        f"({', '.join(type(x).__name__ for x in items)}); check one engine at a time")
    return args


# ---------------------------------------------------------------------------------------------- outputs
class _Flat:
    """``func`` with its outputs in one flat row, as ``jacrev`` / ``jacfwd`` differentiate it: one Tensor
    (several are flattened and concatenated) or a list of Values. ``positions`` says where each element
    came from: (which output, index inside it)."""

    def __init__(self, func, engine, what):
        self.func, self.engine, self.what = func, engine, what
        self.positions = None

    def __call__(self, *args):
        outs = self._outputs(self.func(*args))
        if self.engine == SCALAR:
            self.positions = [(k, ()) for k in range(len(outs))]
            return outs
        self.positions = [(k, i) for k, o in enumerate(outs) for i in np.ndindex(o.shape)]
        if len(outs) == 1:
            return outs[0]
        if not outs:
            return Tensor(np.zeros(0), requires_grad=False)
        return concatenate([o.reshape(-1) for o in outs])

    def _outputs(self, out):
        """The outputs as a list of Tensors or Values, in order (a number becomes a constant Value)."""
        if self.engine == TENSOR:
            outs = list(out) if isinstance(out, (list, tuple)) else [out]
            for o in outs:
                if engine_of(o) != TENSOR:
                    raise TypeError(f"{self.what}: func must return a Tensor (or a list/tuple of Tensors) for "
                                    f"Tensor inputs, got {type(o).__name__}")
            return outs
        flat = []

        def walk(o):
            if is_value(o):
                flat.append(o)
            elif _is_real(o):
                flat.append(Value(float(o)))  # a constant output (a clipped value, a padding): derivative 0
            elif isinstance(o, (list, tuple)):
                for v in o:
                    walk(v)
            elif isinstance(o, np.ndarray) and o.dtype == object:
                for v in o.flat:
                    walk(v)
            else:
                raise TypeError(f"{self.what}: func must return Values or numbers (or lists/tuples/object arrays "
                                f"of them) for Value inputs, got {type(o).__name__}: {o!r}")
        walk(out)
        return flat

    def values(self, args):
        """The flat outputs at the arguments ``args``, as float64, without recording a graph."""
        with no_grad():
            out = self(*args)
        if self.engine == SCALAR:
            return np.array([o.data for o in out], dtype=np.float64)
        return np.asarray(out.data, dtype=np.float64).ravel()


# ---------------------------------------------------------------------------------------------- Jacobians
def _analytic(mode, flat, inputs):
    """d outputs / d each input by ``func.jacrev`` ("reverse") or ``func.jacfwd`` ("forward"): float64 arrays of
    shape (output size, input size)."""
    jacs = _MODES[mode](flat, argnums=tuple(range(len(inputs))))(*[a.build() for a in inputs])
    # Each has shape output.shape + input.shape: the outputs' part may have any size, the inputs' too (even 0).
    return [np.asarray(J, dtype=np.float64).reshape(int(np.prod(J.shape[:J.ndim - len(a.shape)])), a.data.size)
            for J, a in zip(jacs, inputs)]


def _numerical(flat, inputs, eps):
    """Central differences (f(x + eps) - f(x - eps)) / (2 eps), one input element at a time, in float64; and
    the outputs' positions."""
    args = [a.build() for a in inputs]
    n_out = flat.values(args).size
    positions = flat.positions
    jacs = []
    for k, a in enumerate(inputs):
        J = np.zeros((n_out, a.data.size))
        for i in range(a.data.size):
            ends = []
            for step in (eps, -eps):
                moved = a.data.copy()
                moved.reshape(-1)[i] += step
                args[k] = a.build(moved)
                ends.append(flat.values(args))
            J[:, i] = (ends[0] - ends[1]) / (2 * eps)
        args[k] = a.build()
        jacs.append(J)
    return jacs, positions


def _check_positive(name, value, what):
    if not (isinstance(value, numbers.Real) and value >= 0 and np.isfinite(value)):
        raise ValueError(f"{what}: {name} must be a finite non-negative number, got {value!r}")


def _worst(jacobians, numerical, inputs, positions, atol, rtol, what):
    """(the element furthest outside ``atol + rtol * |numerical|``, by how much), over every mode and input."""
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
                worst = Mismatch(mode, k, tuple(int(i) for i in np.unravel_index(c, inputs[k].shape)), int(r),
                                 (positions[r][0], tuple(int(i) for i in positions[r][1])),
                                 float(A[r, c]), float(N[r, c]), float(allowed[r, c]))
    return worst, worst_excess


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
    if not modes or any(m not in _MODES for m in modes):
        raise ValueError(f"{what}: modes must be a non-empty subset of ('reverse', 'forward'), got {modes!r}")
    inputs = _inputs(inputs, what)
    flat = _Flat(func, inputs[0].engine, what)
    numerical, positions = _numerical(flat, inputs, eps)
    jacobians, skipped = {}, {}
    for mode in [m for m in _MODES if m in modes]:
        try:
            jacobians[mode] = _analytic(mode, flat, inputs)
        except MissingJvpRule as e:  # only forward mode has jvp rules to miss
            op = e.op.__name__
            if modes == ("forward",):
                raise NotImplementedError(f"{what}: forward mode needs a jvp rule in {op}, which has none yet") from e
            skipped[mode] = f"{op} has no jvp rule yet"
    worst, excess = _worst(jacobians, numerical, inputs, positions, atol, rtol, what)
    return GradcheckResult(ok=not excess > 0, worst=worst, modes=tuple(jacobians), skipped=skipped,
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


def _one_input(func, input, what):
    inputs = _inputs(list(input) if isinstance(input, tuple) else input, what)
    return _Flat(func, inputs[0].engine, what), inputs


def jacobian(func, input):
    """d func(input) / d input by reverse mode, float64, shape (output size, input size) (the seed's function).

    Works on Tensors (as in the seed) and on Values (a Value, a number, or a list of Values as one input);
    gradients held by the graph's other leaves are left as they were."""
    flat, inputs = _one_input(func, input, "jacobian")
    return _analytic("reverse", flat, inputs)[0]


def numerical_jacobian(func, input, eps=1e-6):
    """d func(input) / d input by central differences (f(x + eps) - f(x - eps)) / (2 eps), float64, shape
    (output size, input size), for Tensors and Values alike (the seed's function)."""
    if not (isinstance(eps, numbers.Real) and eps > 0):
        raise ValueError(f"numerical_jacobian: eps must be positive, got {eps!r}")
    flat, inputs = _one_input(func, input, "numerical_jacobian")
    return _numerical(flat, inputs, eps)[0][0]


# ---------------------------------------------------------------------------------------------- second order
class _FirstDerivative:
    """``(*inputs, u) -> u^T J``: the gradient of <u, func(inputs)> with respect to each input, flattened into one
    row (a Tensor, or a list of Values), as a function whose own Jacobian holds the second derivatives."""

    def __init__(self, flat, n_inputs):
        self.flat, self.n = flat, n_inputs

    def __call__(self, *args):
        xs, u = args[:self.n], args[self.n]
        _, vjp_fn = vjp(self.flat, *xs)
        grads = vjp_fn(u)
        if self.flat.engine == SCALAR:
            return [g for gs in grads for g in flatten(gs, "gradgradcheck")[0]]
        parts = [g.reshape(-1) for g in grads]
        return parts[0] if len(parts) == 1 else concatenate(parts)


def _cotangent(flat, inputs, grad_outputs, seed, what):
    """The cotangent u of the first derivative: ``grad_outputs`` (one per output, flattened into the row), or
    standard normal numbers from ``seed``, as the engine's input (a Tensor, or a list of Values)."""
    n = flat.values([a.build() for a in inputs]).size
    if grad_outputs is None:
        u = np.random.default_rng(seed).standard_normal(n)
    else:
        items = grad_outputs if isinstance(grad_outputs, (list, tuple)) else [grad_outputs]
        u = np.concatenate([np.asarray(g.data if is_tensor(g) else _floats(g, what) if inputs[0].engine == SCALAR
                                       else g, dtype=np.float64).reshape(-1) for g in items]) if items else np.zeros(0)
        if u.size != n:
            raise ValueError(f"{what}: grad_outputs hold {u.size} numbers, func's outputs {n}")
    if inputs[0].engine == SCALAR:
        return [Value(float(x)) for x in u]
    with no_grad():
        row = flat(*[a.build() for a in inputs])  # one output keeps its shape, several are one flat row
    return Tensor(u.reshape(row.shape), requires_grad=False)


def check_second_order(func, inputs, grad_outputs=None, eps=None, atol=None, rtol=None,
                       modes=("reverse", "forward"), seed=0):
    """``check_gradients`` of the first derivative ``(inputs, u) -> u^T J`` (see ``gradgradcheck``): a
    ``GradcheckResult`` whose last input is the cotangent u."""
    what = "gradgradcheck"
    ins = _inputs(inputs, what)
    flat = _Flat(func, ins[0].engine, what)
    u = _cotangent(flat, ins, grad_outputs, seed, what)
    if (len(u) if isinstance(u, list) else u.data.size) == 0:
        return GradcheckResult(ok=True, modes=())  # no outputs: no derivative at all
    first = _FirstDerivative(flat, len(ins))
    args = tuple(a.build() for a in ins) + (u,)
    return check_gradients(first, args, eps, atol, rtol, modes)


def gradgradcheck(func, inputs, grad_outputs=None, eps=None, atol=None, rtol=None, raise_exception=False,
                  modes=("reverse", "forward"), seed=0):
    """True when the engine's second derivatives of ``func`` at ``inputs`` match central differences of its first
    derivative, as ``torch.autograd.gradgradcheck``: ``gradcheck`` of ``(inputs, u) -> u^T J(inputs)``, with u
    the ``grad_outputs`` (one per output, like func's outputs) or, by default, random normal numbers (``seed``).

    Both engines: Values go through ``backward(create_graph=True)`` on the scalar engine, Tensors through the
    tensor engine's twice-differentiable backward rules (an op without one raises NotImplementedError naming
    it). Reverse mode (Jacobians of the vjp by jacrev: reverse-over-reverse) and forward mode (jacfwd over the
    vjp: forward-over-reverse, where every op has a jvp rule) are both compared. Same tolerances and report as
    ``gradcheck``; ``check_second_order`` returns the full ``GradcheckResult`` (its last input is u).
    """
    result = check_second_order(func, inputs, grad_outputs, eps, atol, rtol, modes, seed)
    if not result.ok and raise_exception:
        raise GradcheckError(result)
    return result.ok
