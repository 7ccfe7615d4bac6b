"""``Function``, the unit of the tensor engine, and ``unbroadcast``.

An op is a subclass of ``Function`` with two static methods side by side:

* ``forward(ctx, *arrays, **params) -> ndarray``: the result, computed with NumPy;
  ``ctx.save_for_backward(...)`` keeps what the backward will need;
* ``backward(ctx, grad) -> tuple``: given dL/d(out), one dL/d(input) per array input
  (``None`` for an input that needs none: ``ctx.needs_input_grad[i]`` says which do).

``MyOp.apply(*tensors, **params)`` runs the forward and, when grad mode is on and an
input requires grad, links the result into the graph with the ``Function`` instance as
its ``_ctx``. A backward may return a gradient with the *broadcast* shape of the
result; the engine sums it back to the input's shape with ``unbroadcast``, in one place,
so no op repeats that bookkeeping.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from minigrad.autograd import STATE, AnomalyError
from minigrad.tensor.tensor import Tensor

__all__ = ["Function", "unbroadcast"]


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``grad`` (shaped like a broadcast result) back down to ``shape``.

    Broadcasting copies an input along new leading axes and along its size-1 axes;
    every copy contributed to the loss, so the input's gradient is the *sum* over them.
    """
    if grad.shape == shape:  # the common case: no broadcasting happened
        return grad
    extra = grad.ndim - len(shape)
    if extra < 0:
        raise ValueError(f"unbroadcast: gradient of shape {grad.shape} is smaller than {shape}")
    if extra:  # new leading axes (a bias added to every row: one axis, summed)
        grad = grad.sum(axis=0) if extra == 1 else grad.sum(axis=tuple(range(extra)))
        if grad.shape == shape:
            return grad
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if axes:  # size-1 axes that were stretched
        grad = grad.sum(axis=axes, keepdims=True)
    if grad.shape != shape:
        raise ValueError(f"unbroadcast: gradient of shape {grad.shape} does not fit {shape}")
    return grad


class Function:
    """Base class of every tensor op; an instance is the ``ctx`` of one call.

    Class attributes: ``name`` (the op's name in graphs and messages) and ``fused``
    (True for a composite op whose backward was derived by hand; drawn differently).
    """

    name: ClassVar[str] = "function"
    fused: ClassVar[bool] = False
    # True when ``backward`` is written with operators and ``minigrad.tensor.either``
    # only, and saves only its inputs and its output: then, with ``create_graph``, it
    # runs on Tensors and its gradient can be differentiated again. A backward written
    # with NumPy calls stays first-order: differentiating through it twice raises.
    differentiable_backward: ClassVar[bool] = False
    # How the backward reads, one line per input, in NumPy notation over the inputs
    # (named by ``inputs``), ``out`` and ``g`` (dL/d(out)): ``("g * b", "g * a")``. The
    # player shows it with the numbers; a test evaluates it against ``backward``. Or a
    # static method ``formula(ctx, grad) -> Formula`` (see ``minigrad.formula``).
    formula: ClassVar[Any] = ()
    broadcasts: ClassVar[bool] = False  # an elementwise op: inputs broadcast against each other
    inputs: ClassVar[tuple[str, ...]] = ("a", "b", "c", "d", "e", "f")  # names in the formula

    # Per call (the instance is the ctx). Class-level defaults save two assignments per op;
    # ``save_for_backward`` and the end of ``Tensor.backward`` set them on the instance.
    saved_arrays: tuple[np.ndarray, ...] | None = ()
    freed: bool = False  # True once a backward without retain_graph released saved_arrays
    needs_input_grad: tuple[bool, ...]  # which inputs require grad (set by ``apply``)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" not in cls.__dict__:  # a user's op without a name is called by its class
            cls.name = cls.__name__.lower()

    def save_for_backward(self, *arrays: np.ndarray) -> None:
        """Keep ``arrays`` for the backward pass (released after it unless retain_graph)."""
        self.saved_arrays = arrays

    def formula_values(self) -> dict[str, Any]:
        """Numbers the formula names besides the inputs, ``out`` and ``g`` (none by default)."""
        return {}

    @staticmethod
    def forward(ctx: Any, *arrays: np.ndarray, **params: Any) -> np.ndarray:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Any, grad: np.ndarray) -> tuple[np.ndarray | None, ...]:
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs: Any, **params: Any) -> Any:
        """Run the op on tensors (numbers and arrays become constant tensors).

        The result requires grad iff grad mode is on and some input requires grad; then
        its ``_prev`` holds every tensor input (constants too, so a drawing shows them).
        """
        # What each input requires, and its array; unrolled for one and two inputs, the
        # common cases, because this runs for every op. A number or an array among the
        # inputs has no ``requires_grad``: it becomes a constant tensor on the slow path.
        try:
            if len(inputs) == 2:
                a, b = inputs
                needs = (a.requires_grad, b.requires_grad)
                arrays = (a.data, b.data)
            elif len(inputs) == 1:
                needs = (inputs[0].requires_grad,)
                arrays = (inputs[0].data,)
            else:
                needs = tuple([x.requires_grad for x in inputs])
                arrays = tuple([x.data for x in inputs])
        except AttributeError:
            inputs = tuple(x if isinstance(x, Tensor) else Tensor(x) for x in inputs)
            needs = tuple([x.requires_grad for x in inputs])
            arrays = tuple([x.data for x in inputs])
        state = STATE
        track = state.grad_enabled and True in needs
        ctx = _new(cls)
        ctx.needs_input_grad = needs
        try:
            data = cls.forward(ctx, *arrays, **params)
        except ValueError as error:
            if "broadcast" in str(error):  # NumPy's wording; ours names the op and shapes
                shapes = " and ".join(str(x.data.shape) for x in inputs)
                raise ValueError(f"{cls.name}: shapes {shapes} cannot be broadcast") from None
            raise
        if type(data) is not np.ndarray:  # NumPy gives scalars for 0-d results
            data = np.asarray(data)
        if state.anomaly:
            _check_forward(cls.name, data, inputs)
        out = _new(Tensor)
        out.data = data
        out.grad = None
        out.label = ""
        out._scope = state.scope
        out._op = cls.name
        if track:
            out.requires_grad = True
            out._prev = inputs
            out._ctx = ctx
        else:
            out.requires_grad = False
            out._prev = ()
            out._ctx = None
        return out

    def saved(self) -> tuple[np.ndarray, ...]:
        """The arrays this call kept for its backward; ``()`` once a backward freed them.

        For readers (a drawing's memory figures): ``tensor.grad_fn.saved()``. ``freed``
        says whether an empty answer means "saved nothing" or "already released".
        """
        return tuple(a for a in self.saved_arrays or () if isinstance(a, np.ndarray))


class GraphContext:
    """The ctx a differentiable backward sees under ``create_graph``: the op's own settings,
    with each saved array that is an input's or the output's data replaced by that graph
    node, so the backward's arithmetic builds a graph. Any other saved array stays an
    array: to the graph a constant, so an op that declares ``differentiable_backward``
    saves only inputs and output, or differentiates its other arrays itself (BatchNorm)."""

    def __init__(self, ctx: Function, node: Tensor) -> None:
        self._ctx = ctx
        self.graph_inputs = node._prev  # the inputs as graph nodes, saved or not
        nodes = (*node._prev, node)
        self.saved_arrays = tuple(
            next((n for n in nodes if n.data is array), array) for array in ctx.saved_arrays or ()
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ctx, name)


class NotDifferentiableBackward(Function):
    """A gradient that an op's first-order backward computed as plain numbers.

    Under ``create_graph`` an op without a differentiable backward still gives the
    right first derivative; its gradient is this op's output, linked to the upstream
    gradient and the op's inputs, so a second backward through it is refused (see
    ``minigrad.autograd.check_differentiable``) instead of silently returning zero.
    """

    name = "not differentiable"

    @staticmethod
    def forward(ctx: Any, *arrays: np.ndarray, value: np.ndarray) -> np.ndarray:
        return value

    @staticmethod
    def backward(ctx: Any, grad: np.ndarray) -> tuple[None, ...]:
        raise RuntimeError("not differentiable")  # refused before any backward reaches it


def _check_forward(name: str, data: np.ndarray, inputs: tuple[Any, ...]) -> None:
    if data.dtype.kind in "fc" and not np.isfinite(data).all():
        shapes = ", ".join(str(x.data.shape) for x in inputs)
        bad = "NaN" if np.isnan(data).any() else "inf"
        raise AnomalyError(f"{name}: forward produced {bad} from inputs of shapes ({shapes})")


_new = object.__new__
