"""Arguments and results as trees: nested lists and tuples whose leaves are numbers, Values or arrays.

A scalar-engine argument such as ``[[1.0, 2.0], [3.0, 4.0]]`` is a tree of four number leaves with the shape
(2, 2), exactly as numpy would see it; a numpy object array of Values is the same thing in array form. A
tensor-engine argument is one leaf, a Tensor or a numpy array. The transforms flatten arguments to leaves,
work leaf by leaf, and rebuild results in the caller's structure.
"""

from numbers import Real

import numpy as np

from ..engines import SCALAR, TENSOR, is_tensor, is_value

__all__ = ["LEAF", "flatten", "unflatten", "tree_shape", "is_number", "is_tensor_leaf", "engine_of_leaves"]

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

    ``tree`` is LEAF, ("list", children), ("tuple", children) or ("array", shape) for an object array.
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
    raise TypeError(
        f"{what}: expected a number, a Value, a Tensor, a numpy array or (nested) lists/tuples of them, "
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
    children = [_unflatten(c, it) for c in rest]
    return tuple(children) if kind == "tuple" else children


def tree_shape(tree, what):
    """The array shape of a scalar-engine tree (nested lists as numpy sees them); ValueError if ragged."""
    if tree == LEAF:
        return ()
    kind, rest = tree
    if kind == "array":
        return tuple(rest)
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
