'''Ops as ``Function`` subclasses: a forward on numpy arrays and, next to it, the rules that differentiate it.

Every tensor op (``+``, ``matmul``, ``sum``, ``logsoftmax``...) is written this way, and users add their own
ops the same way, as with ``torch.autograd.Function``::

    import numpy as np
    from naivegrad.tensor import Function, Tensor

    class Cube(Function):
        """x ** 3, elementwise."""

        @staticmethod
        def forward(ctx, x):              # numpy arrays in, a numpy array out
            ctx.save_for_backward(x)
            return x * x * x

        @staticmethod
        def backward(ctx, grad_output):   # one gradient per positional input (None where not needed)
            (x,) = ctx.saved_tensors
            return grad_output * 3 * x * x

        @staticmethod
        def jvp(ctx, x_tangent):           # forward mode (optional): tangents in, the output's tangent out
            (x,) = ctx.saved_tensors
            return 3 * x * x * x_tangent

    y = Cube.apply(Tensor([1.0, 2.0]))    # Tensor([1., 8.]); y.sum().backward() gives x.grad == [3., 12.]

The contract:

- ``apply(*args, **kwargs)`` passes ``Tensor`` arguments to ``forward`` as their ``.data`` arrays and other
  positional arguments (numbers, arrays, None) as they are; keyword arguments are options, never
  differentiated. ``forward`` returns one numpy array, which becomes the output Tensor (a tuple or a list of
  several outputs raises TypeError).
- ``ctx.needs_input_grad`` has one bool per positional argument (already set when ``forward`` runs), and
  ``backward`` returns one gradient per positional argument, in order: an array of that input's shape (another
  shape raises ValueError, never broadcast), or None (required for non-Tensors, as in torch; allowed wherever
  ``needs_input_grad`` is False: skip gradients nobody needs). A one-input op may return the bare array.
  ``jvp`` returns the output's tangent, of the output's shape (another shape raises ValueError).
- ``forward`` stores what the derivative rules need with ``ctx.save_for_backward(*arrays)`` or as plain
  attributes (``ctx.axis = axis``). Store it whether or not a gradient is needed: the forward-mode rule
  ``jvp`` reads the same context, and forward mode runs even under ``no_grad``.
- Gradients flowing into an input are cast to that input's dtype by the engine (a float32 leaf always gets a
  float32 ``.grad``), and numpy floating-point warnings are silenced inside ``forward``, ``backward`` and
  ``jvp``: results follow IEEE-754 (inf, nan) as in PyTorch.
- The graph is recorded only when grad mode is on (see ``naivegrad.no_grad``) and some Tensor argument
  requires grad; otherwise the output is a plain Tensor with ``requires_grad=False``.
- The arrays ``forward`` receives are the Tensors' own (not copies): if an in-place op (``t.add_``...)
  modifies one that ``backward`` reads after it was saved, the backward raises instead of computing a wrong
  gradient (``naivegrad.tensor.inplace``). ``backward_reads`` narrows which saved arrays count.

Higher order (``backward(create_graph=True)``, ``naivegrad.autograd.grad(..., create_graph=True)``): the engine
calls each recorded op's same ``backward(ctx, g)`` rule with ``g`` a Tensor and a *lifted* context, so the
rule's arithmetic is recorded and the gradient can be differentiated again. One rule per op, no second copy:

- in the lifted context every entry of ``ctx.saved_tensors`` that is (by identity) an operand's array becomes
  that operand Tensor, and the op's output array becomes the output Tensor. Any other array there raises
  NotImplementedError naming the op ("X's backward uses an array it derived in forward; it cannot be
  differentiated twice yet"), never a second derivative that silently treats a derivative as a constant. So
  an op saves operands and output only, and computes derived differentiable values again in ``backward``
  (logsoftmax's softmax is ``np.exp(out)``). Entries that are not arrays (numbers, None, tuples of options)
  pass as they are;
- other context attributes (masks, indices, shapes, options, counts) pass as they are: constants, except an
  attribute that is (by identity) the array of an operand that requires grad (``ctx.x = x``), which becomes
  that operand, as in torch. A mask or a sign a rule computes from the values is a constant too:
  ``naivegrad.tensor.ops._rules.value(x)`` is the array of an operand, array or Tensor;
- rules use what ndarrays and Tensors both understand with the same meaning: arithmetic and comparison
  operators, ``.reshape``, ``.transpose``, ``.T``, ``.sum(axis=, keepdims=)``, ``.shape``, ``.dtype``, indexing,
  and numpy calls, which Tensor's ``__array_ufunc__`` / ``__array_function__`` turn into Tensor ops
  (``np.exp``, ``np.where``, ``np.matmul``, ``np.add.reduce``, ``np.broadcast_to``...: the list is in
  ``naivegrad.tensor._numpy``). A numpy call without a Tensor op, or ``np.asarray`` of a Tensor that requires
  grad, raises while a create_graph backward runs. The few steps that must differ (an in-place scatter, a
  fast numpy path) go through one helper that dispatches on the type: ``ops.movement.scatter`` (the op
  ``Scatter`` on Tensors, whose backward is the gather ``g[index]``), ``ops._rules.spread`` and ``astype``;
- a rule may return plain arrays or numbers (constant gradients); the engine casts each gradient to its
  input's dtype (a ``Cast`` node for a Tensor). A first-order backward runs every rule on plain arrays, as
  before: no Tensor is made.

The ``Cube`` above differentiates twice as it is (it saves its operand). Saving ``x * x`` instead would
raise on ``create_graph=True``.
'''

import numpy as np

from ..grad_mode import _state as _grad_state
from .tensor import Tensor

__all__ = ["Context", "Function", "quiet"]

# numpy keeps its floating-point error policy in a context variable; setting it directly silences the
# warnings of one op for ~0.1 us, where ``with np.errstate(all="ignore")`` costs ~1 us per op.
try:
    from numpy._core._ufunc_config import _extobj_contextvar as _fp_policy

    with np.errstate(all="ignore"):
        _QUIET = _fp_policy.get()
except (ImportError, AttributeError):  # pragma: no cover - numpy 1.x: the public, slower way

    class _ErrstateShim:
        def set(self, _):
            e = np.errstate(all="ignore")
            e.__enter__()
            return e

        def reset(self, e):
            e.__exit__(None, None, None)

    _fp_policy, _QUIET = _ErrstateShim(), None


class quiet:
    """``with quiet():`` runs numpy with floating-point warnings silenced (IEEE nan and inf, no noise)."""

    __slots__ = ("_token",)

    def __enter__(self):
        self._token = _fp_policy.set(_QUIET)
        return self

    def __exit__(self, *exc):
        _fp_policy.reset(self._token)
        return False


_new_context = _new_tensor = object.__new__


class Context:
    """What one application of a ``Function`` remembers: its inputs, and whatever its forward saved.

    ``ctx.save_for_backward(*arrays)`` / ``ctx.saved_tensors``, ``ctx.needs_input_grad`` (a bool per
    positional input), and any attribute a forward wants to set. The output Tensor keeps its context as
    ``_ctx``; ``ctx.fn`` is the Function class and ``ctx.parents`` the positional inputs (Tensors, or None
    for constants). After a ``backward`` without ``retain_graph`` the saved arrays are released.
    """

    # The graph's structure lives in slots, which survive release(); whatever forward saved lives in the
    # instance dict, which release() empties. ``epoch`` is the in-place epoch when the op was recorded (see
    # naivegrad.tensor.inplace): backward checks the node's saved arrays only if in-place ops ran since.
    __slots__ = ("fn", "parents", "needs_input_grad", "epoch", "__dict__", "__weakref__")

    saved_tensors = ()
    released = False

    def __init__(self, fn=None, parents=(), needs_input_grad=()):
        self.fn, self.parents, self.needs_input_grad = fn, parents, needs_input_grad
        self.epoch = _epoch[0]

    def save_for_backward(self, *arrays):
        """Keep ``arrays`` (numpy arrays, or None) for ``backward``/``jvp``, as ``ctx.saved_tensors``."""
        self.saved_tensors = arrays

    def release(self):
        """Drop the saved arrays and attributes (done by ``backward`` unless ``retain_graph=True``)."""
        self.__dict__.clear()
        self.released = True

    def __repr__(self):
        name = self.fn.__name__ if self.fn is not None else "?"
        return f"<Context of {name}{' (released)' if self.released else ''}>"


class Function:
    """Base class of every tensor op: subclass it, write static ``forward``/``backward`` (and ``jvp``).

    See the module docstring for the contract and an example; call ``MyOp.apply(...)``, never
    ``forward`` directly.

    ``backward_reads`` (optional) says which of ``ctx.saved_tensors`` the backward reads the values of: a
    tuple of indices, or a function of ``ctx.needs_input_grad`` giving them. Modifying one of those arrays
    in place between the forward and the backward makes the backward raise (see
    ``naivegrad.tensor.inplace``); None, the default, counts every saved array and array attribute.
    """

    backward_reads = None

    @staticmethod
    def forward(ctx, *inputs, **kwargs):
        raise NotImplementedError("a Function subclass must define forward(ctx, *inputs)")

    @staticmethod
    def backward(ctx, grad_output):
        raise NotImplementedError(f"{ctx.fn.__name__} has no backward rule")

    @staticmethod
    def jvp(ctx, *input_tangents):
        raise NotImplementedError(f"{ctx.fn.__name__} has no forward-mode (jvp) rule yet")

    @classmethod
    def apply(cls, *args, **kwargs):
        """Run the op on Tensors (and constants), recording the graph when a gradient may be needed."""
        ctx = _new_context(Context)
        ctx.fn = cls
        arrays = []
        needs = []
        requires = tangent = const = False
        for a in args:
            if isinstance(a, Tensor):
                arrays.append(a.data)
                if a.requires_grad:
                    requires = True
                    needs.append(True)
                else:
                    needs.append(False)
                if a.tangent is not None:
                    tangent = True
            else:
                arrays.append(a)
                needs.append(False)
                const = True
        record = requires and _grad_state.enabled
        if record:
            ctx.parents = tuple([a if isinstance(a, Tensor) else None for a in args]) if const else args
            ctx.needs_input_grad = tuple(needs)
            ctx.epoch = _epoch[0]
        else:
            ctx.parents = ()
            ctx.needs_input_grad = (False,) * len(args)
        out_tangent = None
        tok = _fp_policy.set(_QUIET)
        try:
            out = cls.forward(ctx, *arrays, **kwargs)
            if tangent:
                out_tangent = cls.jvp(ctx, *[a.tangent if isinstance(a, Tensor) else None for a in args])
        finally:
            _fp_policy.reset(tok)
        if type(out) is not np.ndarray:
            if isinstance(out, (tuple, list)):
                # np.asarray would stack several outputs into one Tensor, whose gradient then mixes them up
                # silently; torch.autograd.Function's several outputs are not supported: say so instead.
                raise TypeError(f"{cls.__name__}.forward returned a {type(out).__name__} of {len(out)} items; a "
                                f"Function has one output, a numpy array (write one Function per output)")
            # A numpy scalar (arithmetic on 0-d arrays): the output is its array,
            scalar, out = out, np.asarray(out)  # and so is the copy saved for backward (found by identity)
            if record and ctx.saved_tensors:
                ctx.saved_tensors = tuple([out if s is scalar else s for s in ctx.saved_tensors])
        if out_tangent is not None and np.shape(out_tangent) != out.shape:
            # A tangent of another shape would be broadcast by the next op's jvp: a wrong J t, silently.
            raise ValueError(f"{cls.__name__}.jvp gave a tangent of shape {np.shape(out_tangent)} for an output of "
                             f"shape {out.shape}")
        t = _new_tensor(Tensor)  # the engine's own arrays: no validation (see tensor._make)
        t.data = out
        t.grad = None
        t.tangent = out_tangent
        if record:
            t.requires_grad = True
            t._ctx = ctx
        else:
            t.requires_grad = False
            t._ctx = None
        return t


# The in-place ops' module imports this one (for Function): it is imported once Function exists.
from .inplace import _epoch  # noqa: E402
