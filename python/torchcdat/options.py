"""The bases (directions) and tuners of the cdat core as option holders. Option names and defaults are the C++
ones (include/cdat/direction.h, tuner.h, armijo.h): a default-constructed C++ options struct gives each default,
and the core checks the ranges (InvalidOption names the option)."""
from . import _C
from .errors import InvalidOption


def option_names(cpp_options):
    """The option names of a C++ options struct (its pybind11 properties; static functions such as paper_rule
    are not options)."""
    return sorted(name for name in dir(cpp_options) if not name.startswith("_") and not callable(getattr(cpp_options, name)))


def _enum_type(cpp_options, key):
    """The pybind11 enum of an option (e.g. _C.Decay), or None for a number or flag."""
    kind = type(getattr(cpp_options, key))
    return kind if hasattr(kind, "__members__") else None


def fill_options(cpp_options, values, what):
    """Sets `values` (a dict) on a C++ options struct; an unknown name or a wrong type raises InvalidOption."""
    valid = option_names(cpp_options)
    for key, value in values.items():
        if key not in valid:
            raise InvalidOption(f"{what}: unknown option '{key}' (valid: {', '.join(valid)})")
        enum = _enum_type(cpp_options, key)
        if enum is not None and isinstance(value, str):
            members = enum.__members__
            if value not in members:
                raise InvalidOption(f"{what} {key} must be one of {', '.join(members)}, got '{value}'")
            value = members[value]
        try:
            setattr(cpp_options, key, value)
        except TypeError:
            raise InvalidOption(f"{what} {key}: {value!r} has the wrong type") from None
    return cpp_options


def options_dict(cpp_options):
    """A C++ options struct as a plain dict (enums by name)."""
    out = {}
    for key in option_names(cpp_options):
        value = getattr(cpp_options, key)
        out[key] = value.name if _enum_type(cpp_options, key) is not None else value
    return out


class Direction:
    """A base optimizer of the core: u_t from g_t (PAPER §1). Options: beta1, beta2, eps (weight decay is a
    parameter group's option, see TunedOptimizer)."""

    def __init__(self, name, **options):
        if name not in _C.direction_names():
            raise InvalidOption(f"direction must be one of {', '.join(_C.direction_names())}, got '{name}'")
        self.name = name
        self.options = fill_options(_C.DirectionOptions(), options, name)

    def __repr__(self):
        return f"{type(self).__name__}({options_dict(self.options)})"


class GradientDescent(Direction):
    """u = −g."""

    def __init__(self, **options):
        super().__init__("gd", **options)


class Momentum(Direction):
    """Heavy ball m ← β₁m + g, u = −m; Nesterov u = −(g + β₁m) (torch.optim.SGD conventions)."""

    def __init__(self, nesterov=False, **options):
        super().__init__("nesterov" if nesterov else "momentum", **options)


class RMSProp(Direction):
    """v ← β₂v + (1−β₂)g², u = −g / (√v + ε)."""

    def __init__(self, **options):
        super().__init__("rmsprop", **options)


class Adam(Direction):
    """u = −m̂ / (√v̂ + ε) with bias-corrected moments."""

    def __init__(self, **options):
        super().__init__("adam", **options)


class Tuner:
    """A learning-rate tuner of the core (PAPER §2): η_t from the step's loss, slope gᵀu, curvature uᵀHu or
    trial values. `options` holds a C++ TunerOptions of which the tuner reads its own part."""

    _part = None  # the TunerOptions field this tuner reads (None: the tuner has no options of its own)

    def __init__(self, name, **options):
        self.name = name
        self.options = _C.TunerOptions()
        if self._part is not None:
            fill_options(getattr(self.options, self._part), options, name)
        elif options:
            raise InvalidOption(f"{name}: takes no options, got {', '.join(options)}")

    def __repr__(self):
        own = options_dict(getattr(self.options, self._part)) if self._part else {}
        return f"{type(self).__name__}({own})"


class ConstantTuner(Tuner):
    """η_t = lr."""

    def __init__(self, lr=_C.TunerOptions().lr):
        super().__init__("constant")
        self.options.lr = lr

    def __repr__(self):
        return f"ConstantTuner(lr={self.options.lr})"


class ScheduleTuner(Tuner):
    """Linear warm-up to peak_lr, then cosine decay (or constant). Options: peak_lr, warmup_steps, total_steps,
    decay ('cosine' or 'constant'), final_fraction."""

    _part = "schedule"

    def __init__(self, **options):
        super().__init__("schedule", **options)
        # make_tuner takes the schedule's peak from TunerOptions.lr (as the CLI's --lr).
        self.options.lr = self.options.schedule.peak_lr


class LinesearchTuner(Tuner):
    """Armijo backtracking. Options: c, kappa_down, kappa_up, eta_max, eta_init, max_trials."""

    _part = "linesearch"

    def __init__(self, **options):
        super().__init__("linesearch", **options)


def _safeguards_doc():
    """CDAT's safeguards as the C++ table (cdat::cdat_safeguards()) has them: option, meaning, range, default and
    the paper rule's value."""
    return "\n".join(f"    - {s['field']}: {s['summary']}; {s['range']}; default {s['default']}, paper rule {s['paper_rule']}"
                     for s in _C.cdat_safeguards())


class CdatTuner(Tuner):
    """CDAT η = σ·n̄/d̄, n = max(−gᵀu, 0), d = |uᵀHu| + ε‖u‖² (PAPER §2). Options: sigma, eps, ema_beta, ema_mode
    ('separate' or 'ratio'), max_lr, trust_max_trials (the trust check's trials before η = 0), and the safeguards
    (ours, not the paper's: docs/method.md), from the C++ table:
{SAFEGUARDS}
    CdatTuner.paper_rule(sigma, ema_beta) is the paper's rule without any safeguard."""

    __doc__ = __doc__.replace("{SAFEGUARDS}", _safeguards_doc())
    _part = "cdat"

    def __init__(self, **options):
        super().__init__("cdat", **options)

    @classmethod
    def paper_rule(cls, sigma=2.0, ema_beta=0.0):
        """The paper's rule (PAPER §2) with these σ and β and none of the safeguards
        (cdat::CdatOptions::paper_rule, the CLI's --safeguards false)."""
        tuner = cls()
        tuner.options.cdat = _C.CdatOptions.paper_rule(sigma, ema_beta)
        return tuner


class GreedyTuner(Tuner):
    """η = −gᵀu / uᵀHu: CDAT's rule with σ = 1, no averaging and no safeguard (the paper's greedy rule)."""

    def __init__(self):
        super().__init__("greedy")


# The names with a class of their own here; every name the C++ registry lists (cdat/registry.h:
# direction_names(), tuner_names(), a registered one included) is accepted.
_DIRECTIONS = {"gd": GradientDescent, "momentum": Momentum, "nesterov": lambda **o: Momentum(nesterov=True, **o),
               "rmsprop": RMSProp, "adam": Adam}
_TUNERS = {"constant": ConstantTuner, "schedule": ScheduleTuner, "linesearch": LinesearchTuner, "cdat": CdatTuner,
           "greedy": GreedyTuner}


def direction_names():
    """The directions the C++ core knows by name (its registry: the built-in ones first, then registered ones)."""
    return list(_C.direction_names())


def tuner_names():
    """The tuners the C++ core knows by name (its registry: the built-in ones first, then registered ones)."""
    return list(_C.tuner_names())


class RegisteredTuner(Tuner):
    """A tuner registered in the C++ registry without a class here: its options (cdat::TunerOptions::extra, the
    names its registry entry lists; the core refuses others when the optimizer is made)."""

    def __init__(self, name, **options):
        super().__init__(name)
        self.options.extra = {key: float(value) for key, value in options.items()}

    def __repr__(self):
        return f"RegisteredTuner({self.name!r}, {self.options.extra})"


def as_direction(direction, **options):
    """A Direction from a Direction or a name (with `options`, the C++ defaults for the rest)."""
    if isinstance(direction, Direction) and not options:
        return direction
    names = direction_names()
    if direction not in names:
        raise InvalidOption(f"direction must be one of {', '.join(names)} or a torchcdat.Direction, got {direction!r}")
    return _DIRECTIONS.get(direction, lambda **o: Direction(direction, **o))(**options)


def as_tuner(tuner):
    """A Tuner from a Tuner or a name (default options)."""
    if isinstance(tuner, Tuner):
        return tuner
    names = tuner_names()
    if tuner not in names:
        raise InvalidOption(f"tuner must be one of {', '.join(names)} or a torchcdat.Tuner, got {tuner!r}")
    return _TUNERS.get(tuner, lambda: RegisteredTuner(tuner))()
