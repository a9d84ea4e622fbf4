#include <cdat/transform.h>

#include <torch/torch.h>

#include <cmath>

#include "option_checks.h"

namespace cdat {
namespace {

using detail::require;
using detail::str;

void require_one_per_parameter(size_t count, const TensorList& params, const std::string& transform) {
  require(count == params.size(), "cdat::" + transform + ": " + std::to_string(count) + " values for " +
                                      std::to_string(params.size()) + " parameter tensors");
}

}  // namespace

ClipByGlobalNorm::ClipByGlobalNorm(double max_norm) : max_norm_(max_norm) {
  require(std::isfinite(max_norm) && max_norm > 0.0, "clip-norm must be finite and > 0, got " + str(max_norm));
}

void ClipByGlobalNorm::apply(const TensorList&, TensorList& values) {
  const double total = norm(values);
  if (!(total > max_norm_)) return;  // also leaves a non-finite gradient for the optimizer's check
  torch::NoGradGuard no_grad;
  for (auto& v : values) v = v * (max_norm_ / total);
}

AddDecayedWeights::AddDecayedWeights(std::vector<double> rates) : rates_(std::move(rates)) {
  for (double rate : rates_) {
    require(std::isfinite(rate) && rate >= 0.0, "weight-decay must be finite and >= 0, got " + str(rate));
  }
}

void AddDecayedWeights::apply(const TensorList& params, TensorList& values) {
  require_one_per_parameter(rates_.size(), params, name());
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < values.size(); ++i) {
    // Out of place (a direction may hand out its own state), with add's kernel as before the transforms.
    if (rates_[i] != 0.0) values[i] = torch::add(values[i], params[i].detach(), -rates_[i]);
  }
}

ScaleByParameter::ScaleByParameter(std::vector<double> scales) : scales_(std::move(scales)) {
  for (double scale : scales_) {
    require(std::isfinite(scale) && scale >= 0.0, "a parameter group's scale must be finite and >= 0, got " + str(scale));
  }
}

void ScaleByParameter::apply(const TensorList& params, TensorList& values) {
  require_one_per_parameter(scales_.size(), params, name());
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < values.size(); ++i) {
    if (scales_[i] != 1.0) values[i] = values[i] * scales_[i];
  }
}

}  // namespace cdat
