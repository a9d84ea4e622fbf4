#include <cdat/direction.h>
#include <cdat/errors.h>

#include "option_checks.h"

#include <torch/torch.h>

#include <cmath>
#include <limits>

namespace cdat {

void validate(const DirectionOptions& o) {
  auto in_unit = [](double x) { return x >= 0.0 && x < 1.0; };
  detail::require(in_unit(o.beta1), "beta1 must be in [0, 1), got " + detail::str(o.beta1));
  detail::require(in_unit(o.beta2), "beta2 must be in [0, 1), got " + detail::str(o.beta2));
  detail::require(o.eps >= 0.0 && std::isfinite(o.eps), "eps must be finite and >= 0, got " + detail::str(o.eps));
}

Direction::Direction(DirectionOptions options) : options_(options) { validate(options_); }

TensorList Direction::compute(const TensorList& params, const TensorList& grad) {
  torch::NoGradGuard no_grad;
  ++steps_;
  return raw_direction(grad);
}

void Direction::save(torch::serialize::OutputArchive& archive) const {
  archive.write("steps", torch::tensor(steps_, torch::kInt64));
  auto named = const_cast<Direction*>(this)->state();
  for (const auto& [key, list] : named) {
    archive.write(key + ".size", torch::tensor(static_cast<int64_t>(list->size()), torch::kInt64));
    for (size_t i = 0; i < list->size(); ++i) archive.write(key + "." + std::to_string(i), (*list)[i]);
  }
}

void Direction::load(torch::serialize::InputArchive& archive) {
  torch::Tensor steps;
  archive.read("steps", steps);
  steps_ = steps.item<int64_t>();
  for (auto& [key, list] : state()) {
    torch::Tensor size;
    archive.read(key + ".size", size);
    list->assign(static_cast<size_t>(size.item<int64_t>()), torch::Tensor());
    for (size_t i = 0; i < list->size(); ++i) archive.read(key + "." + std::to_string(i), (*list)[i]);
  }
}

double Direction::stability_threshold(double lr) const {
  if (!(lr > 0.0)) return std::numeric_limits<double>::quiet_NaN();
  return 2.0 / lr;
}

GradientDescent::GradientDescent(DirectionOptions options) : Direction(options) {}

TensorList GradientDescent::raw_direction(const TensorList& grad) {
  TensorList u;
  u.reserve(grad.size());
  for (const auto& g : grad) u.push_back(-g.detach());
  return u;
}

Momentum::Momentum(DirectionOptions options, bool nesterov) : Direction(options), nesterov_(nesterov) {}

TensorList Momentum::raw_direction(const TensorList& grad) {
  const double beta = options_.beta1;
  if (m_.empty()) {
    m_ = clone_detached(grad);  // torch::optim::SGD starts the buffer at the first gradient
  } else {
    for (size_t i = 0; i < grad.size(); ++i) m_[i].mul_(beta).add_(grad[i].detach());
  }
  TensorList u;
  u.reserve(grad.size());
  for (size_t i = 0; i < grad.size(); ++i) {
    u.push_back(nesterov_ ? -(grad[i].detach() + beta * m_[i]) : -m_[i]);
  }
  return u;
}

double Momentum::stability_threshold(double lr) const {
  if (!(lr > 0.0)) return std::numeric_limits<double>::quiet_NaN();
  const double b = options_.beta1;
  return nesterov_ ? (2.0 + 2.0 * b) / ((1.0 + 2.0 * b) * lr) : (2.0 + 2.0 * b) / lr;
}

RMSProp::RMSProp(DirectionOptions options) : Direction(options) {}

TensorList RMSProp::raw_direction(const TensorList& grad) {
  const double beta2 = options_.beta2;
  if (v_.empty()) v_ = zeros_like(grad);
  TensorList u;
  u.reserve(grad.size());
  for (size_t i = 0; i < grad.size(); ++i) {
    const auto g = grad[i].detach();
    v_[i].mul_(beta2).addcmul_(g, g, 1.0 - beta2);
    u.push_back(-g / (v_[i].sqrt() + options_.eps));
  }
  return u;
}

std::optional<TensorList> RMSProp::preconditioner() const {
  if (v_.empty()) return std::nullopt;
  TensorList p;
  for (const auto& v : v_) p.push_back(v.sqrt() + options_.eps);
  return p;
}

Adam::Adam(DirectionOptions options) : Direction(options) {}

TensorList Adam::raw_direction(const TensorList& grad) {
  const double beta1 = options_.beta1, beta2 = options_.beta2;
  if (m_.empty()) {
    m_ = zeros_like(grad);
    v_ = zeros_like(grad);
  }
  // Bias correction as torch::optim::Adam: u = −(m/bc1) / (sqrt(v)/sqrt(bc2) + ε).
  const double bc1 = 1.0 - std::pow(beta1, static_cast<double>(steps_));
  const double sqrt_bc2 = std::sqrt(1.0 - std::pow(beta2, static_cast<double>(steps_)));
  TensorList u;
  u.reserve(grad.size());
  for (size_t i = 0; i < grad.size(); ++i) {
    const auto g = grad[i].detach();
    m_[i].mul_(beta1).add_(g, 1.0 - beta1);
    v_[i].mul_(beta2).addcmul_(g, g, 1.0 - beta2);
    u.push_back(-(m_[i] / bc1) / (v_[i].sqrt() / sqrt_bc2 + options_.eps));
  }
  return u;
}

double Adam::stability_threshold(double lr) const {
  if (!(lr > 0.0)) return std::numeric_limits<double>::quiet_NaN();
  const double b = options_.beta1;
  return (2.0 + 2.0 * b) / ((1.0 - b) * lr);
}

std::optional<TensorList> Adam::preconditioner() const {
  if (v_.empty() || steps_ == 0) return std::nullopt;
  const double sqrt_bc2 = std::sqrt(1.0 - std::pow(options_.beta2, static_cast<double>(steps_)));
  TensorList p;
  for (const auto& v : v_) p.push_back(v.sqrt() / sqrt_bc2 + options_.eps);
  return p;
}

}  // namespace cdat
