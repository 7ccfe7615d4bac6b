"""Optimizers step by step against torch.optim (float64), NaN guards, state_dict."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from minigrad import Tensor, nn, optim

CASES = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.1}),
    ("Adam", {}),
    ("Adam", {"lr": 0.01, "betas": (0.8, 0.95), "eps": 1e-6, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.01, "amsgrad": True}),
    ("AdamW", {"lr": 0.01}),
    ("AdamW", {"lr": 0.02, "weight_decay": 0.3, "amsgrad": True}),
]


def models(seed=0):
    ours = nn.Sequential(
        nn.Linear(3, 8, dtype=np.float64, rng=seed),
        nn.Tanh(),
        nn.Linear(8, 2, dtype=np.float64, rng=seed + 1),
    )
    theirs = torch.nn.Sequential(
        torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2)
    ).double()
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    return ours, theirs


def batch(step):
    rng = np.random.default_rng(100 + step)
    return rng.standard_normal((6, 3)), rng.standard_normal((6, 2))


def our_step(model, opt, step):
    x, y = batch(step)
    opt.zero_grad()
    loss = nn.functional.mse_loss(model(Tensor(x)), y)
    loss.backward()
    opt.step()


def their_step(model, opt, step):
    x, y = batch(step)
    opt.zero_grad()
    torch.nn.functional.mse_loss(model(torch.from_numpy(x)), torch.from_numpy(y)).backward()
    opt.step()


def assert_same_params(ours, theirs, tol=1e-12):
    theirs_state = theirs.state_dict()
    for key, value in ours.state_dict().items():
        np.testing.assert_allclose(
            value, theirs_state[key].numpy(), rtol=tol, atol=tol, err_msg=key
        )


@pytest.mark.parametrize(("name", "kwargs"), CASES)
def test_steps_match_torch_optim(name, kwargs):
    ours, theirs = models()
    opt = getattr(optim, name)(ours.parameters(), **kwargs)
    opt_t = getattr(torch.optim, name)(theirs.parameters(), **kwargs)
    start = ours.state_dict()
    for step in range(6):
        our_step(ours, opt, step)
        their_step(theirs, opt_t, step)
        assert_same_params(ours, theirs)
    assert not np.allclose(start["0.weight"], ours.state_dict()["0.weight"])


def test_parameter_groups_with_their_own_settings_match_torch():
    ours, theirs = models()
    opt = optim.SGD(
        [{"params": ours[0].parameters(), "lr": 0.01}, {"params": ours[2].parameters()}],
        lr=0.2,
        momentum=0.5,
    )
    opt_t = torch.optim.SGD(
        [{"params": theirs[0].parameters(), "lr": 0.01}, {"params": theirs[2].parameters()}],
        lr=0.2,
        momentum=0.5,
    )
    assert [g["lr"] for g in opt.param_groups] == [0.01, 0.2]
    for step in range(4):
        our_step(ours, opt, step)
        their_step(theirs, opt_t, step)
    assert_same_params(ours, theirs)


def test_zero_grad_sets_none_and_params_without_grad_are_skipped():
    ours, _ = models()
    unused = nn.Parameter(np.ones(3))
    opt = optim.Adam([*ours.parameters(), unused], lr=0.1)
    our_step(ours, opt, 0)
    assert all(p.grad is not None for p in ours.parameters())
    assert unused.grad is None and unused not in opt.state  # skipped: no state, no change
    np.testing.assert_array_equal(unused.data, np.ones(3))
    opt.zero_grad()
    assert all(p.grad is None for p in ours.parameters())
    grads_kept = optim.SGD(ours.parameters(), lr=0.1)
    our_step(ours, grads_kept, 1)
    grads_kept.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.any() for p in ours.parameters())


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_non_finite_gradient_raises_before_any_parameter_moves(bad):
    ours, _ = models()
    opt = optim.SGD(ours.parameters(), lr=0.1, momentum=0.9)
    x, y = batch(0)
    nn.functional.mse_loss(ours(Tensor(x)), y).backward()
    ours[2].bias.grad[1] = bad  # the last parameter: every other one would move first
    before = {k: v.copy() for k, v in ours.state_dict().items()}
    word = "NaN" if np.isnan(bad) else "inf"
    with pytest.raises(FloatingPointError, match=rf"parameter 3 \(shape \(2,\)\) contains {word}"):
        opt.step()
    for key, value in ours.state_dict().items():
        np.testing.assert_array_equal(value, before[key])
    assert opt.state == {}  # no momentum buffer was made either


def test_named_parameters_name_the_culprit():
    ours, _ = models()
    opt = optim.Adam(ours.named_parameters(), lr=0.1)
    x, y = batch(0)
    nn.functional.mse_loss(ours(Tensor(x)), y).backward()
    ours[0].weight.grad[0, 0] = np.nan
    with pytest.raises(
        FloatingPointError, match=r"parameter '0.weight' \(shape \(8, 3\)\) contains NaN"
    ):
        opt.step()


def test_a_float32_sum_that_overflows_is_not_mistaken_for_inf():
    p = nn.Parameter(np.zeros(4, dtype=np.float32))
    p.grad = np.full(4, 3e38, dtype=np.float32)  # finite, but the sum overflows float32
    optim.SGD([p], lr=1e-40).step()
    assert np.isfinite(p.data).all()


def test_state_dict_round_trip_continues_exactly():
    a, _ = models()
    b, _ = models(seed=7)
    opt_a = optim.Adam(a.parameters(), lr=0.01)
    for step in range(3):
        our_step(a, opt_a, step)
    b.load_state_dict(a.state_dict())
    opt_b = optim.Adam(b.parameters(), lr=0.5)
    opt_b.load_state_dict(opt_a.state_dict())
    assert opt_b.param_groups[0]["lr"] == 0.01
    saved = opt_a.state_dict()
    assert saved["state"][0]["step"] == 3 and set(saved["state"][0]) == {
        "step",
        "exp_avg",
        "exp_avg_sq",
    }
    for step in range(3, 6):
        our_step(a, opt_a, step)
        our_step(b, opt_b, step)
    for key, value in a.state_dict().items():
        np.testing.assert_array_equal(value, b.state_dict()[key])
    assert not np.array_equal(saved["state"][0]["exp_avg"], opt_a.state[a[0].weight]["exp_avg"])


def test_torch_optimizer_state_loads_into_ours():
    ours, theirs = models()
    opt_t = torch.optim.SGD(theirs.parameters(), lr=0.05, momentum=0.9)
    for step in range(2):
        their_step(theirs, opt_t, step)
    ours.load_state_dict(theirs.state_dict())
    opt = optim.SGD(ours.parameters(), lr=0.05, momentum=0.9)
    opt.load_state_dict(opt_t.state_dict())
    for step in range(2, 5):
        our_step(ours, opt, step)
        their_step(theirs, opt_t, step)
    assert_same_params(ours, theirs)


def test_bad_state_dict_changes_nothing():
    ours, _ = models()
    opt = optim.SGD(ours.parameters(), lr=0.1, momentum=0.9)
    our_step(ours, opt, 0)
    saved = opt.state_dict()
    saved["state"][1]["momentum_buffer"] = np.zeros(5)
    saved["param_groups"][0]["lr"] = 99.0
    with pytest.raises(
        ValueError, match=r"state 'momentum_buffer' of parameter 1 has shape \(5,\)"
    ):
        opt.load_state_dict(saved)
    assert opt.param_groups[0]["lr"] == 0.1
    with pytest.raises(ValueError, match="has 2 parameter groups, this optimizer has 1"):
        opt.load_state_dict({"state": {}, "param_groups": [saved["param_groups"][0]] * 2})


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: optim.SGD(p, lr=-0.1), "SGD: invalid lr: -0.1"),
        (lambda p: optim.SGD(p, lr=0.1, nesterov=True), "Nesterov momentum requires a momentum"),
        (lambda p: optim.Adam(p, betas=(0.9, 1.0)), "invalid beta parameter at index 1: 1.0"),
        (lambda p: optim.Adam(p, eps=-1), "Adam: invalid eps: -1"),
        (
            lambda p: optim.AdamW([{"params": p, "momentum": 0.9}]),
            r"unknown option\(s\) \['momentum'\]",
        ),
        (lambda p: optim.SGD([], lr=0.1), "empty parameter list"),
        (lambda p: optim.SGD(p[0], lr=0.1), "got a single Tensor"),
        (lambda p: optim.SGD([p[0], p[0]], lr=0.1), "appears in more than one place"),
        (lambda p: optim.SGD([Tensor(np.zeros(2))], lr=0.1), "leaf tensors that require grad"),
    ],
)
def test_bad_settings_are_refused(make, message):
    params = list(models()[0].parameters())
    with pytest.raises((ValueError, TypeError), match=message):
        make(params)


def test_adamw_defaults_match_pytorch():
    ours, theirs = models()
    opt, opt_t = optim.AdamW(ours.parameters()), torch.optim.AdamW(theirs.parameters())
    for key in ("lr", "betas", "eps", "weight_decay", "amsgrad"):
        assert opt.param_groups[0][key] == opt_t.param_groups[0][key], key
