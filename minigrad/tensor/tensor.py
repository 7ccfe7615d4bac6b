"""``Tensor``: a NumPy array in a computation graph, with PyTorch's API.

A tensor holds ``data`` (an ndarray) and, after ``backward()``, ``grad`` (an ndarray of
the same shape and dtype, or None). An op (a ``Function``, see ``function.py``) makes a
new tensor whose ``_prev`` are its inputs and whose ``_ctx`` is the op instance holding
what its backward needs. The chain rule for tensors is written once, in
``Tensor._backward``: the op's vector-Jacobian product, summed back over broadcast axes
(``unbroadcast``), added into each parent's ``grad``.

dtypes: float32 and float64 are differentiable. Python numbers and lists of floats
become float32 (as in PyTorch); an ndarray keeps its dtype; mixing float32 and float64
follows NumPy's promotion; a Python number next to a float32 tensor stays float32.
Integer and bool tensors are fine as data (class labels, masks) but cannot require grad.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from minigrad import autograd
from minigrad.autograd import (
    STATE,
    NotDifferentiable,
)
from minigrad.formula import Formula, pretty
from minigrad.tensor.methods import TensorMethods

__all__ = ["Tensor"]

Axis = int | Sequence[int] | None


def _as_array(data: Any, dtype: Any, op: str = "Tensor") -> np.ndarray:
    """``data`` as an ndarray: arrays are shared (no copy); Python floats become float32.

    Only real numbers get in (bool, integer, float arrays, numbers, nested lists of
    them): a complex, object or string array or a ragged list raises naming ``op``
    here, at the door, rather than dropping an imaginary part or failing deep in an op.
    """
    if dtype is not None:
        dtype = _real_dtype(dtype, op, "requested dtype")
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, np.ndarray):
        _real_dtype(data.dtype, op, "data")
        return data if dtype is None or data.dtype == dtype else data.astype(dtype)
    try:
        arr = np.asarray(data)
    except ValueError as error:  # NumPy's "inhomogeneous shape": a ragged nested list
        raise ValueError(
            f"{op}: cannot make a tensor from a ragged nested sequence "
            f"(rows of different lengths): {error}"
        ) from None
    _real_dtype(arr.dtype, op, f"data ({type(data).__name__})")
    if dtype is not None:
        return arr.astype(dtype, copy=False)
    if arr.dtype == np.float64 and not isinstance(data, np.floating):
        arr = arr.astype(np.float32)  # Python floats default to float32, as in PyTorch
    return arr


def _real_dtype(dtype: Any, op: str, what: str) -> np.dtype:
    """``dtype`` if it holds real numbers (bool, int, float), else a TypeError naming ``op``."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{op}: {what} is not a dtype: {dtype!r}") from None
    if dt.kind not in "biuf":
        kind = {"c": "complex", "O": "object", "U": "string", "S": "bytes"}.get(dt.kind, "other")
        raise TypeError(
            f"{op}: {what} has dtype {dt} ({kind}); a tensor holds real numbers only "
            "(bool, integer, float)"
        )
    return dt


def _rebuild_tensor(
    cls: type, data: np.ndarray, grad: np.ndarray | None, requires_grad: bool, label: str
) -> Any:
    """A leaf of class ``cls`` from saved fields (for ``pickle`` and ``copy.deepcopy``)."""
    t = object.__new__(cls)
    t.data, t.grad, t.requires_grad, t.label = data, grad, requires_grad, label
    t._prev, t._op, t._scope, t._ctx = (), "", (), None
    return t


def _check_requires_grad(arr: np.ndarray) -> None:
    if arr.dtype.kind != "f":
        raise TypeError(
            f"requires_grad: only floating-point tensors can require grad, got dtype {arr.dtype}"
        )


class Tensor(TensorMethods):
    """An n-dimensional array that records the ops applied to it, for ``backward()``.

    ``Tensor(data, requires_grad=False, dtype=None)`` wraps ``data`` without copying
    when it is already an ndarray of that dtype (like ``torch.as_tensor``); use
    ``minigrad.tensor(data)`` for a copy.
    """

    __slots__ = (
        "__weakref__",
        "_ctx",
        "_op",
        "_prev",
        "_scope",
        "data",
        "grad",
        "label",
        "requires_grad",
    )
    # ``ndarray <op> tensor`` must call the tensor's reflected op (so the result is in the
    # graph) rather than let NumPy treat the tensor as an array: opt out of ufuncs.
    __array_ufunc__ = None

    def __init__(
        self, data: Any, requires_grad: bool = False, dtype: Any = None, label: str = ""
    ) -> None:
        arr = _as_array(data, dtype)
        if requires_grad:
            _check_requires_grad(arr)
        self.data: np.ndarray = arr
        self.grad: np.ndarray | None = None
        self.requires_grad = bool(requires_grad)
        self.label = label
        self._prev: tuple[Tensor, ...] = ()
        self._op = ""
        self._scope = STATE.scope
        self._ctx: Any = None

    # ------------------------------------------------------------ array-like facts

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> _Size:
        """The element count, which is also callable: ``x.size`` is NumPy's int and
        ``x.size()`` / ``x.size(dim)`` are PyTorch's shape / one dimension's length."""
        return _Size(self.data.size, self.data.shape)

    def numel(self) -> int:
        """The number of elements (PyTorch's name for NumPy's ``size``)."""
        return self.data.size

    def dim(self) -> int:
        """The number of dimensions (PyTorch's name for ``ndim``)."""
        return self.data.ndim

    @property
    def is_leaf(self) -> bool:
        """True for a tensor no op made (inputs, parameters, constants)."""
        return not self._prev

    @property
    def grad_fn(self) -> Any:
        """The op instance that made this tensor (None for a leaf), as in PyTorch."""
        return self._ctx

    def __len__(self) -> int:
        if not self.data.ndim:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def item(self) -> float | int | bool:
        """The single element as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item: tensor of shape {self.shape} has {self.size} elements, not 1")
        return self.data.item()

    def numpy(self) -> np.ndarray:
        """The data (shared, not copied)."""
        return self.data

    def tolist(self) -> Any:
        return self.data.tolist()

    def detach(self) -> Tensor:
        """The same data, cut from the graph: a new leaf that does not require grad."""
        return Tensor(self.data)

    def astype(self, dtype: Any) -> Tensor:
        """This tensor converted to ``dtype`` (in the graph: the gradient converts back)."""
        dtype = np.dtype(dtype)
        if dtype == self.data.dtype:
            return self
        if self.requires_grad and dtype.kind != "f":
            raise TypeError(f"astype: a tensor that requires grad cannot become {dtype}")
        return ops.Cast.apply(self, dtype=dtype)

    def float(self) -> Tensor:
        """As float32 (PyTorch's ``.float()``)."""
        return self.astype(np.float32)

    def double(self) -> Tensor:
        """As float64 (PyTorch's ``.double()``)."""
        return self.astype(np.float64)

    def long(self) -> Tensor:
        """As int64, outside the graph (PyTorch's ``.long()``, for labels and indices)."""
        return Tensor(self.data.astype(np.int64))

    def clone(self) -> Tensor:
        """A copy of the data that stays in the graph: the gradient flows back unchanged."""
        return functional.Clone.apply(self) if self.requires_grad else Tensor(self.data.copy())

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` on a leaf, in place; returns ``self``."""
        if self._prev and not requires_grad:
            raise RuntimeError("requires_grad_: only a leaf's requires_grad can be turned off")
        if requires_grad:
            _check_requires_grad(self.data)
        self.requires_grad = bool(requires_grad)
        return self

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self.data if dtype is None else self.data.astype(dtype)

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ValueError(
                f"bool: a tensor of shape {self.shape} is ambiguous; use .any() or .all()"
            )
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="tensor(", precision=4)
        extras = []
        if self.data.dtype not in (np.float32, np.int64, np.bool_):
            extras.append(f"dtype={self.data.dtype}")
        if self._ctx is not None:
            extras.append(f"grad_fn=<{self._op}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body, *extras]) + ")"

    __hash__ = object.__hash__  # identity, so tensors can live in sets and dict keys

    # ------------------------------------------------------------ copy and pickle
    # As in PyTorch: ``copy.deepcopy`` copies leaves only (a non-leaf raises: copying its
    # graph would copy every op behind it, and recursively, so a 5,000-op chain would
    # overflow Python's stack); ``pickle`` saves any tensor as a leaf (data, grad,
    # requires_grad, label), without the graph. Both are flat, whatever the graph's depth.

    def __deepcopy__(self, memo: dict[int, Any]) -> Tensor:
        if self._prev:
            raise RuntimeError(
                f"deepcopy: only leaf tensors (made by the user, not by an op) can be deep-"
                f"copied, as in PyTorch; this one (shape {self.shape}) was made by "
                f"{self._op!r}: copy x.detach() instead"
            )
        import copy

        clone = _rebuild_tensor(
            type(self),
            copy.deepcopy(self.data, memo),
            copy.deepcopy(self.grad, memo),
            self.requires_grad,
            self.label,
        )
        memo[id(self)] = clone
        return clone

    def __reduce_ex__(self, protocol: Any) -> tuple[Any, ...]:
        cls = type(self) if not self._prev else Tensor  # a non-leaf comes back as a leaf
        return _rebuild_tensor, (cls, self.data, self.grad, self.requires_grad, self.label)

    # ------------------------------------------------------------ backward

    def backward(
        self,
        gradient: Any = None,
        retain_graph: bool | None = None,
        create_graph: bool = False,
        *,
        grad: Any = None,
    ) -> None:
        """Fill ``.grad`` of every tensor this one was computed from: d(self)/d(tensor).

        ``gradient`` (or ``grad``) is dL/d(self); it may be omitted only for a one-element
        tensor (then 1). Leaves *accumulate* gradients across calls (zero them between
        steps); every intermediate keeps this pass's gradient, for drawing. Without
        ``retain_graph``, the arrays the ops saved are released afterwards, and a second
        backward through the same graph raises. With ``create_graph=True`` (as in
        PyTorch) each ``.grad`` is a Tensor with a graph of its own, which can be
        differentiated again; ``retain_graph`` then defaults to True.
        """
        given = gradient if grad is None else grad
        autograd.backward(self, given, retain_graph=retain_graph, create_graph=create_graph)

    # What ``minigrad.autograd``'s ``backward`` and ``grad`` ask of an engine.
    _zero_grad = None

    @staticmethod
    def _grad_seed(out: Tensor, grad: Any, create_graph: bool) -> Any:
        if not out.requires_grad:
            raise RuntimeError("backward: this tensor does not require grad and has no graph")
        if grad is None:
            if out.data.size != 1:
                raise RuntimeError(
                    "backward: grad can be implicitly created only for scalar outputs, "
                    f"got shape {out.shape}"
                )
            seed = np.ones(out.data.shape, dtype=out.data.dtype)
        else:
            given = grad.data if isinstance(grad, Tensor) else grad
            try:
                arr = np.asarray(given)
            except ValueError:  # a ragged list
                raise TypeError(
                    f"backward: grad must be an array of numbers, got {given!r}"
                ) from None
            if arr.dtype.kind not in "biuf":
                raise TypeError(
                    f"backward: grad must hold real numbers, got dtype {arr.dtype} "
                    f"(tensor dtype {out.dtype})"
                )
            seed = arr.astype(out.dtype)
            if seed.shape != out.shape:
                raise ValueError(
                    f"backward: grad has shape {seed.shape} but the tensor has shape {out.shape}"
                )
        return _constant(seed) if create_graph else seed

    @staticmethod
    def _is_zero(g: Any) -> bool:
        return g is None

    @staticmethod
    def _grad_result(g: Any, create_graph: bool) -> Any:
        if g is None or isinstance(g, Tensor):
            return g if g is None or create_graph else Tensor(g.data)
        return Tensor(g)

    @staticmethod
    def _check_grad_input(x: Tensor, i: int) -> None:
        if not x.requires_grad:
            raise RuntimeError(f"grad: input {i} (shape {x.shape}) does not require grad")

    @staticmethod
    def _check_graph(order: list[Any]) -> None:
        for node in order:
            if node._ctx is not None and node._ctx.freed:
                raise RuntimeError(
                    "backward: trying to backward through the graph a second time (its saved "
                    f"arrays were freed at the end of the first pass, at op {node._op!r}); "
                    "specify retain_graph=True on the first backward() to keep them"
                )

    @staticmethod
    def _release(order: list[Any]) -> None:
        for node in order:
            ctx = node._ctx
            if ctx is not None:
                ctx.saved_arrays = None
                ctx.freed = True

    def _backward(self) -> None:
        """The chain rule: each parent that requires grad receives the op's VJP, unbroadcast."""
        grad = self.grad
        if grad is None:  # no gradient reached this node
            return
        ctx = self._ctx
        grads = ctx.backward(ctx, grad)
        if len(grads) != len(self._prev):
            _check_count(self, grads)  # raises, naming the op
        for parent, g in zip(self._prev, grads):
            if g is None or not parent.requires_grad:
                continue
            if type(g) is not np.ndarray:
                g = _vjp_array(self._op, g)
            pdata = parent.data
            if g.shape != pdata.shape:
                try:
                    g = unbroadcast(g, pdata.shape)
                except ValueError:
                    raise RuntimeError(
                        f"{self._op} backward: gradient of shape {g.shape} for an input of "
                        f"shape {pdata.shape}"
                    ) from None
            if g.dtype != pdata.dtype:
                g = g.astype(pdata.dtype)
            pgrad = parent.grad
            if pgrad is None:
                # A leaf's grad is the user's to change in place (optimizers do): never let
                # it share memory with another node's gradient.
                if not parent._prev and (g is grad or g.base is not None):
                    g = g.copy()
                parent.grad = g
            else:
                parent.grad = pgrad + g

    def _backward_graph(self) -> None:
        """The chain rule under ``create_graph``: the op's backward runs on Tensors.

        An op whose backward is differentiable (``differentiable_backward``) is called
        with its saved arrays replaced by their graph nodes, so its vector-Jacobian
        product is a graph; any other op gives numbers, wrapped in a node that refuses
        to be differentiated again.
        """
        grad = self.grad
        if grad is None:
            return
        ctx = self._ctx
        kind = type(ctx)
        if kind.differentiable_backward:
            grads = kind.backward(GraphContext(ctx, self), grad)
        else:
            grads = _numbers_only(self, kind.backward(ctx, grad.data), grad)
        _check_count(self, grads)
        for parent, g in zip(self._prev, grads):
            if g is None or not parent.requires_grad:
                continue
            if not isinstance(g, Tensor):
                g = _constant(np.asarray(g))
            if g.shape != parent.data.shape:
                g = unbroadcast(g, parent.data.shape)
            if g.dtype != parent.data.dtype:
                g = g.astype(parent.data.dtype)
            parent.grad = g if parent.grad is None else parent.grad + g

    def _formula(self) -> Formula | None:
        """This tensor's op's backward as text, with the arrays of this call (for the player).

        An op states it as ``formula``: a tuple of lines in NumPy notation (the inputs
        are named by ``inputs``, ``g`` is dL/d(out)), or a static method
        ``formula(ctx, grad) -> Formula`` for full control (a fused op's own symbols).
        """
        ctx = self._ctx
        stated = getattr(type(ctx), "formula", None) if ctx is not None else None
        if not stated:
            return None
        if callable(stated):
            return stated(ctx, self.grad)
        names = type(ctx).inputs[: len(self._prev)]
        values: dict[str, Any] = {n: p.data for n, p in zip(names, self._prev)}
        values["out"], values["out.grad"] = self.data, self.grad
        values.update(ctx.formula_values())
        lines = []
        for n, text, parent in zip(names, stated, self._prev):
            line = f"{n}.grad += {pretty(text)}"
            if type(ctx).broadcasts and parent.data.shape != self.data.shape:
                # unbroadcast: the one place broadcasting's gradient is handled
                line += f", summed over the broadcast axes back to {parent.data.shape}"
            lines.append(line)
        return Formula(tuple(lines), values)


Tensor._engine = Tensor  # subclasses (Parameter) are the same engine for ``minigrad.grad``


class _Size(int):
    """``Tensor.size``: NumPy's element count, callable for PyTorch's ``size()``.

    A PyTorch user writes ``x.size()`` or ``x.size(0)``, a NumPy user ``x.size``; both
    habits work. ``x.size()`` is the shape tuple (PyTorch's ``torch.Size`` is a tuple too).
    """

    def __new__(cls, count: int, shape: tuple[int, ...]) -> _Size:
        size = super().__new__(cls, count)
        size._shape = shape
        return size

    def __call__(self, dim: int | None = None) -> Any:
        if dim is None:
            return self._shape
        n = len(self._shape)
        if isinstance(dim, bool) or not isinstance(dim, int | np.integer) or not -n <= dim < n:
            raise IndexError(
                f"size: dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                f"but got {dim!r}) for shape {self._shape}"
            )
        return self._shape[dim]


def _operand(x: Any, like: Tensor) -> Tensor:
    """The other operand of a binary op as a tensor; a Python number takes ``like``'s dtype."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, int | float) and not isinstance(x, bool):
        dtype = like.data.dtype
        if dtype.kind != "f":  # an integer tensor: PyTorch's default dtypes for Python numbers
            dtype = np.float32 if isinstance(x, float) else dtype
        return _constant(np.array(x, dtype=dtype))
    if isinstance(x, np.ndarray | np.generic | bool | list | tuple):
        return Tensor(x)
    raise TypeError(f"unsupported operand type for a Tensor op: {type(x).__name__} ({x!r})")


def _constant(arr: np.ndarray) -> Tensor:
    """A leaf that does not require grad, made without ``__init__``'s checks (``arr`` is fine)."""
    out = _new(Tensor)
    out.data = arr
    out.grad = None
    out.requires_grad = False
    out.label = ""
    out._prev = ()
    out._op = ""
    out._scope = STATE.scope
    out._ctx = None
    return out


_new = object.__new__


from minigrad.tensor import functional, methods, ops, reductions, shape_ops  # noqa: E402

# The op modules build on Tensor, which builds on TensorMethods: hand them to its module
# now that they exist (its methods look them up when called, not when defined).
methods.bind(Tensor, _operand, ops=ops, reductions=reductions, shape_ops=shape_ops)
from minigrad.tensor.function import (  # noqa: E402
    GraphContext,
    NotDifferentiableBackward,
    unbroadcast,
)


def _check_count(node: Tensor, grads: Any) -> None:
    """One gradient per input, or an error naming the op (before any is added)."""
    if len(grads) != len(node._prev):
        raise RuntimeError(
            f"{node._op} backward: returned {len(grads)} gradients for {len(node._prev)} inputs"
        )


def _vjp_array(op: str, g: Any) -> np.ndarray:
    """What a backward returned for one input, as an array, or an error naming the op."""
    arr = np.asarray(g) if isinstance(g, np.generic | float | int) else g
    if not isinstance(arr, np.ndarray) or arr.dtype.kind != "f":
        raise TypeError(
            f"{op} backward: returned {type(g).__name__} for an input; expected a float "
            "ndarray (or None)"
        )
    return arr


def _numbers_only(node: Tensor, grads: Any, upstream: Tensor) -> tuple[Any, ...]:
    """Gradients a first-order backward computed as arrays, as nodes that refuse a second
    backward (linked to the upstream gradient and the inputs, so the refusal is reached)."""
    name = NotDifferentiable(f"{node._op} backward")
    out = []
    for g in grads:
        if g is None:
            out.append(None)
            continue
        t = NotDifferentiableBackward.apply(upstream, *node._prev, value=np.asarray(g))
        t._op = name
        out.append(t)
    return tuple(out)
