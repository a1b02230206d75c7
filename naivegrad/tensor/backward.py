"""Reverse mode: ``Tensor.backward`` and the walk behind it, and the general walk of ``create_graph``.

``backward`` (attached to ``Tensor`` by naivegrad.tensor.tensor) orders the recorded nodes topologically
(``_topological``, iterative), then runs each op's ``Function.backward`` from the output down, accumulating
every operand's gradient into its ``.grad`` (``_accumulate``, ``_add_grads``: never in place, arrays may be
shared). ``backward(create_graph=True)``, ``backward(inputs=...)`` and ``naivegrad.autograd.grad`` take the
general walk instead (``_walk``): gradients kept in a dict, and with ``create_graph`` each rule run on Tensors
(``_lift``), so that the backward itself is recorded.
"""

import numpy as np

from ..grad_mode import _state as _grad_state
from .tensor import Tensor, _make, _new, _short
from .function import Context, quiet as _quiet
from . import _numpy
from . import inplace as _inplace
from .inplace import _epoch
from .ops.cast import Cast
from .hooks import _hooks, _run_hooks


def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None, *, grad=None):
    """Accumulate d(self)/d(leaf) into the ``grad`` of every leaf that requires grad.

    ``gradient`` (or ``grad=``, the older name) is the gradient of some scalar with respect to ``self``
    (same shape); it may be omitted only for a single-element tensor, where it is 1. The graph is walked in
    an iterative topological order (no recursion limit). Afterwards the arrays the ops saved are released; a
    second backward through the same graph then raises, unless the first used ``retain_graph=True``
    (the default with ``create_graph``).

    ``create_graph=True`` records the backward itself as a graph: every ``grad`` it sets is then a Tensor
    that can be differentiated again (a Hessian-vector product is ``x.grad`` of ``(x.grad * v).sum()``); the
    ops' rules run on Tensors (see ``naivegrad.tensor.function``). Without it every ``grad`` is an ndarray.
    ``inputs`` (Tensors) limits the accumulation to their ``grad``: no other ``grad`` changes.

    Hooks (``register_hook``) run on each tensor's gradient as it is computed. If an array some op
    saved for its backward was modified in place since (``add_``, ``mul_``...), a RuntimeError names
    that op before any gradient is computed (see ``naivegrad.tensor.inplace``).
    """
    if grad is not None:
        if gradient is not None:
            raise TypeError("backward() got both gradient= and grad= (two names of one argument)")
        gradient = grad
    grad = gradient
    if retain_graph is None:
        retain_graph = create_graph
    if create_graph or inputs is not None:
        return _backward_general(self, grad, retain_graph, create_graph, inputs)
    if not self.requires_grad:
        raise RuntimeError(
            "backward() on a tensor that does not require grad (made with requires_grad=False, "
            "detached, or computed under no_grad)"
        )
    if grad is None:
        if self.data.size != 1:
            raise ValueError(
                f"backward() needs grad= for a tensor of shape {self.shape}: the implicit gradient 1 "
                f"exists only for single-element outputs"
            )
        grad = np.ones_like(self.data)
    else:
        grad = _check_grad(grad, self)
    order = _topological(self)
    # Leaves with hooks (register_hook) gather this backward's gradient in a cleared .grad: their hooks see
    # it alone, then what .grad held is added back (or restored as it was, if the backward fails).
    stashed = _stash_hooked_leaves() if _hooks else None
    hooked = stashed is not None
    try:
        with _quiet():
            for t in order:
                t.grad = None
            _accumulate(self, grad, None, None)
            for t in reversed(order):
                ctx = t._ctx
                g = t.grad
                if g is None:
                    continue
                if hooked and id(t) in _hooks:
                    g = t.grad = _run_hooks(t, g)
                grads = ctx.fn.backward(ctx, g)
                if type(grads) is not tuple:
                    grads = tuple(grads) if isinstance(grads, list) else (grads,)
                parents = ctx.parents
                if len(grads) != len(parents):
                    raise TypeError(
                        f"{ctx.fn.__name__}.backward returned {len(grads)} gradients for {len(parents)} "
                        f"inputs"
                    )
                for i, (p, pg) in enumerate(zip(parents, grads)):
                    if pg is None or p is None or not p.requires_grad:
                        if pg is not None and p is None:
                            raise _not_a_tensor(ctx, i)
                        continue
                    # _accumulate's body, inlined: this is the walk's innermost loop, once per operand
                    d = p.data
                    if type(pg) is not np.ndarray or pg.shape != d.shape or pg.dtype != d.dtype:
                        pg = _conform(pg, d, ctx)
                    if p.grad is None:
                        # A leaf's grad is the user's to modify: never let it alias an array others hold.
                        if p._ctx is None and (pg is g or pg.base is not None):
                            pg = pg.copy()
                        p.grad = pg
                    else:
                        p.grad = _add_grads(p.grad, pg)
                if not retain_graph:
                    ctx.release()
            if stashed:
                _unstash(stashed)
                stashed = None
    finally:
        if stashed:  # the backward failed: the hooked leaves get their .grad back as it was
            for p, old in stashed:
                p.grad = old


def _check_grad(grad, t):
    if isinstance(grad, Tensor):
        grad = grad.data
    try:
        g = np.asarray(grad)
    except ValueError:
        raise ValueError(f"backward(): grad is not a rectangular array: {_short(grad)}") from None
    if g.dtype.kind not in "biuf":
        raise TypeError(f"backward(): grad must be real numbers, got dtype {g.dtype}: {_short(grad)}")
    if g.shape != t.shape:
        raise ValueError(f"backward(): grad has shape {g.shape} but the tensor has shape {t.shape}")
    return g.astype(t.dtype)  # a copy: the caller's array never becomes a .grad that we hand out


def _not_a_tensor(ctx, i):
    """The error for a rule that returned a gradient for its argument ``i``, which was not a Tensor: torch
    raises too, and ignoring it would hide gradients returned in the wrong order (x's given for a constant)."""
    return TypeError(f"{ctx.fn.__name__}.backward returned a gradient for argument {i}, which was not a Tensor "
                     f"in forward: return None for it")


def _conform(pg, data, ctx):
    """A gradient from a backward rule as an array of the input's shape and dtype, or a clear error."""
    pg = np.asarray(pg)
    name = ctx.fn.__name__ + ".backward" if ctx is not None else "backward()"
    if pg.shape != data.shape:
        raise ValueError(f"{name} gave a gradient of shape {pg.shape} for an input of shape {data.shape}")
    if pg.dtype.kind not in "biuf":
        # Casting would drop a complex gradient's imaginary part with a mere warning (torch raises).
        raise TypeError(f"{name} gave a gradient of dtype {pg.dtype} for an input of dtype {data.dtype}")
    return pg.astype(data.dtype, copy=False)


def _add_grads(a, b):
    """a + b as an ndarray: numpy gives a numpy scalar for two 0-d arrays, and ``.grad`` is always an array."""
    s = a + b
    return s if type(s) is np.ndarray else np.asarray(s)


def _accumulate(p, pg, g_out, ctx):
    """Add one gradient contribution into ``p.grad`` (never in place: arrays may be shared)."""
    d = p.data
    if type(pg) is not np.ndarray or pg.shape != d.shape or pg.dtype != d.dtype:
        pg = _conform(pg, d, ctx)
    if p.grad is None:
        if p._ctx is None and (pg is g_out or pg.base is not None):
            pg = pg.copy()
        p.grad = pg
    else:
        p.grad = _add_grads(p.grad, pg)


def _topological(root):
    """The recorded nodes reachable from ``root``, each after all its operands (iterative DFS).

    A node recorded before the latest in-place op (its ``ctx.epoch`` is older) is checked first: a
    RuntimeError if an array its backward reads was modified in place since; and its operands rebased by an
    in-place op since are replaced in ``ctx.parents`` by the snapshots of the values it used (see
    naivegrad.tensor.inplace).
    """
    ctx = root._ctx
    if ctx is None:
        return []
    if ctx.released:
        raise _released_error()
    epoch = _epoch[0]
    order = []
    seen = {root}
    stack = [(root, iter(ctx.parents if ctx.epoch == epoch else _stale(root, ctx)))]
    while stack:
        node, it = stack[-1]
        for p in it:
            if p is not None and p._ctx is not None and p not in seen:
                c = p._ctx
                if c.released:
                    raise _released_error()
                seen.add(p)
                stack.append((p, iter(c.parents if c.epoch == epoch else _stale(p, c))))
                break
        else:
            stack.pop()
            order.append(node)
    return order


def _stale(node, ctx):
    """The parents of a node recorded before the latest in-place op, once checked (see _topological)."""
    _inplace.check(ctx)
    ctx.parents = parents = _inplace.resolve(node, ctx)  # for good: they stay the values it used
    return parents


def _released_error():
    return RuntimeError(
        "backward() through a graph whose saved arrays were already released by an earlier backward(); "
        "pass retain_graph=True to the first backward() to walk the graph more than once"
    )


# ---------------------------------------------------------------------- the general walk
# backward(create_graph=True), backward(inputs=...) and naivegrad.autograd.grad: the gradients are kept in a
# dict (no ``.grad`` is touched during the walk), arrays or, with create_graph, Tensors.
def _seed(t, g, create_graph, what):
    """The gradient ``g`` given for the output ``t`` (None: 1 for a single element), as the walk's start."""
    if not t.requires_grad:
        raise RuntimeError(f"{what} on a tensor that does not require grad (made with requires_grad=False, "
                           f"detached, or computed under no_grad)")
    if g is None:
        if t.data.size != 1:
            raise ValueError(f"{what} needs a gradient for an output of shape {t.shape}: the implicit gradient 1 "
                             f"exists only for single-element outputs")
        g = np.ones_like(t.data)
    elif create_graph and isinstance(g, Tensor):
        if g.shape != t.shape:
            raise ValueError(f"{what}: the gradient has shape {g.shape} but the output has shape {t.shape}")
        return g if g.data.dtype == t.data.dtype else Cast.apply(g, dtype=t.data.dtype)
    else:
        g = _check_grad(g, t)
    return _make(g, False, None) if create_graph else g


def _lift(ctx, t):
    """``ctx`` for its rule to run on Tensors (the ``create_graph`` contract, naivegrad.tensor.function): each
    saved array that is an operand's data becomes that operand, the output's data the output ``t``."""
    saved = ctx.saved_tensors
    lifted = []
    parents = ctx.parents
    out = t.data
    for i, s in enumerate(saved):
        if isinstance(s, (np.ndarray, np.generic)):
            # Rules save their operands first, in order: the operand at the same position wins. Two operands
            # may share one array (``x * x.detach()``): the first match by identity alone would lift the
            # detached operand's array to ``x`` and give a wrong second derivative.
            p = parents[i] if i < len(parents) else None
            if p is not None and p.data is s:
                lifted.append(p)
                continue
            for p in parents:
                if p is not None and p.data is s:
                    s = p
                    break
            else:
                if s is not out:
                    raise NotImplementedError(
                        f"{ctx.fn.__name__}'s backward uses an array it derived in forward; it cannot be "
                        f"differentiated twice yet (backward(create_graph=True))")
                s = t
        lifted.append(s)
    c = _new(Context)
    c.fn, c.parents, c.needs_input_grad, c.epoch = ctx.fn, parents, ctx.needs_input_grad, ctx.epoch
    c.__dict__.update(ctx.__dict__)
    # An operand kept as an attribute (``ctx.x = x``) is that operand too, as in torch, where it is the input
    # tensor with its graph: left an array, its derivative would silently be a constant. (The output kept so is
    # a constant in torch as well, and stays one.)
    for name, a in ctx.__dict__.items():
        if type(a) is np.ndarray:
            for p in parents:
                if p is not None and p.data is a and p.requires_grad:
                    c.__dict__[name] = p
                    break
    c.saved_tensors = tuple(lifted)
    return c


def _as_grad(pg, p, ctx, create_graph):
    """A rule's gradient for operand ``p`` as an array (or, with create_graph, a Tensor) of p's shape and dtype."""
    if not create_graph:
        if type(pg) is not np.ndarray or pg.shape != p.data.shape or pg.dtype != p.data.dtype:
            pg = _conform(pg, p.data, ctx)
        return pg
    if not isinstance(pg, Tensor):  # a constant (zeros, a number): no graph
        return _make(np.array(_conform(pg, p.data, ctx)), False, None)
    if pg.shape != p.data.shape:
        raise ValueError(f"{ctx.fn.__name__}.backward gave a gradient of shape {pg.shape} for an input of shape "
                         f"{p.data.shape}")
    return pg if pg.data.dtype == p.data.dtype else Cast.apply(pg, dtype=p.data.dtype)


def _plus(a, b):
    return b if a is None else _add_grads(a, b) if type(a) is np.ndarray and type(b) is np.ndarray else a + b


def _many(roots):
    """The recorded nodes reachable from any of ``roots``, each after its operands (_topological, merged)."""
    order, seen = [], set()
    for r in roots:
        for n in _topological(r):
            if n not in seen:
                seen.add(n)
                order.append(n)
    return order


def _needed(order, targets):
    """The nodes of ``order`` whose rule must run for the gradients of ``targets``: those with an operand that
    is a target or leads to one (as torch, which runs no other node: their hooks stay quiet, their saved
    arrays stay for a later backward)."""
    reach = set(targets)
    run = set()
    for n in order:  # operands first
        if any(p is not None and p in reach for p in n._ctx.parents):
            run.add(n)
            reach.add(n)
    return run


def _walk(roots, seeds, retain_graph, create_graph, targets=None):
    """Reverse mode from ``roots`` (Tensors) with gradients ``seeds``: (the nodes walked, a dict Tensor ->
    gradient for every tensor reached). Hooks run on each gradient once it is complete. ``targets`` (Tensors):
    only the gradients of these are wanted; the nodes that lead to none of them are not run (nor their hooks,
    nor released). The gradients of the targets are right; others in the dict may be partial."""
    order = _many(roots)
    if targets is not None:
        targets = set(targets)  # by identity (Tensor.__hash__): never ``in`` a list, whose == is elementwise
    run = None if targets is None else _needed(order, targets)
    grads = {}
    for r, g in zip(roots, seeds):
        grads[r] = _plus(grads.get(r), g)
    hooked = bool(_hooks)
    enabled, lifting = _grad_state.enabled, _numpy.lifting[0]
    _grad_state.enabled = _numpy.lifting[0] = bool(create_graph)
    try:
        with _quiet():
            for t in reversed(order):
                g = grads.get(t)
                if g is None:
                    continue
                skip = run is not None and t not in run
                if hooked and id(t) in _hooks and not (skip and t not in targets):
                    g = grads[t] = _run_hooks(t, g)
                if skip:
                    continue
                ctx = t._ctx
                rule_grads = ctx.fn.backward(_lift(ctx, t) if create_graph else ctx, g)
                if type(rule_grads) is not tuple:
                    rule_grads = tuple(rule_grads) if isinstance(rule_grads, list) else (rule_grads,)
                parents = ctx.parents
                if len(rule_grads) != len(parents):
                    raise TypeError(f"{ctx.fn.__name__}.backward returned {len(rule_grads)} gradients for "
                                    f"{len(parents)} inputs")
                for i, (p, pg) in enumerate(zip(parents, rule_grads)):
                    if pg is None or p is None or not p.requires_grad:
                        if pg is not None and p is None:
                            raise _not_a_tensor(ctx, i)
                        continue
                    grads[p] = _plus(grads.get(p), _as_grad(pg, p, ctx, create_graph))
                if not retain_graph:
                    ctx.release()
            if hooked:
                for p in list(grads):
                    if p._ctx is None and id(p) in _hooks and (targets is None or p in targets):
                        grads[p] = _run_hooks(p, grads[p])
    finally:
        _grad_state.enabled, _numpy.lifting[0] = enabled, lifting
    return order, grads


def _backward_general(t, gradient, retain_graph, create_graph, inputs):
    """``Tensor.backward`` with ``create_graph`` or ``inputs``: the general walk, then the ``.grad`` updates."""
    seed = _seed(t, gradient, create_graph, "backward()")
    if inputs is not None:
        inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
        if not inputs:  # as torch: an empty list (of parameters, say) would silently update nothing
            raise RuntimeError("backward(inputs=...): inputs is empty; pass the tensors whose grad to "
                               "accumulate, or inputs=None for every leaf")
        for x in inputs:
            if not isinstance(x, Tensor) or not x.requires_grad:
                raise RuntimeError(f"backward(inputs=...): every input must be a Tensor that requires grad, got "
                                   f"{_short(x)}")
    order, grads = _walk([t], [seed], retain_graph, create_graph, inputs)
    if inputs is None:
        for n in order:
            n.grad = None
        targets = grads
    else:
        targets = {x: grads[x] for x in inputs if x in grads}
    for x, g in targets.items():
        if type(g) is np.ndarray and (x._ctx is None or inputs is not None):
            g = g.copy()  # a leaf's grad is the user's to modify: never an array the walk shares
        if x._ctx is None or inputs is not None:
            x.grad = g if x.grad is None else _plus(x.grad, g)
        else:
            x.grad = g


# ---------------------------------------------------------------------- leaves with hooks (see backward)
def _stash_hooked_leaves():
    """[(leaf, its grad)] for the leaves that have hooks, each leaf's grad cleared (see backward)."""
    stashed = []
    for hooks in list(_hooks.values()):
        t = hooks.ref()
        if t is not None and t._ctx is None and hooks:
            stashed.append((t, t.grad))
            t.grad = None
    return stashed


def _unstash(stashed):
    """Each hooked leaf's gradient from this backward through its hooks, added to the grad it had."""
    for p, old in stashed:
        g = p.grad
        if g is None:  # not reached by this backward
            p.grad = old
            continue
        g = _run_hooks(p, g)
        p.grad = g if old is None else _add_grads(old, g)


METHODS = {"backward": backward}
