// Access to the objective f of the current batch (PAPER §2): loss, gradient, and curvature along a
// direction (uᵀHu) or Hessian-vector products, all from ONE forward pass (double backward on the same
// graph), plus trial values f(w + ηu) for line searches.
#pragma once

#include <cdat/collective.h>
#include <cdat/tensor_list.h>

#include <functional>

namespace cdat {

// Recomputes the loss of the current parameters and returns it as a scalar tensor *with its graph*.
// Unlike torch::optim's closures it must NOT call backward(): the optimizer differentiates itself.
using LossClosure = std::function<torch::Tensor()>;

class Objective {
 public:
  // With an active `data_parallel`, every value below is the shard-weighted sum over ranks (collective.h),
  // reduced before any finiteness check so that all ranks throw NonFiniteError together.
  Objective(TensorList params, LossClosure closure, DataParallel data_parallel = {});
  // Puts the parameters back at the evaluated point if a kept trial (trial_value_at) left them elsewhere.
  ~Objective();
  Objective(const Objective&) = delete;
  Objective& operator=(const Objective&) = delete;

  // One forward pass and the gradient. With `keep_graph_for_curvature` the gradient graph is built
  // (create_graph) so that curvature() and hvp() can differentiate it again without a new forward.
  // `forward`, when defined, is that forward pass already done at the current parameters (the loss with its
  // graph, e.g. the last step's accepted trial, take_trial): the closure is not called.
  // Throws NonFiniteError if the loss or the gradient is not finite.
  void evaluate(bool keep_graph_for_curvature, torch::Tensor forward = {});

  double loss() const { return loss_value_; }
  const TensorList& gradient() const { return data_parallel_.active() ? reduced_grad_ : grad_; }
  const TensorList& params() const { return params_; }
  bool has_graph() const { return has_graph_; }  // evaluated with the gradient graph, not released

  // Hv at the evaluated point. Requires evaluate(true). `keep_graph` allows further products.
  TensorList hvp(const TensorList& v, bool keep_graph = true);
  // uᵀHu at the evaluated point (one extra backward). Requires evaluate(true).
  double curvature(const TensorList& u, bool keep_graph = false);
  // uᵀHu by forward-over-reverse: a NEW forward and backward pass in which the parameters carry the
  // tangent u (LibTorch forward AD, dual level 0), so that the gradient's tangent is Hu. Needs no graph
  // from evaluate(). Throws c10::Error when an op of the loss or of its backward has no forward
  // derivative; the parameters are left without tangent in every case.
  double curvature_forward_over_reverse(const TensorList& u);

  // f(w + η u) by one forward pass without autograd; the parameters are restored bit-exactly.
  double value_at(const TensorList& u, double eta);
  // f(w + η u) as a trial the step may keep: one forward pass WITH its graph, and the parameters stay at
  // w + ηu, computed as the update w ← w + ηu computes them (bit for bit). Every other method first puts the
  // parameters back at w (exactly, from a copy), as does the destructor; take_trial(η) keeps them there.
  double trial_value_at(const TensorList& u, double eta);
  // When the last call that moved the parameters was trial_value_at(u, eta) with this very η: its forward
  // (the loss with its graph), and the parameters stay at w + ηu, the update done. Otherwise an undefined
  // tensor, and the parameters are at w.
  torch::Tensor take_trial(double eta);
  // The parameters at the evaluated point w: params(), or their copy while a kept trial has moved them.
  const TensorList& evaluated_params() const { return trial_pending_ ? snapshot_ : params_; }
  // ∇f(w + η u) by one forward and one backward pass; the parameters are restored bit-exactly.
  TensorList gradient_at(const TensorList& u, double eta);

  // Drops the autograd graph (frees its memory).
  void release_graph();

 private:
  TensorList local_hvp(const TensorList& v, bool keep_graph);
  template <typename F>
  auto at_shifted_point(const TensorList& u, double eta, F&& evaluate);
  void restore_evaluated_point();  // undoes a kept trial's move of the parameters
  void move_to(const TensorList& u, double eta);  // w → w + ηu (the update's arithmetic), w kept in snapshot_

  TensorList params_;
  LossClosure closure_;
  DataParallel data_parallel_;
  TensorList grad_;      // this process's gradient; with a graph when evaluated for curvature
  TensorList reduced_grad_;  // data parallel: the gradient summed over ranks
  TensorList snapshot_;  // parameters at the evaluated point, taken by the first value_at()
  double loss_value_ = 0.0;
  bool has_graph_ = false;
  // The last trial_value_at: its forward and η, while the parameters are at w + ηu.
  bool trial_pending_ = false;
  torch::Tensor trial_forward_;
  double trial_eta_ = 0.0;
};

}  // namespace cdat
