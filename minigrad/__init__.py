"""minigrad: reverse-mode automatic differentiation you can read.

Two engines share one graph machinery (``minigrad.autograd``):

* ``Value``: one float per node, micrograd's API (``minigrad.scalar``);
* ``Tensor``: NumPy arrays, PyTorch's API (``minigrad.tensor``, ``minigrad.nn``,
  ``minigrad.optim``).
"""

from minigrad import datasets, nn, optim
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
from minigrad.random import manual_seed
from minigrad.scalar.function import ScalarFunction
from minigrad.scalar.value import Value, value_sum, zero_grad
from minigrad.serialization import load, save
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

# PyTorch's habits: dtype names and the function forms of tensor methods (mg.exp(x) ...).
# "x as x" re-exports the names that shadow builtins; they stay out of __all__.
from minigrad.tensor.dtypes import bool as bool
from minigrad.tensor.dtypes import double, float32, float64, int32, int64, long
from minigrad.tensor.dtypes import float as float
from minigrad.tensor.functional import abs as abs
from minigrad.tensor.functional import (
    argmax,
    argmin,
    clamp,
    clone,
    exp,
    flatten,
    from_numpy,
    log,
    log_softmax,
    logsumexp,
    matmul,
    mean,
    permute,
    relu,
    reshape,
    sigmoid,
    softmax,
    sqrt,
    squeeze,
    tanh,
    transpose,
    unsqueeze,
    var,
)
from minigrad.tensor.functional import pow as pow
from minigrad.tensor.functional import sum as sum
from minigrad.viz import draw_graph, draw_graphs_side_by_side, print_graph
from minigrad.viz.player import backprop_player, backprop_steps_json

__version__ = "0.1.0"

# mg.abs, mg.sum, mg.pow, mg.float and mg.bool are attributes but not in __all__:
# `from minigrad import *` must not shadow Python's builtins of those names.
__all__ = [
    "AnomalyError",
    "Function",
    "GradcheckError",
    "ScalarFunction",
    "Tensor",
    "Value",
    "arange",
    "argmax",
    "argmin",
    "backprop_player",
    "backprop_steps_json",
    "cat",
    "clamp",
    "clone",
    "compare_batchnorm",
    "compare_grads",
    "datasets",
    "detect_anomaly",
    "double",
    "draw_graph",
    "draw_graphs_side_by_side",
    "enable_grad",
    "exp",
    "flatten",
    "float32",
    "float64",
    "from_numpy",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "int32",
    "int64",
    "is_grad_enabled",
    "load",
    "log",
    "log_softmax",
    "logsumexp",
    "long",
    "manual_seed",
    "matmul",
    "maximum",
    "mean",
    "minimum",
    "name_scope",
    "nn",
    "no_grad",
    "ones",
    "ones_like",
    "optim",
    "permute",
    "print_graph",
    "rand",
    "rand_like",
    "randn",
    "randn_like",
    "record_backward",
    "relu",
    "reshape",
    "save",
    "set_grad_enabled",
    "sigmoid",
    "softmax",
    "sqrt",
    "squeeze",
    "stack",
    "tanh",
    "tensor",
    "topological_order",
    "transpose",
    "unsqueeze",
    "value_sum",
    "var",
    "where",
    "zero_grad",
    "zeros",
    "zeros_like",
]
