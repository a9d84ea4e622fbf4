#include <cdat/curvature_estimator.h>
#include <cdat/errors.h>

#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <utility>

namespace cdat {

AmortisedCurvature::AmortisedCurvature(std::unique_ptr<CurvatureEstimator> inner, int64_t every)
    : inner_(std::move(inner)), every_(every), directional_curvature_(std::numeric_limits<double>::quiet_NaN()) {
  if (!inner_) throw InvalidOption("cdat::AmortisedCurvature: no estimator");
}

// Between two measurements (every `every_` steps) the curvature is κ̄·‖u‖².
bool AmortisedCurvature::reuses(int64_t step) const {
  return every_ > 1 && step % every_ != 0 && std::isfinite(directional_curvature_);
}

bool AmortisedCurvature::needs_gradient_graph(int64_t step) const {
  return !reuses(step) && inner_->needs_gradient_graph(step);
}

CurvatureEstimate AmortisedCurvature::estimate(const CurvatureQuery& query) {
  if (reuses(query.step)) return {directional_curvature_ * query.direction_sq_norm};
  CurvatureEstimate estimate = inner_->estimate(query);
  if (query.direction_sq_norm > 0.0) directional_curvature_ = estimate.value / query.direction_sq_norm;
  return estimate;
}

void AmortisedCurvature::after_step(const TensorList& gradient, const TensorList& direction, double lr) {
  inner_->after_step(gradient, direction, lr);
}

void AmortisedCurvature::save(torch::serialize::OutputArchive& archive) const {
  inner_->save(archive);
  archive.write("curvature.directional", torch::tensor(directional_curvature_, torch::kFloat64));
}

// Checkpoints without κ̄ (written with curvature_every = 1): measure anew at the next step.
void AmortisedCurvature::load(torch::serialize::InputArchive& archive) {
  inner_->load(archive);
  torch::Tensor directional;
  directional_curvature_ = archive.try_read("curvature.directional", directional) ? directional.item<double>()
                                                                                   : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace cdat
