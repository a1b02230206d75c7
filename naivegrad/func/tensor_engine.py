"""The transforms' two primitives on the tensor engine, through the public Tensor API only.

Reverse mode is ``Tensor.backward(grad, retain_graph=True)`` on fresh leaves (one backward per cotangent,
so that ``vjp_fn`` and ``jacrev`` can pull back many times). Leaves that f closes over (a model's
parameters) get their ``.grad`` put back afterwards: a transform returns derivatives, it does not
accumulate them anywhere. Forward mode sets ``tangent`` on fresh leaves and lets each op's ``jvp`` rule
carry it; an op without one stops forward mode with a ``NotImplementedError`` naming the op.
"""

import numpy as np

from ..engines import TENSOR, is_tensor
from ..grad_mode import enable_grad, no_grad
from ..tensor import Function, Tensor
from .nesting import running
from .trees import LEAF, flatten, unflatten

__all__ = ["TensorEngine", "MissingJvpRule"]


class MissingJvpRule(NotImplementedError):
    """Forward mode reached a tensor op that has no ``jvp`` rule; ``op`` is that op's ``Function`` class."""

    def __init__(self, message, op):
        super().__init__(message)
        self.op = op


def _as_float_array(x):
    data = x.data if is_tensor(x) else x
    if data.dtype.kind == "f":
        return data
    if data.dtype.kind in "biu" and data.dtype.kind != "b":
        return data.astype(np.float64)  # integers: derivatives need a floating type; float64 loses nothing
    raise TypeError(f"a tensor-engine argument must hold real numbers, got dtype {data.dtype}")


def _output_leaves(out, name):
    leaves, tree = flatten(out, f"{name}: the output of f")
    for v in leaves:
        if not is_tensor(v):
            raise TypeError(
                f"{name}: f must return Tensors (or lists/tuples of Tensors) on the tensor engine, got a "
                f"{type(v).__name__} among its outputs"
            )
    return leaves, tree


def _jvp_failure(exc):
    """The op whose missing jvp rule raised ``exc`` (a NotImplementedError), or None if it came from elsewhere."""
    apply_code = Function.apply.__func__.__code__
    op = None
    tb = exc.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_code is apply_code:
            op = frame.f_locals.get("cls")
            nxt = tb.tb_next
            # Only a failure inside the op's own jvp rule counts, not one in forward or deeper in f.
            op = op if nxt is not None and nxt.tb_frame.f_code.co_name == "jvp" else None
        tb = tb.tb_next
    return op


def _closure_leaves(outputs, inputs):
    """Leaves that require grad in the graph of ``outputs``, other than ``inputs`` (whose grads we read)."""
    mine = {id(t) for t in inputs}
    seen = set()
    leaves = []
    stack = [t for t in outputs]
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        ctx = t._ctx
        if ctx is None:
            if t.requires_grad and id(t) not in mine:
                leaves.append(t)
            continue
        stack.extend(p for p in ctx.parents if p is not None)
    return leaves


class _Pullback:
    def __init__(self, output, out_leaves, out_tree, inputs):
        self.output = output
        self.out_leaves = out_leaves
        self.out_tree = out_tree
        self.inputs = inputs  # one list per argnum, each holding one leaf Tensor
        self._others = None

    def _backward(self, pairs):
        """Run backward for each (output, cotangent array) and collect the inputs' gradients."""
        if self._others is None:
            self._others = _closure_leaves(self.out_leaves, [t for ins in self.inputs for t in ins])
        saved = [t.grad for t in self._others]
        flat = [t for ins in self.inputs for t in ins]
        for t in flat:
            t.grad = None
        try:
            with enable_grad():
                for out, cot in pairs:
                    if out.requires_grad:
                        out.backward(cot, retain_graph=True)
            grads = [np.zeros_like(t.data) if t.grad is None else t.grad for t in flat]
        finally:
            for t in flat:
                t.grad = None
            for t, g in zip(self._others, saved):
                t.grad = g
        out, i = [], 0
        for ins in self.inputs:
            out.append(grads[i:i + len(ins)])
            i += len(ins)
        return out

    def pull(self, seeds):
        return self._backward(list(zip(self.out_leaves, seeds)))

    def pull_one(self, k, index):
        """Gradients of element ``index`` of output leaf k."""
        out = self.out_leaves[k]
        seed = np.zeros(out.shape, dtype=out.dtype)
        seed[index] = 1.0
        return self._backward([(out, seed)])


class TensorEngine:
    """numpy arrays and Tensors: one leaf per argument."""

    name = TENSOR

    def check_primal(self, leaves, tree, name, index):
        if tree != LEAF:
            raise TypeError(
                f"{name}: argument {index} is a list of arrays/Tensors; on the tensor engine each argument "
                f"must be one Tensor or numpy array (pass several as separate arguments, argnums=(0, 1, ...))"
            )
        _as_float_array(leaves[0])

    # ------------------------------------------------------------------ reverse mode
    def reverse(self, f, args, argnums, specs, name, create_graph=None):
        # create_graph is ignored: nothing can differentiate the result (nesting.running refuses to nest).
        with running(TENSOR, "reverse", name), enable_grad():
            inputs = [[Tensor(_as_float_array(leaves[0]), requires_grad=True)] for leaves, _ in specs]
            new = list(args)
            for a, ins in zip(argnums, inputs):
                new[a] = ins[0]
            output = f(*new)
        out_leaves, out_tree = _output_leaves(output, name)
        return _Pullback(output, out_leaves, out_tree, inputs)

    # ------------------------------------------------------------------ forward mode
    def forward(self, f, args, argnums, specs, tangents, name, record=True):
        with running(TENSOR, "forward", name):
            new = list(args)
            for a, (leaves, _), tans in zip(argnums, specs, tangents):
                x = Tensor(_as_float_array(leaves[0]), requires_grad=False)
                t = tans[0]
                if t is not None:
                    x.tangent = t if t.dtype == x.dtype else t.astype(x.dtype)
                new[a] = x
            try:
                if record:
                    output = f(*new)
                else:
                    with no_grad():
                        output = f(*new)
            except NotImplementedError as e:
                op = _jvp_failure(e)
                if op is None:
                    raise
                raise MissingJvpRule(
                    f"{name}: the tensor op {op.__name__} has no forward-mode rule (Function.jvp) yet, so "
                    f"forward mode (jvp, jacfwd) cannot pass through it; reverse mode (vjp, grad, jacrev) "
                    f"works through its backward", op
                ) from e
        out_leaves, out_tree = _output_leaves(output, name)
        tans = [np.zeros_like(v.data) if v.tangent is None else np.asarray(v.tangent) for v in out_leaves]
        # Returned, not left behind: a later op on an output would carry the tangent (and need a jvp rule).
        for v in out_leaves:
            v.tangent = None
        return output, out_leaves, out_tree, tans

    # ------------------------------------------------------------------ values in and out
    def tangent_leaves(self, t, tree, leaves, name, what, allow_values=False):
        """One array per leaf: ``t`` must have the leaf's shape (a number is fine for a 0-d leaf)."""
        if tree == LEAF:
            ref = leaves[0]
            arr = t.data if is_tensor(t) else np.asarray(t)
            if arr.dtype.kind not in "biuf":
                raise TypeError(f"{name}: {what} must hold real numbers, got dtype {arr.dtype}")
            if arr.shape != ref.shape:
                raise ValueError(f"{name}: {what} has shape {arr.shape}, expected {ref.shape}")
            dtype = ref.dtype if ref.dtype.kind == "f" else np.float64
            return [arr.astype(dtype)]
        t_leaves, t_tree = flatten(t, f"{name}: {what}")
        if t_tree != tree and _strip(t_tree) != _strip(tree):
            raise ValueError(f"{name}: {what} must have the structure of the output it goes with "
                             f"({len(leaves)} tensors), got {len(t_leaves)} leaves in another structure")
        out = []
        for ref, v in zip(leaves, t_leaves):
            out.extend(self.tangent_leaves(v, LEAF, [ref], name, what))
        return out

    def gradient(self, flat, tree):
        return Tensor(flat[0], requires_grad=False)

    def tangent_result(self, flat, tree):
        return unflatten(tree, flat)

    def out_shape(self, out_leaves, out_tree, name):
        if out_tree != LEAF:
            raise TypeError(f"{name}: f must return one Tensor on the tensor engine (got a list/tuple)")
        return out_leaves[0].shape

    def in_shape(self, leaves, tree, name):
        return np.shape(leaves[0])

    def jacobian(self, lines, out_shape, in_shape, by_rows):
        m = int(np.prod(out_shape, dtype=np.int64))
        n = int(np.prod(in_shape, dtype=np.int64))
        dtype = np.result_type(*[np.asarray(x).dtype for x in lines]) if lines else np.float64
        a = np.zeros((m, n), dtype=dtype)
        for i, line in enumerate(lines):
            if by_rows:
                a[i, :] = np.ravel(line)
            else:
                a[:, i] = np.ravel(line)
        return a.reshape(tuple(out_shape) + tuple(in_shape))


def _strip(tree):
    if tree == LEAF or tree[0] == "array":
        return tree
    return ("seq", tuple(_strip(c) for c in tree[1]))
