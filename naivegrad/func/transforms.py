"""jvp, vjp, grad, jacrev, jacfwd, hessian, hvp: function transforms, named and shaped as in torch.func / JAX.

Each one flattens the differentiated arguments to leaves, picks the engine they belong to, and asks that
engine to run f forward with tangents (forward mode) or to run it and pull cotangents back (reverse mode).
"""

import numbers

import numpy as np

from ..engines import SCALAR, TENSOR, is_tensor
from .nesting import active
from .scalar_engine import ScalarEngine
from .tensor_engine import TensorEngine
from .trees import LEAF, engine_of_leaves, flatten, units, unflatten

__all__ = ["jvp", "vjp", "grad", "value_and_grad", "grad_and_value", "jacrev", "jacfwd", "hessian", "hvp"]

_ENGINES = {SCALAR: ScalarEngine(), TENSOR: TensorEngine()}


# ---------------------------------------------------------------------------- arguments
def _argnums(argnums, nargs, name):
    """(tuple of non-negative argument indices, True if a single int was given)."""
    single = isinstance(argnums, numbers.Integral) and not isinstance(argnums, bool)
    nums = (argnums,) if single else argnums
    if not isinstance(nums, (tuple, list)) or not nums:
        raise TypeError(f"{name}: argnums must be an int or a non-empty tuple of ints, got {argnums!r}")
    out = []
    for a in nums:
        if isinstance(a, bool) or not isinstance(a, numbers.Integral):
            raise TypeError(f"{name}: argnums must be ints, got {type(a).__name__}: {a!r}")
        if not -nargs <= a < nargs:
            raise ValueError(f"{name}: argnums {a} is out of range for f called with {nargs} positional "
                             f"argument(s)")
        out.append(int(a) % nargs)
    if len(set(out)) != len(out):
        raise ValueError(f"{name}: argnums {argnums!r} repeats an argument")
    return tuple(out), single


def _specs(args, argnums, name):
    """The engine of the differentiated arguments and their (leaves, tree), one per argnum."""
    specs = [flatten(args[a], f"{name}: argument {a}") for a in argnums]
    engine = _ENGINES[engine_of_leaves([v for leaves, _ in specs for v in leaves], name)]
    for a, (leaves, tree) in zip(argnums, specs):
        engine.check_primal(leaves, tree, name, a)
    return engine, specs


def _as_args(primals, tangents, name):
    """Primals and tangents as tuples of positional arguments: a tuple is the arguments, anything else the
    single argument (so ``jvp(f, [1.0, 2.0], [1.0, 0.0])`` calls ``f`` with one list)."""
    if isinstance(primals, tuple):
        if not isinstance(tangents, tuple) or len(tangents) != len(primals):
            raise ValueError(f"{name}: primals is a tuple of {len(primals)} arguments, so the tangents must be "
                             f"a tuple of as many, got {type(tangents).__name__} "
                             f"{len(tangents) if isinstance(tangents, tuple) else ''}".rstrip())
        return primals, tangents, False
    return (primals,), (tangents,), True


def _scalar_output(engine, pull, name):
    if engine.name == SCALAR:
        if pull.out_tree != LEAF:
            raise ValueError(f"{name}: f must return a single Value (a scalar), got "
                             f"{len(pull.out_leaves)} Values in a {pull.out_tree[0]}")
        return [1.0]
    out = pull.out_leaves[0]
    if pull.out_tree != LEAF or out.data.size != 1:
        shape = out.shape if pull.out_tree == LEAF else "a list/tuple of Tensors"
        raise ValueError(f"{name}: f must return a Tensor with one element, got {shape}")
    return [np.ones(out.shape, dtype=out.dtype)]


# ---------------------------------------------------------------------------- forward mode
def jvp(f, primals, tangents):
    """Forward mode: ``(f(*primals), J @ tangents)``, the Jacobian-vector product, in one evaluation of f.

    ``primals`` is a tuple of f's arguments (anything else is the single argument), ``tangents`` the same
    structure. Floats and lists of floats run on the scalar engine (tangents are floats, returned in the
    output's nesting); numpy arrays and Tensors on the tensor engine (tangents are arrays). Inside another
    transform (``jvp(jvp(f, ...)[1], ...)``, ``grad`` of a function calling jvp) the tangent is a Value /
    Tensor with a graph, computed by reverse mode (``_jvp_inside``), so the outer transform can differentiate it.

    >>> jvp(lambda x, y: x * y.sin(), (2.0, 0.5), (1.0, 0.0))      # (Value(0.958...), sin(0.5))
    """
    prim, tans, _ = _as_args(primals, tangents, "jvp")
    argnums = tuple(range(len(prim)))
    engine, specs = _specs(prim, argnums, "jvp")
    tan_leaves = [engine.tangent_leaves(t, tree, leaves, "jvp", f"tangent {i}")
                  for i, (t, (leaves, tree)) in enumerate(zip(tans, specs))]
    if active(engine.name):
        return _jvp_inside(engine, f, prim, tan_leaves)
    output, _, out_tree, out_t = engine.forward(f, prim, argnums, specs, tan_leaves, "jvp")
    return output, engine.tangent_result(out_t, out_tree)


def _jvp_inside(engine, f, prim, tan_leaves):
    """``jvp`` inside another transform of its engine (``jvp(jvp(f))``, ``grad`` of a function calling jvp).

    A Value or a Tensor carries one tangent, which the outer transform could neither differentiate nor share,
    so here the tangent J t comes from reverse mode twice: it is the gradient, in a cotangent u, of
    <u J, t> = <vjp(u), t>, a function linear in u (so u = 0 will do). Reverse mode nests anywhere and records
    its results as a graph, so the tangent comes back as Values / Tensors the outer transform differentiates.
    It costs two backward passes instead of one forward pass.
    """
    output, vjp_fn = vjp(f, *prim)
    out_leaves, out_tree = flatten(output, "jvp: the output of f")
    if engine.name == SCALAR:
        zeros = [0.0] * len(out_leaves)
    else:
        zeros = [np.zeros(o.shape, dtype=_float_dtype(o)) for o in out_leaves]

    def along_tangents(u):
        total = None
        for g, ts in zip(vjp_fn(u), tan_leaves):
            for gi, t in zip(flatten(g, "jvp")[0], ts):
                term = gi * t if engine.name == SCALAR else (gi * t).sum()  # t: an array, a constant
                total = term if total is None else total + term
        return total

    return output, grad(along_tangents)(unflatten(out_tree, zeros))


def jacfwd(f, argnums=0, has_aux=False):
    """The Jacobian of f by forward mode: one evaluation of f per input number (cheap for few inputs).

    ``jacfwd(f)(x)`` has shape ``output.shape + x.shape``, as a numpy float array; with a tuple ``argnums``,
    a tuple of Jacobians. On the scalar engine f takes Values (a list of floats arrives as a list of Values)
    and returns a Value or a (nested) list of them; on the tensor engine Tensors in, Tensors out.

    Pytrees (as torch.func): for a dict / list / tuple of arrays (tensor engine) or a dict (scalar engine),
    the Jacobian is that structure holding one Jacobian per array; for several outputs (a tuple / list /
    dict of Tensors), the outputs' structure holding those. ``has_aux=True``: f returns ``(output, aux)``
    and ``jacfwd(f, has_aux=True)(x)`` returns ``(jacobian, aux)``.

    >>> jacfwd(lambda v: [v[0] * v[1], v[0].sin()])([1.0, 2.0])     # array([[2., 1.], [cos 1, 0.]])
    """

    def jacfwd_f(*args):
        nums, single = _argnums(argnums, len(args), "jacfwd")
        engine, specs = _specs(args, nums, "jacfwd")
        if active(engine.name):
            # Inside another transform a tangent could not be differentiated again (see _jvp_inside): the same
            # Jacobian by reverse mode, which records it as a graph for the outer transform.
            return jacrev(f, argnums, has_aux)(*args)
        box = {}
        fn = _with_aux(f, box, "jacfwd") if has_aux else f
        parts = [units(tree, leaves, engine.name, "jacfwd: an argument") for leaves, tree in specs]
        columns = [[[] for _ in us] for _, us in parts]
        out_info = None
        for i, (_, us) in enumerate(parts):
            leaves = specs[i][0]
            for j, u in enumerate(us):
                for index in np.ndindex(*u.shape):
                    tans = [[None] * len(lv) for lv, _ in specs]
                    if engine.name == SCALAR:
                        tans[i][u.start + (int(np.ravel_multi_index(index, u.shape)) if u.shape else 0)] = 1.0
                    else:
                        t = np.zeros(u.shape, dtype=_float_dtype(leaves[u.start]))
                        t[index] = 1.0
                        tans[i][u.start] = t
                    _, out_leaves, out_tree, out_t = engine.forward(fn, args, nums, specs, tans, "jacfwd",
                                                                    record=False)
                    out_info = _same_output(out_info, out_leaves, out_tree, "jacfwd")
                    columns[i][j].append(out_t)
        if out_info is None:  # no input numbers at all: one evaluation for the output's shape
            _, out_leaves, out_tree, _ = engine.forward(fn, args, nums, specs, [[None] * len(lv) for lv, _ in specs],
                                                        "jacfwd", record=False)
            out_info = (out_leaves, out_tree)
        out_container, out_units = units(out_info[1], out_info[0], engine.name, "jacfwd: the output of f")
        per_output = []
        for ou in out_units:
            jacs = tuple(
                unflatten(container, [engine.jacobian([_line(engine, col, ou) for col in columns[i][j]], ou.shape,
                                                      u.shape, by_rows=False,
                                                      dtype=_unit_dtype(out_info[0], ou))
                                      for j, u in enumerate(us)])
                for i, (container, us) in enumerate(parts))
            per_output.append(jacs[0] if single else jacs)
        result = unflatten(out_container, per_output)
        return (result, box["aux"]) if has_aux else result

    return jacfwd_f


def _line(engine, flat, unit):
    """The part of a flat list of per-leaf derivatives that belongs to ``unit``: the leaves' numbers (scalar
    engine), the one array (tensor engine)."""
    return flat[unit.start:unit.stop] if engine.name == SCALAR else flat[unit.start]


def _with_aux(f, box, name):
    """f returning ``(output, aux)`` as a function returning the output, with aux kept in ``box``."""

    def without_aux(*args):
        out = f(*args)
        if not (isinstance(out, tuple) and len(out) == 2):
            raise ValueError(f"{name}(..., has_aux=True): f must return a tuple (output, aux), got "
                             f"{type(out).__name__}" + (f" of length {len(out)}" if isinstance(out, tuple) else ""))
        box["aux"] = out[1]
        return out[0]

    return without_aux


def _unit_dtype(leaves, unit):
    """The floating dtype of a piece of an argument or output (float64 for an empty piece of numbers):
    an empty Jacobian's dtype, as torch.func (the input's for jacrev, the output's for jacfwd)."""
    return _float_dtype(leaves[unit.start]) if unit.start < len(leaves) else np.float64


def _float_dtype(x):
    dt = np.asarray(x.data if is_tensor(x) else x).dtype
    return dt if dt.kind == "f" else np.float64


def _same_output(info, out_leaves, out_tree, name):
    if info is not None and (len(info[0]) != len(out_leaves) or info[1] != out_tree):
        raise ValueError(f"{name}: f returned outputs of different structure for different tangents")
    return (out_leaves, out_tree)


# ---------------------------------------------------------------------------- reverse mode
def vjp(f, *primals):
    """Reverse mode: ``(f(*primals), vjp_fn)`` where ``vjp_fn(u)`` gives ``u @ J``, one per primal (a tuple).

    ``u`` has the structure of f's output (a float for a Value, nested lists or an array for a list of
    Values, an array for a Tensor). ``vjp_fn`` may be called many times; each call is one backward pass.
    Gradients come back shaped like the primals: Values on the scalar engine, Tensors on the tensor engine.

    >>> out, vjp_fn = vjp(lambda v: [v[0] * v[1], v[1].exp()], [1.0, 2.0]); vjp_fn([1.0, 0.0])
    ([Value(data=2.0, ...), Value(data=1.0, ...)],)
    """
    if not primals:
        raise TypeError("vjp: give at least one primal to differentiate with respect to")
    argnums = tuple(range(len(primals)))
    engine, specs = _specs(primals, argnums, "vjp")
    pull = engine.reverse(f, primals, argnums, specs, "vjp")

    def vjp_fn(cotangents):
        seeds = engine.tangent_leaves(cotangents, pull.out_tree, pull.out_leaves, "vjp_fn", "the cotangent",
                                      allow_values=True)
        grads = pull.pull(seeds)
        return tuple(engine.gradient(g, tree) for g, (_, tree) in zip(grads, specs))

    return pull.output, vjp_fn


def grad(f, argnums=0, has_aux=False):
    """The gradient of a scalar-valued f, as a function: ``grad(f)(x)`` is df/dx, shaped like x.

    ``argnums`` (an int or a tuple) picks the arguments; a tuple gives a tuple of gradients. An argument may
    be a pytree (a dict / list / tuple of arrays, e.g. a model's parameters): its gradient has the same
    structure. ``has_aux=True``: f returns ``(output, aux)`` and ``grad(f, has_aux=True)(x)`` returns
    ``(gradient, aux)``, as torch.func. Nests on both engines: ``grad(grad(f))(x)`` is the second derivative,
    ``grad(grad(grad(f)))`` the third. Results are Values on the scalar engine, Tensors on the tensor engine
    (with a graph when they may be differentiated again).

    As torch.func's, the result composes with ordinary autograd: where x, or a parameter f closes over,
    requires grad (grad mode on), the gradient is recorded with its own graph, so a loss built from it
    differentiates through it (``(grad(f)(w) * w).sum().backward()``). That costs a create_graph backward
    (about 1.5x on an MLP loss); a Tensor made with ``requires_grad=False``, or a call under ``no_grad()``, gives a
    constant gradient at first-order speed.

    >>> grad(lambda x: x ** 3 * x.sin())(1.0)                   # Value(3 sin 1 + cos 1)
    >>> grad(grad(lambda x: x ** 3 * x.sin()))(1.0)             # the second derivative
    """
    vg = value_and_grad(f, argnums, has_aux)

    def grad_f(*args):
        value, g = vg(*args)
        return (g, value[1]) if has_aux else g

    return grad_f


def value_and_grad(f, argnums=0, has_aux=False):
    """``value_and_grad(f)(x)`` is ``(f(x), grad(f)(x))`` from one evaluation of f, as torch.func.

    With ``has_aux=True`` f returns ``(output, aux)`` and the result is ``((output, aux), gradient)``.
    ``argnums`` and pytrees as in ``grad``. The value is f's own output (a Value / a Tensor).

    >>> value_and_grad(lambda x: x ** 3)(2.0)                   # (Value(8.0), Value(12.0))
    """

    def value_and_grad_f(*args):
        nums, single = _argnums(argnums, len(args), "grad")
        engine, specs = _specs(args, nums, "grad")
        box = {}
        fn = _with_aux(f, box, "grad") if has_aux else f
        pull = engine.reverse(fn, args, nums, specs, "grad")
        grads = pull.pull(_scalar_output(engine, pull, "grad"))
        res = tuple(engine.gradient(g, tree) for g, (_, tree) in zip(grads, specs))
        g = res[0] if single else res
        return ((pull.output, box["aux"]) if has_aux else pull.output), g

    return value_and_grad_f


def grad_and_value(f, argnums=0, has_aux=False):
    """torch.func's spelling of ``value_and_grad``: ``(grad, value)``, or ``(grad, (value, aux))``."""
    vg = value_and_grad(f, argnums, has_aux)

    def grad_and_value_f(*args):
        value, g = vg(*args)
        return g, value

    return grad_and_value_f


def jacrev(f, argnums=0, has_aux=False):
    """The Jacobian of f by reverse mode: one backward pass per output number (cheap for few outputs).

    Same shapes, engines, pytrees and ``has_aux`` as ``jacfwd``: ``jacrev(f)(x)`` has shape
    ``output.shape + x.shape``, a numpy float array; inside another transform (``jacfwd(jacrev(f))``,
    ``jacrev(jacrev(f))``) an object array of Values (scalar engine) or a Tensor with a graph (tensor
    engine), so that the outer transform can differentiate it.

    >>> jacrev(lambda v: [v[0] * v[1], v[0].sin()])([1.0, 2.0])     # the same array as jacfwd's
    """

    def jacrev_f(*args):
        nums, single = _argnums(argnums, len(args), "jacrev")
        engine, specs = _specs(args, nums, "jacrev")
        box = {}
        fn = _with_aux(f, box, "jacrev") if has_aux else f
        pull = engine.reverse(fn, args, nums, specs, "jacrev", create_graph=False)
        out_container, out_units = units(pull.out_tree, pull.out_leaves, engine.name, "jacrev: the output of f")
        parts = [units(tree, leaves, engine.name, "jacrev: an argument") for leaves, tree in specs]
        per_output = []
        for ou in out_units:
            if engine.name == SCALAR:
                rows = [pull.pull_one(ou.start + (int(np.ravel_multi_index(index, ou.shape)) if ou.shape else 0))
                        for index in np.ndindex(*ou.shape)]
            else:
                rows = [pull.pull_one(ou.start, index) for index in np.ndindex(*ou.shape)]
            jacs = tuple(
                unflatten(container, [engine.jacobian([_line(engine, r[i], u) for r in rows], ou.shape, u.shape,
                                                      by_rows=True, dtype=_unit_dtype(specs[i][0], u))
                                      for u in us])
                for i, (container, us) in enumerate(parts))
            per_output.append(jacs[0] if single else jacs)
        result = unflatten(out_container, per_output)
        return (result, box["aux"]) if has_aux else result

    return jacrev_f


# ---------------------------------------------------------------------------- second order
def hessian(f, argnums=0):
    """The Hessian of f: ``hessian(f)(x)`` has shape ``output.shape + x.shape + x.shape`` (symmetric in the
    last two parts; ``x.shape * 2`` for a scalar-valued f).

    Both engines (the tensor engine through ``create_graph=True`` backward rules; an op that cannot be
    differentiated twice raises NotImplementedError naming it). Computed as ``jacrev(jacrev(f))``:
    reverse-over-reverse, which nests inside other transforms. Pytree arguments give a nested structure,
    ``H[key_i][key_j]``, as torch.func.hessian. With a tuple ``argnums`` the result is a
    tuple of tuples of blocks, ``H[i][j]`` = d2f / d(arg i) d(arg j), as in JAX.

    >>> hessian(lambda v: v[0] * v[1] ** 2)([1.0, 3.0])          # array([[0., 6.], [6., 6.]])
    """

    def hessian_f(*args):
        nums, single = _argnums(argnums, len(args), "hessian")
        engine, specs = _specs(args, nums, "hessian")
        if single:
            return jacrev(jacrev(f, nums[0]), nums[0])(*args)
        return tuple(jacrev(jacrev(f, a), nums)(*args) for a in nums)

    return hessian_f


def hvp(f, primals, v):
    """The Hessian-vector product of a scalar-valued f: ``(f(*primals), H @ v)``, without forming H.

    ``primals`` as in ``jvp`` (a tuple of arguments, or the single argument), ``v`` of the same structure.
    The product comes back shaped like the primals: Values (scalar engine) or Tensors (tensor engine). Computed
    reverse-over-reverse (the gradient of <grad f, v>), so it also works inside other transforms.
    (``jvp(grad(f), primals, v)`` gives the same vector forward-over-reverse.)

    >>> hvp(lambda x: x ** 3, 2.0, 1.0)                          # (Value(8.0), Value(12.0))
    """
    prim, vs, single = _as_args(primals, v, "hvp")
    argnums = tuple(range(len(prim)))
    engine, specs = _specs(prim, argnums, "hvp")
    v_leaves = [engine.tangent_leaves(t, tree, leaves, "hvp", f"v[{i}]")
                for i, (t, (leaves, tree)) in enumerate(zip(vs, specs))]
    box = {}

    def flat_gradient(*args):
        inner_specs = [flatten(args[a], "hvp") for a in argnums]
        pull = engine.reverse(f, args, argnums, inner_specs, "hvp")
        box["output"] = pull.output
        grads = pull.pull(_scalar_output(engine, pull, "hvp"))
        return [g for gs in grads for g in gs]

    _, vjp_fn = vjp(flat_gradient, *prim)
    prods = vjp_fn([x for xs in v_leaves for x in xs])
    return box["output"], (prods[0] if single else prods)
