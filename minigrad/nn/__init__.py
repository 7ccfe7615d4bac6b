"""``minigrad.nn``: PyTorch-style building blocks for the tensor engine.

* ``Module`` / ``Parameter`` / ``Sequential`` (``module.py``): parameters found by
  attribute, ``state_dict`` with PyTorch's keys, ``train()`` / ``eval()``, ``to(dtype)``;
* layers (``layers.py``): ``Linear``, ``ReLU``, ``Tanh``, ``Sigmoid``, ``Dropout``,
  ``Identity``, ``Flatten``;
* losses (``losses.py``): ``CrossEntropyLoss``, ``NLLLoss``, ``MSELoss``,
  ``BCEWithLogitsLoss``;
* ``functional`` (import as ``F``): the same as functions; ``init``: initializers.

Training a classifier::

    from minigrad import nn, optim
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
    opt = optim.Adam(model.parameters(), lr=0.01)
    for _ in range(200):
        loss = nn.functional.cross_entropy(model(x), y)   # x: Tensor (N, 2), y: ints (N,)
        opt.zero_grad()
        loss.backward()
        opt.step()
"""

# BatchNorm lives with its paper-style derivation in minigrad/batchnorm/; re-exported here.
from minigrad.batchnorm.layer import BatchNorm1d
from minigrad.nn import functional, init
from minigrad.nn.layers import Dropout, Flatten, Identity, Linear, ReLU, Sigmoid, Tanh
from minigrad.nn.losses import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss, NLLLoss
from minigrad.nn.module import Module, Parameter, Sequential

__all__ = [
    "BCEWithLogitsLoss",
    "BatchNorm1d",
    "CrossEntropyLoss",
    "Dropout",
    "Flatten",
    "Identity",
    "Linear",
    "MSELoss",
    "Module",
    "NLLLoss",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Tanh",
    "functional",
    "init",
]
