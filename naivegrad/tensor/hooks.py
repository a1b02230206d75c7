"""``register_hook``: functions a backward calls on a tensor's gradient as it computes it (PyTorch's hooks).

The registry ``_hooks`` is read by ``backward`` (naivegrad.tensor.backward), which runs ``_run_hooks`` on
each gradient of a hooked tensor. An in-place op hands a tensor's hooks to the snapshot of its old value (``_move_hooks``, called by
naivegrad.tensor.inplace). The methods below are attached to ``Tensor`` by naivegrad.tensor.tensor.
"""

import weakref as _weakref

import numpy as np

from .tensor import Tensor, _make, _short

# id(tensor) -> its hooks (a _Hooks list), for the tensors that have some: backward looks here only while
# the dict is not empty, so tensors pay nothing for hooks (no slot) until someone registers one.
_hooks = {}


class _Hooks(list):
    """One tensor's hooks, in order; ``ref`` is a weakref to the tensor (its entry goes when it dies)."""

    __slots__ = ("key", "ref")


def _drop(key, hooks):
    if _hooks.get(key) is hooks:
        del _hooks[key]


def _dead(ref, key):
    """A hooked tensor died: its hooks go (unless its id already belongs to a newer tensor's)."""
    hooks = _hooks.get(key)
    if hooks is not None and hooks.ref is ref:
        del _hooks[key]


def _attach(hooks, t):
    key = id(t)
    hooks.key = key
    hooks.ref = _weakref.ref(t, lambda ref, key=key: _dead(ref, key))
    _hooks[key] = hooks


def _hooks_of(t):
    hooks = _hooks.get(id(t))
    if hooks is None or hooks.ref() is not t:
        hooks = _Hooks()
        _attach(hooks, t)
    return hooks


class RemovableHandle:
    """What ``register_hook`` returns: ``remove()`` takes the hook away (again: nothing happens)."""

    __slots__ = ("_hooks", "_entry")

    def __init__(self, hooks, entry):
        self._hooks, self._entry = hooks, entry

    def remove(self):
        hooks = self._hooks
        for i, e in enumerate(hooks):
            if e is self._entry:
                del hooks[i]
                break
        if not hooks:
            _drop(hooks.key, hooks)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
        return False


def _add_hook(t, hook):
    hooks = _hooks_of(t)
    entry = [hook]  # a fresh object per registration: the same function registered twice runs twice
    hooks.append(entry)
    return RemovableHandle(hooks, entry)


def _move_hooks(t, to):
    """Give ``t``'s hooks to ``to`` (an in-place op's snapshot of t's old value)."""
    hooks = _hooks.get(id(t))
    if hooks is None or hooks.ref() is not t:
        return
    del _hooks[id(t)]
    _attach(hooks, to)


def _run_hooks(t, g):
    """``g`` (t's gradient) through t's hooks, in order; a hook's non-None result replaces it."""
    hooks = _hooks.get(id(t))
    if hooks is None or hooks.ref() is not t:
        return g
    if isinstance(g, Tensor):  # a create_graph backward: hooks see (and may return) Tensors
        for (hook,) in list(hooks):
            r = hook(g)
            if r is None or r is g:
                continue
            if not isinstance(r, Tensor):
                r = _make(np.array(r, dtype=t.dtype), False, None)
            if r.shape != t.shape:
                raise ValueError(f"a hook returned a gradient of shape {r.shape} for a tensor of shape {t.shape}: "
                                 f"a hook must keep the gradient's shape")
            g = r
        return g
    for (hook,) in list(hooks):  # a copy: a hook may remove itself
        view = g.view()
        view.flags.writeable = False
        r = hook(view)
        if r is None or r is view:
            continue
        if isinstance(r, Tensor):
            r = r.data
        r = np.asarray(r)
        if r.shape != t.shape:
            name = getattr(hook, "__qualname__", type(hook).__name__)
            raise ValueError(f"hook {name} returned a gradient of shape {r.shape} for a tensor of shape "
                             f"{t.shape}: a hook must keep the gradient's shape")
        if r.dtype.kind not in "biuf":
            raise TypeError(f"a hook returned a gradient of dtype {r.dtype}: it must hold real numbers")
        g = np.array(r, dtype=t.dtype)  # a copy: the hook may keep its result
    return g


# ---------------------------------------------------------------------- the Tensor methods
def register_hook(self, hook):
    """Call ``hook(grad)`` whenever a backward computes this tensor's gradient, as PyTorch's.

    ``grad`` is an ndarray, as ``.grad`` is (read-only: return a new array instead of modifying it). A
    hook that returns something (an array or a Tensor of the same shape) replaces the gradient: what
    flows on to the tensor's operands, and what a leaf accumulates into ``.grad`` (a leaf's hooks see the
    gradient of this backward alone, before it is added to ``.grad``). Several hooks run in the order
    they were registered, each given the previous one's result. Returns a handle whose ``remove()``
    removes the hook.

    >>> h = w.register_hook(lambda g: g * 2)   # w.grad doubled from now on
    >>> h.remove()

    Hooks on a tensor later modified in place stay with its value from before (PyTorch's rule): they see
    the gradient with respect to that value; hooks registered after see the new one's.
    """
    if not self.requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that does not require grad")
    if not callable(hook):
        raise TypeError(f"register_hook needs a callable, got {type(hook).__name__}: {_short(hook)}")
    return _add_hook(self, hook)


def retain_grad(self):
    """Keep this interior tensor's gradient in ``.grad`` after backward (PyTorch's ``retain_grad``).

    Interior tensors here always keep it (micrograd style: each backward sets their ``grad``), so this
    only checks that the tensor requires grad, for code written for PyTorch. Returns None.
    """
    if not self.requires_grad:
        raise RuntimeError("retain_grad() on a tensor that does not require grad")


@property
def retains_grad(self):
    """True for an interior tensor that requires grad (they always keep their ``grad`` here)."""
    return self.requires_grad and self._ctx is not None


METHODS = {"register_hook": register_hook, "retain_grad": retain_grad, "retains_grad": retains_grad}
