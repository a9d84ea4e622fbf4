// The edge of stability of each base optimizer, computed numerically from its linearised dynamics
// (PAPER §3), as an answer independent of the closed forms the library writes down.
//
// On the 1-D quadratic f(w) = ½ λ w² (λ: the curvature; for RMSProp/Adam the preconditioned curvature
// λ/P with the preconditioner P frozen, as the paper's analysis does), one step of the optimizer with a
// constant learning rate η is linear in its state s = (w, m): s ← M(λ) s. The iteration is stable iff the
// spectral radius ρ(M) ≤ 1, and the threshold is the smallest λ > 0 where ρ(M(λ)) reaches 1.
//   gd, rmsprop  w ← w − ηλw                                   M = [1 − ηλ]
//   momentum     m ← βm + λw, w ← w − ηm                       M = [[1 − ηλ, −ηβ], [λ, β]]
//   nesterov     m ← βm + λw, w ← w − η(λw + βm)  (new m)      M = [[1 − ηλ(1 + β), −ηβ²], [λ, β]]
//   adam         m ← βm + (1 − β)λw, w ← w − ηm  (bias factors → 1 after a few hundred steps)
//                                                              M = [[1 − η(1 − β)λ, −ηβ], [(1 − β)λ, β]]
// The closed forms follow from the characteristic polynomial at μ = −1 (the eigenvalue that leaves the
// unit disc): heavy ball 1 + (1 − ηλ + β) + β = 0 ⇒ ηλ = 2 + 2β; Nesterov 2 + 2β − ηλ(1 + 2β) = 0;
// Adam = heavy ball with η(1 − β) in place of η. The tests compare them with the numerical edge below.
#pragma once

#include <torch/torch.h>

#include <stdexcept>
#include <string>

#include "tolerance.h"

namespace cdat::testing {

// M(λ) of the table above, float64.
inline torch::Tensor linearised_update(const std::string& optimizer, double lr, double beta, double lambda) {
  auto m = [](std::initializer_list<double> v, int64_t n) {
    return torch::tensor(std::vector<double>(v), torch::kFloat64).reshape({n, n});
  };
  const double e = lr, b = beta, l = lambda;
  if (optimizer == "gd" || optimizer == "rmsprop") return m({1 - e * l}, 1);
  if (optimizer == "momentum") return m({1 - e * l, -e * b, l, b}, 2);
  if (optimizer == "nesterov") return m({1 - e * l * (1 + b), -e * b * b, l, b}, 2);
  if (optimizer == "adam") return m({1 - e * (1 - b) * l, -e * b, (1 - b) * l, b}, 2);
  throw std::invalid_argument("linearised_update: unknown optimizer " + optimizer);
}

// max |eigenvalue| of M(λ), by LAPACK (torch::linalg_eigvals), not by the closed forms.
inline double spectral_radius(const std::string& optimizer, double lr, double beta, double lambda) {
  return torch::linalg_eigvals(linearised_update(optimizer, lr, beta, lambda)).abs().max().item<double>();
}

// The rounding of spectral_radius at λ (absolute). LAPACK's eigenvalues are exact for M + E with
// ‖E‖_F ≤ 10n²·ε·‖M‖_F (backward stable; n ≤ 2 here), which moves an eigenvalue by ≤ κ·‖E‖ with κ = ‖x‖‖y‖/|yᵀx|
// its condition number (x, y its right and left eigenvectors); M's entries carry ≤ 4 roundings each more.
inline double spectral_radius_tolerance(const std::string& optimizer, double lr, double beta, double lambda) {
  const torch::Tensor m = linearised_update(optimizer, lr, beta, lambda);
  const int64_t n = m.size(0);
  auto [values, right] = torch::linalg_eig(m);
  auto [values_t, left] = torch::linalg_eig(m.t());  // Mᵀz = μz: zᵀ is a left eigenvector
  const int64_t i = values.abs().argmax().item<int64_t>();
  const int64_t j = (values_t - values[i]).abs().argmin().item<int64_t>();
  const torch::Tensor x = right.select(1, i), z = left.select(1, j);
  const double condition =
      (x.abs().pow(2).sum().sqrt() * z.abs().pow(2).sum().sqrt() / (z * x).sum().abs()).item<double>();
  const double backward =
      tolerance_for(torch::kFloat64, 10.0 * static_cast<double>(n * n) + 4) * m.norm().item<double>();
  return condition * backward;
}

// The λ where ρ(M(λ)) crosses 1, by bisection on [0, hi] with ρ < 1 just above 0 and ρ(hi) > 1, down to
// an interval of 4 ulps (below that ρ's rounding, not the bisection, decides).
inline double numerical_stability_threshold(const std::string& optimizer, double lr, double beta) {
  double lo = 0.0, hi = 1.0 / lr;
  while (spectral_radius(optimizer, lr, beta, hi) <= 1.0) hi *= 2;
  for (int i = 0; i < 200 && hi - lo > tolerance_for(torch::kFloat64, 4) * hi; ++i) {
    const double mid = 0.5 * (lo + hi);
    (spectral_radius(optimizer, lr, beta, mid) <= 1.0 ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

// How far numerical_stability_threshold may be from the exact edge λ* (absolute): the bisection's 4 ulps,
// and where ρ's rounding (spectral_radius_tolerance) blurs the crossing, that rounding over dρ/dλ (from
// two probes 10⁻⁶ to either side, far outside both).
inline double numerical_threshold_tolerance(const std::string& optimizer, double lr, double beta) {
  const double edge = numerical_stability_threshold(optimizer, lr, beta);
  const double slope = (spectral_radius(optimizer, lr, beta, edge * (1 + 1e-6)) -
                        spectral_radius(optimizer, lr, beta, edge * (1 - 1e-6))) /
                       (2e-6 * edge);
  return tolerance_for(torch::kFloat64, 4) * edge + spectral_radius_tolerance(optimizer, lr, beta, edge) / slope;
}

}  // namespace cdat::testing
