"""In-place ops (``add_``, ``mul_``, ``copy_``, ``clamp_``...) and the check that keeps them safe.

An in-place op writes its result into the tensor's own array, so numpy views of that array see the change
(as PyTorch's views do), and the tensor keeps its shape and dtype. PyTorch's rules apply:

- on a leaf that requires grad it is refused while grad mode is on (``RuntimeError``); under
  ``naivegrad.no_grad()`` it is allowed, as an optimizer's update is;
- on any other tensor, when grad mode is on and the tensor or the operand requires grad, the op is recorded:
  the tensor's history is *rebased*. Its ``_ctx`` becomes the in-place op's context, whose first parent is a
  snapshot: a Tensor standing for the old value, holding the old ``_ctx`` (and the hooks registered so far).
  Ops recorded before the in-place op keep sending their gradient to the old value (see ``resolve``). The
  snapshot does not refer to the tensor, so rebasing makes no reference cycle, except when the operand was
  computed from the tensor itself (``y.add_(f(y))``): that one lasts until a backward resolves it (or Python's
  garbage collector frees it);
- an op on a view of another tensor's data that is part of the graph (the output of ``reshape``, ``T``,
  indexing...) is refused: naivegrad does not rebase views as PyTorch does (make a copy, or work on the base).

**The safety check.** A recorded op saves arrays for its backward (``Mul`` saves its operands, ``Exp`` its
output). Modifying such an array in place afterwards would make that backward silently wrong; instead the
backward raises a ``RuntimeError`` naming the op and the in-place op. How, at almost no cost when nobody
uses in-place ops:

- a global in-place *epoch* counts the in-place ops; each one also stamps the *root* of the array it wrote
  (follow ``ndarray.base`` to the array that owns the memory, so every view of it counts) with the new
  epoch and its name (``_stamps``: keyed by id, holding a weakref, dropped when the array dies);
- ``Function.apply`` stores the current epoch on each context it records (``ctx.epoch``);
- ``Tensor.backward`` compares each node's epoch with the current one: only when an in-place op happened
  since that node was recorded does it check the arrays the node's backward reads (``check``) and replace,
  in ``ctx.parents``, the parents rebased since by the snapshots of the values it used (``resolve``).

Which saved arrays a backward reads is declared per op (``backward_reads``: the built-in ops' are in
``_BUILTIN_READS``); for other ``Function`` subclasses every array in ``ctx.saved_tensors`` and every array
attribute of the context counts, unless the class declares ``backward_reads``.

Writes that go through ``.data`` (``t.data[0] = 5``, ``p.data -= lr * p.grad``), or through numpy on
``t.numpy()``, bypass the check, as in PyTorch: that is how the optimizers update their parameters after a
backward (the graph is released by then). Forward mode needs nothing: each op's ``jvp`` reads the saved
arrays at forward time.
"""

import numbers
import weakref

import numpy as np

from ..grad_mode import _state as _grad_state
from .function import Context, Function, _QUIET, _fp_policy
from .shapes import unbroadcast
from .tensor import Tensor, _bound, _make, _short
from .hooks import _move_hooks

__all__ = ["AddInplace", "SubInplace", "MulInplace", "DivInplace", "FillInplace", "ZeroInplace", "CopyInplace",
           "ClampInplace"]

# The number of in-place ops run so far (a list: read on every recorded op, without a global statement).
_epoch = [0]

# id(root array) -> (weakref to it, epoch of its last in-place modification, name of that op).
_stamps = {}


def _root(a):
    """The array that owns ``a``'s memory (``a`` itself, or the end of its chain of ``.base`` arrays)."""
    b = a.base
    while isinstance(b, np.ndarray):
        a, b = b, b.base
    return a


def _forget(key):
    def forget(ref):
        entry = _stamps.get(key)
        if entry is not None and entry[0] is ref:
            del _stamps[key]

    return forget


def _stamp(a, name):
    """Record that ``a``'s memory was modified by the in-place op ``name`` now (at the current epoch)."""
    r = _root(a)
    key = id(r)
    entry = _stamps.get(key)
    ref = entry[0] if entry is not None and entry[0]() is r else weakref.ref(r, _forget(key))
    _stamps[key] = (ref, _epoch[0], name)


def _modification(a):
    """(epoch, op name) of the last in-place write into ``a``'s memory, or None."""
    r = _root(a)
    entry = _stamps.get(id(r))
    if entry is None or entry[0]() is not r:
        return None
    return entry[1], entry[2]


# ---------------------------------------------------------------------------------------------- the checks
def _arrays_read(ctx):
    """The arrays whose values ``ctx``'s backward reads."""
    fn = ctx.fn
    builtin = (_BUILTIN_READS or _builtin_reads()).get(fn)
    if builtin is not None:
        return builtin(ctx)
    reads = getattr(fn, "backward_reads", None)
    saved = ctx.saved_tensors
    if reads is None:  # undeclared: everything it saved, and every array attribute
        arrays = list(saved)
        for k, v in vars(ctx).items():
            if k != "saved_tensors" and isinstance(v, np.ndarray):
                arrays.append(v)
        return arrays
    if callable(reads):
        reads = reads(ctx.needs_input_grad)
    return [saved[i] for i in reads]


def check(ctx):
    """Raise a RuntimeError if an array ``ctx``'s backward reads was modified in place after ``ctx`` was
    recorded (at ``ctx.epoch``)."""
    if not _stamps or ctx.released:
        return
    e = ctx.epoch
    for a in _arrays_read(ctx):
        if isinstance(a, np.ndarray):
            m = _modification(a)
            if m is not None and m[0] > e:
                name = ctx.fn.__name__
                raise RuntimeError(
                    f"one of the arrays needed by {name}'s backward was modified by an in-place operation "
                    f"({m[1]}) after it was saved: its gradient would be wrong. Do the in-place operation "
                    f"after the backward, or on a copy (t.clone()), or compute {name} after it"
                )


def resolve(node, ctx):
    """``ctx``'s parents as they were when ``ctx`` was recorded: a parent rebased by an in-place op since
    stands for its new value, and is replaced by the snapshot of its value at that time."""
    e = ctx.epoch
    parents = ctx.parents
    out = None
    for i, p in enumerate(parents):
        if p is None:
            continue
        q = p
        c = q._ctx
        while c is not None and c.epoch > e and c.fn in _INPLACE:
            q = c.parents[0]
            c = q._ctx
        if q is not p:
            if np.may_share_memory(node.data, q.data):
                # node is a view of p (reshape, transpose, indexing...) and p was changed in place: node's
                # value changed too, which its recorded history does not know (PyTorch rebases views).
                name = p._ctx.fn.name
                raise RuntimeError(
                    f"the output of {ctx.fn.__name__} is a view of a tensor that was modified in place ({name}) "
                    f"after the view was made: its gradient would be wrong (naivegrad does not rebase views). "
                    f"Make the view after the in-place operation, or from a copy (t.clone())"
                )
            if out is None:
                out = list(parents)
            out[i] = q
    return parents if out is None else tuple(out)


# ---------------------------------------------------------------------------------------------- declarations
def _builtin_reads():
    """Which arrays each built-in op's backward reads: a function of the context giving them. Ops not listed
    here (and not declaring ``backward_reads``) are checked in full."""
    from .ops import activation as A, elementwise as E, linalg as L, movement as M, reduce as R

    def saved(*indices):
        return lambda ctx: [ctx.saved_tensors[i] for i in indices]

    def each_other(ctx):  # mul, matmul, linear: each operand's gradient reads the other operand
        a, b = ctx.saved_tensors[:2]
        need = ctx.needs_input_grad
        return ([b] if need[0] else []) + ([a] if need[1] else [])

    def div(ctx):  # (a, b, q): d/da = 1/b; d/db = -q/b
        return ctx.saved_tensors[1:] if ctx.needs_input_grad[1] else ctx.saved_tensors[1:2]

    def pow_(ctx):  # (a, b, out): d/da = b a**(b-1); d/db = out ln a
        return ctx.saved_tensors if ctx.needs_input_grad[1] else ctx.saved_tensors[:2]

    def index(ctx):  # the index arrays (an integer tensor's own array, maybe), not the selected values
        i = ctx.index
        return list(i) if type(i) is tuple else [i]

    nothing = saved()
    table = {
        E.Add: nothing, E.Sub: nothing, E.Neg: nothing, E.Mul: each_other, E.Div: div, E.Pow: pow_,
        E.Abs: saved(0), E.Exp: saved(1), E.Log: saved(0), E.Log1p: saved(0), E.Sqrt: saved(1),
        E.Tanh: saved(1), E.Sigmoid: saved(1), E.Relu: saved(1), E.Sin: saved(0), E.Cos: saved(0),
        E.Maximum: saved(0, 1), E.Minimum: saved(0, 1),
        E.Clip: lambda ctx: [ctx.saved_tensors[0], *ctx.saved_tensors[1]], E.Where: lambda ctx: [ctx.condition],
        L.MatMul: each_other, L.Linear: each_other,
        R.Sum: nothing, R.Mean: nothing, R.Max: saved(0, 1), R.Min: saved(0, 1), R.LogSumExp: saved(0, 1),
        A.Softmax: saved(0), A.LogSoftmax: saved(0),
        # only shapes (their ctx.out, for forward mode, may be a view of the input: not read by backward)
        M.Reshape: nothing, M.Transpose: nothing, M.Expand: nothing, M.Squeeze: nothing, M.Unsqueeze: nothing,
        M.Concatenate: nothing, M.Stack: nothing, M.Pad: nothing, M.GetItem: index,
    }
    for cls in _INPLACE:  # they save private copies, and the operand they read
        table[cls] = saved(*cls.backward_reads)
    _BUILTIN_READS.update(table)
    return _BUILTIN_READS


_BUILTIN_READS = {}


# ---------------------------------------------------------------------------------------------- the ops
class _Inplace(Function):
    """Base of the in-place ops: ``forward(ctx, x, other, ...)`` returns the new value of x (a new array,
    which the engine writes into x's memory) and saves copies of what backward needs: x's memory is about
    to be overwritten. Their first parent is the snapshot of x's old value, the second the operand."""

    name = ""  # the method's name, for messages
    casts = False  # whether any result may be cast into the tensor's dtype (copy_, fill_), or only a same-kind one
    backward_reads = ()  # indices into saved_tensors of arrays that are not private copies


class AddInplace(_Inplace):
    """``x.add_(other, alpha=1)``: x + alpha * other."""

    name = "add_"
    sign = 1

    @classmethod
    def _run(cls, ctx, x, o, alpha):
        ctx.alpha = a = cls.sign * alpha
        ctx.o_shape = np.shape(o)
        if a == 1:
            return np.add(x, o)
        if a == -1:
            return np.subtract(x, o)
        return np.add(x, np.multiply(a, o))

    @staticmethod
    def forward(ctx, x, o, alpha=1):
        return AddInplace._run(ctx, x, o, alpha)

    @staticmethod
    def backward(ctx, g):
        a = ctx.alpha
        go = None
        if ctx.needs_input_grad[1]:
            go = unbroadcast(g if a == 1 else -g if a == -1 else a * g, ctx.o_shape)
        return g, go

    @staticmethod
    def jvp(ctx, tx, to):
        a = ctx.alpha
        if to is None:
            return tx
        to = to if a == 1 else -to if a == -1 else a * to
        return to if tx is None else tx + to


class SubInplace(AddInplace):
    """``x.sub_(other, alpha=1)``: x - alpha * other."""

    name = "sub_"
    sign = -1

    @staticmethod
    def forward(ctx, x, o, alpha=1):
        return SubInplace._run(ctx, x, o, alpha)


class MulInplace(_Inplace):
    """``x.mul_(other)``: x * other (saves a copy of x when other needs its gradient)."""

    name = "mul_"
    backward_reads = (0,)  # the operand (x_old is a private copy)

    @staticmethod
    def forward(ctx, x, o):
        ctx.save_for_backward(o, x.copy() if ctx.keep_x else None)
        ctx.o_shape = np.shape(o)
        return np.multiply(x, o)

    @staticmethod
    def backward(ctx, g):
        o, x = ctx.saved_tensors
        need = ctx.needs_input_grad
        return (g * o if need[0] else None), (unbroadcast(g * x, ctx.o_shape) if need[1] else None)

    @staticmethod
    def jvp(ctx, tx, to):
        o, x = ctx.saved_tensors
        r = None if tx is None else tx * o
        if to is not None:
            r = to * x if r is None else r + to * x
        return r


class DivInplace(_Inplace):
    """``x.div_(other)``: x / other; d/dx = 1/other, d/dother = -(x/other)/other."""

    name = "div_"
    backward_reads = (0,)

    @staticmethod
    def forward(ctx, x, o):
        ctx.save_for_backward(o, x.copy() if ctx.keep_x else None)
        ctx.o_shape = np.shape(o)
        return np.true_divide(x, o)

    @staticmethod
    def backward(ctx, g):
        o, x = ctx.saved_tensors
        need = ctx.needs_input_grad
        gx = g / o if need[0] else None
        go = unbroadcast(-(g * (x / o) / o), ctx.o_shape) if need[1] else None
        return gx, go

    @staticmethod
    def jvp(ctx, tx, to):
        o, x = ctx.saved_tensors
        r = None if tx is None else tx / o
        if to is not None:
            d = -(to * (x / o) / o)
            r = d if r is None else r + d
        return r


class CopyInplace(_Inplace):
    """``x.copy_(src)`` (and ``fill_``, ``zero_``): src, broadcast to x's shape; x's old value gets no
    gradient."""

    name = "copy_"
    casts = True

    @staticmethod
    def forward(ctx, x, src):
        ctx.o_shape = np.shape(src)
        return np.broadcast_to(src, x.shape)

    @staticmethod
    def backward(ctx, g):
        need = ctx.needs_input_grad
        return (np.zeros(g.shape, g.dtype) if need[0] else None), (unbroadcast(g, ctx.o_shape) if need[1] else None)

    @staticmethod
    def jvp(ctx, tx, to):
        return None if to is None else to


class FillInplace(CopyInplace):
    """``x.fill_(value)``: value everywhere (a number, or a 0-d Tensor, which gets the gradient's sum)."""

    name = "fill_"


class ZeroInplace(FillInplace):
    """``x.zero_()``: zeros everywhere."""

    name = "zero_"


class ClampInplace(_Inplace):
    """``x.clamp_(min, max)``: x limited to [min, max]; the gradient passes where min <= x <= max."""

    name = "clamp_"

    @staticmethod
    def forward(ctx, x, _unused, min=None, max=None):
        if min is None and max is None:
            raise ValueError("clamp_: give min, max or both (both are None)")
        inside = np.ones(x.shape, dtype=bool)
        if min is not None:
            inside &= x >= min
        if max is not None:
            inside &= x <= max
        ctx.inside = inside
        return np.clip(x, min, max)

    @staticmethod
    def backward(ctx, g):
        return np.where(ctx.inside, g, np.zeros((), g.dtype)), None

    @staticmethod
    def jvp(ctx, tx, _):
        return None if tx is None else np.where(ctx.inside, tx, np.zeros((), tx.dtype))


_INPLACE = frozenset((AddInplace, SubInplace, MulInplace, DivInplace, CopyInplace, FillInplace, ZeroInplace,
                      ClampInplace))


# ---------------------------------------------------------------------------------------------- the driver
def _operand(x, name):
    """The operand of an in-place op: a Tensor, or a number or array (a constant)."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, numbers.Integral):
        return int(x)
    if isinstance(x, numbers.Real):
        return float(x)  # an np.float64 must not widen the result (float32 data stays float32, as in PyTorch)
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name}: the operand must be a Tensor, a real number or an array of them, got "
                        f"{type(x).__name__}: {x!r}")
    return arr


def apply_inplace(fn, t, other=None, **kwargs):
    """Run the in-place op ``fn`` on Tensor ``t`` (and ``other``: a Tensor, number, array or None), writing
    the result into ``t.data``; recorded in the graph as the module docstring says. Returns ``t``."""
    name = fn.name
    if other is not None:
        other = _operand(other, name)
        if type(other) is np.ndarray:  # a constant operand: a Tensor, so that a create_graph backward finds it
            other = _make(other, False, None)
    o_tensor = isinstance(other, Tensor)
    o_grad = o_tensor and other.requires_grad
    record = _grad_state.enabled and (t.requires_grad or o_grad)
    ctx0 = t._ctx
    if record:
        if ctx0 is None and t.requires_grad:
            raise RuntimeError(
                f"{name}: a leaf tensor that requires grad cannot be modified in place while grad mode is on "
                f"(its gradient would be lost); update it under naivegrad.no_grad(), as optimizers do, "
                f"or write to .data"
            )
        if ctx0 is not None and ctx0.fn not in _INPLACE:
            for p in ctx0.parents:
                if p is not None and np.may_share_memory(t.data, p.data):
                    raise RuntimeError(
                        f"{name}: this tensor is a view of another tensor's data (the output of "
                        f"{ctx0.fn.__name__}), which is part of the graph: modifying it in place is not "
                        f"supported (naivegrad does not rebase views as PyTorch does); modify a copy "
                        f"(t.clone()) or the base tensor"
                    )
    d = t.data
    if not d.flags.writeable:
        raise RuntimeError(f"{name}: this tensor's array is read-only (an expand/broadcast view, or a "
                           f"read-only array given to Tensor()): it cannot be modified in place")
    o = other.data if o_tensor else other
    for operand in (o, *kwargs.values()):  # the operand, and clamp_'s bounds
        if type(operand) is np.ndarray and operand.shape != d.shape:
            try:
                b = np.broadcast_shapes(d.shape, operand.shape)
            except ValueError:
                b = None
            if b != d.shape:
                raise ValueError(f"{name}: an operand of shape {operand.shape} does not broadcast to the "
                                 f"tensor's shape {d.shape} (in-place ops keep the tensor's shape)")
    if o_tensor and np.may_share_memory(o, d):
        o = o.copy()  # x.mul_(x): the operand's value before the write
    tangent = t.tangent is not None or (o_tensor and other.tangent is not None)
    ctx = Context(fn)
    ctx.needs_input_grad = (record and t.requires_grad, record and o_grad)
    ctx.keep_x = o_tensor and (ctx.needs_input_grad[1] or other.tangent is not None)
    tok = _fp_policy.set(_QUIET)
    try:
        out = fn.forward(ctx, d, o, **kwargs)
        new_tangent = None
        if tangent:
            new_tangent = fn.jvp(ctx, t.tangent, other.tangent if o_tensor else None)
    finally:
        _fp_policy.reset(tok)
    out_dtype = getattr(out, "dtype", d.dtype)
    if out_dtype != d.dtype and not fn.casts and not np.can_cast(out_dtype, d.dtype, "same_kind"):
        raise TypeError(f"{name}: the result is {out_dtype}, which cannot be written into a {d.dtype} tensor "
                        f"(as PyTorch: no float result in an integer tensor, no number in a bool one)")
    np.copyto(d, out, casting="unsafe")
    _epoch[0] += 1
    _stamp(d, name)
    if tangent:
        if new_tangent is None:
            new_tangent = np.zeros(d.shape, d.dtype)
        elif type(new_tangent) is not np.ndarray or new_tangent.shape != d.shape or new_tangent.dtype != d.dtype:
            fitted = np.empty(d.shape, d.dtype)
            fitted[...] = new_tangent
            new_tangent = fitted
    if record:
        snapshot = _make(d, t.requires_grad, ctx0)
        snapshot.tangent = t.tangent
        _move_hooks(t, snapshot)
        ctx.parents = (snapshot, (snapshot if other is t else other) if o_tensor else None)
        ctx.epoch = _epoch[0]
        t._ctx = ctx
        t.requires_grad = True
    if tangent:
        t.tangent = new_tangent
    return t


# ---------------------------------------------------------------------- the Tensor methods
# PyTorch's in-place ops, with the rules of the module docstring: each writes into ``data`` (numpy views of it
# see the change), keeps the shape and dtype, and returns self. Refused on a leaf that requires grad while
# grad mode is on; recorded in the graph on other tensors; a backward that needs an array modified in place
# after its op saved it raises instead of giving a wrong gradient. Writes through ``.data`` bypass the check.
def add_(self, other, alpha=1):
    """self += alpha * other, in place (other: a Tensor, a number or an array; broadcast to self's shape)."""
    return apply_inplace(AddInplace, self, other, alpha=_alpha(alpha, "add_"))


def sub_(self, other, alpha=1):
    """self -= alpha * other, in place."""
    return apply_inplace(SubInplace, self, other, alpha=_alpha(alpha, "sub_"))


def mul_(self, other):
    """self *= other, in place."""
    return apply_inplace(MulInplace, self, other)


def div_(self, other):
    """self /= other, in place."""
    return apply_inplace(DivInplace, self, other)


def zero_(self):
    """Every element set to 0, in place."""
    return apply_inplace(ZeroInplace, self, 0)


def fill_(self, value):
    """Every element set to ``value`` (a number, or a 0-d Tensor, whose gradient is the sum), in place."""
    if isinstance(value, Tensor) and value.ndim != 0:
        raise ValueError(f"fill_: the value must be a number or a 0-d tensor, got shape {value.shape}")
    if not isinstance(value, Tensor) and np.ndim(value) != 0:
        raise ValueError(f"fill_: the value must be a number or a 0-d tensor, got {_short(value)}")
    return apply_inplace(FillInplace, self, value)


def copy_(self, src):
    """self's elements replaced by ``src``'s (broadcast to self's shape, cast to self's dtype), in place;
    the gradient flows to ``src``."""
    return apply_inplace(CopyInplace, self, src)


def clamp_(self, min=None, max=None):
    """Values limited to [min, max] in place (``clip`` in place)."""
    return apply_inplace(ClampInplace, self, None, min=_bound(min, "min"),
                                  max=_bound(max, "max"))


clip_ = clamp_


def _alpha(alpha, what):
    if isinstance(alpha, (bool, np.bool_)) or not isinstance(alpha, numbers.Real):
        raise TypeError(f"{what}: alpha must be a real number, got {type(alpha).__name__}: {alpha!r}")
    return alpha if type(alpha) in (int, float) else float(alpha)


METHODS = {"add_": add_, "sub_": sub_, "mul_": mul_, "div_": div_, "zero_": zero_, "fill_": fill_, "copy_": copy_,
           "clamp_": clamp_, "clip_": clip_}
