"""Names for drawing: ``set_label(node, "a")`` makes the drawing say "a" in that node's box.

``Value`` and ``Tensor`` have ``__slots__`` and no ``label`` field (a name is a drawing concern, not an
engine one), so the names live here, keyed by the node's identity and forgotten when the node is collected.
"""

import weakref

__all__ = ["set_label", "get_label"]

# id(node) -> (weak reference to node, name). Keyed by id because a Tensor may define elementwise __eq__.
_names = {}


def set_label(node, name):
    """Name ``node`` in drawings made by ``naivegrad.viz`` (the name is kept only as long as the node lives).

    >>> a = set_label(Value(2.0), "a")
    >>> "a" in to_dot(a * a)
    True

    Returns ``node``; ``name=None`` removes the name. Raises TypeError for a non-string name or for an
    object that cannot be weakly referenced.
    """
    key = id(node)
    if name is None:
        _names.pop(key, None)
        return node
    if not isinstance(name, str):
        raise TypeError(f"set_label: the name must be a str, got {type(name).__name__}: {name!r}")
    try:
        ref = weakref.ref(node, lambda _, key=key: _names.pop(key, None))
    except TypeError:
        raise TypeError(
            f"set_label: cannot name a {type(node).__name__}: it does not support weak references"
        ) from None
    _names[key] = (ref, name)
    return node


def get_label(node):
    """The name ``set_label`` gave ``node``, else its own ``label`` attribute (micrograd's), else ""."""
    entry = _names.get(id(node))
    if entry is not None and entry[0]() is node:
        return entry[1]
    own = getattr(node, "label", "")
    return own if isinstance(own, str) else ""
