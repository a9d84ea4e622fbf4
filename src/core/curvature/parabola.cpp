#include <cdat/curvature_estimator.h>

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

namespace cdat {
namespace {

// The unit roundoff of a parameter type (the loss values are computed in it).
double machine_epsilon(torch::ScalarType type) {
  switch (type) {
    case torch::kDouble: return std::numeric_limits<double>::epsilon();
    case torch::kHalf: return 0x1p-10;
    case torch::kBFloat16: return 0x1p-7;
    default: return std::numeric_limits<float>::epsilon();
  }
}

// A loss value computed in a type with unit roundoff ε carries an error of a few ε·|f| (the batch mean's
// pairwise sum rounds to O(ε log n)); 32 ε bounds that for any batch a step sees. The parabola's
// second-order term is a difference of such values, so below this floor it is rounding noise.
constexpr double kLossRoundingUlps = 32.0;

// How often one step may shorten the parabola's h to a tenth of the estimate's own greedy step.
constexpr int kMaxParabolaRescales = 3;

// The parabola through f(w), the slope gᵀu and f(w + hu) (and f(w − hu) when central), or nothing when the
// estimate is not finite, negative, or a second-order term within the loss values' rounding noise. The
// value differences are taken in double from the values the closure returns.
std::optional<double> parabola_at(Objective& objective, const TensorList& u, double slope, double h, bool central) {
  const double f0 = objective.loss();
  const double f_plus = objective.value_at(u, h);
  const double epsilon = machine_epsilon(objective.params().front().scalar_type());
  double second_order, noise;
  if (central) {
    const double f_minus = objective.value_at(u, -h);
    second_order = (f_plus - f0) + (f_minus - f0);  // h²·uᵀHu + O(h⁴)
    noise = kLossRoundingUlps * epsilon * (std::abs(f_plus) + 2.0 * std::abs(f0) + std::abs(f_minus));
  } else {
    const double step_slope = h * slope;
    second_order = 2.0 * ((f_plus - f0) - step_slope);  // h²·uᵀHu + O(h³)
    noise = 2.0 * kLossRoundingUlps * epsilon * (std::abs(f_plus) + std::abs(f0) + std::abs(step_slope));
  }
  const double value = second_order / (h * h);
  if (!std::isfinite(value) || value < 0.0 || std::abs(second_order) <= noise) return std::nullopt;
  return value;
}

}  // namespace

ParabolaCurvature::ParabolaCurvature(const CurvatureOptions& options)
    : fd_step_(options.fd_step), parabola_step_(options.parabola_step), central_(options.parabola_central) {}

// h = parabola_step·η_{t−1} assumes this step's scale is the last one's. After an outsized step (the first
// one from a flat start, typically) the curvature can grow by orders of magnitude: an h longer than the
// greedy step n/c of the estimate itself (the quadratic model's minimiser along u, PAPER §2) averages the
// curvature over a stretch this step will not travel (NanoLM: 0.08 × the exact uᵀHu, docs/performance.md
// "Parabola"). Then h = parabola_step·n/c and measure again, at most kMaxParabolaRescales times.
CurvatureEstimate ParabolaCurvature::estimate(const CurvatureQuery& query) {
  if (query.direction_sq_norm == 0.0) return {0.0};
  Objective& objective = query.objective;
  const TensorList& u = query.direction;
  double h = previous_lr_ > 0.0 ? parabola_step_ * previous_lr_
                                : fd_step_ * std::max(norm(objective.params()), 1.0) / std::sqrt(query.direction_sq_norm);
  const double slope = dot(objective.gradient(), u);
  std::optional<double> value = parabola_at(objective, u, slope, h, central_);
  for (int i = 0; i < kMaxParabolaRescales && value && -slope > 0.0 && h * *value > -slope; ++i) {
    h = parabola_step_ * -slope / *value;
    value = parabola_at(objective, u, slope, h, central_);
  }
  if (value) return {*value};
  CurvatureEstimate exact{exact_curvature(objective, u)};
  exact.fallback = true;
  return exact;
}

// "secant.lr" is where checkpoints written before the estimators were classes kept this step scale.
void ParabolaCurvature::save(torch::serialize::OutputArchive& archive) const {
  archive.write("parabola.lr", torch::tensor(previous_lr_, torch::kFloat64));
}

void ParabolaCurvature::load(torch::serialize::InputArchive& archive) {
  torch::Tensor lr;
  if (!archive.try_read("parabola.lr", lr)) archive.read("secant.lr", lr);
  previous_lr_ = lr.item<double>();
}

}  // namespace cdat
