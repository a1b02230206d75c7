"""The public op surface of both engines, found by introspection, and what the op table covers of it.

``public_api()`` lists every name an op could hide behind: Value's and Tensor's public attributes and the
operator dunders they define (``Value.__add__``, ``Tensor.sum``, ``Tensor.T``), the public functions of the
engines' modules (``scalar.sum``, ``scalar.conv.conv2d``, ``tensor.where``, ``tensor.ops.conv.conv2d``), and
every ``naivegrad.tensor.ops.REGISTRY`` entry (``REGISTRY.matmul``). ``NOT_OPS`` is the allow-list of names
that build no differentiable node, each with the reason (or, for the few that build graphs on purpose, the
test file that checks them). ``missing()`` is what is neither registered nor
allowed: the completeness test asserts it is empty, so a new op cannot arrive without its checks.
"""

import importlib
import pkgutil

__all__ = ["public_api", "covered", "missing", "stale", "NOT_OPS", "OPERATOR_DUNDERS"]

# Every dunder that Python's operators and built-ins call on a number-like object.
OPERATOR_DUNDERS = frozenset(
    [f"__{p}{n}__" for n in ("add", "sub", "mul", "matmul", "truediv", "floordiv", "mod", "divmod", "pow",
                             "lshift", "rshift", "and", "xor", "or") for p in ("", "r", "i")]
    + ["__neg__", "__pos__", "__abs__", "__invert__", "__round__", "__trunc__", "__floor__", "__ceil__",
       "__getitem__", "__setitem__", "__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__"]
)

NOT_OPS = {
    # Value: state and the reverse-mode driver.
    "Value.data": "the number itself",
    "Value.grad": "the accumulated gradient",
    "Value.tangent": "the forward-mode derivative carried along",
    "Value.backward": "runs reverse mode over an existing graph; builds no node",
    "Value.item": "the float value (PyTorch's name); leaves the graph",
    "Value.__pos__": "returns the Value itself: no node",
    # Tensor: state, conversions and the reverse-mode driver.
    "Tensor.data": "the ndarray", "Tensor.grad": "the accumulated gradient",
    "Tensor.requires_grad": "a flag", "Tensor.tangent": "the forward-mode derivative carried along",
    "Tensor.shape": "metadata", "Tensor.dtype": "metadata", "Tensor.ndim": "metadata",
    "Tensor.numel": "metadata", "Tensor.is_leaf": "metadata",
    "Tensor.backward": "runs reverse mode over an existing graph; builds no node",
    "Tensor.item": "a Python float; leaves the graph", "Tensor.numpy": "the ndarray; leaves the graph",
    "Tensor.detach": "a constant copy of the data, cut from the graph on purpose",
    "Tensor.__pos__": "returns the Tensor itself: no node",
    "Tensor.zeros": "creation: no input to differentiate", "Tensor.ones": "creation",
    "Tensor.eye": "creation", "Tensor.randn": "creation", "Tensor.uniform": "creation",
    "Tensor.arange": "creation", "Tensor.zeroes": "creation (the original project's spelling of zeros)",
    # Tensor: comparisons, masks and conversions out of the graph (naivegrad/tensor/comparisons.py and
    # conversions.py): bool and integer results never require grad.
    "Tensor.size": "metadata", "Tensor.element_size": "metadata", "Tensor.nbytes": "metadata",
    "Tensor.is_floating_point": "metadata", "Tensor.tolist": "Python numbers; leaves the graph",
    "Tensor.requires_grad_": "sets a flag, returns the Tensor itself: no node",
    "Tensor.long": "an int64 tensor: never in the graph", "Tensor.int": "an int32 tensor: never in the graph",
    "Tensor.bool": "a bool mask: never in the graph", "Tensor.any": "a bool mask: never in the graph",
    "Tensor.all": "a bool mask: never in the graph",
    **{f"Tensor.{name}": "bool masks (or integers), no node: tests/tensor/test_comparisons.py"
       for name in ("__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__and__", "__rand__", "__or__",
                    "__ror__", "__xor__", "__rxor__", "__invert__")},
    **{f"Tensor.{name}": "a cast to a narrower float, in the graph: rounding keeps it out of the table's exact "
                         "checks; tests/tensor/test_conversions.py checks its values, gradients and tangents"
       for name in ("float", "half")},
    # Indices: int64 tensors that never require grad (PyTorch's argmax / argmin), no node.
    "Tensor.argmax": "int64 indices, never in the graph", "Tensor.argmin": "int64 indices, never in the graph",
    "tensor.argmax": "Tensor.argmax as a function: tests/tensor/test_reductions_api.py",
    "tensor.argmin": "Tensor.argmin as a function: tests/tensor/test_reductions_api.py",
    # In-place ops and hooks (naivegrad.tensor.inplace): they write into the tensor itself, which the table's
    # checks (a fresh output per call) cannot express; their own tests compare values and gradients with torch.
    **{f"Tensor.{name}": "in place, recorded in the graph when it requires grad: tests/tensor/test_inplace.py"
       for name in ("add_", "sub_", "mul_", "div_", "zero_", "fill_", "copy_", "clamp_", "clip_")},
    "Tensor.register_hook": "runs a function during backward; builds no node: tests/tensor/test_hooks.py",
    "Tensor.retain_grad": "a no-op check (interior grads are always kept): tests/tensor/test_hooks.py",
    "Tensor.retains_grad": "a flag",
    # Module-level names that are not ops.
    "tensor.zeros": "creation", "tensor.ones": "creation", "tensor.eye": "creation", "tensor.randn": "creation",
    "tensor.uniform": "creation", "tensor.arange": "creation",
    "tensor.unbroadcast": "a helper every binary op's backward uses; checked through those ops",
    "tensor.shapes.normalize_axis": "argument checking", "tensor.shapes.normalize_axes": "argument checking",
    # Second order: these build graphs on purpose; each reason names the tests that check them.
    "scalar.higher_order.backward_with_graph": "what ``backward(create_graph=True)`` runs, recording its own "
                                               "graph: tests/func/test_func_higher_order.py",
    "scalar.higher_order.grad": "reverse mode as a function: tests/func/test_func_higher_order.py",
}

# Names re-exported by a package from one of its modules count once, under the module they come from.
_CLASSES_AND_SWITCHES = {"Value", "Tensor", "Function", "Context", "REGISTRY", "no_grad", "enable_grad",
                         "set_grad_enabled", "is_grad_enabled"}


def _class_surface(cls, prefix):
    names = set()
    for klass in cls.__mro__:
        if klass is object:
            continue
        for name in vars(klass):
            if name.startswith("_"):
                if name in OPERATOR_DUNDERS:
                    names.add(f"{prefix}.{name}")
                continue
            names.add(f"{prefix}.{name}")
    return names


def _module_surface(package, prefix, skip=()):
    """The ``__all__`` names of ``package`` and each of its modules, except classes, switches and ``skip``."""
    pkg = importlib.import_module(package)
    names = set()
    for name in getattr(pkg, "__all__", ()):
        if name not in _CLASSES_AND_SWITCHES:
            names.add(f"{prefix}.{name}")
    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name.startswith("_") or info.name in skip:
            continue
        module = importlib.import_module(f"{package}.{info.name}")
        for name in getattr(module, "__all__", ()):
            if name in _CLASSES_AND_SWITCHES:
                continue
            obj = getattr(module, name)
            if isinstance(obj, type):  # Function classes: REGISTRY covers them
                continue
            qualified = f"{prefix}.{name}"
            if qualified not in names:  # re-exported at package level (scalar.sum is scalar.fused.sum)
                names.add(f"{prefix}.{info.name}.{name}")
    return names


def public_api():
    """Every public name of both engines that could be an op (qualified: ``Value.exp``, ``tensor.where``...)."""
    from naivegrad.scalar import Value
    from naivegrad.tensor import REGISTRY, Tensor

    names = _class_surface(Value, "Value") | _class_surface(Tensor, "Tensor")
    names |= _module_surface("naivegrad.scalar", "scalar")
    names |= _module_surface("naivegrad.tensor", "tensor", skip=("ops",))
    names |= _module_surface("naivegrad.tensor.ops", "tensor.ops")
    names |= {f"REGISTRY.{k}" for k in REGISTRY}
    return names


def _strip(key):
    return key.split("#", 1)[0]


def covered(ops):
    """The qualified names the table's ops exercise."""
    names = set()
    for op in ops:
        for key in op.value_forms:
            k = _strip(key)
            names.add(k if k.startswith("scalar.") else f"Value.{k}")
        for key in op.tensor_forms:
            k = _strip(key)
            names.add(k if k.startswith("tensor.") else f"Tensor.{k}")
        names |= {f"REGISTRY.{f}" for f in op.functions}
    return names


def missing(ops):
    """Public op names that no op of the table exercises and NOT_OPS does not excuse: must be empty."""
    return public_api() - covered(ops) - set(NOT_OPS)


def stale(ops):
    """Names in the table or NOT_OPS entries that no longer exist in the engines (renamed or removed)."""
    api = public_api()
    return (covered(ops) | set(NOT_OPS)) - api
