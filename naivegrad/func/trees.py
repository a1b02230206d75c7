"""Arguments and results as trees: nested dicts, lists and tuples whose leaves are numbers, Values or arrays.

A scalar-engine argument such as ``[[1.0, 2.0], [3.0, 4.0]]`` is a tree of four number leaves with the shape
(2, 2), exactly as numpy would see it; a numpy object array of Values is the same thing in array form. A
tensor-engine argument is one leaf, a Tensor or a numpy array. The transforms flatten arguments to leaves,
work leaf by leaf, and rebuild results in the caller's structure.

Pytrees, as in ``torch.func``: an argument may be a dict (or list / tuple) of arrays or Tensors, e.g. a model's
parameters ``{"W": W, "b": b}``; gradients come back in the same structure. ``units`` splits an argument into
the pieces a Jacobian is taken with respect to: on the tensor engine each array leaf (lists, tuples and dicts are
containers); on the scalar engine each dict value (lists and tuples of numbers form one array, as numpy sees
them). A Jacobian is then that structure holding one array per piece, as torch.func.jacrev returns.
"""

from numbers import Real

import numpy as np

from ..engines import SCALAR, TENSOR, is_tensor, is_value

__all__ = ["LEAF", "flatten", "unflatten", "tree_shape", "count_leaves", "has_dict", "units", "Unit", "strip",
           "is_number", "is_tensor_leaf", "engine_of_leaves"]

LEAF = "leaf"


def is_number(x):
    """A real number a scalar-engine leaf may hold: int, float or a numpy real scalar (not bool)."""
    return isinstance(x, Real) and not isinstance(x, (bool, np.bool_))


def is_tensor_leaf(x):
    """A Tensor, or a numpy array that is not an object array (a tensor-engine argument)."""
    if isinstance(x, np.ndarray):
        return x.dtype != object
    return is_tensor(x)


def flatten(x, what):
    """(leaves, tree): the leaves of ``x`` in order (numbers, Values, Tensors, arrays) and its structure.

    ``tree`` is LEAF, ("list", children), ("tuple", children), ("dict", (keys, children)) (keys in the dict's
    order) or ("array", shape) for an object array.
    """
    leaves = []
    tree = _flatten(x, leaves, what)
    return leaves, tree


def _flatten(x, leaves, what):
    # An explicit stack would be longer than this; nesting depth is the array's ndim, not the graph's size.
    if is_value(x) or is_number(x) or is_tensor_leaf(x):
        leaves.append(x)
        return LEAF
    if isinstance(x, np.ndarray):  # an object array: one leaf per element
        for v in x.ravel().tolist():
            if not (is_value(v) or is_number(v)):
                raise TypeError(f"{what}: an object array must hold Values or numbers, got "
                                f"{type(v).__name__}: {v!r}")
            leaves.append(v)
        return ("array", x.shape)
    if isinstance(x, (list, tuple)):
        kind = "tuple" if isinstance(x, tuple) else "list"
        return (kind, tuple(_flatten(c, leaves, what) for c in x))
    if isinstance(x, dict):
        keys = tuple(x)
        return ("dict", (keys, tuple(_flatten(x[k], leaves, what) for k in keys)))
    raise TypeError(
        f"{what}: expected a number, a Value, a Tensor, a numpy array or (nested) dicts/lists/tuples of them, "
        f"got {type(x).__name__}: {x!r}"
    )


def unflatten(tree, leaves):
    """Rebuild the structure ``tree`` with ``leaves`` (an iterable, consumed in order)."""
    it = iter(leaves)
    return _unflatten(tree, it)


def _unflatten(tree, it):
    if tree == LEAF:
        return next(it)
    kind, rest = tree
    if kind == "array":
        n = int(np.prod(rest, dtype=np.int64))
        items = [next(it) for _ in range(n)]
        if all(is_value(v) for v in items):
            out = np.empty(n, dtype=object)
            out[:] = items
            return out.reshape(rest)
        return np.array(items, dtype=np.float64).reshape(rest)
    if kind == "dict":
        keys, subtrees = rest
        return {k: _unflatten(c, it) for k, c in zip(keys, subtrees)}
    children = [_unflatten(c, it) for c in rest]
    return tuple(children) if kind == "tuple" else children


def tree_shape(tree, what):
    """The array shape of a scalar-engine tree (nested lists as numpy sees them); ValueError if ragged."""
    if tree == LEAF:
        return ()
    kind, rest = tree
    if kind == "array":
        return tuple(rest)
    if kind == "dict":
        raise ValueError(f"{what}: a dict has no array shape (its values are differentiated one by one)")
    shapes = [tree_shape(c, what) for c in rest]
    if any(s != shapes[0] for s in shapes[1:]):
        raise ValueError(f"{what}: nested lists must be rectangular to form an array, got rows of shapes "
                         f"{shapes}")
    return (len(rest),) + (shapes[0] if shapes else ())


def engine_of_leaves(leaves, what):
    """SCALAR when every leaf is a number or a Value, TENSOR when every leaf is a Tensor or an array (no leaves:
    SCALAR); a ValueError naming ``what`` when they mix."""
    kinds = {TENSOR if is_tensor_leaf(v) else SCALAR for v in leaves}
    if len(kinds) > 1:
        raise ValueError(
            f"{what}: mixes scalar-engine arguments (numbers, lists, Values) with tensor-engine ones "
            f"(numpy arrays, Tensors); differentiate with respect to one engine's arguments at a time"
        )
    return kinds.pop() if kinds else SCALAR


# ---------------------------------------------------------------------------- pieces of an argument
def count_leaves(tree):
    """How many leaves ``tree`` holds."""
    if tree == LEAF:
        return 1
    kind, rest = tree
    if kind == "array":
        return int(np.prod(rest, dtype=np.int64))
    if kind == "dict":
        rest = rest[1]
    return sum(count_leaves(c) for c in rest)


def has_dict(tree):
    if tree == LEAF:
        return False
    kind, rest = tree
    if kind == "array":
        return False
    if kind == "dict":
        return True
    return any(has_dict(c) for c in rest)


class Unit:
    """One piece of a flattened argument or output: leaves ``start:stop``, forming an array of ``shape``."""

    __slots__ = ("start", "stop", "shape")

    def __init__(self, start, stop, shape):
        self.start, self.stop, self.shape = start, stop, tuple(shape)

    def __repr__(self):
        return f"Unit({self.start}:{self.stop}, shape={self.shape})"


def units(tree, leaves, engine, what):
    """(container, [Unit, ...]): the pieces of a flattened argument or output, and the structure holding them
    (a tree whose LEAFs are the pieces, in order; ``unflatten(container, per_piece)`` rebuilds it).

    Tensor engine: every leaf is a piece (shape: the array's). Scalar engine: every maximal subtree without a
    dict is a piece (shape: the nested lists' or object array's), so a plain list of numbers is one piece."""
    out = []
    container, _ = _units(tree, 0, leaves, engine, what, out)
    return container, out


def _units(t, start, leaves, engine, what, out):
    # A module-level function, not a closure: a recursive closure is a reference cycle holding the leaves.
    if engine == TENSOR:
        if t == LEAF:
            out.append(Unit(start, start + 1, np.shape(leaves[start])))
            return LEAF, start + 1
    elif not has_dict(t):
        n = count_leaves(t)
        out.append(Unit(start, start + n, tree_shape(t, what)))
        return LEAF, start + n
    kind, rest = t
    children = rest[1] if kind == "dict" else rest
    kids = []
    for c in children:
        k, start = _units(c, start, leaves, engine, what, out)
        kids.append(k)
    return ((kind, (rest[0], tuple(kids))) if kind == "dict" else (kind, tuple(kids))), start



def strip(tree):
    """``tree`` with lists and tuples alike (a cotangent may be a list where the output is a tuple)."""
    if tree == LEAF or tree[0] == "array":
        return tree
    if tree[0] == "dict":
        return ("dict", tree[1][0], tuple(strip(c) for c in tree[1][1]))
    return ("seq", tuple(strip(c) for c in tree[1]))
