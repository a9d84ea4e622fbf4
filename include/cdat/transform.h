// Transformations of a gradient or of an update, in the manner of optax's GradientTransformation: each
// maps a list of parameter-shaped tensors to another, may keep state, and they compose in order. The
// TunedOptimizer applies its gradient transforms to g before the direction (e.g. clipping) and its update
// transforms to u after it (e.g. decoupled weight decay, a parameter group's multiplier):
//   g ─ gradient transforms ─▶ direction (base optimizer) ─▶ update transforms ─▶ u,   w ← w + η·u.
#pragma once

#include <cdat/tensor_list.h>

#include <torch/serialize/archive.h>

#include <string>
#include <vector>

namespace cdat {

class Transform {
 public:
  virtual ~Transform() = default;
  virtual std::string name() const = 0;
  // Transforms `values` (a gradient or an update, shaped like `params`) in place. No autograd.
  virtual void apply(const TensorList& params, TensorList& values) = 0;
  virtual void save(torch::serialize::OutputArchive& archive) const {}
  virtual void load(torch::serialize::InputArchive& archive) {}
};

// g ← g · min(1, max_norm / ‖g‖) with the norm over all parameters together (torch::nn::utils::
// clip_grad_norm_, optax.clip_by_global_norm). max_norm > 0.
class ClipByGlobalNorm final : public Transform {
 public:
  explicit ClipByGlobalNorm(double max_norm);
  std::string name() const override { return "clip_by_global_norm"; }
  void apply(const TensorList& params, TensorList& values) override;
  double max_norm() const { return max_norm_; }

 private:
  double max_norm_;
};

// Decoupled weight decay (PAPER §1, AdamW): u_i ← u_i − λ_i·w_i, so the decay is scaled by η with the rest
// of the update. One rate per parameter tensor (parameter groups give different rates), each ≥ 0.
class AddDecayedWeights final : public Transform {
 public:
  explicit AddDecayedWeights(std::vector<double> rates);
  std::string name() const override { return "add_decayed_weights"; }
  void apply(const TensorList& params, TensorList& values) override;

 private:
  std::vector<double> rates_;
};

// u_i ← s_i·u_i: a parameter group's multiplier on its share of the update. One finite scale ≥ 0 per
// parameter tensor.
class ScaleByParameter final : public Transform {
 public:
  explicit ScaleByParameter(std::vector<double> scales);
  std::string name() const override { return "scale_by_parameter"; }
  void apply(const TensorList& params, TensorList& values) override;

 private:
  std::vector<double> scales_;
};

}  // namespace cdat
