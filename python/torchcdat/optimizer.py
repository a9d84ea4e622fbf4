"""torchcdat.TunedOptimizer: the core's TunedOptimizer (include/cdat/optimizer.h) as a torch.optim.Optimizer."""

import torch

from . import _C
from .errors import InvalidOption
from .distributed import AllReduce, DistributedError
from .options import (CdatTuner, as_direction, as_tuner, direction_names, fill_options, option_names, options_dict,
                      tuner_names)

# The per-group options (cdat::ParamGroup, a group's "params" aside).
_GROUP_OPTIONS = ("weight_decay", "scale")
# Everything TunedOptimizer takes besides params, direction and tuner: cdat::TunedOptimizerOptions' fields and the
# group options.
_OPTIMIZER_OPTIONS = frozenset(option_names(_C.TunedOptimizerOptions())) | frozenset(_GROUP_OPTIONS)
# CDAT's names of the base's options (cdat::DirectionOptions): its eps is base_eps (eps is the tuner's).
_BASE_OPTIONS = frozenset("base_eps" if k == "eps" else k for k in option_names(_C.DirectionOptions()))
# TunedOptimizer's keywords that are not fields of cdat::TunedOptimizerOptions (tensors and a process group).
_WIRING_OPTIONS = frozenset(("buffers", "process_group", "shard_weight", "dist_timeout"))

_NO_LR = ("torchcdat: a TunedOptimizer's param_groups have no 'lr': the tuner chooses η on every step, so "
          "torch.optim.lr_scheduler has nothing to schedule. For a schedule of η use "
          "tuner=torchcdat.ScheduleTuner(peak_lr=..., warmup_steps=..., total_steps=...) (warm-up + cosine) or "
          "ConstantTuner(lr); CDAT's η follows the curvature (sigma scales it); a group's 'scale' multiplies its "
          "share of the update")


class _ParamGroup(dict):
    """A param_groups entry that answers a read of "lr" (torch.optim.lr_scheduler's first step) with what to do
    instead, not a bare KeyError."""

    def __missing__(self, key):
        if key in ("lr", "initial_lr"):
            raise InvalidOption(_NO_LR)
        raise KeyError(key)


class TunedOptimizer(torch.optim.Optimizer):
    """One step: the loss and gradient from the closure → direction u = base(g) → η = tuner → w ← w + ηu.

    Args:
        params: parameters or parameter groups (dicts with "params" and optionally "weight_decay", "scale"), as
            for torch.optim. Parameters with requires_grad=False when the optimizer is made are never updated.
        direction: a torchcdat.Direction (GradientDescent, Momentum, RMSProp, Adam) or its name, one of the C++
            registry's ({DIRECTIONS}).
        tuner: a torchcdat.Tuner (ConstantTuner, ScheduleTuner, LinesearchTuner, GreedyTuner, CdatTuner) or its
            name, one of the C++ registry's ({TUNERS}).
        weight_decay, scale: the defaults of the group options: decoupled weight decay (u ← u − weight_decay·w)
            and the multiplier on the group's share of the update (0 freezes the group); η is one for all.
        measure_curvature: also measure uᵀHu when the tuner does not need it (last_stats["curvature"]).
        measure_curvature_every: also measure uᵀHu on the steps whose index is a multiple of this (default 0: never).
        curvature_mode: how a step obtains uᵀHu: "exact" (default: double backward on the step's forward pass, the
            paper's), "parabola-central" (the parabola through f(w − hu), f(w) and f(w + hu), two forward passes
            without a graph; a step whose estimate is unreliable measures exactly instead and says so in
            last_stats["curvature_fallback"]), "parabola" (through f(w), gᵀu and f(w + hu): one forward), "forward"
            (forward-over-reverse), "secant" (from consecutive gradients: free, one step late), "fd" (central
            finite differences of the gradient), or any name registered in C++ (_C.curvature_estimator_names()).
        fd_step: the relative step of curvature_mode="fd" (and of "parabola" on its first step).
        parabola_step: curvature_mode="parabola": h = parabola_step·η_{t−1} (default 0.1).
        parabola_central: curvature_mode="parabola": the central parabola through f(w ± hu), O(h²), two forward
            passes (default False).
        curvature_every: measure the directional curvature uᵀHu/‖u‖² every K steps and use the last measurement
            times ‖u_t‖² in between (default 1: every step).
        write_grad: after each step, p.grad holds that step's gradient (default True).
        clip_norm: > 0 clips the gradient by its global norm before the direction (default 0: off).
        same_randomness_in_trials: the closure calls after the step's own forward (trust check, line-search
            trials, the parabola's forward) see the random numbers the own forward saw (the same dropout mask), and
            after the step torch's default generators are where the own forward left them (default True).
        full_batch: every call of the closure evaluates the same function of the parameters (the whole training
            set, no augmentation). A step's accepted trial (trust check, line search) then keeps its graph and is
            the next step's forward: one forward pass a step fewer, the same results bit for bit. The closure is
            then not called for a step's own loss (last_stats["reused_forward"]): its last call in the previous
            step was at the current parameters. A step whose forward drew random numbers (dropout) keeps nothing,
            nor one after a parameter or buffer changed in place between steps. Default False: with mini batches
            each closure is another batch.
        buffers: tensors the closure's forward updates in place, e.g. model.buffers() (BatchNorm's running
            statistics): restored after each trial forward, so that a step moves them once (default: none).
        process_group: a torch.distributed process group (e.g. torch.distributed.group.WORLD under torchrun): this
            process is one rank of a data-parallel run; its closure returns the mean loss of its own shard, and the
            loss, gradient, uᵀHu and trial values are reduced over the group (docs/python.md). At construction the
            parameters and buffers are set to rank 0's. Default None: one process.
        shard_weight: with process_group, this rank's share n_r/N of the global batch (default 1/world size).
        dist_timeout: with process_group, seconds a reduction waits for the other ranks before raising
            torchcdat.DistributedError (default 60).
    """

    __doc__ = __doc__.replace("{DIRECTIONS}", ", ".join(direction_names())).replace("{TUNERS}", ", ".join(tuner_names()))

    def __init__(self, params, direction="gd", tuner="cdat", *, weight_decay=0.0, scale=1.0, buffers=None,
                 process_group=None, shard_weight=None, dist_timeout=60.0, **options):
        direction = as_direction(direction)
        tuner = as_tuner(tuner)
        super().__init__(params, {"weight_decay": weight_decay, "scale": scale})
        self.param_groups = [_ParamGroup(group) for group in self.param_groups]
        self._direction, self._tuner = direction, tuner
        self._group_options = self._read_group_options()
        self._options = fill_options(_C.TunedOptimizerOptions(), options, "TunedOptimizer")
        self._buffers = [] if buffers is None else list(buffers)
        self._all_reduce, self._shard_weight = self._data_parallel(process_group, shard_weight, dist_timeout)
        self._core = self._make_core()

    def _data_parallel(self, process_group, shard_weight, dist_timeout):
        """The AllReduce of the group (parameters and buffers set to rank 0's) and this rank's share, or
        (None, 1.0) for one process."""
        if process_group is None:
            if shard_weight is not None:
                raise InvalidOption("TunedOptimizer: shard_weight needs a process_group")
            return None, 1.0
        all_reduce = AllReduce(process_group, dist_timeout)
        weight = 1.0 / all_reduce.world_size if shard_weight is None else float(shard_weight)
        if not 0.0 < weight <= 1.0:
            raise InvalidOption(f"TunedOptimizer: shard_weight must be in (0, 1], got {shard_weight}")
        all_reduce.broadcast_from_rank0([p for group in self.param_groups for p in group["params"]] + self._buffers)
        return all_reduce, weight

    def _read_group_options(self):
        return [{key: group[key] for key in _GROUP_OPTIONS} for group in self.param_groups]

    def _make_core(self):
        groups = [_C.ParamGroup(list(group["params"]), group["weight_decay"], group["scale"])
                  for group in self.param_groups]
        if self._all_reduce is None:
            return _C.TunedOptimizer(groups, self._direction.name, self._direction.options, self._tuner.name,
                                     self._tuner.options, self._options, self._buffers)
        return _C.TunedOptimizer(groups, self._direction.name, self._direction.options, self._tuner.name,
                                 self._tuner.options, self._options, self._buffers, self._all_reduce,
                                 self._all_reduce.rank, self._all_reduce.world_size, self._shard_weight)

    def add_param_group(self, param_group):
        if hasattr(self, "_core"):
            raise InvalidOption("TunedOptimizer: add_param_group after construction is not supported "
                                "(the core's state is laid out for the parameters it was made with)")
        super().add_param_group(param_group)

    def step(self, closure):
        """One step; returns the loss at the parameters before the update (a 0-d tensor, detached).

        `closure()` must recompute and return the loss WITHOUT calling backward(): the optimizer differentiates
        the returned loss itself, with create_graph where the tuner needs the curvature uᵀHu (double backward on
        the same forward pass), and calls the closure again for trials f(w + ηu) (under no_grad). A closure that
        calls loss.backward() (torch.optim.LBFGS's habit) is refused with InvalidOption before anything changes;
        zero_grad() inside is harmless.

        Raises NonFiniteError (parameters untouched) on a NaN/inf loss, gradient, curvature or learning rate;
        an exception raised by the closure propagates unchanged, leaving the parameters untouched.
        """
        if closure is None:
            raise InvalidOption("TunedOptimizer.step needs a closure that returns the loss")
        if self._read_group_options() != self._group_options:
            raise InvalidOption("TunedOptimizer: param_groups options changed after construction; make a new optimizer")
        try:
            return self._core.step(closure).detach()
        except DistributedError as error:
            raise DistributedError(f"{error} [during step {self._core.steps()}]") from None

    def zero_grad(self, set_to_none=True):
        """Harmless: the optimizer computes the gradient itself on every step (and writes it to p.grad)."""
        super().zero_grad(set_to_none=set_to_none)

    @property
    def options(self):
        """The core's options (cdat::TunedOptimizerOptions) as a dict, enums by name."""
        return options_dict(self._options)

    @property
    def last_stats(self):
        """What the last step measured: step, loss, lr, slope (gᵀu), curvature (uᵀHu), grad_norm, direction_norm,
        trials, search_failed (linesearch, CDAT's trust check), non_descent, actual_change (f(w + ηu) − f(w) when
        the tuner evaluated it: CDAT's trust check), curvature_fallback (parabola: this step measured uᵀHu exactly
        instead), reused_forward (full_batch: the closure was not called for this step's loss, the last step's
        accepted trial was that forward), warning, and the tuner's own values (the C++ Tuner::report_names(): CDAT's numerator,
        denominator, curvature_floored and growth_capped, 1.0 or 0.0) (NaN: not measured)."""
        return self._core.last_stats()

    def last_direction(self):
        """u_t of the last step, one tensor per trained parameter."""
        return self._core.last_direction()

    def preconditioner(self):
        """The direction's diagonal preconditioner P (RMSProp, Adam; one tensor per trained parameter), or None."""
        return self._core.preconditioner()

    @property
    def trained_params(self):
        """The parameters the core updates (those that required grad when the optimizer was made)."""
        return self._core.params()

    def state_dict(self):
        """torch.optim layout: "state" holds the core's archive (direction moments, tuner averages, step counter;
        a uint8 tensor), "param_groups" the groups with parameter indices. Round-trips through torch.save exactly."""
        packed = super().state_dict()
        archive = torch.frombuffer(bytearray(self._core.save_state()), dtype=torch.uint8)
        packed["state"] = {"core": archive}
        return packed

    def load_state_dict(self, state_dict):
        state_dict = dict(state_dict)
        core = state_dict.pop("state", {}).get("core")
        if core is None:
            raise InvalidOption("TunedOptimizer.load_state_dict: no torchcdat state (state['core']) in this state_dict")
        super().load_state_dict({**state_dict, "state": {}})
        self.param_groups = [_ParamGroup(group) for group in self.param_groups]
        self._group_options = self._read_group_options()
        self._core = self._make_core()
        self._core.load_state(bytes(core.contiguous().numpy().tobytes()))

    def __getstate__(self):
        raise TypeError("TunedOptimizer cannot be pickled; save state_dict() instead")


def CDAT(params, base="gd", sigma=None, ema=None, **options):
    """CDAT on a base optimizer (PAPER §2): η = σ·n̄/d̄. `base` is a direction name (one of
    torchcdat.direction_names(), the C++ registry's) or a torchcdat.Direction; sigma (default 2: on the edge), ema (the EMA β, default 0: full
    batch) and CdatTuner's other options (eps, ema_mode, max_lr, the safeguards loss_floor, max_growth, trust_check,
    ...). With a base name, the base's options beta1,
    beta2 and base_eps (its ε) are accepted too, and TunedOptimizer's options (measure_curvature, curvature_mode,
    curvature_every, ..., weight_decay, scale, buffers, process_group, shard_weight, dist_timeout) always."""
    core = {k: options.pop(k) for k in list(options) if k in _OPTIMIZER_OPTIONS | _WIRING_OPTIONS}
    base_options = {("eps" if k == "base_eps" else k): options.pop(k) for k in list(options) if k in _BASE_OPTIONS}
    if sigma is not None:
        options["sigma"] = sigma
    if ema is not None:
        options["ema_beta"] = ema
    if isinstance(base, str):
        base = as_direction(base, **base_options)
    elif base_options:
        raise InvalidOption(f"CDAT: {', '.join(base_options)} belong in the Direction given as base")
    return TunedOptimizer(params, direction=base, tuner=CdatTuner(**options), **core)
