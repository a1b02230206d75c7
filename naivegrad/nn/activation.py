"""Activation modules beyond micrograd's (``ReLU``, ``Tanh`` and ``Sigmoid`` are in ``layers``): ``GELU``.

They apply the op of the same name of either engine (``Value.gelu``, ``Tensor.gelu``) to every element.
"""

from .layers import _Activation

__all__ = ["GELU"]

_APPROXIMATIONS = ("none", "tanh")


class GELU(_Activation):
    """x * Phi(x), Phi the standard normal CDF, as ``torch.nn.GELU``; ``approximate="tanh"`` is GPT-2's
    0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))."""

    fn = "gelu"

    def __init__(self, approximate="none", backend="tensor"):
        super().__init__(backend)
        if approximate not in _APPROXIMATIONS:
            raise ValueError(f"GELU's approximate must be one of {_APPROXIMATIONS}, got {approximate!r}")
        self.approximate = approximate

    def forward(self, x):
        if self.approximate == "none":
            return self._backend.activation(x, "gelu")
        return self._backend.activation(x, "gelu", approximate=self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"
