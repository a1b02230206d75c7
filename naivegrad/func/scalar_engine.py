"""The transforms' two primitives on the scalar engine: run f forward with tangents, or run it and pull back.

Forward mode is the engine's own: a ``Value`` made with a tangent passes it through every op (dual numbers).
Reverse mode is ``naivegrad.scalar.higher_order.grad``: float gradients when nothing will differentiate them
again, Value gradients with a graph (and tangents) when something may: an enclosing transform, or primals
that are already Values (their caller may differentiate the result).
"""

import numpy as np

from ..grad_mode import enable_grad, is_grad_enabled, no_grad
from ..scalar import Value
from ..scalar.higher_order import grad as _grad
from .nesting import active, running
from .trees import flatten, is_number, tree_shape, unflatten

__all__ = ["ScalarEngine"]


def _output_leaves(out, name):
    leaves, tree = flatten(out, f"{name}: the output of f")
    for v in leaves:
        if type(v) is not Value:
            raise TypeError(
                f"{name}: f must return Values (or lists of Values) on the scalar engine, got a "
                f"{type(v).__name__} ({v!r}) among its outputs; a number has no derivative to take"
            )
    return leaves, tree


def _with_args(args, argnums, specs, inputs):
    new = list(args)
    for a, (_, tree), ins in zip(argnums, specs, inputs):
        new[a] = unflatten(tree, ins)
    return new


class _Pullback:
    """f's output, and how to pull cotangents on it back to the primals (one flat list per argnum)."""

    def __init__(self, output, out_leaves, out_tree, inputs, create_graph, mark=None):
        self.output = output
        self.mark = mark  # Values with a smaller id existed before f ran: f closes over them (None: ignore)
        self._closes = None
        self.out_leaves = out_leaves
        self.out_tree = out_tree
        self.inputs = inputs
        self.flat_inputs = [v for ins in inputs for v in ins]
        self.create_graph = create_graph

    def _split(self, flat):
        out, i = [], 0
        for ins in self.inputs:
            out.append(flat[i:i + len(ins)])
            i += len(ins)
        return out

    def _closes_over_values(self):
        """True if f's output depends on Values made before f ran (parameters f closes over), other than
        through the inputs: the gradients depend on those too, so they must be Values with a graph."""
        if self._closes is None:
            mark = self.mark
            mine = set(self.flat_inputs)
            seen = set()
            stack = [v for v in self.out_leaves if v not in mine]
            found = False
            while stack and not found:
                v = stack.pop()
                if v in seen:
                    continue
                seen.add(v)
                if v._id < mark:
                    found = True
                    break
                stack.extend(c for c in v._prev if c not in mine)
            self._closes = found
        return self._closes

    def pull(self, seeds):
        """Gradients of sum_k seeds[k] * out_k; seeds are floats, or Values (then the result has a graph)."""
        graph = self.create_graph or bool(active("scalar")) or any(type(s) is Value for s in seeds) or (
            self.mark is not None and self._closes_over_values())
        return self._split(_grad(self.out_leaves, self.flat_inputs, seeds, create_graph=graph))

    def pull_one(self, k):
        """Gradients of output leaf k alone (a row of the Jacobian)."""
        graph = self.create_graph or bool(active("scalar"))
        return self._split(_grad([self.out_leaves[k]], self.flat_inputs, None, create_graph=graph))


class ScalarEngine:
    """Numbers, lists of numbers, Values and object arrays of Values: one Value per number."""

    name = "scalar"

    # ------------------------------------------------------------------ reverse mode
    def reverse(self, f, args, argnums, specs, name, create_graph=None):
        # An enclosing transform may differentiate the result, even one that reached f only through a
        # closure: then gradients must be a graph. By default (None) so may the caller of a Value primal;
        # Jacobians pass False, as they are numpy float arrays unless a transform encloses them.
        graph = bool(active("scalar")) or bool(create_graph) or (create_graph is None and any(
            type(v) is Value for leaves, _ in specs for v in leaves
        ))
        # Values made before f runs (ids below mark) that f's output reaches are parameters it closes over.
        mark = Value(0.0)._id if create_graph is None and is_grad_enabled() and not graph else None
        with running("scalar", "reverse", name), enable_grad():
            # A Value primal gets a node of its own (x * 1.0): derivatives are taken with respect to this
            # argument, not to other uses of the same Value that f may close over.
            inputs = [[v * 1.0 if type(v) is Value else Value(v) for v in leaves] for leaves, _ in specs]
            output = f(*_with_args(args, argnums, specs, inputs))
        out_leaves, out_tree = _output_leaves(output, name)
        return _Pullback(output, out_leaves, out_tree, inputs, graph, mark)

    # ------------------------------------------------------------------ forward mode
    def forward(self, f, args, argnums, specs, tangents, name, record=True):
        """Run f once with ``tangents`` (one flat list per argnum; None = no tangent) on the primals.

        Returns (output, out_leaves, out_tree, out_tangents) with out_tangents a flat list of floats.
        """
        with running("scalar", "forward", name):
            mark = Value(0.0)._id  # nodes made after this one are f's (or ours), whose tangents we clear
            inputs = []
            for (leaves, _), tans in zip(specs, tangents):
                ins = []
                for v, t in zip(leaves, tans):
                    if type(v) is Value:
                        if v.tangent is not None:
                            raise ValueError(
                                f"{name}: a primal Value already carries a tangent ({v.tangent!r}); nested "
                                f"forward mode is not supported on the scalar engine (one tangent per Value)"
                            )
                        node = v * 1.0
                        node.tangent = None if t is None else float(t)
                    else:
                        node = Value(v, tangent=t)
                    ins.append(node)
                inputs.append(ins)
            new_args = _with_args(args, argnums, specs, inputs)
            if record:
                output = f(*new_args)
            else:
                with no_grad():  # Jacobian columns need the tangents only: no graph to record
                    output = f(*new_args)
        out_leaves, out_tree = _output_leaves(output, name)
        out_tangents = [0.0 if v.tangent is None else v.tangent for v in out_leaves]
        # The tangents are returned, not left behind: an output used later (even as the primal of another
        # jvp) must not carry this one's tangent into new ops. Values f did not make keep theirs.
        for v in out_leaves:
            if v._id > mark:
                v.tangent = None
        for ins in inputs:
            for v in ins:
                v.tangent = None
        return output, out_leaves, out_tree, out_tangents

    # ------------------------------------------------------------------ values in and out
    def check_primal(self, leaves, tree, name, index):
        pass  # numbers and Values are all the scalar engine needs

    def tangent_leaves(self, t, tree, leaves, name, what, allow_values=False):
        """The flat leaves of tangent/cotangent ``t`` for a primal/output with ``tree``: the same nesting,
        or any array-like of the same shape."""
        if isinstance(t, np.ndarray) and t.dtype != object:
            shape = tree_shape(tree, name)
            if t.shape != shape:
                raise ValueError(f"{name}: {what} has shape {t.shape}, expected {shape}")
            if t.dtype.kind not in "biuf":
                raise TypeError(f"{name}: {what} must hold real numbers, got dtype {t.dtype}")
            return t.astype(np.float64).ravel().tolist()
        t_leaves, t_tree = flatten(t, f"{name}: {what}")
        if len(t_leaves) != len(leaves) or not _same_shape(t_tree, tree, name):
            raise ValueError(
                f"{name}: {what} must have the structure of what it goes with ({len(leaves)} numbers, "
                f"{_describe(tree, name)}), got {len(t_leaves)} numbers, {_describe(t_tree, name)}"
            )
        out = []
        for v in t_leaves:
            if type(v) is Value:
                if not allow_values:
                    raise TypeError(f"{name}: {what} must be numbers, got a Value ({v!r})")
                out.append(v)
            elif is_number(v):
                out.append(float(v))
            else:
                raise TypeError(f"{name}: {what} must be numbers, got {type(v).__name__}: {v!r}")
        return out

    def gradient(self, flat, tree):
        """Gradients shaped like the primal: a Value per number (constant Values without a graph)."""
        return unflatten(tree, [g if type(g) is Value else Value(g) for g in flat])

    def tangent_result(self, flat, tree):
        """Output tangents shaped like the output: floats, float arrays for object arrays."""
        return unflatten(tree, [float(t) for t in flat])

    def out_shape(self, out_leaves, out_tree, name):
        return tree_shape(out_tree, f"{name}: the output of f")

    def in_shape(self, leaves, tree, name):
        return tree_shape(tree, f"{name}: an argument")

    def jacobian(self, columns_or_rows, out_shape, in_shape, by_rows, dtype=None):
        """Assemble a Jacobian of shape out_shape + in_shape from rows (per output) or columns (per input).

        Float entries give a float64 array; if any entry is a Value (a nested transform needs the graph), an
        object array of Values (constants wrapped as Values).
        """
        m = int(np.prod(out_shape, dtype=np.int64))
        n = int(np.prod(in_shape, dtype=np.int64))
        entries = columns_or_rows
        graph = any(type(e) is Value for line in entries for e in line)
        if graph:
            a = np.empty((m, n), dtype=object)
            for i, line in enumerate(entries):
                vals = [e if type(e) is Value else Value(e) for e in line]
                if by_rows:
                    a[i, :] = vals
                else:
                    a[:, i] = vals
        else:
            a = np.zeros((m, n), dtype=np.float64)
            for i, line in enumerate(entries):
                if by_rows:
                    a[i, :] = line
                else:
                    a[:, i] = line
        return a.reshape(tuple(out_shape) + tuple(in_shape))


def _same_shape(a, b, name):
    """Trees agree as arrays: same shape when both are rectangular, else the same nesting."""
    try:
        return tree_shape(a, name) == tree_shape(b, name)
    except ValueError:
        return _strip(a) == _strip(b)


def _strip(tree):
    if tree == "leaf" or tree[0] == "array":
        return tree
    return ("seq", tuple(_strip(c) for c in tree[1]))


def _describe(tree, name):
    try:
        return f"shape {tree_shape(tree, name)}"
    except ValueError:
        return "ragged nesting"
