"""The numeric options of ops, checked once for both engines (``softplus(beta, threshold)``, ``leaky_relu``'s slope,
``elu``'s alpha, ``gelu``'s ``approximate``): the same values accepted, the same errors for the rest."""

from numbers import Real

__all__ = ["number", "gelu_approximate"]


def number(x, name, op):
    """An op's numeric option as a Python float (weak in numpy: float32 stays float32), or TypeError naming it (a
    Value, a Tensor, a string, None...)."""
    if type(x) is float:
        return x
    if isinstance(x, Real):
        return float(x)
    raise TypeError(f"{op}: {name} must be a real number, got {type(x).__name__}: {x!r}")


def gelu_approximate(approximate):
    """gelu's ``approximate``: "none" (erf) or "tanh", as in PyTorch; ValueError naming anything else."""
    if type(approximate) is str and (approximate == "none" or approximate == "tanh"):
        return approximate
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
