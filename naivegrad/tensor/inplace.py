"""In-place ops (``add_``, ``mul_``, ``copy_``, ``clamp_``...) and the check that keeps them safe.

An in-place op writes its result into the tensor's own array, so numpy views of that array see the change
(as PyTorch's views do), and the tensor keeps its shape and dtype. PyTorch's rules apply:

- on a leaf that requires grad it is refused while grad mode is on (``RuntimeError``); under
  ``naivegrad.no_grad()`` it is allowed, as an optimizer's update is;
- on any other tensor, when grad mode is on and the tensor or the operand requires grad, the op is recorded:
  the tensor's history is *rebased*. Its ``_ctx`` becomes the in-place op's context, whose first parent is a
  snapshot: a Tensor standing for the old value, holding the old ``_ctx`` (and the hooks registered so far);
  or, where the op's rule reads the old value (``mul_``'s and ``div_``'s gradient of the operand, ``clamp_``),
  a Clone of the snapshot: a private copy of that value, made before the write (see ``_Inplace``).
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
from .function import Context, Function, _QUIET, _fp_policy, _new_context
from .tensor import Tensor, _bound, _make, _short
from .hooks import _move_hooks
from .ops import elementwise as E, movement as M
from .ops.cast import Clone

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
            q = c.snapshot
            c = q._ctx
        if q is not p:
            if np.may_share_memory(node.data, p.data):
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
    for cls in _INPLACE:  # their rules' (what they keep of x's old value is a private copy: never stamped)
        table[cls] = table[cls.rule]
    _BUILTIN_READS.update(table)
    return _BUILTIN_READS


_BUILTIN_READS = {}


# ---------------------------------------------------------------------------------------------- the ops
# Each in-place op evaluates the rules of its out-of-place op (``rule``: Add, Sub, Mul, Div, Clip, Expand), on a
# context prepared by that op's own forward: one derivative rule per op. What differs is only what the context
# keeps: x's memory is about to be overwritten, so where a rule reads x's old value the context holds a private
# copy of it (the output of a Clone of the snapshot, recorded as the in-place op's first parent, so that a
# create_graph backward finds it among the parents: see ``apply_inplace``); and in place of the output, which
# later in-place ops may overwrite too, it holds the tensor's array (never read by these rules; Div's quotient,
# which is, is computed again from the operands).
class _Record(Context):
    """An in-place op's context: also keeps the snapshot (which its first parent is, or is a copy of), for
    ``resolve`` (a slot: it survives ``release``)."""

    __slots__ = ("snapshot",)


def _as(rule, ctx, saved=None, need=None):
    """``ctx`` (an in-place op's context, or its lifted form) as ``rule``'s: same attributes and saved values
    (or ``saved``), ``fn`` the rule, for the rule's ``backward``/``jvp``."""
    c = _new_context(Context)
    c.fn, c.parents, c.epoch = rule, ctx.parents, ctx.epoch
    c.needs_input_grad = ctx.needs_input_grad if need is None else need
    c.__dict__.update(ctx.__dict__)
    if saved is not None:
        c.saved_tensors = saved
    return c


class _Inplace(Function):
    """Base of the in-place ops: ``forward(ctx, x, other, ...)`` runs ``rule``'s forward on ``ctx`` and
    returns the new value of x (a new array, which the engine writes into x's memory); ``backward`` and
    ``jvp`` run ``rule``'s on the context seen as ``rule``'s. x is the private copy of its old value when
    ``keeps_old`` (the rule reads it for a gradient that is needed), else the tensor's own array."""

    name = ""  # the method's name, for messages
    casts = False  # whether any result may be cast into the tensor's dtype (copy_, fill_), or only a same-kind one
    rule = None  # the out-of-place op whose rules are evaluated

    @staticmethod
    def keeps_old(need):
        """Whether the rule reads x's old value for the gradients ``need`` (so x's memory must be copied)."""
        return False

    @staticmethod
    def settle(ctx, d):
        """After x's memory ``d`` was written: what the context keeps of the output is ``d`` (the fresh result
        was only needed by ``jvp``, which ran before the write)."""
        s = ctx.saved_tensors
        ctx.saved_tensors = s[:-1] + (d,)

    @staticmethod
    def forward(ctx, x, o):
        return ctx.fn.rule.forward(ctx, x, o)

    @staticmethod
    def backward(ctx, g):
        fn = ctx.fn
        return fn.rule.backward(_as(fn.rule, ctx), g)

    @staticmethod
    def jvp(ctx, tx, to):
        fn = ctx.fn
        return fn.rule.jvp(_as(fn.rule, ctx), tx, to)


class AddInplace(_Inplace):
    """``x.add_(other, alpha=1)``: x + alpha * other: Add's rule (Sub's for alpha -1), and Mul's for the
    product alpha * other (a constant times the operand)."""

    name = "add_"
    sign = 1
    rule = E.Add

    @staticmethod
    def forward(ctx, x, o, alpha=1):
        ctx.alpha = a = ctx.fn.sign * alpha
        ctx.operand = o
        if a == 1:
            return E.Add.forward(ctx, x, o)
        if a == -1:
            return E.Sub.forward(ctx, x, o)
        return E.Add.forward(ctx, x, E.Mul.forward(_new_context(Context), a, o))

    @staticmethod
    def settle(ctx, d):  # alpha * other, a new array, is kept only for its shape (Add reads no value): other's
        ctx.saved_tensors = (ctx.saved_tensors[0], ctx.__dict__.pop("operand"), d)

    @staticmethod
    def backward(ctx, g):
        a = ctx.alpha
        rule = E.Sub if a == -1 else E.Add
        gx, go = rule.backward(_as(rule, ctx), g)
        if go is not None and a != 1 and a != -1:  # d(alpha * other)/d other
            go = E.Mul.backward(_as(E.Mul, ctx, (a, ctx.saved_tensors[1], None), (False, True)), go)[1]
        return gx, go

    @staticmethod
    def jvp(ctx, tx, to):
        a = ctx.alpha
        rule = E.Sub if a == -1 else E.Add
        if to is not None and a != 1 and a != -1:  # (before settle: saved_tensors[1] is alpha * other)
            to = E.Mul.jvp(_as(E.Mul, ctx, (a, ctx.operand, ctx.saved_tensors[1])), None, to)
        return rule.jvp(_as(rule, ctx), tx, to)


class SubInplace(AddInplace):
    """``x.sub_(other, alpha=1)``: x - alpha * other."""

    name = "sub_"
    sign = -1
    rule = E.Sub


class MulInplace(_Inplace):
    """``x.mul_(other)``: x * other, by Mul's rule; d/dother reads x's old value (a copy is kept when other
    needs its gradient)."""

    name = "mul_"
    rule = E.Mul

    @staticmethod
    def keeps_old(need):
        return need[1]


class DivInplace(_Inplace):
    """``x.div_(other)``: x / other, by Div's rule; d/dother reads the quotient, computed again from x's old
    value (a copy is kept when other needs its gradient) and other."""

    name = "div_"
    rule = E.Div

    @staticmethod
    def keeps_old(need):
        return need[1]

    @staticmethod
    def settle(ctx, d):
        a, b, _ = ctx.saved_tensors
        ctx.saved_tensors = (a, b, None)  # the quotient: computed again by backward, where it is needed

    @staticmethod
    def backward(ctx, g):
        a, b, _ = ctx.saved_tensors
        q = a / b if ctx.needs_input_grad[1] else None  # an op on Tensors in a create_graph backward
        return E.Div.backward(_as(E.Div, ctx, (a, b, q)), g)


class CopyInplace(_Inplace):
    """``x.copy_(src)`` (and ``fill_``, ``zero_``): src broadcast to x's shape, by Expand's rule; x's old value
    gets a zero gradient."""

    name = "copy_"
    casts = True
    rule = M.Expand

    @staticmethod
    def settle(ctx, d):
        del ctx.out  # (a view of src, for jvp)

    @staticmethod
    def forward(ctx, x, src):
        return M.Expand.forward(ctx, src if type(src) is np.ndarray else np.asarray(src), x.shape)

    @staticmethod
    def backward(ctx, g):
        need = ctx.needs_input_grad
        go = M.Expand.backward(_as(M.Expand, ctx), g) if need[1] else None
        return (np.zeros(g.shape, g.dtype) if need[0] else None), go

    @staticmethod
    def jvp(ctx, tx, to):
        return None if to is None else M.Expand.jvp(_as(M.Expand, ctx), to)


class FillInplace(CopyInplace):
    """``x.fill_(value)``: value everywhere (a number, or a 0-d Tensor, which gets the gradient's sum)."""

    name = "fill_"


class ZeroInplace(FillInplace):
    """``x.zero_()``: zeros everywhere."""

    name = "zero_"


class ClampInplace(_Inplace):
    """``x.clamp_(min, max)``: x limited to [min, max], by Clip's rule (the gradient passes where
    min <= x <= max), which reads x's old value: a copy is kept."""

    name = "clamp_"
    rule = E.Clip

    @staticmethod
    def keeps_old(need):
        return need[0]

    @staticmethod
    def forward(ctx, x, _unused, min=None, max=None):
        if min is None and max is None:
            raise ValueError("clamp_: give min, max or both (both are None)")
        # array bounds are copied: the rule reads them, and they may be modified after (constants, no gradient)
        min = min.copy() if type(min) is np.ndarray else min
        max = max.copy() if type(max) is np.ndarray else max
        return E.Clip.forward(ctx, x, min=min, max=max)

    @staticmethod
    def backward(ctx, g):
        return E.Clip.backward(_as(E.Clip, ctx), g), None

    @staticmethod
    def jvp(ctx, tx, _):
        return None if tx is None else E.Clip.jvp(_as(E.Clip, ctx), tx)


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
    tangent = t.tangent is not None or (o_tensor and other.tangent is not None)
    ctx = _Record(fn)
    need = ctx.needs_input_grad = (record and t.requires_grad, record and o_grad)
    x = d  # x's old value for the rule: d itself, read before the write, or a private copy kept for backward
    x_ctx = o_ctx = None
    if record and fn.keeps_old(need):
        x_ctx = Context(Clone)  # the copy, a Clone of the snapshot: the rule's x in a create_graph backward
        x = Clone.forward(x_ctx, d)
    if other is t:
        o = x  # x.mul_(x): the operand is x's old value too
    elif record and o_tensor and np.may_share_memory(o, d):
        o_ctx = Context(Clone)  # an operand sharing x's memory: its value before the write, a Clone of it
        o = Clone.forward(o_ctx, o)
    tok = _fp_policy.set(_QUIET)
    try:
        out = fn.forward(ctx, x, o, **kwargs)
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
        elif (type(new_tangent) is not np.ndarray or new_tangent.shape != d.shape or new_tangent.dtype != d.dtype
              or not new_tangent.flags.writeable):
            fitted = np.empty(d.shape, d.dtype)
            fitted[...] = new_tangent
            new_tangent = fitted
    if record:
        fn.settle(ctx, d)
        snapshot = _make(d, t.requires_grad, ctx0)
        snapshot.tangent = t.tangent
        _move_hooks(t, snapshot)
        first = snapshot if x_ctx is None else _copy_node(x, snapshot, x_ctx)
        if not o_tensor:
            second = None
        elif other is t:
            second = first
        else:
            second = other if o_ctx is None else _copy_node(o, other, o_ctx)
        ctx.parents = (first, second)
        ctx.snapshot = snapshot
        ctx.epoch = _epoch[0]
        t._ctx = ctx
        t.requires_grad = True
    if tangent:
        t.tangent = new_tangent
    return t


def _copy_node(copy, of, ctx):
    """The Tensor of ``copy`` (made by ``Clone.forward(ctx, of.data)``): recorded as a Clone of ``of`` when
    ``of`` requires grad (its gradient passes on to ``of``), else a constant."""
    if not of.requires_grad:
        return _make(copy, False, None)
    ctx.parents, ctx.needs_input_grad = (of,), (True,)
    return _make(copy, True, ctx)


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
