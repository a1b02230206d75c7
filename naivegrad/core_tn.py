"""The original project's module for the tensor engine: ``from naivegrad.core_tn import Tensor`` keeps working.

``Tensor`` is ``naivegrad.tensor.Tensor``, which answers to the original's names: ``dot``, ``mul``, ``add``,
``sum``, ``mean``, ``relu``, ``logsoftmax``, ``reshape`` (a shape may be given as a Tensor or an array),
``conv2d``, ``maxpool2x2``, ``shape``, and ``Tensor.zeroes(*shape)`` / ``Tensor.randn(*shape)`` (float32).

>>> x = Tensor(np.eye(3)); y = Tensor(np.array([[1.0, 1.0, -1.0]]))
>>> z = y.dot(x).sum(); z.backward(); x.grad, y.grad

Ops are written as the original wrote them, a ``Function`` with static ``forward(ctx, *arrays)`` and
``backward(ctx, grad_output)``, and ``register(name, op)`` makes one a Tensor method (``x.name(*others)``).

One difference: gradients accumulate across ``backward()`` calls, as in PyTorch, where the original replaced
them; ``naivegrad.optimizer``'s optimizers reset them after each step, so the original's loops train as before.
"""

from .tensor import Function, Tensor

__all__ = ["Tensor", "Function", "register"]


def register(name, op):
    """Make the ``Function`` subclass ``op`` the Tensor method ``name``: ``x.name(*args)`` is ``op.apply(x, *args)``.

    As in the original, this sets an attribute of the Tensor class itself (every Tensor gets the method, and an
    existing method of that name is replaced).
    """
    if not (isinstance(op, type) and issubclass(op, Function)):
        raise TypeError(f"register: op must be a Function subclass, got {op!r}")

    def method(self, *args, **kwargs):
        return op.apply(self, *args, **kwargs)

    method.__name__ = name
    method.__doc__ = op.__doc__
    setattr(Tensor, name, method)
