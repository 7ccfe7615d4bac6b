"""Optimizers: ``SGD``, ``Adam``, ``AdamW``, with PyTorch's update rules, step for step.

An optimizer holds references to parameters and, on ``step()``, moves each one against
its gradient. The update works on the arrays directly (``p.data``), in place, so it
builds no graph and an ``nn.Module`` keeps seeing its own parameters.

Usage, the PyTorch loop::

    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for x, y in batches:
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()      # grads to None
        loss.backward()      # fill p.grad
        opt.step()           # p.data -= ...

``params`` may be an iterable of tensors, of ``(name, tensor)`` pairs (e.g.
``model.named_parameters()``: error messages then name the parameter), or of dicts
(parameter groups with their own settings: ``[{"params": ..., "lr": 0.01}, ...]``).

``step()`` is two phases: it first checks every gradient of every group (a NumPy
array or a minigrad ``Tensor``, whose array is taken; the parameter's shape; a real
floating dtype that casts to the parameter's; finite *after* that cast, so a float64
1e300 headed for a float32 parameter is refused) and the settings as they are now,
then moves the parameters. A bad gradient raises naming the optimizer and the
parameter, and no parameter or optimizer state has changed. Parameters whose ``grad``
is None (unused in this step) are skipped, as in PyTorch.

Hyperparameters may be Python or NumPy numbers (``np.float32(0.1)``); they are
stored as Python floats. ``load_state_dict`` checks them as the constructor does.
The checks themselves live in ``minigrad.optim_checks``.
"""

from __future__ import annotations

import math
from operator import is_
from typing import Any

import numpy as np

from minigrad.optim_checks import (
    check_flag,
    check_nonnegative,
    checked_grad,
    converted_state,
    is_number,
)
from minigrad.tensor import Tensor

__all__ = ["SGD", "Adam", "AdamW", "Optimizer"]


class Optimizer:
    """Base class: parameter groups, per-parameter state, ``zero_grad``, ``state_dict``.

    A subclass sets its hyperparameter ``defaults`` and writes ``_update_group(group,
    pairs)``: move each (parameter, gradient) of one group, using ``self.state[param]``.
    """

    state_keys: tuple[str, ...] = ()  # what a parameter's state holds once it has any

    def __init__(self, params: Any, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self._checked_settings: dict[int, tuple[tuple, tuple]] = {}  # see _recheck_options
        self.param_groups: list[dict[str, Any]] = []
        self.state: dict[Tensor, dict[str, Any]] = {}  # keyed by the parameter itself
        self._names: dict[Tensor, str] = {}
        if isinstance(params, Tensor):
            raise TypeError(
                f"{type(self).__name__}: params must be an iterable of tensors (or of dicts), "
                "got a single Tensor: wrap it in a list"
            )
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ------------------------------------------------------------ groups

    def add_param_group(self, group: dict[str, Any]) -> None:
        """Add a group of parameters, with settings that override the defaults."""
        op = type(self).__name__
        if not isinstance(group, dict) or "params" not in group:
            raise TypeError(f"{op}: a parameter group is a dict with a 'params' entry")
        raw = group["params"]
        raw = [raw] if isinstance(raw, Tensor) else list(raw)
        params = []
        for i, item in enumerate(raw):
            name = None
            if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
                name, item = item
            if not isinstance(item, Tensor):
                raise TypeError(f"{op}: parameter {i} is a {type(item).__name__}, not a Tensor")
            if not item.requires_grad or item._prev:
                raise ValueError(
                    f"{op}: can only optimize leaf tensors that require grad "
                    f"(parameter {name or i} of shape {item.shape})"
                )
            params.append(item)
            if name is not None:
                self._names[item] = name
        known = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in known for p in params) or len({id(p) for p in params}) < len(params):
            raise ValueError(f"{op}: a parameter appears in more than one place")
        unknown = set(group) - {"params", *self.defaults}
        if unknown:
            raise TypeError(f"{op}: unknown option(s) {sorted(unknown)}")
        full = {**self.defaults, **{k: v for k, v in group.items() if k != "params"}}
        full = self._check_options(full)
        full["params"] = params
        self.param_groups.append(full)

    def _check_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """Raise on a bad hyperparameter; return the settings with numbers as Python floats.

        Subclasses check their own; options they do not know (a PyTorch state_dict's
        ``foreach``, say) pass through unchanged.
        """
        return dict(options)

    def _label(self, param: Tensor) -> str:
        """How an error names a parameter: by name if given, else by position and shape."""
        if param in self._names:
            return f"parameter {self._names[param]!r} (shape {param.shape})"
        index = 0
        for group in self.param_groups:
            for p in group["params"]:
                if p is param:
                    return f"parameter {index} (shape {param.shape})"
                index += 1
        return f"parameter of shape {param.shape}"

    # ------------------------------------------------------------ stepping

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients: None (PyTorch's default) or zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none or p.grad is None:
                    p.grad = None
                else:
                    p.grad[...] = 0

    def step(self) -> None:
        """Update every parameter that has a gradient.

        Phase 1 checks everything that can fail (every group's settings as they are now,
        every gradient, every state array) and writes nothing; phase 2 moves the
        parameters and their state and cannot fail on the input.
        """
        work = []
        op, state, keys = f"{type(self).__name__}.step", self.state, self.state_keys
        for group in self.param_groups:
            self._recheck_options(group)
            pairs = [
                (p, checked_grad(op, self._label, p, state.get(p, {}), keys))
                for p in group["params"]
                if p.grad is not None
            ]
            work.append((group, pairs))
        for group, pairs in work:
            self._update_group(group, pairs)

    def _recheck_options(self, group: dict[str, Any]) -> None:
        """Check a group's settings again if any was replaced since the last check
        (``opt.param_groups[0]["lr"] = -1``): the settings are read now, not at construction."""
        checked = self._checked_settings.get(id(group))
        now = (tuple(group), tuple(group.values()))  # names, and the very objects they hold
        if checked is not None and checked[0] == now[0] and all(map(is_, checked[1], now[1])):
            return  # the very same objects as last time: nothing to check
        self._check_options(group)
        self._checked_settings[id(group)] = now

    def _update_group(self, group: dict[str, Any], pairs: list[tuple[Tensor, np.ndarray]]) -> None:
        """Move each (parameter, gradient) of one group, with the group's settings."""
        raise NotImplementedError

    # ------------------------------------------------------------ state_dict

    def _ordered_params(self) -> list[Tensor]:
        return [p for group in self.param_groups for p in group["params"]]

    def state_dict(self) -> dict[str, Any]:
        """Settings and state in PyTorch's layout, arrays copied.

        ``{"state": {index: {"step": ..., "exp_avg": ...}}, "param_groups": [{"lr": ...,
        "params": [index, ...]}]}``: parameters are referred to by their position.
        """
        params = self._ordered_params()
        state = {}
        for i, p in enumerate(params):
            if p in self.state:
                state[i] = {
                    k: v.copy() if isinstance(v, np.ndarray) else v
                    for k, v in self.state[p].items()
                }
        groups, start = [], 0
        for group in self.param_groups:
            n = len(group["params"])
            settings = {k: v for k, v in group.items() if k != "params"}
            groups.append({**settings, "params": list(range(start, start + n))})
            start += n
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore settings and state saved by ``state_dict`` (for the same parameters).

        Everything is checked (group count and sizes, the settings as the constructor
        checks them, state arrays: real numbers of the parameter's shape) before
        anything changes.
        """
        op = f"{type(self).__name__}.load_state_dict"
        groups = state_dict.get("param_groups") if isinstance(state_dict, dict) else None
        if not isinstance(groups, list) or not isinstance(state_dict.get("state"), dict):
            raise ValueError(f"{op}: expected a dict with 'state' (a dict) and 'param_groups'")
        if len(groups) != len(self.param_groups):
            raise ValueError(
                f"{op}: the saved state has {len(groups)} parameter groups, "
                f"this optimizer has {len(self.param_groups)}"
            )
        new_settings = []
        for i, (saved, ours) in enumerate(zip(groups, self.param_groups, strict=True)):
            if not isinstance(saved, dict) or not isinstance(saved.get("params"), list):
                raise ValueError(f"{op}: group {i} is not a dict with a 'params' list")
            if len(saved["params"]) != len(ours["params"]):
                raise ValueError(
                    f"{op}: group {i} has {len(saved['params'])} parameters in the saved "
                    f"state and {len(ours['params'])} here"
                )
            settings = {k: v for k, v in saved.items() if k != "params"}
            merged = {**{k: v for k, v in ours.items() if k != "params"}, **settings}
            try:  # as the constructor checks them
                new_settings.append(self._check_options(merged))
            except (TypeError, ValueError) as error:
                raise type(error)(f"{op}: group {i}: {error}") from None
        index_to_param = {}
        for saved, ours in zip(groups, self.param_groups, strict=True):
            index_to_param.update(zip(saved["params"], ours["params"], strict=True))
        new_state = {}
        for index, entries in state_dict["state"].items():
            if index not in index_to_param:
                raise KeyError(f"{op}: state for parameter {index!r}, which no group lists")
            if not isinstance(entries, dict):
                raise ValueError(f"{op}: state of parameter {index} is not a dict")
            p = index_to_param[index]
            converted = {}
            for key, value in entries.items():
                converted[key] = converted_state(op, index, key, value, p)
            new_state[p] = converted
        for settings, ours in zip(new_settings, self.param_groups, strict=True):
            ours.update(settings)
        self.state = new_state

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params"]
        return "\n".join([*lines, ")"])


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum and weight decay.

    PyTorch's rule, for gradient g of parameter p:

        g = g + weight_decay * p                        (L2 penalty)
        buf = g                                         (first step)
        buf = momentum * buf + (1 - dampening) * g      (later steps)
        g = g + momentum * buf   if nesterov   else   g = buf
        p = p - lr * g
    """

    def __init__(
        self,
        params: Any,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            nesterov=nesterov,
            weight_decay=weight_decay,
        )
        super().__init__(params, defaults)

    def _check_options(self, o: dict[str, Any]) -> dict[str, Any]:
        o = dict(o)
        for name in ("lr", "momentum", "weight_decay"):
            o[name] = check_nonnegative("SGD", name, o[name])
        if not is_number(o["dampening"]) or not math.isfinite(o["dampening"]):
            raise ValueError(f"SGD: invalid dampening: {o['dampening']!r}")
        o["dampening"] = float(o["dampening"])
        o["nesterov"] = check_flag("SGD", "nesterov", o["nesterov"])
        if o["nesterov"] and (o["momentum"] <= 0 or o["dampening"] != 0):
            raise ValueError("SGD: Nesterov momentum requires a momentum and zero dampening")
        return o

    def _update_group(self, group: dict[str, Any], pairs: list[tuple[Tensor, np.ndarray]]) -> None:
        lr, momentum, wd = group["lr"], group["momentum"], group["weight_decay"]
        for p, g in pairs:
            if wd:
                g = g + wd * p.data
            if momentum:
                state = self.state.setdefault(p, {})
                buf = state.get("momentum_buffer")
                if buf is None:
                    buf = state["momentum_buffer"] = np.array(g, copy=True)
                else:
                    buf *= momentum
                    buf += (1 - group["dampening"]) * g
                g = g + momentum * buf if group["nesterov"] else buf
            p.data -= lr * g


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015): per-coordinate steps from running moments of the gradient.

    PyTorch's rule, at step t (from 1), for gradient g of parameter p:

        g = g + weight_decay * p                    (Adam: L2 penalty through the gradient)
        m = beta1 * m + (1 - beta1) * g             (mean of g)
        v = beta2 * v + (1 - beta2) * g^2           (mean of g^2)
        v_max = max(v_max, v)   and use it for v    (amsgrad only)
        p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    The two ``1 - beta^t`` factors undo the bias of m and v towards their zero start.
    """

    decoupled = False  # AdamW: weight decay shrinks p directly instead
    state_keys = ("step", "exp_avg", "exp_avg_sq")

    def __init__(
        self,
        params: Any,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
    ) -> None:
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)
        super().__init__(params, defaults)

    def _check_options(self, o: dict[str, Any]) -> dict[str, Any]:
        op = type(self).__name__
        o = dict(o)
        for name in ("lr", "eps", "weight_decay"):
            o[name] = check_nonnegative(op, name, o[name])
        betas = o["betas"]
        if not (isinstance(betas, tuple | list) and len(betas) == 2):
            raise ValueError(f"{op}: betas must be a pair (beta1, beta2), got {betas!r}")
        for i, beta in enumerate(betas):
            if not (is_number(beta) and 0.0 <= beta < 1.0):
                raise ValueError(f"{op}: invalid beta parameter at index {i}: {beta!r}")
        o["betas"] = (float(betas[0]), float(betas[1]))
        o["amsgrad"] = check_flag(op, "amsgrad", o["amsgrad"])
        return o

    def _update_group(self, group: dict[str, Any], pairs: list[tuple[Tensor, np.ndarray]]) -> None:
        for p, g in pairs:
            self._update(group, p, g, self.state.setdefault(p, {}))

    def _update(self, group: dict[str, Any], p: Tensor, g: np.ndarray, state: dict) -> None:
        lr, eps, wd = group["lr"], group["eps"], group["weight_decay"]
        beta1, beta2 = group["betas"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p.data)
            state["exp_avg_sq"] = np.zeros_like(p.data)
        if group["amsgrad"] and "max_exp_avg_sq" not in state:  # amsgrad turned on later
            state["max_exp_avg_sq"] = np.zeros_like(p.data)
        state["step"] += 1
        t = state["step"]
        if wd and self.decoupled:
            p.data *= 1 - lr * wd
        elif wd:
            g = g + wd * p.data
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m += (1 - beta1) * (g - m)  # = beta1 * m + (1 - beta1) * g, in place (PyTorch's lerp)
        v *= beta2
        v += (1 - beta2) * g * g
        if group["amsgrad"]:
            np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
            v = state["max_exp_avg_sq"]
        step_size = lr / (1 - beta1**t)
        denom = np.sqrt(v)
        denom /= math.sqrt(1 - beta2**t)
        denom += eps
        p.data -= step_size * (m / denom)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019).

    Before the Adam step, ``p = p * (1 - lr * weight_decay)``: the decay does not pass
    through m and v, so it is not rescaled per coordinate. Default weight_decay 1e-2.
    """

    decoupled = True

    def __init__(
        self,
        params: Any,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)
