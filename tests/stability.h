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

// The λ where ρ(M(λ)) crosses 1, by bisection on [0, hi] with ρ < 1 just above 0 and ρ(hi) > 1.
inline double numerical_stability_threshold(const std::string& optimizer, double lr, double beta) {
  double lo = 0.0, hi = 1.0 / lr;
  while (spectral_radius(optimizer, lr, beta, hi) <= 1.0) hi *= 2;
  for (int i = 0; i < 200 && hi - lo > 1e-15 * hi; ++i) {
    const double mid = 0.5 * (lo + hi);
    (spectral_radius(optimizer, lr, beta, mid) <= 1.0 ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

}  // namespace cdat::testing
