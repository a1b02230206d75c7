"""What the op table knows about one op: ``Op`` (forms on both engines, reference, samplers) and ``Domain``.

An ``Op`` is a function of one or more float arrays (its differentiable inputs) plus options (``params``):

- ``tensor_forms``: every way the tensor engine's public API computes it (``a + b``, ``a.add(b)``,
  ``b.__radd__(a)``...), each ``f(*tensors, **params) -> Tensor``. Keys name the attribute exercised (see
  ``api.py``); a ``#suffix`` tells apart two calls of the same attribute (``"sum#all"``).
- ``value_forms``: the same on the scalar engine's public API. For an elementwise op, ``f(*values, **params)``
  on single Values (the harness maps it over broadcast object arrays); otherwise ``f(*object_arrays, **params)``.
- ``reference``: the oracle, composed from scalar-engine ops on numpy object arrays of Values (a tensor-only op
  such as ``matmul`` or ``softmax``); None for an elementwise op, whose first value form is the reference.
- ``shapes(draw) -> tuple of input shapes``, ``params(draw, shapes, mode) -> dict`` (or, when the shapes depend on
  the options, ``case(draw, mode) -> (shapes, params)`` instead of both), and ``domains(params)``: one
  ``Domain`` per input. ``mode`` is ``"parity"`` (visit kinks, ties, bounds and IEEE special values, where the
  engines must still agree bit for bit on conventions) or ``"smooth"`` (only points where central finite
  differences are valid).
- ``smooth(arrays, params)``: for ``"smooth"`` cases, False where a drawn case still touches a kink that depends on
  several inputs or on the params (a tie between ``maximum``'s operands, a value on a ``clip`` bound).
- ``functions``: the ``naivegrad.tensor.ops.REGISTRY`` names the tensor forms run (forward-mode checks turn on
  when all of them have a ``jvp`` rule).
- ``torch``: the op in PyTorch (float64 oracle, optional); ``source``: how the fuzzer prints it
  (``"{0}.sum(axis={axis}, keepdims={keepdims})"``: operands by position, options as Python literals).
- ``closed_form``: for a scalar elementwise op without options, its value and derivatives written from the
  mathematics in numpy (not from the engine), the independent oracle of tests/scalar: the fields of
  ``scalar_oracles.Unary`` (or ``Binary``) after the name and the form, each domain a ``(lo, hi)`` pair. Ops
  whose closed form is written in tests/scalar/scalar_oracles.py itself leave it None.
- ``nonfinite``: the share of parity cases whose inputs hold inf, -inf and nan (``check.draw_case``; the
  cotangents and tangents of any op hold them in a share of cases too); 0 for none. ``seeded``: how many times
  the usual number of seeded cases the generated tests run, for an op whose mistakes show only in rare
  combinations (conv2d's stride-1 path meets a non-finite weight in a few cases in a hundred).
- ``exact``: every output element is one scalar op of input elements (no sums: unary and constant ops, clip,
  moving elements around), so float64 values must match the reference to 1e-12 of each element itself, however
  small, and gradients to 1e-12 of themselves plus a few ulps of the cotangent (tests/parity).
"""

import math
from dataclasses import dataclass, field
from typing import Callable, Optional

__all__ = ["Domain", "Op", "MODES"]

MODES = ("parity", "smooth")


@dataclass(frozen=True)
class Domain:
    """Where an input's values come from.

    ``lo``..``hi`` is the smooth range. ``kinks`` are points where the derivative jumps (relu and abs at 0): parity
    cases land on them on purpose (often), smooth cases stay ``margin`` away. Parity cases also draw from a grid
    of multiples of ``step``, exactly representable, so that elements tie. ``specials`` are values outside the smooth
    range whose IEEE results both engines must reproduce (log(0) = -inf, sqrt(-1) = nan); parity cases only.
    ``nonfinite`` are the non-finite values parity cases may put among the input's elements now and then
    (``Op.nonfinite``): all three unless an input's op leaves one undefined between the engines and PyTorch.
    """

    lo: float = -3.0
    hi: float = 3.0
    kinks: tuple = ()
    specials: tuple = ()
    margin: float = 0.05
    step: float = 0.25      # parity grid: a coarse one (1.0) makes ties between elements frequent
    nonfinite: tuple = (math.inf, -math.inf, math.nan)

    def __post_init__(self):
        if not self.lo < self.hi:
            raise ValueError(f"Domain: lo ({self.lo}) must be below hi ({self.hi})")

    def grid(self):
        """Exactly representable points of the range (multiples of ``step``): they make ties and exact sums."""
        import math

        first, last = math.ceil(self.lo / self.step), math.floor(self.hi / self.step)
        return tuple(k * self.step for k in range(first, last + 1))

    def is_smooth(self, x):
        """True where every element is inside [lo, hi] and at least ``margin`` away from every kink."""
        import numpy as np

        x = np.asarray(x, dtype=float)
        ok = (x >= self.lo) & (x <= self.hi)
        for k in self.kinks:
            ok &= np.abs(x - k) >= self.margin
        return bool(ok.all())


def _same_domain(_params, n, domain):
    return (domain,) * n


@dataclass(frozen=True)
class Op:
    """One differentiable op of naivegrad, described once for every generated check (see the module docstring)."""

    name: str
    arity: int                              # number of differentiable inputs (the most, for n-ary ops)
    tensor_forms: dict
    functions: tuple                        # REGISTRY names run by the tensor forms
    shapes: Optional[Callable] = None       # draw -> tuple of input shapes
    case: Optional[Callable] = None         # (draw, mode) -> (shapes, params), instead of shapes + params
    value_forms: dict = field(default_factory=dict)
    reference: Optional[Callable] = None    # object arrays -> object array; None: first value form
    elementwise: bool = False               # value forms / reference work on single Values
    params: Optional[Callable] = None       # (draw, shapes, mode) -> dict
    domain: Domain = Domain()               # every input's domain, unless ``domains`` says otherwise
    domains: Optional[Callable] = None      # params -> tuple of Domains, one per input
    smooth: Optional[Callable] = None       # (arrays, params) -> bool, for smooth-mode cases
    ties: bool = False                      # derivative jumps where two input values are equal (max, maximum...)
    alias: bool = False                     # may run with one tensor as several inputs (x * x)
    constants: bool = False                 # some inputs may come without requires_grad (constants)
    torch: Optional[Callable] = None        # (*torch tensors, **params) -> torch tensor
    source: Optional[str] = None            # the fuzzer's printer: "{0} + {1}", "{0}.sum(axis={axis})"
    exact: bool = False                     # no sums: values to 1e-12 of each element itself (see above)
    note: str = ""                          # why the op is special, shown in reports
    nonfinite: float = 0.25                 # share of parity cases with inf, -inf and nan among the inputs
    seeded: int = 1                         # times the usual number of seeded cases (faults in rare geometry)
    closed_form: Optional[dict] = None      # numpy value and derivatives for tests/scalar (see above)

    def __post_init__(self):
        if not self.tensor_forms and not self.value_forms:
            raise ValueError(f"op {self.name!r} has no forms on either engine")
        if self.reference is None and not (self.elementwise and self.value_forms):
            raise ValueError(f"op {self.name!r} needs a reference (or an elementwise value form)")
        if (self.shapes is None) == (self.case is None):
            raise ValueError(f"op {self.name!r} needs a shapes sampler or a case sampler (one of them)")

    def input_domains(self, params):
        """One Domain per input for these params."""
        if self.domains is not None:
            return tuple(self.domains(params))
        return _same_domain(params, self.arity, self.domain)

    def draw_shapes_and_params(self, draw, mode):
        """(input shapes, params) for one case."""
        if self.case is not None:
            shapes, params = self.case(draw, mode)
            return tuple(shapes), dict(params)
        shapes = tuple(self.shapes(draw))
        return shapes, ({} if self.params is None else dict(self.params(draw, shapes, mode)))

    @property
    def scalar_reference(self):
        """The oracle as ``f(*object_arrays, **params) -> object array``."""
        if self.reference is not None:
            if self.elementwise:
                return _vectorized(self.reference)
            return self.reference
        first = next(iter(self.value_forms.values()))
        return _vectorized(first)

    @property
    def value_reference(self):
        """The oracle on single Values, for an elementwise op: ``reference``, else its first value form."""
        if not self.elementwise:
            raise TypeError(f"op {self.name!r} is not elementwise: its reference takes arrays (scalar_reference)")
        return self.reference or next(iter(self.value_forms.values()))

    def value_callables(self):
        """Each value form as ``f(*object_arrays, **params)`` (elementwise forms mapped over the arrays)."""
        return {k: (_vectorized(f) if self.elementwise else f) for k, f in self.value_forms.items()}

    def __repr__(self):
        return f"<op {self.name}>"


def _vectorized(fn):
    """fn on single Values mapped over broadcast numpy object arrays (numbers stay numbers: constants)."""
    import numpy as np

    def mapped(*arrays, **params):
        arrays = np.broadcast_arrays(*[np.asarray(a, dtype=object) for a in arrays])
        out = np.empty(arrays[0].shape if arrays else (), dtype=object)
        for i in np.ndindex(out.shape):
            out[i] = fn(*[a[i] for a in arrays], **params)
        return out

    mapped.__wrapped__ = fn
    return mapped
