"""``einsum``: Einstein summation over any number of operands, as ``numpy.einsum`` and ``torch.einsum``
write it, differentiable in every operand (reverse and forward mode).

``einsum("ij,jk->ik", a, b)`` is a matrix product, ``einsum("ii", m)`` a trace, ``einsum("ii->i", m)`` a
diagonal, ``einsum("...ij,...jk", a, b)`` a batched product (the ellipsis broadcasts), ``einsum("bi,bi->b",
x, y)`` a row-wise dot. Without ``->`` the output holds the letters that appear once, in alphabetical order,
after the ellipsis axes. A size-1 axis broadcasts against its letter's size elsewhere, as in numpy and PyTorch;
an explicit output that leaves out the ellipsis sums over its axes (PyTorch's rule; numpy refuses). Products
are summed term by term, as numpy does: where a size-1 axis broadcasts along a summed letter, PyTorch sums the
other operand first, so with inf among the inputs or the gradient it may give inf where this gives nan.

The equation is parsed once into explicit form: every ellipsis spelled out with letters the equation does not
use, so the rules below see letters only. The gradient of operand k is an einsum of the output gradient with
the other operands, onto k's distinct letters; a letter found nowhere else (summed over k alone) broadcasts,
an axis k broadcast from size 1 is summed back, and a letter repeated in k (a diagonal) scatters into zeros
through a strided view of the diagonal. Forward mode is the product rule: one einsum per operand's tangent.

Given a Tensor gradient (``backward(create_graph=True)``) the same steps run as differentiable ops: the
einsum is ``Einsum`` itself, the sums and broadcasts are the tensor ops, and the diagonal scatter is a Function
whose backward takes the diagonal (an einsum again), so einsum differentiates to any order.
"""

import string

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..function import Function
from ._tangents import fit

__all__ = ["Einsum"]

_LETTERS = string.ascii_letters
_OPTIMIZE_ABOVE = 4096  # elements: above this (or with three operands or more) numpy plans the contraction


def _terms(equation, shapes):
    """(subscripts of each operand, output subscripts, size of each letter), ellipses spelled in letters."""
    if not isinstance(equation, str):
        raise TypeError(f"einsum: the equation must be a string, got {type(equation).__name__}: {equation!r}")
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    if "->" in rhs or "-" in lhs + rhs or ">" in lhs + rhs:
        raise ValueError(f"einsum: {equation!r}: '->' may appear once, between the operands and the output")
    inputs = lhs.split(",")
    if len(inputs) != len(shapes):
        raise ValueError(f"einsum: {equation!r} names {len(inputs)} operand(s), got {len(shapes)} tensor(s)")
    for term in inputs + ([rhs] if arrow else []):
        bad = [c for c in term if c not in _LETTERS and c != "."]
        if bad:
            raise ValueError(f"einsum: {equation!r}: invalid subscript {bad[0]!r} (subscripts are letters a-z, "
                             f"A-Z, and '...')")
        if "." in term and (term.count(".") != 3 or "..." not in term):
            raise ValueError(f"einsum: {equation!r}: a '.' outside an ellipsis '...' in {term!r}")
    # The ellipsis: as many axes as the operand has beyond its letters, right-aligned across the operands.
    widths = []
    for k, (term, shape) in enumerate(zip(inputs, shapes)):
        named = len(term.replace("...", ""))
        if "..." in term:
            if named > len(shape):
                raise ValueError(f"einsum: {equation!r}: operand {k} has {len(shape)} dimension(s) (shape "
                                 f"{tuple(shape)}), fewer than the {named} subscript(s) of {term!r}")
            widths.append(len(shape) - named)
        else:
            if named != len(shape):
                raise ValueError(f"einsum: {equation!r}: operand {k} has {len(shape)} dimension(s) (shape "
                                 f"{tuple(shape)}) but {named} subscript(s) in {term!r}")
            widths.append(0)
    spare = [c for c in _LETTERS if c not in eq]
    width = max(widths, default=0)
    if width > len(spare):
        raise ValueError(f"einsum: {equation!r}: too many dimensions for the 52 subscript letters")
    ellipsis = "".join(spare[:width])
    terms = [t.replace("...", ellipsis[width - w:]) for t, w in zip(inputs, widths)]
    if arrow:
        out = rhs.replace("...", ellipsis)
        for c in out:
            if out.count(c) > 1:
                raise ValueError(f"einsum: {equation!r}: output subscript {c!r} appears more than once")
            if not any(c in t for t in terms):
                raise ValueError(f"einsum: {equation!r}: output subscript {c!r} appears in no operand")
    else:
        counts = {}
        for t in terms:
            for c in t:
                counts[c] = counts.get(c, 0) + 1
        out = ellipsis + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ellipsis))
    sizes = {}
    for k, (t, shape) in enumerate(zip(terms, shapes)):
        own = {}
        for c, n in zip(t, shape):
            if own.setdefault(c, n) != n:
                raise ValueError(f"einsum: {equation!r}: subscript {c!r} is repeated in operand {k} (shape "
                                 f"{tuple(shape)}) on axes of different sizes ({own[c]} and {n})")
        for c, n in own.items():
            m = sizes.get(c, 1)
            if n != 1 and m != 1 and n != m:
                raise ValueError(f"einsum: {equation!r}: subscript {c!r} has size {m} in one operand and {n} in "
                                 f"operand {k} (sizes must match, or be 1 to broadcast)")
            sizes[c] = n if m == 1 else m
    return terms, out, sizes


def _contract(subscripts, arrays, broadcast):
    big = len(arrays) > 2 or max((a.size for a in arrays), default=0) > _OPTIMIZE_ABOVE
    if big and len(arrays) > 2 and not all(np.isfinite(a).all() for a in arrays):
        # Contracting pairwise (optimize) groups the products differently: inf * (0 * 0) is inf where the sum of
        # whole products, inf * 0 * 0, is nan. With non-finite operands keep the whole products, as the scalar
        # engine (the reference) and a plain sum over every index do.
        big = False
    return np.einsum(subscripts, *arrays, optimize=bool(big and not broadcast))


class Einsum(Function):
    """Einstein summation (``naivegrad.tensor.einsum``): positional inputs are the operands, ``equation``
    (keyword) the subscripts as numpy and PyTorch write them."""

    @staticmethod
    def forward(ctx, *arrays, equation):
        arrays = [np.asarray(a) for a in arrays]
        terms, out, sizes = _terms(equation, [a.shape for a in arrays])
        broadcast = any(n != sizes[c] for t, a in zip(terms, arrays) for c, n in zip(t, a.shape))
        ctx.terms, ctx.output, ctx.sizes, ctx.broadcast = terms, out, sizes, broadcast
        ctx.save_for_backward(*arrays)
        result = _contract(",".join(terms) + "->" + out, arrays, broadcast)
        ctx.shape, ctx.dtype = result.shape, result.dtype
        return result

    @staticmethod
    def backward(ctx, g):
        grad = _operand_grad if type(g) is np.ndarray else _operand_grad_graph
        return tuple(grad(ctx, g, k) if need else None for k, need in enumerate(ctx.needs_input_grad))

    @staticmethod
    def jvp(ctx, *tangents):
        arrays = ctx.saved_tensors
        subscripts = ",".join(ctx.terms) + "->" + ctx.output
        total = None
        for k, t in enumerate(tangents):
            if t is None:
                continue
            term = _contract(subscripts, [t if j == k else a for j, a in enumerate(arrays)], ctx.broadcast)
            total = term if total is None else total + term
        if total is None:
            return np.zeros(ctx.shape, ctx.dtype)
        return fit(total, ctx.shape, ctx.dtype)


def _operand_grad(ctx, g, k):
    """d <g, einsum> / d operand k."""
    arrays, terms = ctx.saved_tensors, ctx.terms
    x, term = arrays[k], terms[k]
    letters = "".join(dict.fromkeys(term))  # distinct, in order
    own = dict(zip(term, x.shape))
    others = [ctx.output] + [t for j, t in enumerate(terms) if j != k]
    seen = set("".join(others))
    kept = "".join(c for c in letters if c in seen)
    res = _contract(",".join(others) + "->" + kept, [g] + [a for j, a in enumerate(arrays) if j != k],
                    ctx.broadcast)
    # Axes that x broadcast from size 1: their gradients add up.
    summed = tuple(i for i, c in enumerate(kept) if own[c] == 1 and res.shape[i] != 1)
    if summed:
        res = res.sum(axis=summed, keepdims=True)
    # Letters summed over x alone (and axes only x has at full size): the same gradient all along them.
    shape = tuple(res.shape[kept.index(c)] if c in kept else 1 for c in letters)
    full = tuple(own[c] for c in letters)
    res = res.reshape(shape)
    if shape != full:
        res = np.array(np.broadcast_to(res, full))
    if len(letters) == len(term):
        return res
    # A repeated letter: the gradient lives on the diagonal, zeros elsewhere.
    return _on_diagonal(res, term, x.shape)


def _operand_grad_graph(ctx, g, k):
    """d <g, einsum> / d operand k when g is a Tensor (a backward of higher order): the same steps as
    ``_operand_grad``, each a differentiable op (an einsum, a sum, a reshape, a broadcast, a diagonal scatter),
    so the gradient differentiates again."""
    from ..tensor import Tensor

    operands = [a if isinstance(a, Tensor) else Tensor(np.asarray(a), requires_grad=False)
                for a in ctx.saved_tensors]
    terms = ctx.terms
    x, term = operands[k], terms[k]
    letters = "".join(dict.fromkeys(term))
    own = dict(zip(term, x.shape))
    others = [ctx.output] + [t for j, t in enumerate(terms) if j != k]
    seen = set("".join(others))
    kept = "".join(c for c in letters if c in seen)
    res = Einsum.apply(g, *[a for j, a in enumerate(operands) if j != k],
                       equation=",".join(others) + "->" + kept)
    summed = tuple(i for i, c in enumerate(kept) if own[c] == 1 and res.shape[i] != 1)
    if summed:
        res = res.sum(axis=summed, keepdims=True)
    shape = tuple(res.shape[kept.index(c)] if c in kept else 1 for c in letters)
    full = tuple(own[c] for c in letters)
    if res.shape != shape:
        res = res.reshape(shape)
    if shape != full:
        res = res.broadcast_to(full)
    if len(letters) == len(term):
        return res
    return _Diagonal.apply(res, term=term, shape=x.shape)


class _Diagonal(Function):
    """Values on a diagonal, zeros elsewhere: an array of shape ``shape`` (subscripts ``term``, some letter
    repeated) whose cells with equal indices along a repeated letter's axes hold the input (one axis per
    distinct letter, in order). The transpose of taking the diagonal, ``einsum("ii...->i...")``: its backward."""

    @staticmethod
    def forward(ctx, d, *, term, shape):
        ctx.term, ctx.shape = term, shape
        return _on_diagonal(d, term, shape)

    @staticmethod
    def backward(ctx, g):
        equation = ctx.term + "->" + "".join(dict.fromkeys(ctx.term))
        if type(g) is np.ndarray:
            return np.einsum(equation, g).copy()
        return Einsum.apply(g, equation=equation)

    @staticmethod
    def jvp(ctx, d_t):
        return _on_diagonal(d_t, ctx.term, ctx.shape)


def _on_diagonal(d, term, shape):
    letters = "".join(dict.fromkeys(term))
    grad = np.zeros(shape, d.dtype)
    strides = {c: 0 for c in letters}
    for c, s in zip(term, grad.strides):
        strides[c] += s
    as_strided(grad, shape=d.shape, strides=tuple(strides[c] for c in letters), writeable=True)[...] = d
    return grad


def einsum(equation, *operands):
    """Einstein summation over ``operands`` (Tensors, arrays or numbers), as ``torch.einsum``: see the module
    docstring. ``einsum("ij,jk->ik", a, b)``, ``einsum("ii", m)``, ``einsum("...ij,...jk", a, b)``.

    A single list or tuple of operands works too: ``einsum("ij,jk", [a, b])``."""
    from ..tensor import Tensor

    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    tensors = [o if isinstance(o, Tensor) else Tensor(o, requires_grad=False) for o in operands]
    return Einsum.apply(*tensors, equation=equation)
