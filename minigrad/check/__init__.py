"""Checking gradients, three ways.

* ``gradcheck`` (``gradcheck.py``): the engine's gradient against central differences.
* ``compare_grads`` (``compare.py``): two implementations of one function, gradients
  side by side (composite against fused BatchNorm).
* ``StageChecker``, ``check_stage``, ``compare_arrays`` (``stages.py``): a backward you
  derived by hand against autodiff, stage by stage, element by element.
"""

from minigrad.check.compare import GradComparison, compare_grads

# kept importable from here, where it lived before check/ became a package
from minigrad.check.compare import _backward_from as _backward_from
from minigrad.check.gradcheck import (
    GradcheckError,
    GradcheckReport,
    analytic_grads,
    gradcheck,
    numerical_grads,
)
from minigrad.check.stages import (
    ArrayCheck,
    StageChecker,
    StageError,
    StageReport,
    check_stage,
    compare_arrays,
)

__all__ = [
    "ArrayCheck",
    "GradComparison",
    "GradcheckError",
    "GradcheckReport",
    "StageChecker",
    "StageError",
    "StageReport",
    "analytic_grads",
    "check_stage",
    "compare_arrays",
    "compare_grads",
    "gradcheck",
    "numerical_grads",
]
