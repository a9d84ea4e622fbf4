// The optimizer users hold (PAPER §1): one step = evaluate f and g on the closure's batch → direction
// u = base(g) → η = tuner(context) → w ← w + η u.
#pragma once

#include <cdat/direction.h>
#include <cdat/objective.h>
#include <cdat/transform.h>
#include <cdat/tuner.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace cdat {

// Everything measured on the last step (NaN where not measured).
struct StepStats {
  int64_t step = 0;                    // index of the step (0-based)
  double loss = kNotMeasured;          // f(w_t), before the update
  double lr = kNotMeasured;            // η_t
  double slope = kNotMeasured;         // g_tᵀ u_t
  double curvature = kNotMeasured;     // u_tᵀ H_t u_t
  double grad_norm = kNotMeasured;     // ‖g_t‖
  double direction_norm = kNotMeasured;  // ‖u_t‖
  TunerReport tuner;                   // what the tuner computed
  // kParabola: the estimate was unreliable (non-finite, negative or below its noise floor) and this step
  // measured uᵀHu exactly instead.
  bool curvature_fallback = false;
  // One line when something changed how this step was computed (e.g. forward AD was unsupported and the
  // run falls back to exact double backward from this step on); empty otherwise.
  std::string warning;
};

// How a step obtains uᵀHu when a tuner (or measure_curvature) asks for it.
enum class CurvatureMode {
  // Double backward on the step's own forward pass: exact, one Hessian-vector product (default).
  kExact,
  // Secant from consecutive gradients: the directional curvature of the last step,
  // c = u_{t−1}ᵀ(g_t − g_{t−1}) / (η_{t−1}‖u_{t−1}‖²), times ‖u_t‖². Costs no extra pass but lags one step
  // and, in mini batch, mixes two batches. Falls back to exact when there is no previous step with η > 0.
  kSecant,
  // Central finite differences uᵀ(g(w + hu) − g(w − hu)) / 2h with h‖u‖ = fd_step·max(‖w‖, 1):
  // two extra gradients; a check of the exact mode.
  kFiniteDifference,
  // Forward-over-reverse: a second forward and backward pass with the parameters carrying the tangent u
  // (forward-mode AD), uᵀ·JVP(∇f, u). Exact like kExact, but it cannot share the step's forward pass
  // (u depends on g), so it costs more and calls the closure twice a step. If an op lacks a forward
  // derivative, the step and the rest of the run fall back to kExact once, with StepStats::warning naming
  // the op.
  kForwardOverReverse,
  // The parabola through f(w), the slope gᵀu and one extra value f(w + hu) (PAPER §2, the quadratic model
  // of f along u): c = 2(f(w + hu) − f(w) − h·gᵀu)/h², uᵀHu to O(h); one forward pass without a graph.
  // h = parabola_step·η_{t−1} (the first step, or after η = 0: h‖u‖ = fd_step·max(‖w‖, 1)); when h·c
  // exceeds −gᵀu (h longer than the estimate's own greedy step, e.g. after an outsized first step), again
  // at h = parabola_step·(−gᵀu)/c, up to 3 times, one forward each. With
  // parabola_central, c = (f(w + hu) − 2f(w) + f(w − hu))/h², O(h²), two forwards. An estimate that is not
  // finite, negative, or whose second-order term is below the rounding noise of the loss values is
  // replaced by exact double backward for that step (StepStats::curvature_fallback).
  kParabola,
};

// Names as on the command line: exact, forward, secant, fd, parabola. parse throws InvalidOption listing them.
CurvatureMode parse_curvature_mode(const std::string& name);
std::string to_string(CurvatureMode mode);
const std::vector<std::string>& curvature_mode_names();

struct TunedOptimizerOptions {
  // Also measure uᵀHu when the tuner does not need it (diagnostics; costs the double backward).
  bool measure_curvature = false;
  CurvatureMode curvature_mode = CurvatureMode::kExact;
  double fd_step = 1e-3;  // kFiniteDifference (and kParabola's first step): relative step length
  // kParabola: h = parabola_step·η_{t−1} (shortened as above). An h at the scale of the step itself (1)
  // breaks the closed loop of CDAT; a tenth keeps the estimate local (docs/method.md).
  double parabola_step = 0.1;
  bool parabola_central = false;  // kParabola: f(w ± hu), O(h²) error, two forwards
  // Amortised curvature: measure the directional curvature κ = uᵀHu/‖u‖² on steps 0, k, 2k, … and use
  // κ̄·‖u_t‖² in between, κ̄ the last measurement. 1 = every step.
  int64_t curvature_every = 1;
  // Also measure uᵀHu on the steps whose index is a multiple of this (diagnostics; 0 = never).
  int64_t measure_curvature_every = 0;
  // After each step, p.grad() of every trained parameter holds that step's gradient ∇f(w_t) (before any
  // clipping), for hooks, logging and tools that read .grad(). Nothing needs zero_grad(): it is replaced.
  bool write_grad = true;
  // > 0: clip the gradient by its global norm before the direction (a ClipByGlobalNorm gradient
  // transform). The tuner's slope gᵀu still uses the true gradient.
  double clip_norm = 0.0;
  // Closure calls after the step's own forward (trials: the trust check's and the line search's f(w + ηu),
  // the parabola's forward, finite differences, forward-over-reverse) see the random numbers the own forward
  // saw (the same dropout mask: they evaluate the same function), and after the step the default generators
  // are where the own forward left them (the CPU generator and each CUDA one the parameters live on).
  bool same_randomness_in_trials = true;
  // Tensors the closure's forward updates in place, e.g. a module's buffers() (BatchNorm's running
  // statistics): restored after each trial to their values after the step's own forward, so that a step
  // moves them once, as a torch::optim step does.
  TensorList buffers;
  // One rank of a data-parallel run (collective.h): the closure returns the mean loss of this rank's
  // shard and every step reduces over ranks. Inactive by default.
  DataParallel data_parallel;
};

// Parameters that share a weight decay and a multiplier on their share of the update (the spirit of
// torch::optim::OptimizerParamGroup). The tuner still picks one η for the whole update, which is
// w ← w + η·u with, for the parameters of group k, u = scale_k·(direction − weight_decay_k·w).
struct ParamGroup {
  TensorList params;
  double weight_decay = 0.0;  // decoupled (AdamW-style), ≥ 0
  double scale = 1.0;         // multiplier on the group's update, ≥ 0 (0 freezes the group)
};

class TunedOptimizer {
 public:
  // One group: no weight decay, scale 1. Parameters that do not require grad are skipped (frozen).
  TunedOptimizer(TensorList params, std::unique_ptr<Direction> direction, std::unique_ptr<Tuner> tuner,
                 TunedOptimizerOptions options = {});
  // Parameter groups; frozen parameters are skipped, a parameter in two groups is an InvalidOption.
  TunedOptimizer(std::vector<ParamGroup> groups, std::unique_ptr<Direction> direction, std::unique_ptr<Tuner> tuner,
                 TunedOptimizerOptions options = {});

  // Further transforms, applied in the order added: to the gradient before the direction, or to the
  // update after the direction (after the groups' weight decay and scale). Their state is saved with the
  // optimizer's.
  void add_gradient_transform(std::unique_ptr<Transform> transform);
  void add_update_transform(std::unique_ptr<Transform> transform);

  // One step. `closure` recomputes the loss of the current parameters WITHOUT calling backward() (one
  // that does is refused with InvalidOption). Returns the loss at the parameters before the update. Throws
  // NonFiniteError on a NaN/inf loss, gradient or curvature, leaving the parameters untouched.
  torch::Tensor step(const LossClosure& closure);

  const StepStats& last_stats() const { return stats_; }
  // u_t of the last step (for diagnostics such as the alignment with the top eigenvector).
  const TensorList& last_direction() const { return last_direction_; }
  int64_t steps() const { return steps_; }
  // kForwardOverReverse: why forward AD failed (the run then uses kExact); empty while it works.
  const std::string& forward_ad_failure() const { return forward_ad_failure_; }
  // The trained parameters (those that require grad), group after group.
  const TensorList& params() const { return params_; }
  // The groups as given, less their frozen parameters.
  const std::vector<ParamGroup>& param_groups() const { return groups_; }
  Direction& direction() { return *direction_; }
  const Direction& direction() const { return *direction_; }
  Tuner& tuner() { return *tuner_; }
  const Tuner& tuner() const { return *tuner_; }

  // The whole state (direction, tuner, step counter; not the parameters) with LibTorch serialization.
  void save(torch::serialize::OutputArchive& archive) const;
  void load(torch::serialize::InputArchive& archive);

 private:
  bool has_secant_history() const;
  bool needs_gradient_graph(bool wants_curvature) const;
  double curvature(Objective& objective, const TensorList& u, double u_sq_norm);
  std::optional<double> forward_over_reverse(Objective& objective, const TensorList& u);
  bool measures_curvature_this_step() const;
  bool uses_amortised_curvature() const;
  double measured_curvature(Objective& objective, const TensorList& u, double u_sq_norm);
  std::optional<double> parabola(Objective& objective, const TensorList& u, double u_sq_norm);
  double exact_curvature(Objective& objective, const TensorList& u);

  void add_group_transforms();
  TensorList transformed_gradient(const TensorList& gradient);
  void write_gradient(const TensorList& gradient);

  std::vector<ParamGroup> groups_;
  TensorList params_;
  std::unique_ptr<Direction> direction_;
  std::vector<std::unique_ptr<Transform>> gradient_transforms_, update_transforms_;
  std::unique_ptr<Tuner> tuner_;
  TunedOptimizerOptions options_;
  int64_t steps_ = 0;
  StepStats stats_;
  TensorList last_direction_;
  // kSecant: the previous step's gradient and lr (its direction is last_direction_).
  TensorList previous_gradient_;
  double previous_lr_ = 0.0;  // also kParabola's step scale
  // Amortised curvature: κ̄ = uᵀHu/‖u‖² of the last measurement (NaN before the first).
  double directional_curvature_ = kNotMeasured;
  bool curvature_fallback_ = false;  // kParabola fell back to exact on this step
  // kForwardOverReverse: non-empty once forward AD has failed; warning_ is reported by the next stats.
  std::string forward_ad_failure_;
  std::string warning_;
};

// torch::save(optimizer, path) / torch::load(optimizer, path) support.
torch::serialize::OutputArchive& operator<<(torch::serialize::OutputArchive& archive, const TunedOptimizer& optimizer);
torch::serialize::InputArchive& operator>>(torch::serialize::InputArchive& archive, TunedOptimizer& optimizer);

}  // namespace cdat
