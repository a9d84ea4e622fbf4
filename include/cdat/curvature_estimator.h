// How a step obtains uᵀHu when a tuner (or measure_curvature) asks for it (PAPER §2: CDAT's denominator).
// One class per curvature mode, chosen by name through the registry (cdat/registry.h:
// register_curvature_estimator), like directions and tuners; amortisation over several steps is a wrapper
// around any of them. The optimizer asks an estimator two things per step: whether the step's own forward
// pass must keep the gradient's graph (for double backward), and, when a tuner wants it, the estimate.
// After every step, estimated or not, it tells the estimator what the step did (secant and parabola keep
// history). A new mode is one file and one registry line (docs/extending.md).
#pragma once

#include <cdat/objective.h>
#include <cdat/tensor_list.h>
#include <torch/serialize/archive.h>

#include <memory>
#include <string>

namespace cdat {

// Options of the built-in estimators (TunedOptimizerOptions derives from it, so they are set there).
struct CurvatureOptions {
  // The estimator's registered name (the CLI's --curvature-mode): exact (default, the paper's: double backward
  // on the step's own forward pass), parabola-central (parabola with parabola_central), parabola, forward,
  // secant, fd, or a registered one. The parabolas cost one or two forward passes where exact costs a double
  // backward (≈ 1.7 gradients), but neither passed issue 25's adoption rule: on torchvision's ResNet-18 with
  // batch normalisation the one-sided parabola ended 4–36 × above exact's final loss (GD) and the central one
  // 1.18–1.40 × (Adam) (docs/performance.md "The default step").
  std::string curvature_mode = "exact";
  double fd_step = 1e-3;  // fd (and parabola's first step): relative step length
  // parabola: h = parabola_step·η_{t−1} (shortened as in ParabolaCurvature). An h at the scale of the step
  // itself (1) breaks the closed loop of CDAT; a tenth keeps the estimate local (docs/method.md).
  double parabola_step = 0.1;
  bool parabola_central = false;  // parabola: f(w ± hu), O(h²) error, two forwards (= "parabola-central")
  // Amortised curvature: measure the directional curvature κ = uᵀHu/‖u‖² on steps 0, k, 2k, … and use
  // κ̄·‖u_t‖² in between, κ̄ the last measurement. 1 = every step.
  int64_t curvature_every = 1;
};

// Throws InvalidOption naming the option (as the CLI's key) when one is out of range or the name is not
// registered.
void validate(const CurvatureOptions& options);

// What one step offers an estimator.
struct CurvatureQuery {
  Objective& objective;  // evaluated at w_t (with the gradient graph if needs_gradient_graph said so)
  const TensorList& direction;  // u_t
  double direction_sq_norm;     // ‖u_t‖²
  int64_t step;                 // 0-based index of the step
};

struct CurvatureEstimate {
  CurvatureEstimate(double value = 0.0) : value(value) {}  // NOLINT: implicit, `return uHu;` is an estimate
  double value;  // u_tᵀ H_t u_t
  // The estimate was unreliable and this step measured uᵀHu exactly instead (StepStats::curvature_fallback).
  bool fallback = false;
  // One line when something changed how this and later steps measure (StepStats::warning); empty otherwise.
  std::string warning;
};

class CurvatureEstimator {
 public:
  virtual ~CurvatureEstimator() = default;
  virtual std::string name() const = 0;
  // Whether step `step`, if it estimates, needs the step's own forward pass to keep the gradient's graph.
  virtual bool needs_gradient_graph(int64_t step) const = 0;
  virtual CurvatureEstimate estimate(const CurvatureQuery& query) = 0;
  // After every step, estimated or not: its gradient ∇f(w_t), direction u_t and η_t.
  virtual void after_step(const TensorList& gradient, const TensorList& direction, double lr) {}
  // State for checkpoints, so that a resumed run continues exactly.
  virtual void save(torch::serialize::OutputArchive& archive) const {}
  virtual void load(torch::serialize::InputArchive& archive) {}
};

// uᵀHu by double backward on the query's forward pass; a step evaluated without the gradient graph
// evaluates again with it. The fallback of the estimators below.
double exact_curvature(Objective& objective, const TensorList& u);

// exact: double backward on the step's own forward pass, one Hessian-vector product (default).
class ExactCurvature final : public CurvatureEstimator {
 public:
  std::string name() const override { return "exact"; }
  bool needs_gradient_graph(int64_t) const override { return true; }
  CurvatureEstimate estimate(const CurvatureQuery& query) override;
};

// secant: from consecutive gradients, the directional curvature of the last step,
// c = u_{t−1}ᵀ(g_t − g_{t−1}) / (η_{t−1}‖u_{t−1}‖²), times ‖u_t‖². Costs no extra pass but lags one step
// and, in mini batch, mixes two batches. Exact when there is no previous step with η > 0.
class SecantCurvature final : public CurvatureEstimator {
 public:
  std::string name() const override { return "secant"; }
  bool needs_gradient_graph(int64_t) const override { return !has_history(); }
  CurvatureEstimate estimate(const CurvatureQuery& query) override;
  void after_step(const TensorList& gradient, const TensorList& direction, double lr) override;
  void save(torch::serialize::OutputArchive& archive) const override;
  void load(torch::serialize::InputArchive& archive) override;

 private:
  bool has_history() const { return !previous_gradient_.empty() && previous_lr_ > 0.0; }
  TensorList previous_gradient_, previous_direction_;
  double previous_lr_ = 0.0;
};

// fd: central finite differences uᵀ(g(w + hu) − g(w − hu)) / 2h with h‖u‖ = fd_step·max(‖w‖, 1): two
// extra gradients; a check of the exact mode.
class FiniteDifferenceCurvature final : public CurvatureEstimator {
 public:
  explicit FiniteDifferenceCurvature(double fd_step);
  std::string name() const override { return "fd"; }
  bool needs_gradient_graph(int64_t) const override { return false; }
  CurvatureEstimate estimate(const CurvatureQuery& query) override;

 private:
  double fd_step_;
};

// forward: forward-over-reverse, a second forward and backward pass with the parameters carrying the
// tangent u (forward-mode AD), uᵀ·JVP(∇f, u). Exact like `exact`, but it cannot share the step's forward
// pass (u depends on g), so it costs more and calls the closure twice a step. If an op lacks a forward
// derivative, this step and the rest of the run use exact double backward, once warned.
class ForwardOverReverseCurvature final : public CurvatureEstimator {
 public:
  std::string name() const override { return "forward"; }
  bool needs_gradient_graph(int64_t) const override { return !failure_.empty(); }
  CurvatureEstimate estimate(const CurvatureQuery& query) override;
  // Why forward AD failed (the run then uses exact); empty while it works.
  const std::string& failure() const { return failure_; }

 private:
  std::string failure_;
};

// parabola: the parabola through f(w), the slope gᵀu and one extra value f(w + hu) (PAPER §2, the
// quadratic model of f along u): c = 2(f(w + hu) − f(w) − h·gᵀu)/h², uᵀHu to O(h); one forward pass without
// a graph. h = parabola_step·η_{t−1} (the first step, or after η = 0: h‖u‖ = fd_step·max(‖w‖, 1)); when
// h·c exceeds −gᵀu (h longer than the estimate's own greedy step, e.g. after an outsized first step), again
// at h = parabola_step·(−gᵀu)/c, up to 3 times, one forward each. With parabola_central,
// c = (f(w + hu) − 2f(w) + f(w − hu))/h², O(h²), two forwards. An estimate that is not finite, negative, or
// whose second-order term is below the rounding noise of the loss values is replaced by exact double
// backward for that step (CurvatureEstimate::fallback).
class ParabolaCurvature final : public CurvatureEstimator {
 public:
  explicit ParabolaCurvature(const CurvatureOptions& options);
  std::string name() const override { return central_ ? "parabola-central" : "parabola"; }
  bool needs_gradient_graph(int64_t) const override { return false; }
  CurvatureEstimate estimate(const CurvatureQuery& query) override;
  void after_step(const TensorList&, const TensorList&, double lr) override { previous_lr_ = lr; }
  void save(torch::serialize::OutputArchive& archive) const override;
  void load(torch::serialize::InputArchive& archive) override;

 private:
  double fd_step_, parabola_step_;
  bool central_;
  double previous_lr_ = 0.0;
};

// Amortisation (curvature_every = k > 1) around any estimator: steps 0, k, 2k, … ask it and keep
// κ̄ = uᵀHu/‖u‖²; the steps in between use κ̄·‖u_t‖², build no graph and cost nothing.
class AmortisedCurvature final : public CurvatureEstimator {
 public:
  AmortisedCurvature(std::unique_ptr<CurvatureEstimator> inner, int64_t every);
  std::string name() const override { return inner_->name(); }
  bool needs_gradient_graph(int64_t step) const override;
  CurvatureEstimate estimate(const CurvatureQuery& query) override;
  void after_step(const TensorList& gradient, const TensorList& direction, double lr) override;
  void save(torch::serialize::OutputArchive& archive) const override;
  void load(torch::serialize::InputArchive& archive) override;

 private:
  bool reuses(int64_t step) const;
  std::unique_ptr<CurvatureEstimator> inner_;
  int64_t every_;
  double directional_curvature_;  // κ̄ of the last measurement (NaN before the first)
};

// The estimator the options name, from the registry, wrapped in AmortisedCurvature when curvature_every > 1.
// Throws InvalidOption for an unknown name (listing the valid ones) or an option out of range.
std::unique_ptr<CurvatureEstimator> make_curvature_estimator(const CurvatureOptions& options);

}  // namespace cdat
