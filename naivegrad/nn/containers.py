"""Containers, as PyTorch's: ``ModuleList`` and ``ModuleDict`` hold sub-modules; ``Identity`` passes its input on.

>>> class GPT(nn.Module):
...     def __init__(self, n_layer, backend="tensor"):
...         super().__init__(backend)
...         self.blocks = nn.ModuleList([Block(backend=backend) for _ in range(n_layer)])
...         self.heads = nn.ModuleDict({"lm": nn.Linear(16, 27, backend=backend)})
>>> list(GPT(2).state_dict())[:2]
['blocks.0.weight', 'blocks.0.bias']

A container's sub-modules are registered: their parameters are in ``parameters()``, ``state_dict()``
(under ``blocks.0.weight``, ``heads.lm.weight``, ... as in PyTorch), ``zero_grad()``, ``train()`` / ``eval()``
and ``to()``. A container has no ``forward`` of its own (as in PyTorch): the module holding it calls its
members.

Backends: a container and its members use one backend. Given ``backend=``, every member must be on it; left
out, the container follows its first member with parameters (the tensor backend while it has none).
Members without parameters (activations, ``Identity``) follow the container, as in ``Sequential``; a member
with parameters on another backend raises ValueError naming both.
"""

from collections import OrderedDict
from collections.abc import Iterable, Mapping

from ..engines import TENSOR
from .backend import get_backend
from .module import Module

__all__ = ["ModuleList", "ModuleDict", "Identity"]


def _has_parameters(m):
    return any(True for _ in m.named_parameters())


class _Container(Module):
    """What ModuleList and ModuleDict share: one backend for every member, no dtype of their own."""

    _follows_input_dtype = True

    def __init__(self, backend):
        if backend is not None:
            get_backend(backend)  # a clear error for a bad name
        super().__init__(TENSOR if backend is None else backend)
        self._backend_given = backend is not None

    def _members(self):
        raise NotImplementedError

    def _adopt(self, module, where):
        """Check that ``module`` is a Module on this container's backend (fixing it now, if it was not given
        and this is the first member with parameters); parameter-free modules follow it."""
        if not isinstance(module, Module):
            raise TypeError(f"{type(self).__name__}{where} must be a Module, got {type(module).__name__}: "
                            f"{module!r}")
        if not self._backend_given and _has_parameters(module):
            # The first member with parameters sets the backend: every member so far is parameter-free.
            self._backend_given = True
            self._set_backend(module.backend, [m for m in self._members() if m is not module])
        for sub in module.modules():
            if sub._parameters and sub.backend != self.backend:
                raise ValueError(f"{type(self).__name__} on the {self.backend} backend got {type(module).__name__} "
                                 f"{where.strip()} on the {sub.backend} backend; build it with "
                                 f"backend={self.backend!r}")
        for sub in module.modules():
            if not sub._parameters:
                sub._backend = self._backend
        return module

    def _set_backend(self, name, members):
        backend = get_backend(name)
        self._backend = backend
        for m in members:
            for sub in m.modules():
                if not sub._parameters:
                    sub._backend = backend

    def forward(self, x):
        raise NotImplementedError(f"{type(self).__name__} has no forward(): call its members from the module "
                                  f"that holds it")


class ModuleList(_Container):
    """A list of modules, registered as ``0``, ``1``, ... (PyTorch's ``nn.ModuleList``).

    >>> layers = nn.ModuleList([nn.Linear(4, 4) for _ in range(3)])
    >>> layers.append(nn.ReLU()); len(layers), list(layers.state_dict())[:1]
    (4, ['0.weight'])

    Supports ``append``, ``extend``, ``insert``, ``pop``, indexing (negative too) and assignment, ``del``,
    slices (a new ``ModuleList`` sharing the modules), ``len``, iteration, ``in``, ``+`` and ``+=``. Names follow
    the positions, so inserting or deleting renames the later members' state-dict keys, as in PyTorch.
    """

    def __init__(self, modules=None, backend=None):
        super().__init__(backend)
        self._items = []
        if modules is not None:
            self.extend(modules)

    def _members(self):
        return list(self._items)

    def _child_items(self):
        for i, m in enumerate(self._items):
            yield str(i), m

    def _index(self, idx, insert=False):
        if isinstance(idx, bool) or not hasattr(idx, "__index__"):
            raise TypeError(f"ModuleList indices must be integers or slices, not {type(idx).__name__}")
        i = idx.__index__()
        n = len(self._items)
        if insert:
            return i
        if not -n <= i < n:
            raise IndexError(f"index {i} is out of range for a ModuleList of length {n}")
        return i % n

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return ModuleList(self._items[idx], backend=self.backend)
        return self._items[self._index(idx)]

    def __setitem__(self, idx, module):
        i = self._index(idx)
        self._items[i] = self._adopt(module, f"[{i}]")

    def __delitem__(self, idx):
        if isinstance(idx, slice):
            del self._items[idx]
        else:
            del self._items[self._index(idx)]

    def __len__(self):
        return len(self._items)

    def __iter__(self):
        return iter(list(self._items))

    def __contains__(self, module):
        return any(m is module for m in self._items)

    def __iadd__(self, modules):
        return self.extend(modules)

    def __add__(self, other):
        if not isinstance(other, ModuleList):
            raise TypeError(f"can only add a ModuleList to a ModuleList, got {type(other).__name__}")
        return ModuleList(list(self._items) + list(other._items),
                          backend=self.backend if self._backend_given else None)

    def append(self, module):
        """Add ``module`` at the end; returns self."""
        self._items.append(self._adopt(module, f"[{len(self._items)}]"))
        return self

    def extend(self, modules):
        """Add each module of the iterable ``modules`` at the end; returns self."""
        if not isinstance(modules, Iterable):
            raise TypeError(f"ModuleList.extend should be called with an iterable of Modules, but got "
                            f"{type(modules).__name__}")
        for m in list(modules):
            self.append(m)
        return self

    def insert(self, index, module):
        """Insert ``module`` before position ``index`` (as ``list.insert``)."""
        i = self._index(index, insert=True)
        self._adopt(module, f"[{i}]")
        self._items.insert(i, module)

    def pop(self, index=-1):
        """Remove and return the module at ``index`` (the last by default)."""
        return self._items.pop(self._index(index))

    def extra_repr(self):
        return "" if self._items else "[]"


class ModuleDict(_Container):
    """An ordered dict of modules, registered under their keys (PyTorch's ``nn.ModuleDict``).

    >>> heads = nn.ModuleDict({"mean": nn.Linear(8, 1), "logvar": nn.Linear(8, 1)})
    >>> list(heads.keys()), list(heads.state_dict())[:1]
    (['mean', 'logvar'], ['mean.weight'])

    Keys are strings without '.' (they become state-dict name parts), and may not shadow an attribute or method
    (``"keys"``, ``"training"``...), since a member is also an attribute: ``heads.mean``. Supports ``d[key]``,
    assignment, ``del``, ``len``, iteration over keys, ``in``, ``keys``, ``values``, ``items``, ``update``
    (a mapping or (key, module) pairs), ``pop`` and ``clear``; insertion order is kept.
    """

    def __init__(self, modules=None, backend=None):
        super().__init__(backend)
        self._dict = OrderedDict()
        if modules is not None:
            self.update(modules)

    def _members(self):
        return list(self._dict.values())

    def _child_items(self):
        yield from self._dict.items()

    def _check_key(self, key):
        if not isinstance(key, str):
            raise TypeError(f"ModuleDict keys must be strings, got {type(key).__name__}: {key!r}")
        if not key or "." in key:
            raise KeyError(f"ModuleDict key {key!r} must be a non-empty string without '.'")
        if key not in self._dict and (hasattr(type(self), key) or key in self.__dict__):
            raise KeyError(f"ModuleDict key {key!r} would shadow the attribute {key!r}; pick another name")
        return key

    def __getitem__(self, key):
        try:
            return self._dict[key]
        except KeyError:
            raise KeyError(f"ModuleDict has no key {key!r}; its keys are {list(self._dict)}") from None
        except TypeError:
            raise TypeError(f"ModuleDict keys must be strings, got {type(key).__name__}: {key!r}") from None

    def __setitem__(self, key, module):
        self._check_key(key)
        self._dict[key] = self._adopt(module, f"[{key!r}]")

    def __delitem__(self, key):
        self[key]  # the error naming the key
        del self._dict[key]

    def __setattr__(self, name, value):
        # d.encoder = module adds a member, as d["encoder"] = module (PyTorch registers it too).
        if isinstance(value, Module) and not name.startswith("_"):
            self[name] = value
        else:
            super().__setattr__(name, value)

    def __getattr__(self, name):
        # Members as attributes (d.encoder), as in PyTorch; only reached when normal lookup fails.
        members = self.__dict__.get("_dict")
        if members is not None and name in members:
            return members[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute {name!r}")

    def __len__(self):
        return len(self._dict)

    def __iter__(self):
        return iter(list(self._dict))

    def __contains__(self, key):
        return key in self._dict

    def keys(self):
        """The keys, in insertion order."""
        return self._dict.keys()

    def values(self):
        """The modules, in insertion order."""
        return self._dict.values()

    def items(self):
        """(key, module) pairs, in insertion order."""
        return self._dict.items()

    def update(self, modules):
        """Add or replace members from a mapping of key -> module, or an iterable of (key, module) pairs."""
        if isinstance(modules, Mapping):
            pairs = list(modules.items())
        elif isinstance(modules, Iterable) and not isinstance(modules, (str, bytes, Module)):
            pairs = []
            for j, pair in enumerate(modules):
                if isinstance(pair, (str, bytes)) or not isinstance(pair, Iterable) or len(list(pair)) != 2:
                    raise ValueError(f"ModuleDict update sequence element #{j} should be a (key, module) pair, "
                                     f"got {pair!r}")
                pairs.append(tuple(pair))
        else:
            raise TypeError(f"ModuleDict.update should be called with a mapping or an iterable of (key, module) "
                            f"pairs, but got {type(modules).__name__}")
        for key, module in pairs:
            self[key] = module

    def pop(self, key):
        """Remove and return the module under ``key``."""
        module = self[key]
        del self._dict[key]
        return module

    def clear(self):
        """Remove every member."""
        self._dict.clear()

    def extra_repr(self):
        return "" if self._dict else "{}"


class Identity(Module):
    """Returns its input itself, unchanged (PyTorch's ``nn.Identity``: ``Identity()(x) is x``), whatever it is
    and whatever the backend, so it can stand in for a layer on either engine:
    ``proj = nn.Linear(d, d, backend=b) if project else nn.Identity()``. Constructor arguments are ignored, as
    in PyTorch (``backend=`` is accepted, for uniformity)."""

    _follows_input_dtype = True

    def __init__(self, *args, backend="tensor", **kwargs):
        super().__init__(backend)

    def forward(self, x):
        return x

    def __call__(self, x):
        return x
