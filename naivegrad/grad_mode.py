"""Whether operations record a graph for reverse mode: one switch shared by both engines.

The switch is thread-local, as in PyTorch: a data-loading thread evaluating under ``no_grad`` does not stop
the training thread from recording its graph.
"""

import functools
import threading

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled"]


# Ops ask "is this thread recording?" for every node they make, and reading a thread-local attribute costs
# more than the rest of that test. So the answer is kept in two places: each thread's own switch
# (``_state.enabled``, the truth), and ``threads_off[0]``, how many threads have it off right now. While that
# count is 0, as it nearly always is, every thread records, and an op reads the count alone:
#
#     if not threads_off[0] or _state.enabled:   # record the node
#
# The count is the number of live ``_Off`` tokens: a thread holds one while its switch is off, and drops it
# when the switch goes back on or when the thread ends (its thread-local attributes are deleted then), so a
# thread that never switches back does not slow the others down for the rest of the process.
_lock = threading.Lock()
threads_off = [0]


class _Off:
    __slots__ = ()

    def __init__(self):
        with _lock:
            threads_off[0] += 1

    def __del__(self, _lock=_lock, threads_off=threads_off):  # (bound now: module globals may be gone at exit)
        with _lock:
            threads_off[0] -= 1


_set = threading.local.__setattr__


class _GradState(threading.local):
    # Class attributes give every new thread the default without a per-thread __init__.
    enabled = True
    _off = None  # this thread's _Off token while its switch is off

    def __setattr__(self, name, value):
        if name != "enabled":
            return _set(self, name, value)
        # The token is taken before the switch goes off and dropped after it is back on, so the count is never
        # 0 while a thread is not recording.
        old = self._off
        if not value and old is None:
            _set(self, "_off", _Off())
        _set(self, "enabled", value)
        if value and old is not None:
            _set(self, "_off", None)
        # (the token's __del__ takes the lock when ``old`` goes, after this: never inside a ``with _lock``)


_state = _GradState()


def is_grad_enabled():
    """True when operations record the graph that ``backward()`` walks (the default)."""
    return _state.enabled


class _GradMode:
    """Sets the switch on entry, restores what it was on exit; also usable as a decorator."""

    mode = True

    def __new__(cls, func=None):
        # ``@no_grad`` without parentheses hands the function straight to the class: decorate it.
        self = super().__new__(cls)
        if func is None:
            return self
        if not callable(func):
            raise TypeError(f"{cls.__name__}() takes no arguments, or decorates a function; got "
                            f"{type(func).__name__}: {func!r}")
        return self(func)

    def __init__(self, func=None):
        pass

    def __enter__(self):
        # A stack of previous states lets one instance be entered again (and nested) safely.
        self.__dict__.setdefault("_saved", []).append(_state.enabled)
        _state.enabled = self.mode
        return self

    def __exit__(self, *exc):
        _state.enabled = self._saved.pop()
        return False

    def __call__(self, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with type(self)() if type(self) is not set_grad_enabled else set_grad_enabled(self.mode):
                return func(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):
    """Context manager (and decorator) under which ops of both engines record no graph.

    >>> with naivegrad.no_grad():
    ...     y = model(x)       # inference: no graph is kept, backward() through y is impossible
    """

    mode = False


class enable_grad(_GradMode):
    """Re-enable graph recording, e.g. inside a ``no_grad`` block."""

    mode = True


class set_grad_enabled(_GradMode):
    """Set graph recording on or off: immediately when called, or for a ``with`` block.

    >>> naivegrad.set_grad_enabled(False)   # off from here on, in this thread
    >>> with naivegrad.set_grad_enabled(True):
    ...     loss.backward()
    """

    def __new__(cls, mode):
        return object.__new__(cls)

    def __init__(self, mode):
        self.mode = bool(mode)
        # PyTorch semantics: the plain call takes effect at once; __exit__ restores the old state.
        self._saved = [_state.enabled]
        _state.enabled = self.mode

    def __enter__(self):
        return self

    def __call__(self, func):
        # As a decorator it applies during calls only (as in PyTorch): undo the switch __init__ just made.
        _state.enabled = self._saved.pop()
        return super().__call__(func)
