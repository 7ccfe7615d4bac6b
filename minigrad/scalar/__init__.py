"""The scalar engine: ``Value`` (one float per node) and micrograd-style ``nn``."""

from minigrad.scalar.function import ScalarFunction
from minigrad.scalar.value import Value, value_sum, zero_grad

__all__ = ["ScalarFunction", "Value", "value_sum", "zero_grad"]
