"""``Module``: parameters, sub-modules, state dicts and the backend switch, shared by every layer."""

from collections import OrderedDict
from typing import NamedTuple

import numpy as np

from ..engines import SCALAR, is_tensor
from .backend import ScalarBatch, get_backend, real_array
from .parameter import mark_parameter

__all__ = ["Module", "StateDictKeyError", "IncompatibleKeys"]


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict`` returns, as PyTorch's: the model's keys the state dict lacks, and the state
    dict's keys the model has no place for (both empty after a strict load)."""

    missing_keys: list
    unexpected_keys: list


class StateDictKeyError(KeyError):
    """Missing or unexpected state-dict keys (a ``KeyError`` whose message prints without quotes)."""

    def __str__(self):
        return str(self.args[0]) if self.args else ""


class Module:
    """Base class of every layer and model, on either engine.

    Subclasses register parameters with ``register_parameter(name, array)`` (a numpy array of initial
    values; the backend wraps it) and hold sub-modules as attributes, or as lists of modules; they implement
    ``forward(x)`` on the backend's batch representation. ``__call__`` converts user input (numbers, lists,
    numpy arrays, Values, Tensors) to that representation and the result back.

    >>> model = nn.MLP(2, [16, 1], backend="scalar", seed=0)
    >>> model.state_dict()["layers.0.weight"].shape
    (16, 2)

    Parameters and sharing, as in PyTorch: assigning a parameter to an attribute registers it
    (``self.scale = nn.Parameter(np.ones(3))``; on the scalar backend, an object array of leaf Values), and
    assigning one to a parameter's name replaces it, so ``decoder.weight = encoder.weight`` ties the two: the
    forward, ``parameters()``, ``state_dict()`` and the gradients all see the one shared parameter. A
    parameter's name also takes a plain leaf Tensor (it becomes the parameter, shared); a replacement must have
    the old one's shape and the module's dtype; ``None`` removes a parameter (as ``bias=False``); anything
    else (numpy values, the result of an op) raises TypeError. A plain Tensor assigned to a new name is an
    ordinary attribute, as in PyTorch (here ``Tensor()`` requires grad by default, so this matters).
    ``named_parameters()`` and ``parameters()`` yield a shared parameter once (optimizers refuse duplicates),
    ``state_dict()`` lists it under every name. See ``naivegrad.nn.parameter``.

    The dtype rule: a module computes in its own dtype (``dtype=``, float32 by default on the tensor backend;
    the scalar backend is float64 only), and every input is converted to it, whatever form it comes in:
    numbers, lists, numpy arrays and Tensors of another float dtype alike (a Tensor through a differentiable
    cast, so its gradient still arrives, in its own dtype). So the output's dtype is the model's, never the
    input's: a float32 model gives float32 for float64 data, as a torch model does once its input is
    converted, and without numpy's silent promotion of the whole computation to float64. Modules without
    parameters of their own (activations, pooling, ``Flatten``) have ``dtype`` None and keep the input's
    dtype (by ``Tensor()``'s rules for arrays and lists). Complex input raises TypeError naming the dtype,
    instead of losing its imaginary part.
    """

    #: True for modules without parameters of their own (activations, pooling): they keep the input's dtype.
    _follows_input_dtype = False

    def __init__(self, backend="tensor", dtype=None):
        self._backend = get_backend(backend)
        self.dtype = None if self._follows_input_dtype else self._backend.check_dtype(dtype)
        self._parameters = OrderedDict()
        self._buffers = OrderedDict()
        self.training = True

    # ------------------------------------------------------------------ structure
    @property
    def backend(self):
        """``"scalar"`` or ``"tensor"``: the engine this module computes with."""
        return self._backend.name

    def register_parameter(self, name, value):
        """Add the parameter ``name`` (it becomes that attribute) and return it.

        ``value`` is either a parameter to share (on the tensor backend an ``nn.Parameter`` or any leaf
        Tensor, which becomes one; on the scalar backend an object array of leaf Values, e.g. another module's
        parameter), or initial values (a numpy array or nested list of real numbers) from which the backend
        makes a new parameter in the module's dtype; None registers the name without a parameter.
        """
        if not isinstance(name, str) or not name or "." in name:
            raise ValueError(f"a parameter name must be a non-empty string without '.', got {name!r}")
        self._check_free(name, "parameter", self.__dict__.get("_buffers", {}), "buffer")
        where = f"{type(self).__name__}.{name}"
        if value is None:
            param = None
        else:
            param = self._backend.adopt(value, self.dtype, where, explicit=True)
            if param is None:
                if isinstance(value, np.ndarray) and value.dtype == object:
                    raise TypeError(f"register_parameter({name!r}, ...) got an object array that is not all "
                                    f"leaf Values; pass {self._backend.describe()}, or initial values")
                param = self._backend.parameter(real_array(value, f"initial values of {where}"), self.dtype)
        self._parameters[name] = param
        object.__setattr__(self, name, param)
        return param

    def register_buffer(self, name, value):
        """Add the buffer ``name`` (it becomes that attribute) and return it: state that is not trained, such as
        ``BatchNorm1d``'s running statistics, a numpy array (a copy of ``value``) on either backend.

        Buffers are in ``state_dict()`` and ``load_state_dict()``, after the module's parameters, as in
        PyTorch; not in ``parameters()`` or ``grad_dict()``. Assigning to the name replaces the array.
        """
        if not isinstance(name, str) or not name or "." in name:
            raise ValueError(f"a buffer name must be a non-empty string without '.', got {name!r}")
        self._check_free(name, "buffer", self.__dict__.get("_parameters", {}), "parameter")
        arr = None if value is None else np.array(real_array(value, f"buffer {type(self).__name__}.{name}"))
        self.__dict__["_buffers"][name] = arr
        object.__setattr__(self, name, arr)
        return arr

    def _check_free(self, name, what, other, other_what):
        # One name, one entry of the state dict: a buffer over a parameter (or the reverse) gave two entries
        # under one key, the second silently overwriting the first (PyTorch raises KeyError too).
        if name in other or isinstance(self.__dict__.get(name), Module):
            kind = other_what if name in other else "sub-module"
            raise KeyError(f"cannot register the {what} {name!r}: {type(self).__name__} already has a {kind} "
                           f"of that name")

    def named_buffers(self, prefix="", remove_duplicate=True):
        """(name, numpy array) for every buffer of this module and those below it, in state-dict order; a
        buffer of a module held under two names comes once, under its first (all of them with
        ``remove_duplicate=False``), as in PyTorch; ``prefix="encoder"`` names them ``"encoder.running_mean"``..."""
        seen = set()
        for name, b, is_buffer in self._named_state(prefix + "." if prefix else ""):
            if is_buffer and not (remove_duplicate and id(b) in seen):
                seen.add(id(b))
                yield name, b

    def __setattr__(self, name, value):
        if isinstance(value, Module) or isinstance(self.__dict__.get(name), Module):
            self._place_child(name, value)
        buffers = self.__dict__.get("_buffers")
        if buffers is not None and name in buffers:
            # A buffer is a numpy array (or None): anything else (a module, a list) would reach the state dict
            # as an object array, or break load_state_dict half-way through its writes.
            if value is not None and not (isinstance(value, np.ndarray) and value.dtype.kind in "fiub"):
                raise TypeError(f"cannot assign a {type(value).__name__} to the buffer {type(self).__name__}."
                                f"{name}: it takes a numpy array of real numbers, or None (del it first to "
                                f"use the name for something else)")
            buffers[name] = value
            object.__setattr__(self, name, value)
            return
        params = self.__dict__.get("_parameters")
        if params is not None:
            if name in params:
                self._replace_parameter(params, name, value)
                return
            if isinstance(value, np.ndarray) or is_tensor(value):
                param = self._backend.adopt(value, self.dtype, f"{type(self).__name__}.{name}", explicit=False)
                if param is not None:  # a parameter assigned to a new name registers it
                    params[name] = param
                    object.__setattr__(self, name, param)
                    return
        object.__setattr__(self, name, value)

    def _place_child(self, name, value):
        # PyTorch registers a sub-module when it arrives: an attribute that held something else first
        # (``self.proj = None``, then a module) moves to the end of the children, which fixes the order of
        # state_dict() and named_modules(). A child set to None keeps its place for the next module, as there.
        empty = self.__dict__.setdefault("_empty_children", set())
        if isinstance(value, Module):
            if name in self.__dict__ and not isinstance(self.__dict__[name], Module) and name not in empty:
                del self.__dict__[name]
            empty.discard(name)
        elif value is None:
            empty.add(name)

    def __delattr__(self, name):
        params = self.__dict__.get("_parameters")
        if params is not None and name in params:
            del params[name]
        self.__dict__.get("_buffers", {}).pop(name, None)  # a deleted buffer leaves the state dict too
        self.__dict__.get("_empty_children", set()).discard(name)
        object.__delattr__(self, name)

    def _replace_parameter(self, params, name, value):
        where = f"{type(self).__name__}.{name}"
        param = None
        if value is not None:
            param = self._backend.adopt(value, self.dtype, where, explicit=True)
            if param is None:
                raise TypeError(f"cannot assign a {type(value).__name__} to the parameter {where}: it takes "
                                f"{self._backend.describe()}, or None (to set its values, use "
                                f"load_state_dict)")
            old = params[name]
            if old is not None and tuple(old.shape) != tuple(param.shape):
                raise ValueError(f"cannot assign a parameter of shape {tuple(param.shape)} to {where}, which "
                                 f"has shape {tuple(old.shape)}")
        params[name] = param
        object.__setattr__(self, name, param)

    def _child_items(self):
        # (name, module) for each direct sub-module, in definition order, lists of modules by index; a module
        # held under two names comes under each, as the state dict has it.
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value
            elif isinstance(value, (list, tuple)) and value and all(isinstance(m, Module) for m in value):
                for i, m in enumerate(value):
                    yield f"{name}.{i}", m

    def children(self):
        """Each direct sub-module once, in definition order, as PyTorch's ``children()`` (with names:
        ``named_children()``)."""
        for _, m in self.named_children():
            yield m

    def named_children(self):
        """(name, module) for each direct sub-module, each module once, as PyTorch's ``named_children``
        (lists of modules held as attributes count by index: ``"blocks.0"``)."""
        seen = set()
        for name, m in self._child_items():
            if id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def named_modules(self, prefix="", remove_duplicate=True):
        """(name, module) for this module (named ``prefix``) and every module below it, depth first, with
        PyTorch's names (``"encoder.0"``); a module held under two names comes once, under its first (every
        time with ``remove_duplicate=False``)."""
        yield from _named_modules(self, prefix, remove_duplicate=remove_duplicate)

    def modules(self):
        """This module and every module below it, depth first, each once."""
        for _, m in _named_modules(self, ""):
            yield m

    def apply(self, fn):
        """Call ``fn(module)`` on every sub-module, children before their parent, then on this module (as
        PyTorch's ``apply``, e.g. to initialise weights); returns self."""
        for _, child in self.named_children():
            child.apply(fn)
        fn(self)
        return self

    def requires_grad_(self, requires_grad=True):
        """Set ``requires_grad`` on every parameter (``False`` freezes them: no gradient reaches them); returns
        self. Tensor backend only: every Value of the scalar engine takes part in ``backward``."""
        params = self._unique_parameters()
        if params and not is_tensor(params[0]):
            raise NotImplementedError(f"requires_grad_ needs the tensor backend; {type(self).__name__} is on the "
                                      f"{self.backend} backend, whose Values always take part in backward")
        for p in params:
            p.requires_grad_(requires_grad)
        return self

    def named_parameters(self, prefix="", remove_duplicate=True):
        """(name, parameter) pairs in state-dict order; a shared parameter comes once, under its first name
        (all of its names with ``remove_duplicate=False``), as in PyTorch.

        A parameter is an ``nn.Parameter`` (a Tensor) on the tensor backend and a numpy object array of Values
        (with the state dict's shape) on the scalar backend. ``prefix="encoder"`` names them
        ``"encoder.weight"``..., as in PyTorch.
        """
        pairs = self._all_named_parameters(prefix + "." if prefix else "")
        if not remove_duplicate:
            yield from pairs
            return
        seen = set()
        for name, p in pairs:
            if id(p) not in seen:
                seen.add(id(p))
                yield name, p

    def _all_named_parameters(self, prefix):
        for name, p in self._parameters.items():
            if p is not None:
                yield prefix + name, p
        for name, child in self._child_items():
            yield from child._all_named_parameters(prefix + name + ".")

    def parameters(self):
        """The parameters as a flat list: Tensors, or on the scalar backend every ``Value`` in state-dict order.

        Each appears once, however many names it has (tied weights). micrograd's idiom works on both:
        ``for p in model.parameters(): p.data -= lr * p.grad``.
        """
        params = self._unique_parameters()
        if self._backend.name != SCALAR:
            return params
        out = []
        flat = self._backend.flat
        for p in params:
            out.extend(flat(p))
        if len(set(map(id, out))) != len(out):
            seen = set()  # arrays that share some Values (views of one another)
            out = [v for v in out if not (id(v) in seen or seen.add(id(v)))]
        return out

    def _unique_parameters(self):
        """Every parameter object once, in state-dict order (the fast path of ``parameters``)."""
        out = []
        self._collect_parameters(out)
        if len(out) > 1 and len(set(map(id, out))) != len(out):
            seen = set()
            out = [p for p in out if not (id(p) in seen or seen.add(id(p)))]
        return out

    def _collect_parameters(self, out):
        for p in self._parameters.values():
            if p is not None:
                out.append(p)
        for _, child in self._child_items():
            child._collect_parameters(out)

    def zero_grad(self):
        """Reset every parameter's gradient (Values to 0.0, Tensors to None, as PyTorch's default)."""
        zero_grad = self._backend.zero_grad
        for p in self._unique_parameters():
            zero_grad(p)

    def train(self, mode=True):
        """Set training mode on this module and all below it; returns self. As in PyTorch, each child's own
        ``train`` is called, so a subclass that overrides it is obeyed inside a bigger model."""
        self.training = bool(mode)
        for _, child in self.named_children():
            child.train(mode)
        return self

    def eval(self):
        """Set evaluation mode (``train(False)``); returns self."""
        return self.train(False)

    # ------------------------------------------------------------------ state
    def state_dict(self):
        """An ordered dict of parameter (and buffer) name -> numpy array (a copy), named and shaped as in PyTorch.

        A shared (tied) parameter appears under each of its names.
        """
        return OrderedDict(self._state_items("", self._backend.to_numpy))

    def _state_items(self, prefix, to_numpy):
        for name, x, is_buffer in self._named_state(prefix):
            yield name, np.array(x, copy=True) if is_buffer else to_numpy(x)

    def _named_state(self, prefix=""):
        # (name, parameter or buffer, is_buffer) in PyTorch's order: a module's parameters, then its buffers,
        # then its children's state; a shared parameter or module under each of its names.
        for name, p in self._parameters.items():
            if p is not None:
                yield prefix + name, p, False
        for name, b in self.__dict__.get("_buffers", {}).items():
            if b is not None:
                yield prefix + name, b, True
        for name, child in self._child_items():
            yield from child._named_state(prefix + name + ".")

    def grad_dict(self):
        """Gradients under the state dict's names and shapes, as numpy arrays (zeros where there is none).

        This is how two backends' gradients are compared.
        """
        grad_numpy = self._backend.grad_numpy
        return OrderedDict((name, grad_numpy(p)) for name, p in self.named_parameters(remove_duplicate=False))

    def load_state_dict(self, state_dict, strict=True):
        """Copy values from ``state_dict`` into the parameters, in place (optimizers stay attached).

        Every key and shape is checked before anything is written: on any error (a missing or unexpected key,
        a wrong shape, non-numeric data, a tied parameter given two different values) the model keeps its old
        weights. Missing or unexpected keys raise ``KeyError`` (``StateDictKeyError``), naming each key and its
        shape; a wrong shape ``ValueError`` naming the key and both shapes.

        Returns ``IncompatibleKeys(missing_keys, unexpected_keys)``, as PyTorch: with ``strict=False``, what was
        left out, in PyTorch's order (missing keys in state-dict order; unexpected ones by the module they
        fall under, in load order). Unlike PyTorch, a key that names a sub-module itself is unexpected too;
        complex values raise TypeError (PyTorch drops the imaginary part); and shapes must match exactly, with
        no allowance for PyTorch's old checkpoints (a 1-d value for a 0-d entry, BatchNorm's
        ``num_batches_tracked`` filled in when a dict without version metadata lacks it).
        """
        if not hasattr(state_dict, "keys"):
            raise TypeError(f"load_state_dict needs a mapping of name -> array, got {type(state_dict).__name__}")
        entries = list(self._named_state())
        own = OrderedDict((name, x) for name, x, _ in entries)
        buffers = {name for name, _, is_buffer in entries if is_buffer}
        missing = [k for k in own if k not in state_dict]
        unexpected = _torch_order(self, [k for k in state_dict if k not in own])
        if strict and (missing or unexpected):
            raise StateDictKeyError(f"state dict does not match {type(self).__name__}: "
                                    + _key_report(missing, unexpected, own, state_dict))
        staged = {}  # id(parameter) -> (parameter, array, name): a tied parameter is written once
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
            first = staged.get(id(p))
            if first is None:
                staged[id(p)] = (p, arr, name)
            elif not np.array_equal(first[1].astype(np.float64), arr.astype(np.float64), equal_nan=True):
                raise ValueError(f"state dict entries {first[2]!r} and {name!r} name one shared (tied) parameter "
                                 f"of {type(self).__name__} but hold different values")
        for p, arr, name in staged.values():
            if name in buffers:
                p[...] = arr
            else:
                self._backend.assign(p, arr)
        return IncompatibleKeys(missing, unexpected)

    def save(self, path):
        """Write the state dict to ``path`` (.npz) atomically; see ``naivegrad.nn.save``."""
        from .serialization import save

        save(self, path)

    def load(self, path, strict=True):
        """Load weights from ``path``: a file written by ``save``, or a checkpoint of ``naivegrad train --save``
        (its model part: the ``model.*`` entries). Returns self.

        On any error (a damaged file, a missing or unexpected key, a wrong shape) the model keeps its old
        weights, and the message names the file, the key and both shapes.
        """
        from .serialization import load, model_state

        state, source = model_state(load(path), path)
        try:
            self.load_state_dict(state, strict=strict)
            return self
        except (KeyError, ValueError, TypeError) as exc:
            msg = exc.args[0] if exc.args else str(exc)
            raise type(exc)(f"cannot load {source} into {type(self).__name__}: {msg}") from None

    # ------------------------------------------------------------------ engines
    def to(self, backend, dtype=None):
        """Move the model, in place, to the ``"scalar"`` or ``"tensor"`` engine (weights kept); returns self.

        Parameters become new objects: make optimizers after moving. ``dtype`` applies to the tensor engine
        (float32 by default).
        """
        target = get_backend(backend)
        dt = target.check_dtype(dtype)
        moved = {}  # id(old parameter) -> (old, new): a shared parameter stays shared
        for m in self.modules():
            source = m._backend
            m._backend = target
            if not m._follows_input_dtype:
                m.dtype = dt
            for name, p in list(m._parameters.items()):
                if p is None:
                    continue
                hit = moved.get(id(p))
                if hit is None:
                    hit = moved[id(p)] = (p, target.parameter(source.to_numpy(p), dt))
                m._parameters[name] = hit[1]
                object.__setattr__(m, name, hit[1])
            for name, b in list(m.__dict__.get("_buffers", {}).items()):
                if b is not None and b.dtype.kind == "f":
                    setattr(m, name, b.astype(dt))
        return self

    def __setstate__(self, state):
        # copy.deepcopy and pickle rebuild a module from its __dict__: keep the shared backend object, and
        # mark the (copied) tensor parameters as parameters again, so that isinstance(p, nn.Parameter) holds.
        self.__dict__.update(state)
        self.__dict__.setdefault("_buffers", OrderedDict())
        self.__dict__["_backend"] = get_backend(self._backend.name)
        for p in self._parameters.values():
            if is_tensor(p):
                mark_parameter(p)

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
        kids = list(self._child_items())
        if not kids:
            return head
        lines = [head[:-1] + (", " if self.extra_repr() else "") + f"backend={self.backend!r}) ("]
        for name, child in kids:
            lines.append(f"  ({name}): " + repr(child).replace("\n", "\n  "))
        return "\n".join(lines) + "\n)"


def _named_modules(module, prefix, seen=None, remove_duplicate=True):
    # Depth first with torch's names; each module once, under its first name, unless not remove_duplicate.
    if remove_duplicate:
        seen = set() if seen is None else seen
        if id(module) in seen:
            return
        seen.add(id(module))
    yield prefix, module
    for name, child in module._child_items():
        yield from _named_modules(child, f"{prefix}.{name}" if prefix else name, seen, remove_duplicate)


def _torch_order(model, keys):
    """The unexpected ``keys`` in the order PyTorch reports them: it loads module by module (a module, then
    its children, each under every name) and lists each key at the module whose prefix it extends furthest,
    in the state dict's order."""
    if not keys:
        return keys
    rank = {}
    for i, (name, _) in enumerate(_named_modules(model, "", remove_duplicate=False)):
        rank.setdefault(name + "." if name else "", i)

    def module_rank(key):
        cuts = [i + 1 for i, c in enumerate(key) if c == "."]
        return next((rank[key[:i]] for i in reversed(cuts) if key[:i] in rank), 0)

    return sorted(keys, key=module_rank)


def _shape_of(value):
    try:
        return np.shape(value)
    except Exception:
        return "?"


def _key_report(missing, unexpected, own, state_dict, limit=8):
    """'missing 'a' (the model's shape (2, 3)), ...; unexpected 'b' (shape (4,))', at most ``limit`` each."""
    def listing(keys, describe):
        shown = ", ".join(f"{k!r} ({describe(k)})" for k in keys[:limit])
        return shown + (f" and {len(keys) - limit} more" if len(keys) > limit else "")

    parts = []
    if missing:
        parts.append("missing " + listing(missing, lambda k: f"the model's shape {tuple(own[k].shape)}"))
    if unexpected:
        parts.append("unexpected " + listing(unexpected, lambda k: f"shape {_shape_of(state_dict[k])}"))
    text = "; ".join(parts)
    if "naivegrad_checkpoint" in unexpected:
        text += (" (this is a training checkpoint of `naivegrad train`: its weights are the 'model.*' entries, "
                 "which model.load(path) takes)")
    return text
