// The edge of stability of each base optimizer (PAPER §3): each direction's closed-form threshold is where
// the spectral radius of its linearised update (tests/stability.h) reaches 1; the library's own iterations on
// a 1-D quadratic decay just below that edge and grow just above it; and for the state-linear optimizers the
// iteration is exactly the linearised update matrix the edge comes from.
#include <cdat/cdat.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "stability.h"

namespace cdat {
namespace {

using testing::linearised_update;
using testing::numerical_stability_threshold;
using testing::spectral_radius;
using testing::spectral_radius_tolerance;
using testing::tolerance_for;

constexpr double kLr = 0.1, kBeta1 = 0.9;

// Direction::stability_threshold(η) against the linearised dynamics, for two momenta: the spectral radius is
// 1 at the threshold (to rounding), below 1 a relative 1e-6 under it and above 1 a relative 1e-6 over it,
// and the threshold equals the bisection's edge. RMSProp and Adam state it on the preconditioned sharpness.
// Rounding: the closed form takes ≤ 6 roundings (relative), which moves ρ by dρ/dλ·Δλ (dρ/dλ from the
// two probes); ρ itself is within spectral_radius_tolerance (stability.h); the bisection stops within
// 4 ulps of λ or where ρ's rounding, divided by dρ/dλ, blurs the crossing. The probes' 1e-6 is far outside
// all of these.
TEST(StabilityEdge, EachDirectionsThresholdIsWhereTheSpectralRadiusReachesOne) {
  for (double beta : {0.5, 0.9}) {
    for (const std::string name : {"gd", "momentum", "nesterov", "rmsprop", "adam"}) {
      SCOPED_TRACE(name + ", β₁ = " + std::to_string(beta));
      DirectionOptions o;
      o.beta1 = beta;
      const auto direction = make_direction(name, o);
      const double threshold = direction->stability_threshold(kLr);
      const double below = spectral_radius(name, kLr, beta, threshold * (1 - 1e-6));
      const double above = spectral_radius(name, kLr, beta, threshold * (1 + 1e-6));
      const double slope = (above - below) / (2e-6 * threshold);  // dρ/dλ at the edge
      const double closed_form = tolerance_for(torch::kFloat64, 6) * threshold;
      const double rho = spectral_radius_tolerance(name, kLr, beta, threshold);
      EXPECT_NEAR(spectral_radius(name, kLr, beta, threshold), 1.0, rho + slope * closed_form);
      EXPECT_LT(below, 1.0);
      EXPECT_GT(above, 1.0);
      EXPECT_NEAR(threshold, numerical_stability_threshold(name, kLr, beta),
                  closed_form + testing::numerical_threshold_tolerance(name, kLr, beta));
      EXPECT_EQ(direction->sharpness_is_preconditioned(), name == "rmsprop" || name == "adam");
    }
  }
  EXPECT_TRUE(std::isnan(GradientDescent().stability_threshold(0.0)));  // no edge without a step
}

// f(w) = ½ λ w² in one float64 coordinate, trained by `optimizer` at the constant learning rate kLr.
struct OneDimensionalRun {
  torch::Tensor w;
  TunedOptimizer optimizer;
  double lambda;

  OneDimensionalRun(const std::string& optimizer_name, const DirectionOptions& options, double curvature, double w0)
      : w(torch::full({1}, w0, torch::kFloat64).requires_grad_(true)),
        optimizer({w}, make_direction(optimizer_name, options), std::make_unique<ConstantTuner>(kLr)),
        lambda(curvature) {}
  double step() {
    optimizer.step([this] { return 0.5 * lambda * w.pow(2).sum(); });
    return w.item<double>();
  }
};

DirectionOptions options_with_eps(double eps) {
  DirectionOptions o;
  o.beta1 = kBeta1;
  o.eps = eps;
  return o;
}

// Gradient descent and both momentum variants are linear in (w, m): the library's iterates equal the
// first coordinate of M(λ)ᵗ (w₀, 0) — the matrix the numerical edge is computed from is the library's step.
// Rounding: each step of either iteration rounds ≤ 6 times (the gradient λw, the buffer, the update) on
// the magnitudes |M||s| of its state s; an error made at step s reaches step t through M^{t−s}, so both
// together are within Σ_s ‖M^{t−s}‖_∞·2·6·ε·‖|M||s_s|‖_∞ (M is stable here: ‖Mᵏ‖ stays bounded).
TEST(StabilityEdge, LinearisedMatrixIsTheLibrarysStep) {
  for (const std::string name : {"gd", "momentum", "nesterov"}) {
    const double lambda = 7.0;
    OneDimensionalRun run(name, options_with_eps(1e-8), lambda, 1.0);
    const auto M = linearised_update(name, kLr, kBeta1, lambda);
    auto state = torch::zeros({M.size(0)}, torch::kFloat64);
    state[0] = 1.0;
    std::vector<double> made;  // the rounding made at each step, propagated below
    for (int t = 1; t <= 40; ++t) {
      made.push_back(tolerance_for(torch::kFloat64, 2 * 6) * M.abs().mv(state.abs()).max().item<double>());
      state = M.mv(state);
      double bound = 0.0;
      torch::Tensor power = torch::eye(M.size(0), torch::kFloat64);  // M^{t−s}, s from t down to 1
      for (int s = t; s >= 1; --s, power = power.mm(M)) bound += power.abs().sum(1).max().item<double>() * made[s - 1];
      const double expected = state[0].item<double>();
      EXPECT_NEAR(run.step(), expected, bound) << name << " step " << t;
    }
  }
}

// |w| after `steps` steps relative to |w₀|, stopping early once it has grown 1000-fold. The run first
// idles 300 steps at w = 0 (zero gradient: the state stays 0 but the step count advances) so that Adam's
// bias-correction factors 1/(1 − β₁ᵗ) have reached 1, as in the linearisation; their early transient
// would otherwise amplify w for a few steps.
double growth(const std::string& name, double eps, double lambda, int steps) {
  const double w0 = 1e-10;  // tiny, so that √v ≪ ε and RMSProp/Adam's P stays ε (frozen, as the analysis assumes)
  OneDimensionalRun run(name, options_with_eps(eps), lambda, 0.0);
  for (int t = 0; t < 300; ++t) run.step();
  {
    torch::NoGradGuard no_grad;
    run.w.fill_(w0);
  }
  double w = w0;
  for (int t = 0; t < steps && std::abs(w) < 1e3 * w0; ++t) w = run.step();
  return std::abs(w) / w0;
}

// 5% below the edge the iterates decay, 5% above they blow up. RMSProp and Adam run with ε = 4, so their
// preconditioner is P ≈ 4 and the edge on the raw curvature λ is 4× the edge on the preconditioned λ/P.
TEST(StabilityEdge, LibraryIteratesDecayBelowAndGrowAboveTheEdge) {
  for (const std::string name : {"gd", "momentum", "nesterov", "rmsprop", "adam"}) {
    const bool preconditioned = name == "rmsprop" || name == "adam";
    const double eps = preconditioned ? 4.0 : 1e-8;
    const double edge = numerical_stability_threshold(name, kLr, kBeta1) * (preconditioned ? eps : 1.0);
    EXPECT_LT(growth(name, eps, 0.95 * edge, 400), 1e-3) << name << " below the edge " << edge;
    EXPECT_GT(growth(name, eps, 1.05 * edge, 400), 1e3) << name << " above the edge " << edge;
  }
}

}  // namespace
}  // namespace cdat
