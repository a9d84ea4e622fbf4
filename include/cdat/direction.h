// Base optimizers as *directions* (PAPER §1): each turns the gradient g_t into an update direction u_t
// and owns its state (momentum, second moments, step count). No learning rate lives here: the update
// is w ← w + η u with η chosen by a Tuner.
#pragma once

#include <cdat/tensor_list.h>

#include <torch/serialize/archive.h>

#include <memory>
#include <optional>
#include <string>

namespace cdat {

struct DirectionOptions {
  double beta1 = 0.9;           // momentum (momentum, nesterov, adam)
  double beta2 = 0.999;         // second-moment decay (rmsprop, adam)
  double eps = 1e-8;            // added to sqrt(v) (rmsprop, adam)
  // Weight decay is not a direction's: it is a parameter group's (ParamGroup::weight_decay, applied by
  // the AddDecayedWeights transform after the direction).
};

// Throws InvalidOption naming the option (as the CLI's key) when one is out of range. Direction's
// constructor and the CLI both call it.
void validate(const DirectionOptions& options);

class Direction {
 public:
  virtual ~Direction() = default;
  virtual std::string name() const = 0;

  // u_t from g_t (the parameters w_t are there for directions that need them). Advances the state by one step.
  TensorList compute(const TensorList& params, const TensorList& grad);

  // Diagonal preconditioner P (same shapes as the parameters) such that u = −P⁻¹·(gradient statistic),
  // for the preconditioned sharpness λ_max(P^{-1/2} H P^{-1/2}) of PAPER §3. nullopt for GD/momentum.
  virtual std::optional<TensorList> preconditioner() const { return std::nullopt; }
  // Whether the edge of stability of this direction concerns the preconditioned sharpness
  // λ_max(P^{-1/2} H P^{-1/2}) rather than λ_max(H) (PAPER §3): true for RMSProp and Adam.
  virtual bool sharpness_is_preconditioned() const { return false; }
  // The edge of stability at learning rate η (PAPER §3): the largest sharpness for which the update,
  // linearised on a quadratic, is stable. GD: |1 − ηλ| ≤ 1 ⇔ λ ≤ 2/η. NaN when η ≤ 0 (no edge).
  virtual double stability_threshold(double lr) const;

  // Number of steps taken so far.
  int64_t steps() const { return steps_; }
  const DirectionOptions& options() const { return options_; }

  void save(torch::serialize::OutputArchive& archive) const;
  void load(torch::serialize::InputArchive& archive);

 protected:
  explicit Direction(DirectionOptions options);
  // The direction; state update included. `steps_` is already incremented.
  virtual TensorList raw_direction(const TensorList& grad) = 0;
  // Named state tensors, for serialisation (may be empty before the first step).
  virtual std::vector<std::pair<std::string, TensorList*>> state() { return {}; }

  DirectionOptions options_;
  int64_t steps_ = 0;
};

// u = −g
class GradientDescent final : public Direction {
 public:
  explicit GradientDescent(DirectionOptions options = {});
  std::string name() const override { return "gd"; }

 private:
  TensorList raw_direction(const TensorList& grad) override;
};

// Heavy ball: m ← β₁ m + g, u = −m. Nesterov: u = −(g + β₁ m) (torch::optim::SGD conventions).
class Momentum final : public Direction {
 public:
  explicit Momentum(DirectionOptions options = {}, bool nesterov = false);
  std::string name() const override { return nesterov_ ? "nesterov" : "momentum"; }
  // Heavy ball (2 + 2β₁)/η; Nesterov (2 + 2β₁)/((1 + 2β₁)η): the eigenvalue of the 2×2 linearised
  // update (w, m) that reaches −1 first.
  double stability_threshold(double lr) const override;

 private:
  TensorList raw_direction(const TensorList& grad) override;
  std::vector<std::pair<std::string, TensorList*>> state() override { return {{"m", &m_}}; }
  bool nesterov_;
  TensorList m_;
};

// v ← β₂ v + (1−β₂) g², u = −g / (sqrt(v) + ε).
class RMSProp final : public Direction {
 public:
  explicit RMSProp(DirectionOptions options = {});
  std::string name() const override { return "rmsprop"; }
  std::optional<TensorList> preconditioner() const override;
  bool sharpness_is_preconditioned() const override { return true; }  // 2/η on λ_max(P^{-1/2}HP^{-1/2})

 private:
  TensorList raw_direction(const TensorList& grad) override;
  std::vector<std::pair<std::string, TensorList*>> state() override { return {{"v", &v_}}; }
  TensorList v_;
};

// m ← β₁ m + (1−β₁) g, v ← β₂ v + (1−β₂) g², u = −m̂ / (sqrt(v̂) + ε) with bias-corrected m̂, v̂.
class Adam final : public Direction {
 public:
  explicit Adam(DirectionOptions options = {});
  std::string name() const override { return "adam"; }
  std::optional<TensorList> preconditioner() const override;
  bool sharpness_is_preconditioned() const override { return true; }
  // (2 + 2β₁)/((1 − β₁)η) on the preconditioned sharpness: heavy ball on P^{-1/2}HP^{-1/2} with the
  // gradient scaled by (1 − β₁) (PAPER §3).
  double stability_threshold(double lr) const override;

 private:
  TensorList raw_direction(const TensorList& grad) override;
  std::vector<std::pair<std::string, TensorList*>> state() override { return {{"m", &m_}, {"v", &v_}}; }
  TensorList m_, v_;
};

// Builds a direction by name from the registry (cdat/registry.h): gd, momentum, nesterov, rmsprop, adam,
// and any registered one. Throws InvalidOption otherwise, listing the valid names.
std::unique_ptr<Direction> make_direction(const std::string& name, const DirectionOptions& options = {});
// The names make_direction accepts, built-in ones first.
std::vector<std::string> direction_names();

}  // namespace cdat
