#include <cdat/direction.h>
#include <cdat/errors.h>

#include <torch/torch.h>

#include <cmath>

namespace cdat {

Direction::Direction(DirectionOptions options) : options_(options) {
  auto in_unit = [](double x) { return x >= 0.0 && x < 1.0; };
  if (!in_unit(options_.beta1)) throw InvalidOption("beta1 must be in [0, 1), got " + std::to_string(options_.beta1));
  if (!in_unit(options_.beta2)) throw InvalidOption("beta2 must be in [0, 1), got " + std::to_string(options_.beta2));
  if (!(options_.eps >= 0.0)) throw InvalidOption("eps must be >= 0, got " + std::to_string(options_.eps));
  if (!(options_.weight_decay >= 0.0)) {
    throw InvalidOption("weight_decay must be >= 0, got " + std::to_string(options_.weight_decay));
  }
}

TensorList Direction::compute(const TensorList& params, const TensorList& grad) {
  torch::NoGradGuard no_grad;
  ++steps_;
  TensorList u = raw_direction(grad);
  // Decoupled weight decay (PAPER §1): added to the direction, so it is scaled by η like the rest.
  if (options_.weight_decay > 0.0) {
    for (size_t i = 0; i < u.size(); ++i) u[i].add_(params[i].detach(), -options_.weight_decay);
  }
  return u;
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

std::optional<TensorList> Adam::preconditioner() const {
  if (v_.empty() || steps_ == 0) return std::nullopt;
  const double sqrt_bc2 = std::sqrt(1.0 - std::pow(options_.beta2, static_cast<double>(steps_)));
  TensorList p;
  for (const auto& v : v_) p.push_back(v.sqrt() / sqrt_bc2 + options_.eps);
  return p;
}

const std::vector<std::string>& direction_names() {
  static const std::vector<std::string> names = {"gd", "momentum", "nesterov", "rmsprop", "adam"};
  return names;
}

std::unique_ptr<Direction> make_direction(const std::string& name, const DirectionOptions& options) {
  if (name == "gd") return std::make_unique<GradientDescent>(options);
  if (name == "momentum") return std::make_unique<Momentum>(options, false);
  if (name == "nesterov") return std::make_unique<Momentum>(options, true);
  if (name == "rmsprop") return std::make_unique<RMSProp>(options);
  if (name == "adam") return std::make_unique<Adam>(options);
  std::string valid;
  for (const auto& n : direction_names()) valid += (valid.empty() ? "" : ", ") + n;
  throw InvalidOption("unknown optimizer '" + name + "' (valid: " + valid + ")");
}

}  // namespace cdat
