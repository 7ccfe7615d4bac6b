"""The tensor engine: ``Tensor`` on NumPy arrays, with PyTorch's API.

* ``tensor.py``     the ``Tensor`` class: data, grad, backward (first order and create_graph)
* ``methods.py``    its PyTorch API: operators, reductions, shape methods, each calling an op
* ``function.py``   ``Function`` (the op base class, the extension point) and ``unbroadcast``
* ``ops.py``        elementwise and matrix ops; ``reductions.py``; ``shape_ops.py``
* ``either.py``     what a backward needs, for an ndarray and a Tensor alike
* ``creation.py``   ``tensor``, ``zeros``, ``ones``, ``randn``, ``rand``, ``arange``, ``*_like``

``minigrad.tensor`` is both this package and, like ``torch.tensor``, a function:
``minigrad.tensor([1.0, 2.0])`` makes a tensor (see ``_CallablePackage`` below), while
``minigrad.tensor.tensor`` stays the module ``tensor.py``.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from minigrad.tensor.tensor import Tensor  # isort: skip  (first: the op modules build on it)
from minigrad.tensor.creation import (
    arange,
    ones,
    ones_like,
    rand,
    rand_like,
    randn,
    randn_like,
    zeros,
    zeros_like,
)
from minigrad.tensor.creation import tensor as _new_tensor
from minigrad.tensor.function import Function, unbroadcast
from minigrad.tensor.ops import maximum, minimum, where
from minigrad.tensor.shape_ops import cat, stack

__all__ = [
    "Function",
    "Tensor",
    "arange",
    "cat",
    "maximum",
    "minimum",
    "ones",
    "ones_like",
    "rand",
    "rand_like",
    "randn",
    "randn_like",
    "stack",
    "unbroadcast",
    "where",
    "zeros",
    "zeros_like",
]


class _CallablePackage(types.ModuleType):
    """This package, callable: ``minigrad.tensor(data)`` is ``minigrad.tensor.tensor(data)``.

    ``minigrad.tensor`` must be both the constructor (PyTorch's ``torch.tensor``) and the
    package (``import minigrad.tensor.ops``). Rebinding the name to a function would break
    ``import minigrad.tensor.ops as ops``, which looks the package up as an attribute of
    ``minigrad``; a callable module keeps both working.
    """

    def __call__(self, data: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
        return _new_tensor(data, dtype=dtype, requires_grad=requires_grad)


sys.modules[__name__].__class__ = _CallablePackage
