"""torchcdat: CDAT (curvature-aware learning-rate tuning, Roulet et al. 2024) for PyTorch, over the cdat C++ core.

    opt = torchcdat.CDAT(model.parameters(), base="adam", sigma=2.0, ema=0.0)
    loss = opt.step(lambda: loss_fn(model(x), y))   # the closure returns the loss, no backward()
    opt.last_stats["lr"]
"""
from .curvature import hvp, sharpness
from .distributed import DistributedError
from .errors import InvalidOption, NonFiniteError
from .optimizer import CDAT, TunedOptimizer
from .options import (Adam, CdatTuner, ConstantTuner, Direction, GradientDescent, GreedyTuner, LinesearchTuner,
                      Momentum, RegisteredTuner, RMSProp, ScheduleTuner, Tuner, direction_names, tuner_names)

__all__ = ["Adam", "CDAT", "CdatTuner", "ConstantTuner", "Direction", "DistributedError", "GradientDescent", "GreedyTuner",
           "InvalidOption", "LinesearchTuner", "Momentum", "NonFiniteError", "RegisteredTuner", "RMSProp",
           "ScheduleTuner", "TunedOptimizer", "Tuner", "direction_names", "hvp", "sharpness", "tuner_names"]
__version__ = "0.1.0"
