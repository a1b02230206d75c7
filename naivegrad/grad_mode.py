"""Whether operations record a graph for reverse mode: one switch shared by both engines.

The switch is thread-local, as in PyTorch: a data-loading thread evaluating under ``no_grad`` does not stop
the training thread from recording its graph.
"""

import functools
import threading

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled"]


class _GradState(threading.local):
    # A class attribute gives every new thread the default without a per-thread __init__.
    enabled = True


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
