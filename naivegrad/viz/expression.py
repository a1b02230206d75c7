"""``graph_expression``: a small arithmetic language of named scalars, evaluated on the scalar engine.

    a=2.0; b=-3.0; c=10.0; (a*b + c).tanh()

The text is parsed with ``ast`` and only a whitelist is evaluated, so no Python code ever runs:
numbers, assignments ``name = expression``, the names assigned so far, ``+ - * / **``, unary ``-``, and the
functions exp log sqrt tanh sigmoid relu sin cos abs, called as methods (``x.tanh()``) or as functions
(``tanh(x)``). Everything else is a ValueError naming the offending piece of text.
"""

import ast
import operator

from ..scalar import Value
from .labels import get_label, set_label

__all__ = ["graph_expression", "FUNCTIONS"]

FUNCTIONS = ("exp", "log", "sqrt", "tanh", "sigmoid", "relu", "sin", "cos", "abs")
_ALLOWED = ", ".join(FUNCTIONS)

_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.Pow: operator.pow}
_SYMBOLS = {ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.LShift: "<<", ast.RShift: ">>",
            ast.BitOr: "|", ast.BitAnd: "&", ast.BitXor: "^", ast.UAdd: "unary +", ast.Not: "not",
            ast.Invert: "~"}


def graph_expression(expr, *, backward=False):
    """Evaluate ``expr`` on ``naivegrad.scalar.Value`` and return the Value of its last statement.

    >>> out = graph_expression("a=2.0; b=-3.0; c=10.0; (a*b + c).tanh()")
    >>> out.backward(); naivegrad.viz.draw(out, "graph.svg")    # boxes named a, b and c

    Every assigned name is a Value labelled with that name in drawings (a number becomes a leaf Value).
    Gradients are left alone unless ``backward=True``, which calls ``out.backward()`` once.
    Raises ValueError naming the offending text for anything outside the small language described in
    this module, for unknown names, and when the result is a plain number rather than a Value.
    """
    if not isinstance(expr, str):
        raise TypeError(f"graph_expression needs a str, got {type(expr).__name__}: {expr!r}")
    tree = _parse(expr)
    if not tree.body:
        raise ValueError("graph expression is empty; try e.g. 'a=2.0; b=-3.0; (a*b).tanh()'")
    env = {}
    result = None
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign):
            target = stmt.targets[0]
            if len(stmt.targets) != 1 or not isinstance(target, ast.Name):
                _reject(stmt, expr, "only `name = expression` assignments are allowed")
            if target.id in FUNCTIONS:
                _reject(target, expr, f"{target.id!r} is a function name and cannot be assigned")
            result = _evaluate(stmt.value, env, expr)
            if not isinstance(result, Value):
                result = Value(result)
            if not get_label(result):  # `b = a` keeps the name "a"
                set_label(result, target.id)
            env[target.id] = result
        elif isinstance(stmt, ast.Expr):
            result = _evaluate(stmt.value, env, expr)
        else:
            _reject(stmt, expr, f"{_describe(stmt)} is not allowed")
    if not isinstance(result, Value):
        raise ValueError(
            f"graph expression {expr!r} evaluates to the plain number {result!r}, which has no graph; "
            f"name at least one scalar, e.g. 'x=3.0; x*x'"
        )
    if backward:
        result.backward()
    return result


def _parse(expr):
    try:
        return ast.parse(expr, mode="exec")
    except SyntaxError as e:
        where = f" at column {e.offset}" if e.offset else ""
        text = (e.text or "").strip()
        raise ValueError(f"graph expression: invalid syntax{where}: {text!r} ({e.msg})") from None
    except (RecursionError, MemoryError):
        raise ValueError("graph expression is nested too deeply (or chains too many operators) to parse") from None
    except ValueError as e:  # e.g. a NUL byte
        raise ValueError(f"graph expression cannot be parsed: {e}") from None


def _evaluate(node, env, source):
    """The value of one expression: every sub-expression checked first, then computed operands first."""
    results = {}
    for n in _postorder(node, env, source):
        args = [results[id(c)] for c in _operands(n, env, source)]
        results[id(n)] = _apply(n, args, env, source)
    return results[id(node)]


def _postorder(root, env, source):
    """The expression's nodes, operands before their users (iterative: long sums need no recursion)."""
    order, stack = [], [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(_operands(node, env, source)))
    return order


def _operands(node, env, source):
    """The sub-expressions ``node`` computes from; raises ValueError for anything not in the language."""
    if isinstance(node, ast.Constant):
        if type(node.value) not in (int, float):
            _reject(node, source, f"{type(node.value).__name__} constants are not allowed (only numbers)")
        return ()
    if isinstance(node, ast.Name):
        if node.id in FUNCTIONS:
            _reject(node, source, f"the function {node.id!r} must be called: {node.id}(x) or x.{node.id}()")
        if node.id not in env:
            known = ", ".join(env) or "none yet"
            _reject(node, source, f"unknown name {node.id!r} (names defined: {known})")
        return ()
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _BINARY:
            _reject(node, source, f"the operator {_symbol(node.op)!r} is not allowed")
        return (node.left, node.right)
    if isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, ast.USub):
            _reject(node, source, f"the operator {_symbol(node.op)!r} is not allowed")
        return (node.operand,)
    if isinstance(node, ast.Call):
        if node.keywords:
            _reject(node.keywords[0], source, "keyword arguments are not allowed")
        func = node.func
        if isinstance(func, ast.Name):
            if func.id not in FUNCTIONS:
                _reject(func, source, f"the function {func.id!r} is not allowed (allowed: {_ALLOWED})")
            if len(node.args) != 1:
                _reject(node, source, f"{func.id}() takes exactly one argument, got {len(node.args)}")
            if isinstance(node.args[0], ast.Starred):
                _reject(node.args[0], source, "starred arguments are not allowed")
            return (node.args[0],)
        if isinstance(func, ast.Attribute):
            if func.attr not in FUNCTIONS:
                _reject(func, source, f"the method {func.attr!r} is not allowed (allowed: {_ALLOWED})")
            if node.args:
                _reject(node, source, f".{func.attr}() takes no arguments, got {len(node.args)}")
            return (func.value,)
        _reject(func, source, "only the named functions can be called")
    if isinstance(node, ast.Attribute):
        _reject(node, source, f"attribute access (.{node.attr}) is not allowed, only calls like x.tanh()")
    _reject(node, source, f"{_describe(node)} is not allowed")


def _apply(node, args, env, source):
    """One step of the evaluation. Number-only steps run through Value too, for its IEEE results."""
    if isinstance(node, ast.Constant):
        try:
            return float(node.value)
        except OverflowError:
            _reject(node, source, "this number is too large for a float")
    if isinstance(node, ast.Name):
        return env[node.id]
    if isinstance(node, ast.BinOp):
        a, b = args
        op = _BINARY[type(node.op)]
        if not isinstance(a, Value) and not isinstance(b, Value):
            return op(Value(a), b).data
        return op(a, b)
    if isinstance(node, ast.UnaryOp):
        (a,) = args
        return -a
    # A call, as a function or a method.
    (a,) = args
    name = node.func.id if isinstance(node.func, ast.Name) else node.func.attr
    if isinstance(a, Value):
        return getattr(a, name)()
    return getattr(Value(a), name)().data


def _describe(node):
    """A name for a construct the language does not have (``ast.Lambda`` -> "lambda")."""
    words = {"Lambda": "lambda", "ListComp": "a comprehension", "GeneratorExp": "a generator expression",
             "Subscript": "indexing", "Compare": "a comparison", "BoolOp": "and/or", "IfExp": "if/else",
             "NamedExpr": "the := operator", "JoinedStr": "an f-string", "AugAssign": "augmented assignment",
             "Import": "import", "ImportFrom": "import", "FunctionDef": "def", "ClassDef": "class"}
    kind = type(node).__name__
    return words.get(kind, f"{kind} (a {'statement' if isinstance(node, ast.stmt) else 'construct'})")


def _symbol(op):
    return _SYMBOLS.get(type(op), type(op).__name__)


def _reject(node, source, problem):
    """Raise the ValueError for ``node``, quoting its text and where it is."""
    segment = ast.get_source_segment(source, node) or ""
    if len(segment) > 60:
        segment = segment[:57] + "..."
    line, col = getattr(node, "lineno", 1), getattr(node, "col_offset", None)
    where = "" if col is None else f" (line {line}, column {col + 1})" if line > 1 else f" (column {col + 1})"
    raise ValueError(f"graph expression: {problem}{where}: {segment!r}")
