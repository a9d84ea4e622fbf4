"""hvp and sharpness against dense Hessians (closed forms) and torch.autograd.functional."""
import pytest
import torch

import torchcdat

DIM = 10
# Tolerances (tests/tolerance.h): n roundings on the magnitudes added up, n·EPS relative, whichever kernel runs it.
EPS = torch.finfo(torch.float64).eps
# A Ritz value after k Lanczos steps: each a product (2·DIM + 2 roundings: autograd's ½(A + Aᵀ)v) and an
# orthogonalisation (DIM + 3), on ‖|A|‖₂ ≤ √DIM·‖A‖₂; relative to ‖A‖₂ = max|λ|. A = QΛQᵀ adds one such step.
RITZ = (DIM + 1) * (2 * DIM + 2 + DIM + 3) * DIM ** 0.5 * EPS


def quadratic(eigenvalues, seed=0):
    """f(w) = ½ wᵀAw + bᵀw on w split into two tensors [4] and [2, 3]; A = Q diag(eigenvalues) Qᵀ."""
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(DIM, DIM, dtype=torch.float64, generator=g))
    a = q @ torch.diag(torch.tensor(eigenvalues, dtype=torch.float64)) @ q.T
    a = 0.5 * (a + a.T)
    b = torch.randn(DIM, dtype=torch.float64, generator=g)
    params = [torch.randn(4, dtype=torch.float64, generator=g, requires_grad=True),
              torch.randn(2, 3, dtype=torch.float64, generator=g, requires_grad=True)]

    def closure():
        w = torch.cat([p.reshape(-1) for p in params])
        return 0.5 * w @ a @ w + b @ w

    return a, params, closure


SPECTRUM = [10.0, 5.0, 4.0, 3.0, 2.0, 1.0, 0.5, -0.5, -2.0, -7.0]


def test_hvp_is_the_dense_hessian_times_v():
    a, params, closure = quadratic(SPECTRUM)
    v = [torch.randn_like(p) for p in params]
    hv = torchcdat.hvp(closure, params, v)
    expected = a @ torch.cat([t.reshape(-1) for t in v])
    got = torch.cat([t.reshape(-1) for t in hv])
    assert [t.shape for t in hv] == [p.shape for p in params]
    # autograd's ½(Aᵀv + Av) and A @ v: 3·DIM + 2 roundings on |A||v|
    magnitude = (a.abs() @ torch.cat([t.reshape(-1) for t in v]).abs()).max().item()
    torch.testing.assert_close(got, expected, rtol=0, atol=(3 * DIM + 2) * EPS * magnitude)


def test_hvp_of_a_network_equals_torch_autograd_functional_hvp():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 2)).double()
    x, y = torch.randn(16, 5, dtype=torch.float64), torch.randint(0, 2, (16,))
    params = list(model.parameters())
    v = [torch.randn_like(p) for p in params]
    hv = torchcdat.hvp(lambda: torch.nn.functional.cross_entropy(model(x), y), params, v)

    names = [n for n, _ in model.named_parameters()]

    def loss_of(*values):
        out = torch.func.functional_call(model, dict(zip(names, values)), (x,)) if hasattr(torch, "func") else \
            torch.nn.utils.stateless.functional_call(model, dict(zip(names, values)), (x,))
        return torch.nn.functional.cross_entropy(out, y)

    _, expected = torch.autograd.functional.hvp(loss_of, tuple(p.detach() for p in params), tuple(v))
    for a, b in zip(hv, expected):
        # two double backwards, 3 passes each of ≤ 16 + 5 + 7 + 2 + 7 = 37 roundings, on magnitudes ≤ max|Hv|
        torch.testing.assert_close(a, b, rtol=2 * 3 * 37 * EPS, atol=2 * 3 * 37 * EPS * b.abs().max().item())


def test_lanczos_sharpness_is_the_largest_eigenvalue():
    _, params, closure = quadratic(SPECTRUM)
    result = torchcdat.sharpness(closure, params, iterations=DIM, return_eigenvector=True)
    assert result["eigenvalue"] == pytest.approx(10.0, rel=RITZ)
    assert result["ritz_values"] == pytest.approx(sorted(SPECTRUM), rel=0, abs=RITZ * 10.0)


def test_power_iteration_finds_the_largest_magnitude_eigenvalue():
    spectrum = [-14.0] + SPECTRUM[1:]  # |−14| dominates: power iteration returns −14, Lanczos 5
    _, params, closure = quadratic(spectrum)
    # power iteration: converged ((10/14)^600), one product's rounding; Lanczos relative to ‖A‖ = 14
    assert torchcdat.sharpness(closure, params, method="power", iterations=300) == pytest.approx(-14.0, rel=RITZ)
    assert torchcdat.sharpness(closure, params, iterations=DIM) == pytest.approx(5.0, rel=RITZ * 14.0 / 5.0)


def test_preconditioned_sharpness_is_the_top_eigenvalue_of_the_scaled_hessian():
    a, params, closure = quadratic(SPECTRUM)
    p = [torch.rand_like(t) + 0.5 for t in params]
    p_flat = torch.cat([t.reshape(-1) for t in p])
    scaled = a / torch.sqrt(p_flat)[:, None] / torch.sqrt(p_flat)[None, :]
    expected = torch.linalg.eigvalsh(scaled)[-1].item()
    got = torchcdat.sharpness(closure, params, iterations=DIM, preconditioner=p)
    # both within RITZ of ‖S‖ (eigvalsh is backward stable the same way); the scalings by P^{-1/2} add 2
    norm = torch.linalg.eigvalsh(scaled).abs().max().item()
    assert got == pytest.approx(expected, rel=0, abs=2 * (RITZ + 2 * EPS) * norm)


def test_preconditioned_sharpness_uses_the_optimizers_preconditioner():
    _, params, closure = quadratic(SPECTRUM)
    optimizer = torchcdat.TunedOptimizer(params, direction="adam", tuner=torchcdat.ConstantTuner(1e-3))
    assert optimizer.preconditioner() is None  # before the first step
    optimizer.step(closure)
    p = optimizer.preconditioner()
    assert [t.shape for t in p] == [t.shape for t in params]
    assert torchcdat.sharpness(closure, params, iterations=DIM, preconditioner=p) > 0


def test_bad_sharpness_arguments():
    _, params, closure = quadratic(SPECTRUM)
    with pytest.raises(torchcdat.InvalidOption, match="method must be lanczos or power"):
        torchcdat.sharpness(closure, params, method="arnoldi")
    with pytest.raises(torchcdat.InvalidOption, match="preconditioner must be positive"):
        torchcdat.sharpness(closure, params, preconditioner=[-torch.ones_like(t) for t in params])
