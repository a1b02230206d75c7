"""``Parameter``: what a ``Module`` registers when it is assigned to one of its attributes.

>>> layer = nn.Linear(3, 3, seed=0)
>>> isinstance(layer.weight, nn.Parameter)          # every tensor-backend parameter is one
True
>>> decoder.weight = encoder.weight                  # weight tying: one parameter, two names

What a parameter is depends on the backend:

- tensor backend: a ``Tensor`` marked as a parameter. ``nn.Parameter(data)`` makes one (a leaf,
  ``requires_grad=True`` unless told otherwise, dtype by ``Tensor()``'s rules; ``nn.Parameter(t)`` for a Tensor
  ``t`` shares ``t``'s data array, as in PyTorch), and so does every layer for its weights.
  ``isinstance(p, nn.Parameter)`` is True for marked Tensors, but ``type(p)`` is ``Tensor``: the engine's hot
  paths see one class only (a subclass would cost every training step a few percent in CPython's
  specialised attribute lookups). A module's parameters must have the module's dtype.
- scalar backend: a numpy object array of leaf ``Value``s (``Value(x)``, not the result of an op), shaped as
  the state dict entry. Assigning such an array to a module attribute registers it, sharing the very same
  Values (``b.weight = a.weight`` ties them); so does ``register_parameter(name, array)``. A ``Parameter``
  (a Tensor) assigned to a scalar-backend module becomes a new object array of Values holding its values:
  Values cannot share a Tensor's memory, so on that backend it initialises a parameter rather than sharing one.

``module.parameters()`` lists a shared parameter once; ``state_dict()`` holds it under every name, as
PyTorch does.
"""

import weakref

from ..tensor import Tensor

__all__ = ["Parameter", "is_parameter", "mark_parameter"]

# id(tensor) -> tensor, for the Tensors marked as parameters; an entry goes when its Tensor does.
_MARKED = weakref.WeakValueDictionary()


def mark_parameter(t):
    """Mark the Tensor ``t`` as a parameter (``isinstance(t, nn.Parameter)`` becomes True); returns ``t``."""
    _MARKED[id(t)] = t
    return t


def is_parameter(x):
    """True for a Tensor marked as a parameter (made by ``nn.Parameter``, a layer, or registered in a module)."""
    return _MARKED.get(id(x)) is x


class _ParameterType(type):
    def __instancecheck__(cls, obj):
        return is_parameter(obj)


class Parameter(Tensor, metaclass=_ParameterType):
    """A Tensor marked as a module parameter: ``module.name = nn.Parameter(data)`` registers it.

    ``Parameter(data, requires_grad=True, dtype=None)`` returns a leaf ``Tensor`` (``data`` and ``dtype`` follow
    ``Tensor()``'s rules: floating numpy arrays keep their dtype, numbers and lists become float32), marked so
    that ``isinstance(p, nn.Parameter)`` holds; see the module docstring for why it is not a subclass instance.
    """

    __slots__ = ()

    def __new__(cls, data, requires_grad=True, dtype=None):
        return mark_parameter(Tensor(data, requires_grad=requires_grad, dtype=dtype))
