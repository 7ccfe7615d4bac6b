"""minigrad: reverse-mode automatic differentiation you can read.

Two engines share one graph machinery (``minigrad.autograd``):

* ``Value``: one float per node, micrograd's API (``minigrad.scalar``);
* ``Tensor``: NumPy arrays, PyTorch's API (``minigrad.tensor``, ``minigrad.nn``,
  ``minigrad.optim``).
"""

from minigrad import nn, optim
from minigrad.autograd import (
    AnomalyError,
    detect_anomaly,
    enable_grad,
    grad,
    is_grad_enabled,
    name_scope,
    no_grad,
    record_backward,
    set_grad_enabled,
    topological_order,
)
from minigrad.batchnorm import compare_batchnorm
from minigrad.check import GradcheckError, compare_grads, gradcheck, gradgradcheck
from minigrad.scalar.value import ScalarFunction, Value, value_sum, zero_grad
from minigrad.tensor import (  # minigrad.tensor itself is callable: minigrad.tensor([1.0])
    Function,
    Tensor,
    arange,
    cat,
    maximum,
    minimum,
    ones,
    ones_like,
    rand,
    rand_like,
    randn,
    randn_like,
    stack,
    where,
    zeros,
    zeros_like,
)
from minigrad.viz import draw_graph, draw_graphs_side_by_side, print_graph
from minigrad.viz.player import backprop_player, backprop_steps_json

__version__ = "0.1.0"

__all__ = [
    "AnomalyError",
    "Function",
    "GradcheckError",
    "ScalarFunction",
    "Tensor",
    "Value",
    "arange",
    "backprop_player",
    "backprop_steps_json",
    "cat",
    "compare_batchnorm",
    "compare_grads",
    "detect_anomaly",
    "draw_graph",
    "draw_graphs_side_by_side",
    "enable_grad",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "is_grad_enabled",
    "maximum",
    "minimum",
    "name_scope",
    "nn",
    "no_grad",
    "ones",
    "ones_like",
    "optim",
    "print_graph",
    "rand",
    "rand_like",
    "randn",
    "randn_like",
    "record_backward",
    "set_grad_enabled",
    "stack",
    "tensor",
    "topological_order",
    "value_sum",
    "where",
    "zero_grad",
    "zeros",
    "zeros_like",
]
