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
  double weight_decay = 0.0;    // decoupled: u ← u − weight_decay · w
};

class Direction {
 public:
  virtual ~Direction() = default;
  virtual std::string name() const = 0;

  // u_t from g_t (and the parameters w_t, for weight decay). Advances the state by one step.
  TensorList compute(const TensorList& params, const TensorList& grad);

  // Diagonal preconditioner P (same shapes as the parameters) such that u = −P⁻¹·(gradient statistic),
  // for the preconditioned sharpness λ_max(P^{-1/2} H P^{-1/2}) of PAPER §3. nullopt for GD/momentum.
  virtual std::optional<TensorList> preconditioner() const { return std::nullopt; }

  // Number of steps taken so far.
  int64_t steps() const { return steps_; }
  const DirectionOptions& options() const { return options_; }

  void save(torch::serialize::OutputArchive& archive) const;
  void load(torch::serialize::InputArchive& archive);

 protected:
  explicit Direction(DirectionOptions options);
  // The direction without weight decay; state update included. `steps_` is already incremented.
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

 private:
  TensorList raw_direction(const TensorList& grad) override;
  std::vector<std::pair<std::string, TensorList*>> state() override { return {{"m", &m_}, {"v", &v_}}; }
  TensorList m_, v_;
};

// Builds a direction by name: gd, momentum, nesterov, rmsprop, adam. Throws InvalidOption otherwise.
std::unique_ptr<Direction> make_direction(const std::string& name, const DirectionOptions& options = {});
// The names make_direction accepts.
const std::vector<std::string>& direction_names();

}  // namespace cdat
