"""``Module``: parameters, sub-modules, state dicts and the backend switch, shared by every layer."""

from collections import OrderedDict

import numpy as np

from ..engines import SCALAR
from .backend import ScalarBatch, get_backend

__all__ = ["Module"]


class Module:
    """Base class of every layer and model, on either engine.

    Subclasses register parameters with ``register_parameter(name, array)`` (a numpy array of initial
    values; the backend wraps it) and hold sub-modules as attributes, or as lists of modules; they implement
    ``forward(x)`` on the backend's batch representation. ``__call__`` converts user input (numbers, lists,
    numpy arrays, Values, Tensors) to that representation and the result back.

    >>> model = nn.MLP(2, [16, 1], backend="scalar", seed=0)
    >>> model.state_dict()["layers.0.weight"].shape
    (16, 2)
    """

    def __init__(self, backend="tensor", dtype=None):
        self._backend = get_backend(backend)
        self.dtype = self._backend.check_dtype(dtype)
        self._parameters = OrderedDict()
        self.training = True

    # ------------------------------------------------------------------ structure
    @property
    def backend(self):
        """``"scalar"`` or ``"tensor"``: the engine this module computes with."""
        return self._backend.name

    def register_parameter(self, name, array):
        """Add a parameter from a numpy array of initial values; it becomes the attribute ``name``."""
        param = self._backend.parameter(array, self.dtype)
        self._parameters[name] = param
        object.__setattr__(self, name, param)
        return param

    def children(self):
        """(name, module) for each direct sub-module, in definition order; lists of modules count by index."""
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value
            elif isinstance(value, (list, tuple)) and value and all(isinstance(m, Module) for m in value):
                for i, m in enumerate(value):
                    yield f"{name}.{i}", m

    def modules(self):
        """This module and every module below it, depth first."""
        for _, m in _named_modules(self, ""):
            yield m

    def named_parameters(self, prefix=""):
        """(name, parameter) pairs in state-dict order.

        A parameter is a Tensor on the tensor backend and a numpy object array of Values (with the state
        dict's shape) on the scalar backend.
        """
        for name, p in self._parameters.items():
            yield prefix + name, p
        for name, child in self.children():
            yield from child.named_parameters(prefix + name + ".")

    def parameters(self):
        """The parameters as a flat list: Tensors, or on the scalar backend every ``Value`` in state-dict order.

        micrograd's idiom works on both: ``for p in model.parameters(): p.data -= lr * p.grad``.
        """
        out = []
        for _, p in self.named_parameters():
            out.extend(self._backend.flat(p))
        return out

    def zero_grad(self):
        """Reset every parameter's gradient (Values to 0.0, Tensors to None, as PyTorch's default)."""
        for _, p in self.named_parameters():
            self._backend.zero_grad(p)

    def train(self, mode=True):
        """Set training mode on this module and all below it; returns self."""
        for m in self.modules():
            m.training = bool(mode)
        return self

    def eval(self):
        """Set evaluation mode (``train(False)``); returns self."""
        return self.train(False)

    # ------------------------------------------------------------------ state
    def state_dict(self):
        """An ordered dict of parameter name -> numpy array (a copy), named and shaped as in PyTorch."""
        return OrderedDict((name, self._backend.to_numpy(p)) for name, p in self.named_parameters())

    def grad_dict(self):
        """Gradients under the state dict's names and shapes, as numpy arrays (zeros where there is none).

        This is how two backends' gradients are compared.
        """
        return OrderedDict((name, self._backend.grad_numpy(p)) for name, p in self.named_parameters())

    def load_state_dict(self, state_dict, strict=True):
        """Copy values from ``state_dict`` into the parameters, in place (optimizers stay attached).

        Every key and shape is checked before anything is written: on any error (a missing or unexpected key,
        a wrong shape, non-numeric or non-finite-typed data) the model keeps its old weights.
        """
        if not hasattr(state_dict, "keys"):
            raise TypeError(f"load_state_dict needs a mapping of name -> array, got {type(state_dict).__name__}")
        own = OrderedDict(self.named_parameters())
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            parts = []
            if missing:
                parts.append(f"missing keys {missing}")
            if unexpected:
                parts.append(f"unexpected keys {unexpected}")
            raise KeyError(f"state dict does not match {type(self).__name__}: " + "; ".join(parts))
        staged = []
        for name, p in own.items():
            if name not in state_dict:
                continue
            value = state_dict[name]
            try:
                arr = np.asarray(value)
            except Exception as exc:
                raise TypeError(f"state dict entry {name!r} is not array-like: {exc}") from None
            if arr.dtype.kind not in "fiub":
                raise TypeError(f"state dict entry {name!r} has non-numeric dtype {arr.dtype}")
            if arr.shape != tuple(p.shape):
                raise ValueError(
                    f"state dict entry {name!r} has shape {arr.shape}, the model expects {tuple(p.shape)}"
                )
            staged.append((p, arr))
        for p, arr in staged:
            self._backend.assign(p, arr)
        return self

    def save(self, path):
        """Write the state dict to ``path`` (.npz) atomically; see ``naivegrad.nn.save``."""
        from .serialization import save

        save(self, path)

    def load(self, path, strict=True):
        """Load weights written by ``save``; on any error the model keeps its old weights."""
        from .serialization import load

        return self.load_state_dict(load(path), strict=strict)

    # ------------------------------------------------------------------ engines
    def to(self, backend, dtype=None):
        """Move the model, in place, to the ``"scalar"`` or ``"tensor"`` engine (weights kept); returns self.

        Parameters become new objects: make optimizers after moving. ``dtype`` applies to the tensor engine
        (float32 by default).
        """
        target = get_backend(backend)
        state = self.state_dict()
        dt = target.check_dtype(dtype)
        for prefix, m in _named_modules(self, ""):
            m._backend, m.dtype = target, dt
            for name in list(m._parameters):
                m.register_parameter(name, state[prefix + name])
        return self

    # ------------------------------------------------------------------ calling
    def forward(self, x):
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, x):
        b = self._backend
        if isinstance(x, ScalarBatch) and b.name == SCALAR:
            return self.forward(x)  # called from another module's forward: stay in batch form
        return b.to_output(self.forward(b.to_input(x, self.dtype)))

    def extra_repr(self):
        return ""

    def __repr__(self):
        head = f"{type(self).__name__}({self.extra_repr()})"
        kids = list(self.children())
        if not kids:
            return head
        lines = [head[:-1] + (", " if self.extra_repr() else "") + f"backend={self.backend!r}) ("]
        for name, child in kids:
            lines.append(f"  ({name}): " + repr(child).replace("\n", "\n  "))
        return "\n".join(lines) + "\n)"


def _named_modules(module, prefix):
    yield prefix, module
    for name, child in module.children():
        yield from _named_modules(child, prefix + name + ".")
