#include <cdat/errors.h>
#include <cdat/objective.h>

#include <torch/torch.h>

#include <cmath>
#include <utility>

namespace cdat {
namespace {

// Gradient of `output` w.r.t. `inputs`; unused inputs get zeros instead of undefined tensors.
TensorList grad_or_zeros(const torch::Tensor& output, const TensorList& inputs, bool retain_graph,
                         bool create_graph) {
  TensorList grads = torch::autograd::grad({output}, inputs, /*grad_outputs=*/{}, retain_graph, create_graph,
                                           /*allow_unused=*/true);
  for (size_t i = 0; i < grads.size(); ++i) {
    if (!grads[i].defined()) grads[i] = torch::zeros_like(inputs[i]);
  }
  return grads;
}

// A forward-AD dual level that is exited however the scope ends (which clears every tangent set in it).
class DualLevel {
 public:
  DualLevel() : level_(torch::autograd::forward_ad::enter_dual_level()) {}
  ~DualLevel() { torch::autograd::forward_ad::exit_dual_level(level_); }
  DualLevel(const DualLevel&) = delete;
  DualLevel& operator=(const DualLevel&) = delete;
  uint64_t level() const { return level_; }

 private:
  uint64_t level_;
};

}  // namespace

Objective::Objective(TensorList params, LossClosure closure, DataParallel data_parallel)
    : params_(std::move(params)), closure_(std::move(closure)), data_parallel_(std::move(data_parallel)) {
  for (const auto& p : params_) {
    if (!p.requires_grad()) throw InvalidOption("cdat: every parameter must have requires_grad() set");
  }
}

Objective::~Objective() {
  try {
    restore_evaluated_point();
  } catch (...) {  // a destructor must not throw; a copy between tensors of one shape does not fail
  }
}

void Objective::evaluate(bool keep_graph_for_curvature, torch::Tensor forward) {
  restore_evaluated_point();
  release_graph();
  snapshot_.clear();
  torch::Tensor loss = forward.defined() ? std::move(forward) : closure_();
  if (!loss.defined() || loss.numel() != 1) {
    throw InvalidOption("cdat: the closure must return a scalar loss tensor");
  }
  // create_graph keeps the graph of g itself, so that uᵀHu = ∂(gᵀu)/∂w · u needs no new forward.
  grad_ = grad_or_zeros(loss, params_, keep_graph_for_curvature, keep_graph_for_curvature);
  loss_value_ = data_parallel_.weighted_sum(loss.item<double>());
  if (data_parallel_.active()) reduced_grad_ = data_parallel_.weighted_sum(grad_);
  if (!std::isfinite(loss_value_)) {
    throw NonFiniteError("cdat: loss is not finite (" + std::to_string(loss_value_) + ")");
  }
  if (!all_finite(gradient())) throw NonFiniteError("cdat: gradient is not finite");
  has_graph_ = keep_graph_for_curvature;
  if (!has_graph_) {
    for (auto& g : grad_) g = g.detach();
  }
}

TensorList Objective::hvp(const TensorList& v, bool keep_graph) {
  return data_parallel_.weighted_sum(local_hvp(v, keep_graph));
}

TensorList Objective::local_hvp(const TensorList& v, bool keep_graph) {
  restore_evaluated_point();
  TORCH_CHECK(has_graph_, "cdat::Objective::hvp needs evaluate(true) first");
  // Hv = ∇_w (gᵀv) with v held constant.
  std::vector<torch::Tensor> parts;
  parts.reserve(grad_.size());
  for (size_t i = 0; i < grad_.size(); ++i) parts.push_back((grad_[i] * v[i].detach()).sum());
  torch::Tensor g_dot_v = torch::stack(parts).sum();
  TensorList result = grad_or_zeros(g_dot_v, params_, keep_graph, /*create_graph=*/false);
  if (!keep_graph) release_graph();
  return result;
}

double Objective::curvature(const TensorList& u, bool keep_graph) {
  const double value = data_parallel_.weighted_sum(dot(local_hvp(u, keep_graph), u));
  if (!std::isfinite(value)) throw NonFiniteError("cdat: curvature uᵀHu is not finite");
  return value;
}

double Objective::curvature_forward_over_reverse(const TensorList& u) {
  restore_evaluated_point();
  const DualLevel dual;
  // LibTorch's backward formulas propagate tangents through their saved tensors at level 0 only.
  TORCH_CHECK(dual.level() == 0, "cdat: forward-over-reverse needs forward-AD level 0 (another level is open)");
  for (size_t i = 0; i < params_.size(); ++i) {
    params_[i]._set_fw_grad(u[i].detach(), dual.level(), /*is_inplace_op=*/false);
  }
  // The backward's ops compute their tangents (forward AD is not switched off by the engine's no-grad
  // mode), so no graph of the backward itself is needed.
  const TensorList grads = grad_or_zeros(closure_(), params_, /*retain_graph=*/false, /*create_graph=*/false);
  std::vector<torch::Tensor> parts;
  parts.reserve(grads.size());
  for (size_t i = 0; i < grads.size(); ++i) {
    const torch::Tensor hu = grads[i]._fw_grad(dual.level());  // undefined: Hu is zero for this tensor
    if (hu.defined()) parts.push_back((hu.detach() * u[i].detach()).sum().to(torch::kFloat64));
  }
  const double value = data_parallel_.weighted_sum(parts.empty() ? 0.0 : torch::stack(parts).sum().item<double>());
  if (!std::isfinite(value)) throw NonFiniteError("cdat: curvature uᵀHu is not finite");
  return value;
}

// One snapshot of w per evaluated point: restoring by copy is exact, w + ηu − ηu is not.
void Objective::move_to(const TensorList& u, double eta) {
  restore_evaluated_point();
  if (snapshot_.empty()) snapshot_ = clone_detached(params_);
  add_scaled_(params_, u, eta);  // the arithmetic of the update w ← w + ηu (optimizer.cpp)
}

// Runs `evaluate` at w + ηu, then puts w back.
template <typename F>
auto Objective::at_shifted_point(const TensorList& u, double eta, F&& evaluate) {
  move_to(u, eta);
  try {
    auto result = evaluate();
    copy_(params_, snapshot_);
    return result;
  } catch (...) {
    copy_(params_, snapshot_);
    throw;
  }
}

double Objective::value_at(const TensorList& u, double eta) {
  torch::NoGradGuard no_grad;
  return data_parallel_.weighted_sum(at_shifted_point(u, eta, [&] { return closure_().item<double>(); }));
}

TensorList Objective::gradient_at(const TensorList& u, double eta) {
  return data_parallel_.weighted_sum(at_shifted_point(u, eta, [&] {
    return grad_or_zeros(closure_(), params_, /*retain_graph=*/false, /*create_graph=*/false);
  }));
}

double Objective::trial_value_at(const TensorList& u, double eta) {
  move_to(u, eta);
  trial_pending_ = true;
  trial_eta_ = eta;
  try {
    torch::AutoGradMode with_graph(true);
    trial_forward_ = closure_();
    return data_parallel_.weighted_sum(trial_forward_.item<double>());
  } catch (...) {
    restore_evaluated_point();
    throw;
  }
}

torch::Tensor Objective::take_trial(double eta) {
  if (!trial_pending_ || trial_eta_ != eta) {
    restore_evaluated_point();
    return {};
  }
  trial_pending_ = false;
  return std::exchange(trial_forward_, torch::Tensor());
}

// Copying back is exact, w + ηu − ηu is not. The kept forward's graph goes with it: it saved the moved
// parameters, which the copy overwrites.
void Objective::restore_evaluated_point() {
  if (!trial_pending_) return;
  trial_forward_ = torch::Tensor();
  trial_pending_ = false;
  copy_(params_, snapshot_);
}

void Objective::release_graph() {
  if (has_graph_) {
    for (auto& g : grad_) g = g.detach();
    has_graph_ = false;
  }
}

}  // namespace cdat
