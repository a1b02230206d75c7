"""The transforms' two primitives on the tensor engine, through the public Tensor API only.

Reverse mode is ``naivegrad.autograd.grad(outputs, inputs, cotangents, retain_graph=True)`` on fresh leaves
(one backward per cotangent, so that ``vjp_fn`` and ``jacrev`` can pull back many times); it touches no
``.grad``, so the leaves f closes over (a model's parameters) keep theirs: a transform returns derivatives,
it does not accumulate them anywhere. When an enclosing transform may differentiate the result, the backward
runs with ``create_graph=True``: gradients are Tensors with a graph (and with forward-mode tangents, when an
enclosing jacfwd / jvp gave the inputs some), which is how ``hessian``, ``hvp``, ``grad(grad(f))`` and
``jacfwd(jacrev(f))`` work. An op whose backward rule cannot be differentiated again raises
``NotImplementedError`` naming it.

Forward mode sets ``tangent`` on fresh leaves and lets each op's ``jvp`` rule carry it; an op without one
stops forward mode with a ``NotImplementedError`` naming the op.
"""

import numpy as np

from ..engines import TENSOR, is_tensor
from ..grad_mode import enable_grad, is_grad_enabled, no_grad
from ..tensor import Function, Tensor
from .nesting import active, running
from .trees import LEAF, flatten, strip, unflatten

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


def _autograd_grad():
    """``naivegrad.autograd.grad`` (tensor engine), or None while it does not exist."""
    try:
        from ..autograd import grad
    except ImportError:
        return None
    return grad


def _zeros_for(t):
    return np.zeros(t.shape, dtype=t.dtype if t.dtype.kind == "f" else np.float64)


class _Pullback:
    """f's output, and how to pull cotangents on it back to the inputs (one flat list per argnum).

    Gradients are numpy arrays, or Tensors with a graph when something may differentiate them again (an
    enclosing transform, or a cotangent that is itself a Tensor with a graph): then the backward runs with
    ``create_graph=True`` (``naivegrad.autograd.grad``), so every op's backward rule is recorded as Tensor ops,
    which carry forward-mode tangents too (``jacfwd(jacrev(f))``)."""

    def __init__(self, output, out_leaves, out_tree, inputs, create_graph, auto=False):
        self.output = output
        self.auto = auto  # a graph too if f's output depends on other leaves that require grad (closures)
        self.out_leaves = out_leaves
        self.out_tree = out_tree
        self.inputs = inputs  # one list per argnum, one Tensor per array leaf
        self.flat_inputs = [t for ins in inputs for t in ins]
        self.create_graph = create_graph
        self._others = None

    def _split(self, flat):
        out, i = [], 0
        for ins in self.inputs:
            out.append(flat[i:i + len(ins)])
            i += len(ins)
        return out

    def _grads(self, pairs, graph):
        """Gradients of sum_k <cot_k, out_k> for each (output leaf, cotangent) pair."""
        pairs = [(o, c) for o, c in pairs if o.requires_grad]
        flat = self.flat_inputs
        if not pairs or not flat:  # no output depends on the inputs: zero gradients (Tensors if graph, as below)
            return self._split([Tensor(_zeros_for(t), requires_grad=False) if graph else _zeros_for(t)
                                for t in flat])
        grad = _autograd_grad()
        if grad is not None:
            cots = [c if is_tensor(c) else Tensor(np.asarray(c, dtype=o.dtype), requires_grad=False)
                    for o, c in pairs]
            with enable_grad():
                res = grad([o for o, _ in pairs], flat, grad_outputs=cots, retain_graph=True,
                           create_graph=graph, allow_unused=True)
            out = []
            for t, g in zip(flat, res):
                if g is None:
                    out.append(Tensor(_zeros_for(t), requires_grad=False) if graph else _zeros_for(t))
                else:
                    out.append(g if graph else np.asarray(g.data))
            return self._split(out)
        if graph:
            raise NotImplementedError(
                "a derivative of a derivative on the tensor engine needs naivegrad.autograd.grad with "
                "create_graph=True, which this version does not have")
        return self._split(self._backward(pairs))

    def _backward(self, pairs):
        """Without naivegrad.autograd: Tensor.backward per cotangent, the inputs' .grad read and reset."""
        if self._others is None:
            self._others = _closure_leaves(self.out_leaves, self.flat_inputs)
        saved = [t.grad for t in self._others]
        flat = self.flat_inputs
        for t in flat:
            t.grad = None
        try:
            with enable_grad():
                for out, cot in pairs:
                    out.backward(cot.data if is_tensor(cot) else cot, retain_graph=True)
            return [_zeros_for(t) if t.grad is None else t.grad for t in flat]
        finally:
            for t in flat:
                t.grad = None
            for t, g in zip(self._others, saved):
                t.grad = g

    def _graph(self, seeds=()):
        return self.create_graph or bool(active(TENSOR)) or any(
            is_tensor(s) and (s.requires_grad or s.tangent is not None) for s in seeds) or (
            self.auto and self._closes_over_grads())

    def _closes_over_grads(self):
        """True if f's output depends on leaves that require grad besides the inputs (parameters f closes
        over): the gradients depend on them too, so, as torch.func, they must carry that dependence."""
        if self._others is None:
            self._others = _closure_leaves(self.out_leaves, self.flat_inputs)
        return bool(self._others)

    def pull(self, seeds):
        return self._grads(list(zip(self.out_leaves, seeds)), self._graph(seeds))

    def pull_one(self, k, index):
        """Gradients of element ``index`` of output leaf k."""
        out = self.out_leaves[k]
        seed = _zeros_for(out)
        seed[index] = 1.0
        return self._grads([(out, seed)], self._graph())


def _input_node(x, graph):
    """The Tensor f receives for the primal ``x``: a fresh leaf that requires grad, or (``graph``: something
    may differentiate the result with respect to ``x``) an identity node on ``x``, so that the gradient is
    taken with respect to this argument only, not to other uses of ``x`` that f may close over. A tangent on
    ``x`` (an enclosing forward transform) is kept."""
    if is_tensor(x) and x.requires_grad and graph:
        return x * 1.0
    node = Tensor(_as_float_array(x), requires_grad=True)
    if is_tensor(x) and x.tangent is not None:
        node.tangent = x.tangent
    return node


class TensorEngine:
    """numpy arrays and Tensors, alone or in dicts / lists / tuples (pytrees): one Tensor per array."""

    name = TENSOR

    def check_primal(self, leaves, tree, name, index):
        for leaf in leaves:
            _as_float_array(leaf)

    # ------------------------------------------------------------------ reverse mode
    def reverse(self, f, args, argnums, specs, name, create_graph=None):
        # Gradients are Tensors with a graph when an enclosing transform may differentiate them. By default
        # (None) so may the caller of a primal Tensor that requires grad (grad mode on), as torch.func and the
        # scalar engine: ``(grad(f)(w) * w).sum().backward()`` must see d grad / d w, and f's output must
        # lead back to w. Jacobians pass False: numpy arrays unless a transform encloses them.
        graph = bool(active(TENSOR)) or bool(create_graph) or (create_graph is None and is_grad_enabled() and any(
            is_tensor(v) and v.requires_grad for leaves, _ in specs for v in leaves))
        with running(TENSOR, "reverse", name), enable_grad():
            inputs = [[_input_node(x, graph) for x in leaves] for leaves, _ in specs]
            new = list(args)
            for a, (_, tree), ins in zip(argnums, specs, inputs):
                new[a] = unflatten(tree, ins)
            output = f(*new)
        out_leaves, out_tree = _output_leaves(output, name)
        return _Pullback(output, out_leaves, out_tree, inputs, graph,
                         auto=create_graph is None and is_grad_enabled())

    # ------------------------------------------------------------------ forward mode
    def forward(self, f, args, argnums, specs, tangents, name, record=True):
        with running(TENSOR, "forward", name):
            new = list(args)
            for a, (leaves, tree), tans in zip(argnums, specs, tangents):
                ins = []
                for leaf, t in zip(leaves, tans):
                    if is_tensor(leaf) and leaf.tangent is not None:
                        raise ValueError(f"{name}: a primal Tensor already carries a tangent; nested forward "
                                         f"mode is not supported (one tangent per Tensor)")
                    if record and is_tensor(leaf) and leaf.requires_grad and is_grad_enabled():
                        x = leaf * 1.0  # jvp's output leads back to a primal that requires grad, as torch.func
                    else:
                        x = Tensor(_as_float_array(leaf), requires_grad=False)
                    if t is not None:
                        x.tangent = t if t.dtype == x.dtype else t.astype(x.dtype)
                    ins.append(x)
                new[a] = unflatten(tree, ins)
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
        tans = [_zeros_for(v) if v.tangent is None else np.asarray(v.tangent) for v in out_leaves]
        # Returned, not left behind: a later op on an output would carry the tangent (and need a jvp rule).
        for v in out_leaves:
            v.tangent = None
        return output, out_leaves, out_tree, tans

    # ------------------------------------------------------------------ values in and out
    def tangent_leaves(self, t, tree, leaves, name, what, allow_values=False):
        """One array per leaf: ``t`` must have the structure of ``tree`` and each leaf's shape (a number is
        fine for a 0-d leaf). With ``allow_values`` (cotangents), a Tensor with a graph stays a Tensor."""
        if tree == LEAF:
            ref = leaves[0]
            if allow_values and is_tensor(t) and (t.requires_grad or t.tangent is not None):
                if t.shape != tuple(np.shape(ref)):
                    raise ValueError(f"{name}: {what} has shape {t.shape}, expected {np.shape(ref)}")
                return [t]
            arr = t.data if is_tensor(t) else np.asarray(t)
            if arr.dtype.kind not in "biuf":
                raise TypeError(f"{name}: {what} must hold real numbers, got dtype {arr.dtype}")
            if arr.shape != tuple(np.shape(ref)):
                raise ValueError(f"{name}: {what} has shape {arr.shape}, expected {np.shape(ref)}")
            dtype = _as_float_array(ref).dtype
            return [arr.astype(dtype)]
        t_leaves, t_tree = flatten(t, f"{name}: {what}")
        if len(t_leaves) != len(leaves) or (t_tree != tree and strip(t_tree) != strip(tree)):
            raise ValueError(f"{name}: {what} must have the structure of what it goes with "
                             f"({len(leaves)} tensors), got {len(t_leaves)} leaves in another structure")
        out = []
        for ref, v in zip(leaves, t_leaves):
            out.extend(self.tangent_leaves(v, LEAF, [ref], name, what, allow_values))
        return out

    def gradient(self, flat, tree):
        return unflatten(tree, [g if is_tensor(g) else Tensor(g, requires_grad=False) for g in flat])

    def tangent_result(self, flat, tree):
        return unflatten(tree, flat)

    def jacobian(self, lines, out_shape, in_shape, by_rows, dtype=None):
        """Rows (per output element) or columns (per input element), each one array of the other side's
        shape, as an array of shape out_shape + in_shape; a Tensor with a graph if any line is one.

        ``dtype``: the result's dtype when there are no lines to take it from (an empty output for jacrev,
        an empty input for jacfwd), as torch.func: the input's for jacrev, the output's for jacfwd."""
        empty = np.float64 if dtype is None else dtype
        m = int(np.prod(out_shape, dtype=np.int64))
        n = int(np.prod(in_shape, dtype=np.int64))
        shape = tuple(out_shape) + tuple(in_shape)
        if any(is_tensor(x) for x in lines):
            from ..tensor import stack

            if not lines:
                return Tensor(np.zeros(shape, dtype=empty), requires_grad=False)
            ts = [(x if is_tensor(x) else Tensor(np.asarray(x), requires_grad=False)).reshape(-1) for x in lines]
            a = stack(ts)  # (m, n) by rows, (n, m) by columns
            if not by_rows:
                a = a.transpose()
            return a.reshape(shape)
        dtype = np.result_type(*[np.asarray(x).dtype for x in lines]) if lines else empty
        a = np.zeros((m, n), dtype=dtype)
        for i, line in enumerate(lines):
            if by_rows:
                a[i, :] = np.ravel(line)
            else:
                a[:, i] = np.ravel(line)
        return a.reshape(shape)
