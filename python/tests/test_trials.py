"""The torch.optim habits a PyTorch user brings (issue 27): trial forwards that leave BatchNorm and dropout alone, a
closure that calls backward(), torch.optim.lr_scheduler. The C++ side of the same rules: tests/core/trial_closure_test.cpp."""
import copy
import math

import pytest
import torch
import torch.nn.functional as F

import torchcdat

X = torch.randn(32, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
Y = torch.randn(32, 1, dtype=torch.float64, generator=torch.Generator().manual_seed(4))


def batch_norm_net():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.Tanh(),
                               torch.nn.Linear(8, 1)).double()


def buffers_after_one_forward(model):
    twin = copy.deepcopy(model)
    with torch.no_grad():
        twin(X)
    return [b.clone() for b in twin.buffers()]


@pytest.mark.parametrize("tuner", [torchcdat.CdatTuner(), torchcdat.LinesearchTuner(eta_init=100.0, eta_max=100.0)],
                         ids=["cdat-trust-check", "linesearch"])
def test_batch_norm_statistics_move_once_per_step(tuner):
    model = batch_norm_net()
    expected = buffers_after_one_forward(model)
    optimizer = torchcdat.TunedOptimizer(model.parameters(), tuner=tuner, buffers=model.buffers())
    optimizer.step(lambda: F.mse_loss(model(X), Y))
    stats = optimizer.last_stats
    assert stats["trials"] >= 2 or not math.isnan(stats["actual_change"]), "no trial forward was made"
    for got, want in zip(model.buffers(), expected):
        assert torch.equal(got, want)


def test_without_buffers_each_trial_forward_moves_the_statistics():
    model = batch_norm_net()
    optimizer = torchcdat.TunedOptimizer(model.parameters(), tuner=torchcdat.LinesearchTuner(eta_init=100.0, eta_max=100.0))
    optimizer.step(lambda: F.mse_loss(model(X), Y))
    assert model[1].num_batches_tracked.item() == 1 + optimizer.last_stats["trials"]


class DropoutProbe:
    """A closure through torch.nn.functional.dropout that records the mask of every call."""

    def __init__(self):
        self.w = torch.full((16,), 0.5, dtype=torch.float64, requires_grad=True)
        self.x = torch.linspace(-1.0, 1.0, 16, dtype=torch.float64)
        self.masks = []

    def __call__(self):
        mask = F.dropout(torch.ones(16, dtype=torch.float64), 0.5, training=True)
        self.masks.append(mask)
        return (self.w @ (self.x * mask) - 1.0) ** 2 + 0.1 * (self.w ** 4).sum()


def test_trial_forwards_see_the_own_forwards_dropout_mask():
    torch.manual_seed(11)
    probe = DropoutProbe()
    optimizer = torchcdat.TunedOptimizer([probe.w], tuner=torchcdat.LinesearchTuner(eta_init=100.0, eta_max=100.0))
    optimizer.step(probe)
    assert len(probe.masks) >= 3
    assert all(torch.equal(mask, probe.masks[0]) for mask in probe.masks[1:])


def test_without_forked_randomness_trial_forwards_draw_other_masks():
    torch.manual_seed(11)
    probe = DropoutProbe()
    optimizer = torchcdat.TunedOptimizer([probe.w], tuner=torchcdat.LinesearchTuner(eta_init=100.0, eta_max=100.0),
                                         same_randomness_in_trials=False)
    optimizer.step(probe)
    assert any(not torch.equal(mask, probe.masks[0]) for mask in probe.masks[1:])


def test_the_run_draws_the_random_numbers_of_steps_without_trials():
    def own_masks_and_next_draw(tuner):
        torch.manual_seed(5)
        probe = DropoutProbe()
        optimizer = torchcdat.TunedOptimizer([probe.w], tuner=tuner)
        own = []
        for _ in range(5):
            first = len(probe.masks)
            optimizer.step(probe)
            own.append(probe.masks[first])
        return own, torch.rand(4, dtype=torch.float64)

    cdat_masks, cdat_next = own_masks_and_next_draw(torchcdat.CdatTuner())  # the trust check: trial forwards
    constant_masks, constant_next = own_masks_and_next_draw(torchcdat.ConstantTuner(0.01))
    assert all(torch.equal(a, b) for a, b in zip(cdat_masks, constant_masks))
    assert torch.equal(cdat_next, constant_next)


def test_a_closure_that_calls_backward_is_refused_and_changes_nothing():
    model = batch_norm_net()
    optimizer = torchcdat.CDAT(model.parameters(), base="adam")
    before = [p.detach().clone() for p in model.parameters()]

    def lbfgs_style_closure():
        optimizer.zero_grad()
        loss = F.mse_loss(model(X), Y)
        loss.backward()
        return loss

    with pytest.raises(torchcdat.InvalidOption, match=r"without calling loss\.backward\(\)"):
        optimizer.step(lbfgs_style_closure)
    assert all(torch.equal(p, b) for p, b in zip(model.parameters(), before))
    assert optimizer._core.steps() == 0

    def closure_with_zero_grad():  # zero_grad() alone is harmless
        optimizer.zero_grad()
        return F.mse_loss(model(X), Y)

    optimizer.step(closure_with_zero_grad)
    assert optimizer._core.steps() == 1


@pytest.mark.parametrize("make_scheduler", [lambda o: torch.optim.lr_scheduler.StepLR(o, 10),
                                            lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, 100),
                                            lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda t: 1.0)],
                         ids=["StepLR", "CosineAnnealingLR", "LambdaLR"])
def test_an_lr_scheduler_is_refused_with_the_alternative(make_scheduler):
    model = batch_norm_net()
    optimizer = torchcdat.CDAT(model.parameters())
    with pytest.raises(torchcdat.InvalidOption, match=r"ScheduleTuner"):
        make_scheduler(optimizer)


def test_the_refusal_survives_load_state_dict():
    model = batch_norm_net()
    optimizer = torchcdat.CDAT(model.parameters())
    optimizer.load_state_dict(optimizer.state_dict())
    with pytest.raises(torchcdat.InvalidOption, match=r"ScheduleTuner"):
        torch.optim.lr_scheduler.StepLR(optimizer, 10)


def train_batch_norm_net(full_batch, curvature_mode, steps=10):
    """GD + CDAT (defaults: trust check every step) on the BatchNorm net; each step's stats, closure calls, and the
    final parameters and buffers."""
    model = batch_norm_net()
    optimizer = torchcdat.CDAT(model.parameters(), buffers=list(model.buffers()), full_batch=full_batch,
                               curvature_mode=curvature_mode)
    calls = []
    closure = lambda: calls.append(1) or F.mse_loss(model(X), Y)  # noqa: E731 — the loss only
    stats = []
    for _ in range(steps):
        optimizer.step(closure)
        stats.append(dict(optimizer.last_stats))
    return stats, len(calls), [p.detach().clone() for p in model.parameters()], [b.clone() for b in model.buffers()]


@pytest.mark.parametrize("curvature_mode", ["parabola", "exact"])
def test_full_batch_reuses_the_accepted_trial_with_bit_identical_results(curvature_mode):
    """full_batch=True: the accepted trust-check trial is the next step's forward; everything else is the same bit
    for bit, BatchNorm's running statistics included (tests/core/full_batch_test.cpp on the C++ side)."""
    plain, plain_calls, plain_params, plain_buffers = train_batch_norm_net(False, curvature_mode)
    reused, reused_calls, reused_params, reused_buffers = train_batch_norm_net(True, curvature_mode)
    for a, b in zip(plain, reused):
        assert (a["loss"], a["lr"], a["trials"]) == (b["loss"], b["lr"], b["trials"])
    assert all(torch.equal(a, b) for a, b in zip(plain_params + plain_buffers, reused_params + reused_buffers))
    saved = sum(s["reused_forward"] for s in reused)
    assert not any(s["reused_forward"] for s in plain)
    assert saved == sum(1 for s in plain[:-1] if s["trials"] > 0 and s["lr"] > 0) and saved >= len(plain) // 2
    assert reused_calls == plain_calls - saved
