"""Second derivatives of every op of the table: Hessian-vector products on both engines, PyTorch's, and central
differences of the first derivative; and the one list of ops the tensor engine cannot differentiate twice yet.

For a case (``check.Case``) with output cotangent u and leaf directions v (the case's ``cotangent`` and
``tangents``), the Hessian-vector product of L(x) = <u, op(x)> is

    H v = d/dx <grad L(x), v>

computed by reverse-over-reverse: the first backward with ``create_graph=True`` (``naivegrad.autograd.grad``
on Tensors, ``naivegrad.scalar.higher_order.grad`` on Values), then a backward of <grad L, v>. Its oracle is
(grad L(x + h v) - grad L(x - h v)) / 2h from the engine's own first derivative, and PyTorch's double
backward in float64. Constant leaves are neither differentiated nor moved.

``NOT_TWICE_DIFFERENTIABLE`` maps an op's name to why its tensor-engine backward cannot be differentiated
again yet; tests/parity/test_ops_second_order.py asserts that exactly these ops raise NotImplementedError
(naming the op), so an entry cannot outlive its reason. The scalar engine has no such list: every Value op
differentiates to any order (naivegrad.scalar.higher_order), and so does every scalar reference of the table
(``scalar_ref``: no node built by hand, no constant standing for a function of the inputs), so each op's
second derivatives are compared between the two engines.
"""

import types

import numpy as np

from naivegrad import scalar as S
from naivegrad.engines import is_value
from naivegrad.scalar import Value

from .check import _call_tensor, _tensor
from .scalar_ref import objects

__all__ = ["NOT_TWICE_DIFFERENTIABLE", "lift_by_hand", "hvp_tensor", "hvp_scalar", "hvp_torch", "numerical_hvp_tensor",
           "numerical_hvp_scalar", "H"]

H = 1e-5  # central differences of a first derivative: error ~ H**2 * (third derivative) + eps * |grad| / H

# op name -> why the tensor engine's backward of it cannot be differentiated twice yet (see the module doc).
# Empty: every op of the table differentiates twice (naivegrad.tensor's create_graph backward).
NOT_TWICE_DIFFERENTIABLE = {
}


def _variables(case):
    return [i for i, c in enumerate(case.constant) if not c]


def _zeros(case):
    return [None if c else np.zeros(a.shape) for a, c in zip(case.leaves, case.constant)]


# ---------------------------------------------------------------------------------------------- tensor engine
def _tensor_first(case, form, arrays, create_graph):
    """(leaf Tensors, gradients of <u, out> per variable leaf (None if unused)) at the leaves ``arrays``."""
    from naivegrad.autograd import grad

    leaves = [_tensor(a, np.float64, not c) for a, c in zip(arrays, case.constant)]
    var = [leaves[i] for i in _variables(case)]
    out = _call_tensor(case, form, leaves)
    if not out.requires_grad or not var:
        return leaves, var, [None] * len(var)
    u = _tensor(case.cotangent, np.float64, False)
    return leaves, var, list(grad(out, var, grad_outputs=u, create_graph=create_graph, allow_unused=True))


def hvp_tensor(case, form):
    """H v on the tensor engine in float64, per leaf (None for constants)."""
    from naivegrad.autograd import grad

    _, var, gs = _tensor_first(case, form, case.leaves, create_graph=True)
    vs = [case.tangents[i] for i in _variables(case)]
    terms = [(g * _tensor(v, np.float64, False)).sum() for g, v in zip(gs, vs) if g is not None and g.requires_grad]
    out = _zeros(case)
    if not terms:
        return out  # the gradient does not depend on the leaves: H = 0
    dot = terms[0]
    for t in terms[1:]:
        dot = dot + t
    for i, h in zip(_variables(case), grad(dot, var, allow_unused=True)):
        if h is not None:
            out[i] = np.asarray(h.data, dtype=np.float64)
    return out


def numerical_hvp_tensor(case, form, h=H):
    """(grad L(x + h v) - grad L(x - h v)) / 2h from the tensor engine's first derivative, and the largest
    |gradient| seen (the scale of its rounding error)."""
    return _numerical(case, lambda arrays: _tensor_first(case, form, arrays, False)[2], h,
                      lambda g: np.asarray(g.data, dtype=np.float64))


def _numerical(case, first, h, as_array):
    ends = []
    for sign in (1.0, -1.0):
        arrays = [a if c else a + sign * h * v for a, v, c in zip(case.leaves, case.tangents, case.constant)]
        ends.append(first(arrays))
    out = _zeros(case)
    size = 0.0
    for i, gp, gm in zip(_variables(case), *ends):
        p = np.zeros(case.leaves[i].shape) if gp is None else as_array(gp)
        m = np.zeros(case.leaves[i].shape) if gm is None else as_array(gm)
        out[i] = (p - m) / (2 * h)
        size = max(size, float(np.abs(p).max(initial=0.0)), float(np.abs(m).max(initial=0.0)))
    return out, size


# ---------------------------------------------------------------------------------------------- scalar engine
def _scalar_first(case, arrays, fn, create_graph):
    """(variable Values, gradients of <u, out>) on the scalar engine: floats, or Values with a graph."""
    from naivegrad.scalar.higher_order import grad

    fn = case.op.scalar_reference if fn is None else fn
    leaves = []
    for a, c in zip(arrays, case.constant):
        arr = np.empty(a.shape, dtype=object)
        for i in np.ndindex(a.shape):
            arr[i] = float(a[i]) if c else Value(float(a[i]))
        leaves.append(arr)
    out = objects(fn(*[leaves[i] for i in case.inputs], **case.params))
    flat = list(out.ravel())
    var = [v for i in _variables(case) for v in leaves[i].ravel()]
    loss = S.dot(flat, [float(u) for u in case.cotangent.ravel()]) if flat else 0.0
    if not is_value(loss) or not var:
        return var, [0.0] * len(var)
    return var, grad(loss, var, create_graph=create_graph)


def _per_leaf(case, flat):
    out, k = _zeros(case), 0
    for i in _variables(case):
        n = case.leaves[i].size
        out[i] = np.array([g.data if is_value(g) else float(g) for g in flat[k:k + n]]).reshape(case.leaves[i].shape)
        k += n
    return out


def hvp_scalar(case, fn=None):
    """H v on the scalar engine (``fn``: a value form on object arrays; default the op's reference)."""
    from naivegrad.scalar.higher_order import grad

    var, gs = _scalar_first(case, case.leaves, fn, create_graph=True)
    vs = [float(x) for i in _variables(case) for x in case.tangents[i].ravel()]
    dot = S.dot([g for g in gs], vs) if gs else 0.0
    if not is_value(dot) or not dot._prev:
        return _zeros(case)
    return _per_leaf(case, grad(dot, var))


def numerical_hvp_scalar(case, fn=None, h=H):
    """Central differences of the scalar engine's first derivative along v (see ``numerical_hvp_tensor``)."""
    def first(arrays):
        _, gs = _scalar_first(case, arrays, fn, create_graph=False)
        return _per_leaf(case, gs)

    ends = []
    for sign in (1.0, -1.0):
        ends.append(first([a if c else a + sign * h * v
                           for a, v, c in zip(case.leaves, case.tangents, case.constant)]))
    out = _zeros(case)
    size = 0.0
    for i in _variables(case):
        out[i] = (ends[0][i] - ends[1][i]) / (2 * h)
        size = max(size, float(np.abs(ends[0][i]).max(initial=0.0)), float(np.abs(ends[1][i]).max(initial=0.0)))
    return out, size


# ---------------------------------------------------------------------------------------------- PyTorch
def hvp_torch(case):
    """H v by PyTorch's double backward in float64 (needs torch)."""
    import torch

    leaves = [torch.tensor(a, dtype=torch.float64, requires_grad=not c) for a, c in zip(case.leaves, case.constant)]
    var = [leaves[i] for i in _variables(case)]
    out = case.op.torch(*[leaves[i] for i in case.inputs], **case.params)
    res = _zeros(case)
    if not out.requires_grad or not var:
        return res
    gs = torch.autograd.grad(out, var, torch.tensor(case.cotangent, dtype=torch.float64), create_graph=True,
                             allow_unused=True)
    terms = [(g * torch.tensor(case.tangents[i], dtype=torch.float64)).sum()
             for g, i in zip(gs, _variables(case)) if g is not None and g.requires_grad]
    if not terms:
        return res
    hs = torch.autograd.grad(sum(terms), var, allow_unused=True)
    for i, h in zip(_variables(case), hs):
        if h is not None:
            res[i] = h.detach().numpy(force=True).astype(np.float64)
    return res


def lift_by_hand(out):
    """``out._ctx`` as the ``create_graph`` contract hands it to the op's rule (written here from the contract, not
    taken from the engine): every saved array that is (by identity) an operand's data replaced by that operand,
    the output's data by ``out``. Any other saved array fails the test: the rule could not be differentiated
    again. Lets a rule be checked on Tensors without the engine's backward walk."""
    ctx = out._ctx
    by_id = {id(p.data): p for p in ctx.parents if p is not None}
    by_id[id(out.data)] = out
    saved = []
    for a in ctx.saved_tensors:
        if isinstance(a, np.ndarray):
            assert id(a) in by_id, f"{ctx.fn.__name__} saved an array that is neither an operand nor its output"
            a = by_id[id(a)]
        saved.append(a)
    lifted = types.SimpleNamespace(**{k: v for k, v in vars(ctx).items() if k != "saved_tensors"})
    lifted.fn, lifted.parents, lifted.needs_input_grad = ctx.fn, ctx.parents, ctx.needs_input_grad
    lifted.epoch = getattr(ctx, "epoch", None)
    lifted.saved_tensors = tuple(saved)
    return lifted
