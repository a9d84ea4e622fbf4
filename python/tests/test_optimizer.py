"""TunedOptimizer as a torch.optim.Optimizer: state_dict round trip, frozen parameters, errors, options."""
import io
import math
import os
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

import torchcdat

# Tolerances (tests/tolerance.h): n roundings on the magnitudes added up, n·EPS relative, whichever kernel runs it.
# The model: 6 → 8 → 3 on 32 examples, P = 83 parameters; a pass ≤ 32 + 6 + 8 + 3 + 7 = 56 roundings.
EPS = torch.finfo(torch.float64).eps
P, PASS = 83, 56

GENERATOR_SEED = 1234
X = torch.randn(32, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(GENERATOR_SEED))
Y = torch.randint(0, 3, (32,), generator=torch.Generator().manual_seed(GENERATOR_SEED))


def make_model(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3)).double()


def loss_of(model):
    return lambda: F.cross_entropy(model(X), Y)


def snapshot(model):
    return [p.detach().clone() for p in model.parameters()]


@pytest.mark.parametrize("direction,tuner", [("adam", "cdat"), ("momentum", "linesearch"),
                                             ("rmsprop", torchcdat.CdatTuner(ema_beta=0.9))])
def test_state_dict_round_trip_mid_run_continues_bit_identically(direction, tuner):
    model = make_model()
    optimizer = torchcdat.TunedOptimizer(model.parameters(), direction=direction, tuner=tuner)
    for _ in range(5):
        optimizer.step(loss_of(model))
    buffer = io.BytesIO()
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict()}, buffer)
    expected_losses = [optimizer.step(loss_of(model)).item() for _ in range(5)]
    expected_lrs = optimizer.last_stats["lr"]

    buffer.seek(0)
    saved = torch.load(buffer)
    resumed = make_model(seed=1)  # other initial weights, replaced by the saved ones
    resumed.load_state_dict(saved["model"])
    optimizer2 = torchcdat.TunedOptimizer(resumed.parameters(), direction=direction, tuner=tuner)
    optimizer2.load_state_dict(saved["optimizer"])
    losses = [optimizer2.step(loss_of(resumed)).item() for _ in range(5)]

    assert losses == expected_losses
    assert optimizer2.last_stats["lr"] == expected_lrs
    assert optimizer2.last_stats["step"] == 9
    for a, b in zip(snapshot(resumed), snapshot(model)):
        assert torch.equal(a, b)


def test_a_fresh_optimizer_does_not_continue_like_the_resumed_one():
    # The state matters (Adam moments, step counter): without load_state_dict the continuation differs.
    model = make_model()
    optimizer = torchcdat.TunedOptimizer(model.parameters(), direction="adam", tuner="cdat")
    for _ in range(5):
        optimizer.step(loss_of(model))
    copy = make_model(seed=1)
    copy.load_state_dict(model.state_dict())
    fresh = torchcdat.TunedOptimizer(copy.parameters(), direction="adam", tuner="cdat")
    assert fresh.step(loss_of(copy)).item() == optimizer.step(loss_of(model)).item()  # same point
    assert fresh.last_stats["lr"] != optimizer.last_stats["lr"]


def test_a_frozen_layer_is_not_updated_and_the_rest_trains_as_if_only_it_were_given():
    model = make_model()
    model[0].requires_grad_(False)
    frozen = snapshot(model)[:2]
    optimizer = torchcdat.CDAT(model.parameters(), base="gd", sigma=1.0)
    reference = make_model()
    reference[0].requires_grad_(False)
    only_last = torchcdat.CDAT(reference[2].parameters(), base="gd", sigma=1.0)
    losses = [optimizer.step(loss_of(model)).item() for _ in range(10)]
    expected = [only_last.step(loss_of(reference)).item() for _ in range(10)]
    assert losses == expected
    assert losses[-1] < 0.5 * losses[0]
    assert torch.equal(model[0].weight, frozen[0]) and torch.equal(model[0].bias, frozen[1])
    assert len(optimizer.trained_params) == 2


def test_closure_that_raises_propagates_with_its_traceback_and_leaves_parameters_untouched():
    model = make_model()
    optimizer = torchcdat.TunedOptimizer(model.parameters(), direction="gd", tuner="cdat")
    optimizer.step(loss_of(model))
    before = snapshot(model)

    class Boom(Exception):
        pass

    def closure():
        raise Boom("from the closure")

    with pytest.raises(Boom, match="from the closure") as info:
        optimizer.step(closure)
    assert any(entry.name == "closure" for entry in info.traceback)
    for a, b in zip(snapshot(model), before):
        assert torch.equal(a, b)
    optimizer.step(loss_of(model))  # the optimizer still works


def test_closure_raising_during_a_linesearch_trial_restores_the_parameters():
    model = make_model()
    optimizer = torchcdat.TunedOptimizer(model.parameters(), direction="gd", tuner="linesearch")
    before = snapshot(model)
    calls = []

    def closure():
        calls.append(torch.is_grad_enabled())
        if len(calls) == 2:  # the first trial f(w + ηu), parameters shifted
            raise KeyboardInterrupt
        return loss_of(model)()

    with pytest.raises(KeyboardInterrupt):
        optimizer.step(closure)
    assert calls == [True, False]  # the trial runs without autograd
    for a, b in zip(snapshot(model), before):
        assert torch.equal(a, b)


def test_nan_loss_raises_non_finite_error_and_leaves_parameters_untouched():
    model = make_model()
    optimizer = torchcdat.TunedOptimizer(model.parameters(), direction="adam", tuner="cdat")
    before = snapshot(model)
    with pytest.raises(torchcdat.NonFiniteError, match="loss") as info:
        optimizer.step(lambda: loss_of(model)() * float("nan"))
    assert isinstance(info.value, FloatingPointError)
    for a, b in zip(snapshot(model), before):
        assert torch.equal(a, b)


def test_closure_must_return_a_tensor():
    model = make_model()
    optimizer = torchcdat.TunedOptimizer(model.parameters())
    with pytest.raises(TypeError, match="closure must return the loss as a torch.Tensor, got float"):
        optimizer.step(lambda: 1.0)


def test_step_returns_the_loss_before_the_update_and_last_stats():
    model = make_model()
    optimizer = torchcdat.CDAT(model.parameters(), base="gd", sigma=1.5)
    expected = loss_of(model)().item()
    loss = optimizer.step(loss_of(model))
    assert loss.item() == expected and not loss.requires_grad
    s = optimizer.last_stats
    assert s["loss"] == expected and s["step"] == 0 and s["warning"] == ""
    # CDAT: η = σ n / d with n = −gᵀu = ‖g‖² for GD, d = |uᵀHu| + ε‖u‖² (ε = 1e-12)
    # n = −gᵀu and ‖g‖ from the same g: two P-term dots (no cancellation), √ and the square here
    assert s["numerator"] == pytest.approx(s["grad_norm"] ** 2, rel=(2 * P + 3) * EPS)
    assert s["denominator"] == pytest.approx(abs(s["curvature"]) + 1e-12 * s["direction_norm"] ** 2,
                                             rel=(2 * P + 3 + 4) * EPS)  # ‖u‖ as ‖g‖, and 4 operations
    assert s["lr"] == pytest.approx(1.5 * s["numerator"] / s["denominator"], rel=4 * EPS)
    assert s["slope"] == pytest.approx(-s["numerator"], rel=2 * EPS)


def test_zero_grad_is_harmless():
    a, b = make_model(), make_model()
    opt_a = torchcdat.TunedOptimizer(a.parameters())
    opt_b = torchcdat.TunedOptimizer(b.parameters())
    for _ in range(3):
        opt_a.zero_grad()
        opt_a.step(loss_of(a))
        opt_b.step(loss_of(b))
    for p, q in zip(snapshot(a), snapshot(b)):
        assert torch.equal(p, q)


def test_param_groups_look_like_torch_optim():
    model = make_model()
    optimizer = torchcdat.TunedOptimizer([{"params": model[0].parameters(), "weight_decay": 0.1},
                                          {"params": model[2].parameters(), "scale": 0.5}], weight_decay=0.01)
    assert [(g["weight_decay"], g["scale"]) for g in optimizer.param_groups] == [(0.1, 1.0), (0.01, 0.5)]
    assert [len(g["params"]) for g in optimizer.param_groups] == [2, 2]
    optimizer.param_groups[0]["weight_decay"] = 0.5
    with pytest.raises(torchcdat.InvalidOption, match="param_groups options changed"):
        optimizer.step(loss_of(model))


def gradient_of(model):
    return torch.autograd.grad(loss_of(model)(), list(model.parameters()))


def test_group_weight_decay_and_scale_in_closed_form():
    # GD, constant η: w ← w + η·scale·(−g − weight_decay·w) per group
    model = make_model()
    before, g = snapshot(model), gradient_of(model)
    lr, groups = 0.1, [(0.3, 2.0), (0.05, 0.5)]
    optimizer = torchcdat.TunedOptimizer(
        [{"params": model[0].parameters(), "weight_decay": groups[0][0], "scale": groups[0][1]},
         {"params": model[2].parameters(), "weight_decay": groups[1][0], "scale": groups[1][1]}],
        direction="gd", tuner=torchcdat.ConstantTuner(lr))
    optimizer.step(loss_of(model))
    for i, (w, w0, gi) in enumerate(zip(model.parameters(), before, g)):
        decay, scale = groups[i // 2]
        # each side: 5 operations on |w0| + lr·scale·(|g| + decay·|w0|), and its gradient's 2 passes on |g|
        magnitude = (w0.abs() + lr * scale * (gi.abs() + decay * w0.abs())).max().item()
        torch.testing.assert_close(w.detach(), w0 + lr * scale * (-gi - decay * w0), rtol=0,
                                   atol=2 * (5 * magnitude + 2 * PASS * lr * scale * gi.abs().max().item()) * EPS)


def test_a_group_with_scale_zero_is_frozen():
    model = make_model()
    before = snapshot(model)
    optimizer = torchcdat.TunedOptimizer([{"params": model[0].parameters(), "scale": 0.0},
                                          {"params": model[2].parameters()}], tuner=torchcdat.ConstantTuner(0.1))
    optimizer.step(loss_of(model))
    after = snapshot(model)
    assert torch.equal(after[0], before[0]) and torch.equal(after[1], before[1])
    assert not torch.equal(after[2], before[2])


def test_step_writes_the_gradient_to_grad_and_clip_norm_clips_the_update():
    model = make_model()
    before, g = snapshot(model), gradient_of(model)
    norm = torch.sqrt(sum((gi * gi).sum() for gi in g)).item()
    optimizer = torchcdat.TunedOptimizer(model.parameters(), direction="gd", tuner=torchcdat.ConstantTuner(0.1),
                                         clip_norm=0.5 * norm)
    optimizer.step(loss_of(model))
    for p, gi, w0 in zip(model.parameters(), g, before):
        # the true gradient, before clipping: two backwards of 2 passes each on magnitudes ≤ max|g|
        torch.testing.assert_close(p.grad, gi, rtol=2 * 2 * PASS * EPS, atol=2 * 2 * PASS * EPS * gi.abs().max().item())
        # the clip factor c/‖g‖ with ‖g‖ computed twice (P + 1 each), the gradients, and w's 2 roundings on |w0|
        torch.testing.assert_close(p.detach(), w0 - 0.1 * 0.5 * gi, rtol=0,
                                   atol=(2 * (P + 1) + 4 * PASS + 4) * EPS * 0.05 * gi.abs().max().item()
                                   + 2 * 2 * EPS * w0.abs().max().item())
    quiet = make_model()
    torchcdat.TunedOptimizer(quiet.parameters(), write_grad=False).step(loss_of(quiet))
    assert all(p.grad is None for p in quiet.parameters())


def test_defaults_are_the_cpp_ones():
    assert repr(torchcdat.CdatTuner()) == (
        "CdatTuner({'ema_beta': 0.0, 'ema_mode': 'separate', 'eps': 1e-12, 'loss_floor': -inf, 'max_growth': 2.0, "
        "'max_lr': 0.0, 'sigma': 2.0, 'trust_check': 'every', 'trust_max_trials': 20, 'trust_ratio': 0.25})")
    assert repr(torchcdat.Adam()) == "Adam({'beta1': 0.9, 'beta2': 0.999, 'eps': 1e-08})"
    assert repr(torchcdat.LinesearchTuner()) == ("LinesearchTuner({'c': 0.0001, 'eta_init': 1.0, 'eta_max': 1.0, "
                                                 "'kappa_down': 0.8, 'kappa_up': 1.5, 'max_trials': 30})")


@pytest.mark.parametrize("make,message", [
    (lambda p: torchcdat.CDAT(p, sigma=-1.0), "sigma"),
    (lambda p: torchcdat.CDAT(p, base="adam", beta1=1.5), "beta1"),
    (lambda p: torchcdat.CDAT(p, sigmaa=2.0), "unknown option 'sigmaa'"),
    (lambda p: torchcdat.CDAT(p, ema_mode="median"), "ema_mode must be one of separate, ratio"),
    (lambda p: torchcdat.TunedOptimizer(p, direction="sgd"), "direction must be one of"),
    (lambda p: torchcdat.TunedOptimizer(p, tuner="cosine"), "tuner must be one of"),
    (lambda p: torchcdat.TunedOptimizer(p, curvature_mode="exactly"), "curvature-mode: unknown value 'exactly'"),
    (lambda p: torchcdat.TunedOptimizer(p, tuner=torchcdat.LinesearchTuner(kappa_down=2.0)), "kappa_down"),
    (lambda p: torchcdat.TunedOptimizer(p, weight_decay=-1.0), "weight-decay must be finite and >= 0"),
    (lambda p: torchcdat.TunedOptimizer(p, clip_norm=-1.0), "clip-norm"),
])
def test_bad_options_raise_invalid_option_naming_the_option(make, message):
    with pytest.raises(torchcdat.InvalidOption, match=message) as info:
        make(make_model().parameters())
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("tuner", ["constant", "schedule", "linesearch", "greedy", "cdat"])
@pytest.mark.parametrize("direction", ["gd", "momentum", "nesterov", "rmsprop", "adam"])
def test_every_direction_and_tuner_steps(direction, tuner):
    model = make_model()
    optimizer = torchcdat.TunedOptimizer(model.parameters(), direction=direction, tuner=tuner)
    for _ in range(3):
        optimizer.step(loss_of(model))
    s = optimizer.last_stats
    assert s["step"] == 2 and math.isfinite(s["loss"]) and s["lr"] >= 0


# A process started from a background job of a non-interactive shell (`ci &`, nohup) inherits SIGINT as
# ignored, and Python then installs no KeyboardInterrupt handler: the SIGINT below would be lost and the loop
# would never end. The script installs the handler a terminal gives, so the test checks torchcdat, not how
# the test runner was launched.
INTERRUPT_SCRIPT = r"""
import signal, threading, os, torch, torchcdat
signal.signal(signal.SIGINT, signal.default_int_handler)
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(50, 200), torch.nn.Tanh(), torch.nn.Linear(200, 10)).double()
x, y = torch.randn(2000, 50, dtype=torch.float64), torch.randint(0, 10, (2000,))
optimizer = torchcdat.TunedOptimizer(model.parameters(), direction="adam", tuner="linesearch")
closure = lambda: torch.nn.functional.cross_entropy(model(x), y)
optimizer.step(closure)
threading.Timer(0.2, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
steps = 0
try:
    while True:
        optimizer.step(closure)
        steps += 1
except KeyboardInterrupt:
    pass
assert all(torch.isfinite(p).all() for p in model.parameters())
optimizer.step(closure)  # still usable
print("interrupted after", steps, "steps; OK")
"""


def test_ctrl_c_during_training_raises_keyboard_interrupt_and_the_optimizer_stays_usable():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        filter(None, [os.path.dirname(os.path.dirname(torchcdat.__file__)), os.environ.get("PYTHONPATH")])))
    out = subprocess.run([sys.executable, "-c", INTERRUPT_SCRIPT], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith("; OK")


def test_schedule_and_constant_tuner_options_reach_the_core():
    model = make_model()
    schedule = torchcdat.TunedOptimizer(model.parameters(), tuner=torchcdat.ScheduleTuner(
        peak_lr=0.1, warmup_steps=4, total_steps=12, decay="cosine", final_fraction=0.1))
    lrs = []
    for _ in range(12):
        schedule.step(loss_of(model))
        lrs.append(schedule.last_stats["lr"])
    warmup = [0.1 * (t + 1) / 4 for t in range(4)]  # linear from peak/warmup to peak
    cosine = [0.01 + 0.09 * 0.5 * (1 + math.cos(math.pi * (t - 4) / 8)) for t in range(4, 12)]
    # ≤ 12 roundings (π·progress, cos, 5 operations; the expected value's own) on magnitudes ≤ peak = 0.1
    assert lrs == pytest.approx(warmup + cosine, rel=0, abs=12 * EPS * 0.1)
    other = make_model()
    constant = torchcdat.TunedOptimizer(other.parameters(), tuner=torchcdat.ConstantTuner(0.25))
    constant.step(loss_of(other))
    assert constant.last_stats["lr"] == 0.25
