"""Snapshot all observable state, and assert a failing call left it exactly as it was.

``snapshot(*things)`` walks models (tensor and scalar engines), optimizers, tensors,
``Value`` s, arrays and plain containers, and records every piece of state a user can
observe, as immutable, exactly comparable entries keyed by a path:

* every parameter's and buffer's data and grad (dtype, shape and the raw bytes, so NaN,
  -0.0 and the dtype all count), ``requires_grad``, whether it is writable;
* every module's ``training`` flag and its plain settings (eps, momentum, impl, ...);
* every optimizer's hyperparameters (per group) and its per-parameter state arrays
  and step counters;
* random generators' states (a Dropout's generator is state too).

``assert_atomic(call, *things, raises=...)`` snapshots, runs ``call`` (which must raise),
snapshots again and fails naming every path that changed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pytest

from minigrad import Tensor
from minigrad.batchnorm.scalar import BatchNorm1d as ScalarBatchNorm1d
from minigrad.nn.module import Module
from minigrad.optim import Optimizer
from minigrad.scalar.value import Value

CHECKED = 0  # failing calls checked in this process (printed at the end of the run)

_SETTING_TYPES = (bool, int, float, str, type(None), np.floating, np.integer, np.bool_)


def _array(a: np.ndarray) -> tuple[Any, ...]:
    return ("array", a.dtype.str, a.shape, a.tobytes(), bool(a.flags.writeable))


def _float(x: float) -> Any:
    # repr keeps NaN equal to NaN and -0.0 apart from 0.0; floats compare bit for bit
    return ("float", repr(float(x))) if isinstance(x, float | np.floating) else x


def _tensor(t: Tensor) -> tuple[Any, ...]:
    grad = t.grad
    grad_state = _array(grad) if isinstance(grad, np.ndarray) else ("grad", repr(grad))
    return ("tensor", _array(t.data), grad_state, bool(t.requires_grad))


def _value(v: Value) -> tuple[Any, ...]:
    return ("value", _float(v.data), _float(v.grad))


def _settings(obj: Any) -> dict[str, Any]:
    """An object's plain attributes (numbers, strings, flags): its settings."""
    return {
        k: _float(v)
        for k, v in sorted(vars(obj).items())
        if isinstance(v, _SETTING_TYPES) and not k.startswith("__")
    }


def _walk(obj: Any, path: str, out: dict[str, Any], seen: dict[int, Any]) -> None:
    if id(obj) in seen and not isinstance(obj, _SETTING_TYPES):
        return
    seen[id(obj)] = obj  # kept alive: a temporary's id must not be reused during the walk
    if isinstance(obj, Tensor):
        out[path] = _tensor(obj)
    elif isinstance(obj, Value):
        out[path] = _value(obj)
    elif isinstance(obj, np.ndarray):
        out[path] = _array(obj)
    elif isinstance(obj, np.random.Generator):
        out[path] = ("rng", repr(obj.bit_generator.state))
    elif isinstance(obj, Module):
        for name, module in obj.named_modules():
            where = f"{path}.{name}" if name else path
            out[f"{where}:training"] = module.training
            out[f"{where}:settings"] = _settings(module)
            for key, value in vars(module).items():
                if isinstance(value, np.random.Generator):
                    _walk(value, f"{where}.{key}", out, seen)
        for name, t in obj.named_parameters():
            _walk(t, f"{path}.{name}", out, seen)
        for name, t in obj.named_buffers():
            _walk(t, f"{path}.{name}", out, seen)
    elif isinstance(obj, Optimizer):
        params = [p for group in obj.param_groups for p in group["params"]]
        index = {id(p): i for i, p in enumerate(params)}
        for g, group in enumerate(obj.param_groups):
            settings = {k: v for k, v in group.items() if k != "params"}
            _walk(settings, f"{path}.group{g}", out, seen)
            out[f"{path}.group{g}.params"] = tuple(index[id(p)] for p in group["params"])
        for i, p in enumerate(params):
            _walk(p, f"{path}.param{i}", out, seen)
        out[f"{path}.state.keys"] = tuple(sorted(index.get(id(p), -1) for p in obj.state))
        for p, state in obj.state.items():
            _walk(dict(state), f"{path}.state{index.get(id(p), '?')}", out, seen)
    elif isinstance(obj, ScalarBatchNorm1d):
        out[f"{path}:settings"] = _settings(obj)
        for name in ("running_mean", "running_var"):
            _walk(getattr(obj, name), f"{path}.{name}", out, seen)
        for i, p in enumerate(obj.parameters()):
            _walk(p, f"{path}.param{i}", out, seen)
    elif isinstance(obj, Mapping):
        out[f"{path}:keys"] = tuple(sorted(map(repr, obj)))
        for key, value in obj.items():
            _walk(value, f"{path}[{key!r}]", out, seen)
    elif isinstance(obj, list | tuple):
        out[f"{path}:len"] = (type(obj).__name__, len(obj))
        for i, item in enumerate(obj):
            _walk(item, f"{path}[{i}]", out, seen)
    elif isinstance(obj, _SETTING_TYPES):
        out[path] = ("setting", type(obj).__name__, _float(obj))
    elif hasattr(obj, "parameters"):  # a scalar-engine model (MLP, Layer, Neuron)
        out[f"{path}:settings"] = _settings(obj)
        for i, p in enumerate(obj.parameters()):
            _walk(p, f"{path}.param{i}", out, seen)
    else:
        raise TypeError(f"snapshot: do not know the state of a {type(obj).__name__} at {path}")


def snapshot(*things: Any) -> dict[str, Any]:
    """All observable state of ``things``, as {path: exactly comparable entry}."""
    out: dict[str, Any] = {}
    seen: dict[int, Any] = {}
    for i, thing in enumerate(things):
        _walk(thing, f"#{i}", out, seen)
    return out


def changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """The paths whose state differs (or appeared or vanished)."""
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


def assert_atomic(
    call: Callable[[], Any],
    *things: Any,
    raises: type[BaseException] | tuple[type[BaseException], ...] = Exception,
    match: str | None = None,
) -> pytest.ExceptionInfo:
    """``call()`` must raise ``raises`` (matching ``match``) and change none of ``things``."""
    global CHECKED
    before = snapshot(*things)
    with pytest.raises(raises, match=match) as info:
        call()
    changed = changes(before, snapshot(*things))
    assert not changed, (
        f"the call raised {type(info.value).__name__}: {info.value}\n"
        f"but changed {len(changed)} piece(s) of state first: {', '.join(changed[:8])}"
    )
    CHECKED += 1
    return info
