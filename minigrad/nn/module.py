"""``Module``, ``Parameter`` and ``Sequential``: PyTorch's way of packaging a model.

A ``Module`` is a function with state. Assigning an attribute files it by kind, as
``torch.nn.Module.__setattr__`` does:

* a ``Parameter`` (a Tensor the optimizer should train) goes to ``_parameters``;
* a ``Module`` (a sub-layer) goes to ``_modules``;
* a Tensor given to ``register_buffer`` (state that is not trained, such as
  BatchNorm's running statistics) goes to ``_buffers``;
* anything else is an ordinary attribute.

Everything that walks a model (``parameters()``, ``state_dict()``, ``train()``,
``to(dtype)``, the repr) walks these three registries, recursively, in the order the
attributes were assigned, and names entries by their path: ``0.weight``, ``1.bias``,
``encoder.0.running_mean``, exactly PyTorch's keys, so a ``state_dict`` moves between
minigrad and PyTorch by name.

Registered objects are also kept in the instance ``__dict__``, so ``self.weight`` in a
``forward`` is a plain attribute read (no ``__getattr__`` detour on every step).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, NamedTuple, TypeVar

import numpy as np

from minigrad.autograd import name_scope
from minigrad.journal import JOURNAL, call_with_undo
from minigrad.tensor import Tensor

__all__ = ["IncompatibleKeys", "Module", "Parameter", "Sequential"]

M = TypeVar("M", bound="Module")

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


class Parameter(Tensor):
    """A Tensor that is a trainable part of a ``Module``: ``requires_grad`` is True.

    ``Parameter(data)`` takes an array, a nested list (float32, as ``Tensor``) or a
    ``Tensor`` (its data is shared, not copied). Assigning one to a module attribute
    registers it, which is how ``parameters()`` finds it.
    """

    __slots__ = ()

    def __init__(self, data: Any, requires_grad: bool = True, dtype: Any = None) -> None:
        if isinstance(data, Tensor):
            data = data.data
        super().__init__(data, requires_grad=requires_grad, dtype=dtype)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict(strict=False)`` left aside (empty lists when strict)."""

    missing_keys: list[str]
    unexpected_keys: list[str]


def _as_array(value: Any) -> np.ndarray:
    """A state_dict value as an ndarray: minigrad Tensor, NumPy array, PyTorch tensor."""
    if isinstance(value, Tensor):
        return value.data
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch.Tensor
        return value.detach().cpu().numpy()
    return np.asarray(value)


def _check_dtype(op: str, dtype: Any) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{op}: dtype must be float32 or float64, got {dtype!r}") from None
    if dt not in FLOAT_DTYPES:
        raise TypeError(f"{op}: dtype must be float32 or float64, got {dt}")
    return dt


def _indent(text: str, spaces: int) -> str:
    """Indent every line of ``text`` but the first (it follows a ``(name): `` prefix)."""
    lines = text.split("\n")
    return "\n".join([lines[0]] + [" " * spaces + line for line in lines[1:]])


class Module:
    """Base class of layers and models (``torch.nn.Module``'s habits).

    Subclass it, call ``super().__init__()`` first, assign parameters and sub-modules as
    attributes, and write ``forward``; call the module itself (``model(x)``), which runs
    ``forward``::

        class MLP(nn.Module):
            def __init__(self):
                super().__init__()
                self.hidden = nn.Linear(2, 16)
                self.out = nn.Linear(16, 2)

            def forward(self, x):
                return self.out(self.hidden(x).relu())

    ``training`` (set by ``train()``/``eval()``, recursively) switches layers such as
    ``Dropout`` and ``BatchNorm1d`` between their training and inference behaviour.
    """

    training: bool

    def __init__(self) -> None:
        # object.__setattr__: our own __setattr__ needs these registries to exist
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # ------------------------------------------------------------ registration

    def __setattr__(self, name: str, value: Any) -> None:
        registries = self.__dict__.get("_parameters"), self.__dict__.get("_modules")
        if isinstance(value, Parameter | Module) and None in registries:
            kind = "parameters" if isinstance(value, Parameter) else "submodules"
            raise AttributeError(
                f"cannot assign {kind} before Module.__init__() call "
                f"(call super().__init__() first in {type(self).__name__}.__init__)"
            )
        if isinstance(value, Parameter):
            self._forget(name)
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._forget(name)
            self._modules[name] = value
        elif registries[0] is not None and name in self._parameters:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                    "(Parameter or None expected)"
                )
            self._parameters[name] = None
        elif registries[1] is not None and name in self._modules:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as child module '{name}' "
                    "(Module or None expected)"
                )
            self._modules[name] = None
        elif "_buffers" in self.__dict__ and name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as buffer '{name}' "
                    "(Tensor or None expected)"
                )
            self._buffers[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self._forget(name)
        object.__delattr__(self, name)

    def _forget(self, name: str) -> None:
        """Drop ``name`` from every registry (it is about to be re-filed or deleted)."""
        for registry in ("_parameters", "_buffers", "_modules"):
            self.__dict__[registry].pop(name, None)
        self._non_persistent.discard(name)

    def _check_new_name(self, what: str, name: Any) -> None:
        if not isinstance(name, str):
            raise TypeError(f"{what} name should be a string, got {type(name).__name__}")
        if not name or "." in name:
            raise KeyError(f'{what} name can\'t be empty or contain ".", got {name!r}')
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot register a {what} before Module.__init__() call")

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add ``param`` (or None: a declared but absent parameter) under ``name``."""
        self._check_new_name("parameter", name)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign '{type(param).__name__}' as parameter '{name}' "
                "(Parameter or None expected)"
            )
        self._forget(name)
        self._parameters[name] = param
        object.__setattr__(self, name, param)

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Add a tensor that is state but not a parameter (e.g. BatchNorm's running mean).

        Buffers follow the module through ``to(dtype)`` and, when ``persistent``, are
        saved in and loaded from the ``state_dict``; the optimizer never sees them.
        """
        self._check_new_name("buffer", name)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"cannot assign '{type(tensor).__name__}' as buffer '{name}' "
                "(Tensor or None expected)"
            )
        self._forget(name)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent.add(name)
        object.__setattr__(self, name, tensor)

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a sub-module under ``name`` (what attribute assignment does, by name)."""
        self._check_new_name("module", name)
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {type(module).__name__} is not a Module subclass")
        self._forget(name)
        self._modules[name] = module
        object.__setattr__(self, name, module)

    # ------------------------------------------------------------ calling

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} has no forward(); define one")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """``forward``; if it raises, what its layers changed is undone (``minigrad.journal``)."""
        if JOURNAL.undos is not None:  # inside an outer call, which keeps the journal
            return self.forward(*args, **kwargs)
        return call_with_undo(self.forward, args, kwargs)

    # ------------------------------------------------------------ walking the tree

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """(name, module) of each direct sub-module, in assignment order."""
        for name, module in self._modules.items():
            if module is not None:
                yield name, module

    def children(self) -> Iterator[Module]:
        for _, module in self.named_children():
            yield module

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module (named ``prefix``) and every module below it, each once, depth first."""
        seen: set[int] = set()
        stack: list[tuple[str, Module]] = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            below = [(f"{name}.{n}" if name else n, m) for n, m in module.named_children()]
            stack.extend(reversed(below))

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def _named_members(
        self, registry: str, prefix: str, recurse: bool
    ) -> Iterator[tuple[str, Tensor]]:
        seen: set[int] = set()
        modules = self.named_modules(prefix) if recurse else iter([(prefix, self)])
        for module_name, module in modules:
            for name, value in module.__dict__[registry].items():
                if value is None or id(value) in seen:  # a shared tensor is listed once
                    continue
                seen.add(id(value))
                yield (f"{module_name}.{name}" if module_name else name), value

    def named_parameters(
        self, prefix: str = "", recurse: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) pairs: ``0.weight``, ``0.bias``, ``2.weight``, ..."""
        yield from self._named_members("_parameters", prefix, recurse)  # type: ignore[misc]

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Every parameter of this module and (with ``recurse``) its sub-modules, once."""
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Tensor]]:
        yield from self._named_members("_buffers", prefix, recurse)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def apply(self: M, fn: Callable[[Module], None]) -> M:
        """Call ``fn`` on every sub-module, then on this one (e.g. a custom initializer)."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # ------------------------------------------------------------ modes and gradients

    def train(self: M, mode: bool = True) -> M:
        """Set training mode on this module and every module below it; returns self."""
        if not isinstance(mode, bool):
            raise TypeError(f"train: mode must be a bool, got {type(mode).__name__}")
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self: M) -> M:
        """Inference mode (``train(False)``): no dropout; BatchNorm uses its running stats."""
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every parameter's gradient: None (PyTorch's default) or zeros in place."""
        for param in self.parameters():
            if set_to_none or param.grad is None:
                param.grad = None
            else:
                param.grad[...] = 0

    # ------------------------------------------------------------ dtype

    def to(self: M, dtype: Any) -> M:
        """Convert every floating-point parameter and buffer (and gradient) to ``dtype``.

        The Parameter objects stay the same (their ``.data`` is replaced), so an
        optimizer built before the conversion still holds them. Integer buffers (such
        as ``num_batches_tracked``) keep their dtype, as in PyTorch. Returns self.
        """
        dt = _check_dtype(f"{type(self).__name__}.to", dtype)
        for tensor in [*self.parameters(), *self.buffers()]:
            if tensor.data.dtype in FLOAT_DTYPES and tensor.data.dtype != dt:
                tensor.data = tensor.data.astype(dt)
                if tensor.grad is not None:
                    tensor.grad = tensor.grad.astype(dt)
        return self

    def double(self: M) -> M:
        """``to(float64)``: what gradcheck and exact comparisons with PyTorch need."""
        return self.to(np.float64)

    def float(self: M) -> M:
        """``to(float32)``: the default dtype of new modules."""
        return self.to(np.float32)

    # ------------------------------------------------------------ state_dict

    def state_dict(self) -> OrderedDict[str, np.ndarray]:
        """Every parameter and persistent buffer by dotted name, as NumPy arrays.

        Keys are PyTorch's (``0.weight``, ``1.running_mean``, ...), so a model's state
        loads into the same ``torch.nn`` model with ``torch.from_numpy``. Values are
        copies: the saved state does not change as training goes on (in PyTorch it
        shares storage with the model; here you need no ``deepcopy``).
        """
        state: OrderedDict[str, np.ndarray] = OrderedDict()
        for prefix, module in self.named_modules():
            dot = f"{prefix}." if prefix else ""
            for name, param in module._parameters.items():
                if param is not None:
                    state[dot + name] = param.data.copy()
            for name, buffer in module._buffers.items():
                if buffer is not None and name not in module._non_persistent:
                    state[dot + name] = buffer.data.copy()
        return state

    def _state_targets(self) -> OrderedDict[str, Tensor]:
        """The tensors ``state_dict`` reads, by key (what ``load_state_dict`` writes)."""
        targets: OrderedDict[str, Tensor] = OrderedDict()
        for prefix, module in self.named_modules():
            dot = f"{prefix}." if prefix else ""
            for name, param in module._parameters.items():
                if param is not None:
                    targets[dot + name] = param
            for name, buffer in module._buffers.items():
                if buffer is not None and name not in module._non_persistent:
                    targets[dot + name] = buffer
        return targets

    def load_state_dict(
        self, state_dict: Mapping[str, Any], strict: bool = True
    ) -> IncompatibleKeys:
        """Copy ``state_dict``'s values into this model's parameters and buffers, in place.

        Values may be NumPy arrays, minigrad Tensors or PyTorch tensors; each is cast to
        the dtype of the tensor it lands in. With ``strict`` (the default), a missing or
        unexpected key is an error (``RuntimeError``, as in PyTorch, naming the keys); a
        shape mismatch always is. Every check runs
        before anything is copied, so a failed load changes nothing. Returns the
        missing and unexpected keys (both empty after a strict load).
        """
        op = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, Mapping):
            raise TypeError(
                f"{op}: expected a mapping of name -> array, got {type(state_dict).__name__}"
            )
        targets = self._state_targets()
        missing = [key for key in targets if key not in state_dict]
        unexpected = [key for key in state_dict if key not in targets]
        problems = []
        if strict and missing:
            problems.append("missing key(s): " + ", ".join(repr(k) for k in missing))
        if strict and unexpected:
            problems.append("unexpected key(s): " + ", ".join(repr(k) for k in unexpected))
        arrays = {}
        for key, target in targets.items():
            if key not in state_dict:
                continue
            value = _as_array(state_dict[key])
            if value.shape != target.data.shape:
                problems.append(
                    f"size mismatch for {key!r}: the checkpoint has shape {value.shape}, "
                    f"the model has shape {target.data.shape}"
                )
            elif not np.can_cast(value.dtype, target.data.dtype, casting="same_kind"):
                problems.append(
                    f"dtype mismatch for {key!r}: cannot load {value.dtype} "
                    f"into {target.data.dtype}"
                )
            else:
                arrays[key] = value
        if problems:
            raise RuntimeError(f"{op}: nothing was loaded; " + "; ".join(problems))
        for key, value in arrays.items():
            targets[key].data[...] = value  # in place: optimizers keep their references
        return IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------ repr

    def extra_repr(self) -> str:
        """The layer's own settings, shown inside its repr (override in subclasses)."""
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        lines += [f"({name}): {_indent(repr(m), 2)}" for name, m in self._modules.items()]
        if not lines:
            return f"{type(self).__name__}()"
        if len(lines) == 1 and not self._modules:
            return f"{type(self).__name__}({lines[0]})"
        body = "\n".join("  " + line for line in lines)
        return f"{type(self).__name__}(\n{body}\n)"


class Sequential(Module):
    """Modules applied one after another: ``Sequential(Linear(2, 16), ReLU(), Linear(16, 2))``.

    The children are named ``0``, ``1``, ... (or by the keys of an ``OrderedDict``),
    which is where the state_dict keys ``0.weight`` and ``2.bias`` come from.
    """

    def __init__(self, *modules: Module | Mapping[str, Module]) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], Mapping):
            for name, module in modules[0].items():
                self.add_module(name, module)
            return
        for index, module in enumerate(modules):
            if not isinstance(module, Module):
                raise TypeError(
                    f"Sequential: argument {index} is a {type(module).__name__}, not a Module"
                )
            self.add_module(str(index), module)

    def forward(self, x: Any) -> Any:
        # Each child's nodes get a name scope ("0: Linear"), so a drawing boxes each layer.
        for name, module in self._modules.items():
            with name_scope(f"{name}: {type(module).__name__}"):
                x = module(x)
        return x

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, index: int | slice) -> Any:
        items = list(self._modules.items())
        if isinstance(index, slice):
            return Sequential(OrderedDict(items[index]))
        if not -len(items) <= index < len(items):
            raise IndexError(f"Sequential: index {index} is out of range for {len(items)} modules")
        return items[index][1]

    def append(self, module: Module) -> Sequential:
        """Add ``module`` at the end (named by its position); returns self."""
        self.add_module(str(len(self._modules)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> Sequential:
        for module in modules:
            self.append(module)
        return self
