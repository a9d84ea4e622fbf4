#include <cdat/curvature_estimator.h>

#include <torch/torch.h>

#include <string>

namespace cdat {

// y = g_t − g_{t−1} over the step s = η_{t−1} u_{t−1}: u_{t−1}ᵀ y / η_{t−1} = u_{t−1}ᵀ H̄ u_{t−1} for the
// Hessian averaged along the step; rescaled from ‖u_{t−1}‖² to ‖u_t‖².
CurvatureEstimate SecantCurvature::estimate(const CurvatureQuery& query) {
  if (!has_history()) return {exact_curvature(query.objective, query.direction)};
  const TensorList& u_prev = previous_direction_;
  const double along_previous = (dot(u_prev, query.objective.gradient()) - dot(u_prev, previous_gradient_)) / previous_lr_;
  return {along_previous / dot(u_prev, u_prev) * query.direction_sq_norm};
}

void SecantCurvature::after_step(const TensorList& gradient, const TensorList& direction, double lr) {
  previous_gradient_ = gradient;
  previous_direction_ = direction;
  previous_lr_ = lr;
}

// The keys of checkpoints written before the estimators were classes, so those resume exactly too.
void SecantCurvature::save(torch::serialize::OutputArchive& archive) const {
  archive.write("secant.lr", torch::tensor(previous_lr_, torch::kFloat64));
  archive.write("secant.size", torch::tensor(static_cast<int64_t>(previous_gradient_.size()), torch::kInt64));
  for (size_t i = 0; i < previous_gradient_.size(); ++i) {
    archive.write("secant.g." + std::to_string(i), previous_gradient_[i]);
    archive.write("secant.u." + std::to_string(i), previous_direction_[i]);
  }
}

void SecantCurvature::load(torch::serialize::InputArchive& archive) {
  torch::Tensor lr, size;
  archive.read("secant.lr", lr);
  archive.read("secant.size", size);
  previous_lr_ = lr.item<double>();
  previous_gradient_.assign(static_cast<size_t>(size.item<int64_t>()), torch::Tensor());
  previous_direction_.assign(previous_gradient_.size(), torch::Tensor());
  for (size_t i = 0; i < previous_gradient_.size(); ++i) {
    archive.read("secant.g." + std::to_string(i), previous_gradient_[i]);
    archive.read("secant.u." + std::to_string(i), previous_direction_[i]);
  }
}

}  // namespace cdat
