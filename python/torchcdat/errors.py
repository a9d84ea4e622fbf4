"""The core's exceptions, with the C++ messages: NonFiniteError (a NaN/inf loss, gradient, curvature or learning
rate; a FloatingPointError) and InvalidOption (an option out of range, named in the message; a ValueError)."""
from ._C import InvalidOption, NonFiniteError

__all__ = ["InvalidOption", "NonFiniteError"]
