"""Curvature tools on a closure (PAPER §3; include/cdat/curvature.h): Hessian-vector products and the sharpness
λ_max by Lanczos or power iteration, optionally preconditioned. The closure returns the loss of the current
parameters without calling backward()."""
import torch

from . import _C
from .errors import InvalidOption


def _as_list(params):
    params = list(params)
    if not params:
        raise InvalidOption("params is empty")
    return params


def hvp(closure, params, v):
    """H·v at the current parameters (one forward, two backwards); v and the result are lists shaped like params."""
    params = _as_list(params)
    v = list(v)
    if len(v) != len(params) or any(a.shape != b.shape for a, b in zip(v, params)):
        raise InvalidOption("hvp: v must be a list of tensors shaped like params")
    return _C.hvp(params, closure, v)


def sharpness(closure, params, *, method="lanczos", iterations=20, tolerance=0.0, seed=0, start=None,
              preconditioner=None, return_eigenvector=False):
    """λ_max of the Hessian of closure() at the current parameters, or with `preconditioner` (a positive
    diagonal P as tensors shaped like params, e.g. TunedOptimizer.preconditioner() for RMSProp/Adam) the
    preconditioned sharpness λ_max(P^{-1/2} H P^{-1/2}).

    method: "lanczos" (largest algebraic eigenvalue, full reorthogonalisation) or "power" (largest magnitude;
    `tolerance` stops it early, `start` warm-starts it with a flat vector). Returns the eigenvalue, or the dict
    {eigenvalue, eigenvector (flat, unit norm), iterations, ritz_values} with return_eigenvector=True."""
    params = _as_list(params)
    options = _C.EigenOptions()
    options.iterations = iterations
    options.tolerance = tolerance
    options.seed = seed
    if start is not None:
        options.start = start.detach().reshape(-1)
    flat_p = None
    if preconditioner is not None:
        preconditioner = list(preconditioner)
        if len(preconditioner) != len(params):
            raise InvalidOption("sharpness: preconditioner must have one tensor per parameter")
        flat_p = _C.flatten([p.detach() for p in preconditioner])
        if not bool(torch.all(flat_p > 0)):
            raise InvalidOption("sharpness: preconditioner must be positive")
    result = _C.sharpness(params, closure, method, options, flat_p)
    return result if return_eigenvector else result["eigenvalue"]
