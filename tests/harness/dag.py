"""Random expression DAGs over the registered ops, run on both engines and PyTorch, printed as Python.

``draw_dag(draw)`` builds a DAG of 10 to 200 nodes: a few input arrays, then nodes that apply a registered op
(unary, binary, constant, reduction, softmax, matmul, movement, where, clip) to earlier nodes, often the
same ones (shared subexpressions). It evaluates as it builds (tensor engine, float64) so that every node
stays where all three implementations are defined and agree on conventions: operands of log / sqrt / pow
positive, divisors away from 0, an op that joined from the table (``FROM_TABLE``) inside its ``Domain``,
magnitudes below 1e4, and nothing within 1e-6 of a kink or a tie without being exactly on it (there the
engines' last-ulp differences would pick different sides).

``run_tensor`` / ``run_scalar`` / ``run_torch`` return every node's value and every input's gradient of
loss = sum over the sinks (nodes nobody uses) of <cotangent, node>. ``to_python(dag)`` prints the DAG as a
standalone script on the tensor engine, one line per node.
"""

from dataclasses import dataclass, field

import numpy as np

from naivegrad import no_grad, scalar
from naivegrad.engines import is_value
from naivegrad.scalar import Value

from . import OPS, get
from .scalar_ref import objects
from .spec import Domain
from .values import ParityElements

__all__ = ["Dag", "Node", "draw_dag", "run_tensor", "run_scalar", "run_torch", "to_python", "FUZZ_OPS",
           "FROM_TABLE"]

# op name -> its kind (how operands and options are chosen)
FUZZ_OPS = {
    **{n: "unary" for n in ("neg", "abs", "exp", "log", "sqrt", "tanh", "sigmoid", "relu", "sin", "cos")},
    **{n: "binary" for n in ("add", "sub", "mul", "div", "pow", "maximum", "minimum", "where")},
    **{n: "unary" for n in ("add_const", "mul_const", "rsub_const", "rdiv_const", "pow_const", "clip")},
    **{n: "reduce" for n in ("sum", "mean", "max", "min", "logsumexp", "softmax", "logsoftmax")},
    "matmul": "matmul", "transpose_reverse": "unary", "reshape": "unary", "expand": "unary",
    "unsqueeze": "unary", "squeeze": "unary", "getitem": "unary", "concatenate": "concatenate",
}
# Every other plain elementwise op of the table (one or two operands, no options, a printer and a torch form)
# joins from its table entry alone, guarded by its own Domain (``_inside_domain``): adding such an op to
# tests/harness/ops_elementwise.py adds it to the fuzzer, with no line here.
FROM_TABLE = {op.name: "unary" if op.arity == 1 else "binary" for op in OPS
              if op.name not in FUZZ_OPS and op.elementwise and op.arity in (1, 2) and op.params is None
              and op.case is None and op.source and op.torch}
FUZZ_OPS.update(FROM_TABLE)
KINK = 1e-6        # nearer than this to a kink or a tie, but not on it: rejected
LIMIT = 1e4        # no value above this magnitude


@dataclass
class Node:
    op: str                      # an op name of the table ("input" for the inputs)
    args: tuple = ()             # earlier nodes
    params: dict = field(default_factory=dict)


@dataclass
class Dag:
    nodes: list                  # the first ones are inputs
    inputs: list                 # their values (float64 arrays)
    cotangents: dict             # sink index -> cotangent array

    @property
    def sinks(self):
        return sorted(self.cotangents)


# ---------------------------------------------------------------------------------------------- building
def _pick(draw, n):
    """An earlier node, most often a recent one (shrinks towards the newest: chains)."""
    return n - 1 - draw.integers(0, n - 1)


def _near(a, b=0.0):
    d = np.abs(np.asarray(a) - b)
    return bool(np.any((d > 0) & (d < KINK)))


def _near_ties(x):
    v = np.unique(np.asarray(x).ravel())
    return v.size > 1 and bool(np.any(np.diff(v) < KINK))


def _guard(name, xs, params):
    """False where the op would leave the domain all three implementations share (see the module docstring)."""
    x = xs[0]
    if name in ("log", "sqrt"):
        return x.size == 0 or x.min() > 0.05
    if name == "exp":
        return x.size == 0 or x.max() < 5
    if name in ("relu", "abs"):
        return not _near(x)
    if name == "div":
        return not np.any(np.abs(xs[1]) < 0.1)
    if name == "rdiv_const":
        return not np.any(np.abs(x) < 0.1)
    if name == "pow":
        return not np.any(x < 0.1) and not np.any(np.abs(xs[1]) > 3)
    if name == "pow_const":
        c = float(params["c"])
        if not c.is_integer() and np.any(x < 0.1):
            return False
        return not (c < 0 and np.any(np.abs(x) < 0.1))
    if name in ("maximum", "minimum"):
        a, b = np.broadcast_arrays(*xs)
        return not _near(a, b)
    if name in ("max", "min"):
        return not _near_ties(x)
    if name == "clip":
        return not any(b is not None and _near(x, b) for b in (params["lo"], params["hi"]))
    if name in FROM_TABLE:
        return _inside_domain(get(name), xs, params)
    return True


def _inside_domain(op, xs, params):
    """The guard of an op that joined from the table: every operand inside its Domain's smooth range [lo, hi],
    and on each kink (or tie, for ``ties`` ops) or at least KINK away from it."""
    for x, d in zip(xs, op.input_domains(params)):
        if x.size and (x.min() < d.lo or x.max() > d.hi):
            return False
        if any(_near(x, k) for k in d.kinks):
            return False
    return not (op.ties and _near(*np.broadcast_arrays(*xs)))


def _small(shape):
    return len(shape) <= 3 and all(n <= 4 for n in shape)


def _params_for(op, draw, shapes):
    return {} if op.params is None else dict(op.params(draw, shapes, "parity"))


def _tensor_form(op):
    return next(iter(op.tensor_forms.values()))


def draw_dag(draw, min_nodes=10, max_nodes=200, ops=None):
    """A random DAG (see the module docstring); every node's value is finite and below 1e4.

    ``ops``: the op names to draw from (default: all of ``FUZZ_OPS``)."""
    from naivegrad.tensor import Tensor

    base = (draw.integers(1, 3), draw.integers(1, 3))
    family = [base, (base[1],), (base[0], 1), (1, base[1]), (), (base[1], base[0])]
    k = draw.integers(1, 4)
    inputs, nodes, values = [], [], []
    elements = ParityElements(Domain(-2.0, 2.0))
    for _ in range(k):
        s = draw.sampled_from(family)
        x = draw.array(s, elements)
        inputs.append(x)
        nodes.append(Node("input"))
        values.append(Tensor(x, requires_grad=False))
    target = draw.integers(min_nodes, max_nodes)
    pool = sorted(FUZZ_OPS if ops is None else ops)
    attempts = 0
    while len(nodes) - k < target and attempts < 8 * target + 20:  # rejected draws do not count
        attempts += 1
        name = draw.sampled_from(pool)
        op = get(name)
        shapes = [v.shape for v in values]
        chosen = _choose(draw, name, op, shapes)
        if chosen is None:
            continue
        args, params = chosen
        xs = [values[a].data for a in args]
        if not _guard(name, xs, params):
            continue
        try:
            with no_grad():
                out = _tensor_form(op)(*[values[a] for a in args], **params)
        except (ValueError, IndexError):
            continue  # options the sampler drew for other shapes
        d = out.data
        if not _small(d.shape) or not np.all(np.isfinite(d)) or np.any(np.abs(d) > LIMIT):
            continue
        nodes.append(Node(name, tuple(args), params))
        values.append(out)
    used = {a for node in nodes for a in node.args}
    sinks = [i for i in range(k, len(nodes)) if i not in used] or [len(nodes) - 1]
    cot = {i: draw.array(values[i].shape, elements) for i in sinks}
    return Dag(nodes, inputs, cot)


def _choose(draw, name, op, shapes):
    """(operand indices, params) for op ``name`` over earlier nodes of these shapes, or None if none fits."""
    kind = FUZZ_OPS[name]
    n = len(shapes)
    if kind in ("unary", "reduce"):
        a = _pick(draw, n)
        s = shapes[a]
        if name in ("softmax", "logsoftmax", "getitem") and not s:
            return None
        if name in ("max", "min") and not all(s):
            return None
        if name == "squeeze" and 1 not in s:
            return None
        return (a,), _params_for(op, draw, (s,))
    a, b = _pick(draw, n), _pick(draw, n)
    sa, sb = shapes[a], shapes[b]
    if kind == "binary":
        try:
            out = np.broadcast_shapes(sa, sb)
        except ValueError:
            return None
        return ((a, b), _params_for(op, draw, (sa, sb))) if _small(out) else None
    if kind == "matmul":
        if not sa or not sb or len(sa) > 2 or len(sb) > 2 or sa[-1] != (sb[0] if len(sb) == 1 else sb[-2]):
            return None
        return (a, b), {}
    if kind == "concatenate":
        if not sa or len(sa) != len(sb):
            return None
        axes = [i for i in range(len(sa)) if all(x == y for j, (x, y) in enumerate(zip(sa, sb)) if j != i)]
        if not axes:
            return None
        axis = draw.sampled_from(axes)
        out = list(sa)
        out[axis] += sb[axis]
        return ((a, b), {"axis": axis}) if _small(out) else None
    raise AssertionError(kind)


# ---------------------------------------------------------------------------------------------- running
def run_tensor(dag, dtype=np.float64):
    """Every node's value (float64 arrays) and every input's gradient, on the tensor engine."""
    from naivegrad.tensor import Tensor

    vals = []
    for node, i in zip(dag.nodes, range(len(dag.nodes))):
        if node.op == "input":
            vals.append(Tensor(np.asarray(dag.inputs[i], dtype=dtype)))
        else:
            vals.append(_tensor_form(get(node.op))(*[vals[a] for a in node.args], **node.params))
    loss = None
    for s in dag.sinks:
        term = (vals[s] * Tensor(np.asarray(dag.cotangents[s], dtype=dtype), requires_grad=False)).sum()
        loss = term if loss is None else loss + term
    loss.backward()
    k = len(dag.inputs)
    grads = [np.zeros(v.shape) if v.grad is None else np.asarray(v.grad, dtype=np.float64) for v in vals[:k]]
    return [np.asarray(v.data, dtype=np.float64) for v in vals], grads


def run_scalar(dag):
    """The same on the scalar engine: object arrays of Values through the ops' scalar references."""
    vals = []
    for node, i in zip(dag.nodes, range(len(dag.nodes))):
        if node.op == "input":
            x = dag.inputs[i]
            arr = np.empty(x.shape, dtype=object)
            for j in np.ndindex(x.shape):
                arr[j] = Value(float(x[j]))
            vals.append(arr)
        else:
            out = objects(get(node.op).scalar_reference(*[vals[a] for a in node.args], **node.params))
            for j in np.ndindex(out.shape):
                if not is_value(out[j]):  # a constant (a clip bound): a Value leaf for the next op
                    out[j] = Value(float(out[j]))
            vals.append(out)
    terms, weights = [], []
    for s in dag.sinks:
        terms += list(vals[s].ravel())
        weights += [float(u) for u in np.ravel(dag.cotangents[s])]
    scalar.dot(terms, weights).backward()
    k = len(dag.inputs)
    data = [np.array([v.data if is_value(v) else float(v) for v in a.ravel()]).reshape(a.shape)
            for a in vals]
    grads = [np.array([v.grad for v in a.ravel()]).reshape(a.shape) for a in vals[:k]]
    return data, grads


def run_torch(dag):
    """The same in PyTorch, float64 (needs torch)."""
    import torch

    vals = []
    for node, i in zip(dag.nodes, range(len(dag.nodes))):
        if node.op == "input":
            vals.append(torch.tensor(dag.inputs[i], dtype=torch.float64, requires_grad=True))
        else:
            params = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in node.params.items()}
            vals.append(get(node.op).torch(*[vals[a] for a in node.args], **params))
    loss = sum((vals[s] * torch.tensor(dag.cotangents[s], dtype=torch.float64)).sum() for s in dag.sinks)
    loss.backward()
    k = len(dag.inputs)
    grads = [np.zeros(tuple(v.shape)) if v.grad is None else v.grad.numpy() for v in vals[:k]]
    return [v.detach().numpy().astype(np.float64) for v in vals], grads


# ---------------------------------------------------------------------------------------------- printing
def _array(a):
    a = np.asarray(a)
    if a.dtype == bool:
        return f"np.array({a.tolist()!r})"
    if a.size == 0:
        return f"np.zeros({a.shape!r})"
    return f"np.array({np.asarray(a, dtype=np.float64).tolist()!r})"


def _index(index):
    def part(p):
        if isinstance(p, slice):
            text = ":".join("" if v is None else repr(v) for v in (p.start, p.stop, p.step))
            return text[:-1] if text.endswith(":") else text
        if p is Ellipsis:
            return "..."
        if isinstance(p, np.ndarray):
            if p.dtype == bool:
                return _array(p)
            return f"np.array({p.tolist()!r})" if p.size else "np.array([], dtype=np.intp)"  # not a float array
        return repr(p)
    if isinstance(index, tuple):
        return ", ".join(part(p) for p in index) if index else "()"
    return part(index)


def _literal(name, value):
    if name == "index":
        return _index(value)
    if isinstance(value, np.ndarray):
        return _array(value)
    return repr(value)


def node_source(node, names):
    """One node as a Python expression on the tensor engine."""
    op = get(node.op)
    template = op.source
    args = [names[a] for a in node.args]
    if "{*}" in template:
        template = template.replace("{*}", ", ".join(args))
    return template.format(*args, **{k: _literal(k, v) for k, v in node.params.items()})


def to_python(dag, comment=""):
    """A standalone script that rebuilds the DAG on the tensor engine, runs backward and prints the gradients."""
    k = len(dag.inputs)
    names = [f"x{i}" if i < k else f"v{i}" for i in range(len(dag.nodes))]
    lines = []
    if comment:
        lines += [f"# {line}" for line in comment.splitlines()]
    lines += ["import numpy as np", "from naivegrad.tensor import Tensor, cat, maximum, minimum, stack, where", ""]
    for i in range(k):
        lines.append(f"{names[i]} = Tensor({_array(dag.inputs[i])})")
    for i in range(k, len(dag.nodes)):
        lines.append(f"{names[i]} = {node_source(dag.nodes[i], names)}")
    terms = [f"({names[s]} * {_array(dag.cotangents[s])}).sum()" for s in dag.sinks]
    lines.append("loss = " + " + ".join(terms))
    lines.append("loss.backward()")
    lines.append(f"print({', '.join(f'{names[i]}.grad' for i in range(k))})")
    return "\n".join(lines) + "\n"


def size(dag):
    """The number of op nodes (inputs not counted)."""
    return len(dag.nodes) - len(dag.inputs)

