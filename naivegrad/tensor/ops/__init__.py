"""Every tensor op, one ``Function`` subclass each, grouped by family in the modules of this package.

``REGISTRY`` maps each op's name (its class name in lower case: ``"add"``, ``"matmul"``, ``"logsoftmax"``)
to its class, so the set of ops can be enumerated (for cross-engine parity tests, op tables, drawing).
Each module lists its ops in ``__all__``; a module added to this package is picked up automatically.
"""

import importlib
import pkgutil

from ..function import Function

REGISTRY = {}


def _collect():
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for name in getattr(module, "__all__", ()):
            cls = getattr(module, name)
            if isinstance(cls, type) and issubclass(cls, Function):
                REGISTRY[cls.__name__.lower()] = cls


_collect()

__all__ = ["REGISTRY"]
