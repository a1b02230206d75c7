"""Which transforms are running right now (per thread), so that nesting them is either right or refused.

Nesting is where autodiff libraries return wrong numbers silently: an inner derivative computed as plain
floats looks like a constant to the outer transform. Each transform records itself here while it calls the
user's function, and the inner one checks what it may do:

Both engines follow one rule. Reverse mode (grad, vjp, jacrev, hessian, hvp) may nest in anything: its
gradients are Values / Tensors with a graph (``create_graph=True``) whenever an outer transform of the same
engine is running. Forward mode (jvp, jacfwd) runs forward only when it is outermost: a Value or a Tensor
carries one tangent (a float, an array), which reverse mode cannot differentiate and which an outer forward
mode would share. Inside another transform, jvp and jacfwd therefore compute the same derivatives by reverse
mode (transforms.py); ``running`` still refuses a forward pass under another transform, should one be asked.
"""

import threading
from contextlib import contextmanager

from ..engines import SCALAR

__all__ = ["running", "active"]


class _Levels(threading.local):
    def __init__(self):
        self.stack = []


_levels = _Levels()


def active(engine):
    """The modes ("forward" / "reverse") of the transforms of ``engine`` running now, outermost first."""
    return [mode for eng, mode, _ in _levels.stack if eng == engine]


@contextmanager
def running(engine, mode, name):
    """Mark transform ``name`` (of ``engine``, in ``mode``) as running while its body calls the user's f."""
    outer = [n for eng, _, n in _levels.stack if eng == engine]
    if outer and mode == "forward":
        # jvp / jacfwd take reverse mode inside another transform (transforms.py); a forward pass here would
        # give the outer transform a tangent it cannot see, a constant where a derivative belongs.
        raise NotImplementedError(
            f"{name} inside {outer[-1]} on the {engine} engine: a forward-mode pass under another transform "
            f"(a Value / Tensor carries one tangent); nested forward mode goes through jvp or jacfwd"
        )
    _levels.stack.append((engine, mode, name))
    try:
        yield
    finally:
        _levels.stack.pop()
