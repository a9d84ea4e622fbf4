// The optimizer users hold (PAPER §1): one step = evaluate f and g on the closure's batch → direction
// u = base(g) → η = tuner(context) → w ← w + η u.
#pragma once

#include <cdat/curvature_estimator.h>
#include <cdat/direction.h>
#include <cdat/objective.h>
#include <cdat/transform.h>
#include <cdat/tuner.h>

#include <memory>
#include <string>
#include <utility>
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
  // The curvature estimate was unreliable (parabola: non-finite, negative or below its noise floor) and this
  // step measured uᵀHu exactly instead.
  bool curvature_fallback = false;
  // The step's own forward was the last step's accepted trial (TunedOptimizerOptions::full_batch): the closure
  // was not called for f(w_t); the last step's last call of it was at w_t.
  bool reused_forward = false;
  // One line when something changed how this step was computed (e.g. forward AD was unsupported and the
  // run falls back to exact double backward from this step on); empty otherwise.
  std::string warning;
};

// How uᵀHu is obtained (curvature_mode, fd_step, parabola_step, parabola_central, curvature_every) comes
// from CurvatureOptions (cdat/curvature_estimator.h).
struct TunedOptimizerOptions : CurvatureOptions {
  // Also measure uᵀHu when the tuner does not need it (diagnostics; costs the curvature estimate).
  bool measure_curvature = false;
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
  // Every call of every step's closure evaluates the same function of the parameters: full batch (on each
  // rank), no data augmentation. Then a step's accepted trial (the trust check's or the line search's
  // f(w + ηu)) is the next step's forward: the trial keeps its graph, and the next step differentiates it
  // instead of calling the closure again, which saves a forward pass a step with the same results, bit for
  // bit. A step whose forward drew random numbers (dropout) keeps nothing, nor does one after the
  // parameters or buffers were changed between steps (seen by their version counters: in place through
  // torch, not through .data). Off by default: with mini batches the next closure is another batch.
  bool full_batch = false;
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
  // How this optimizer obtains uᵀHu (make_curvature_estimator of the options).
  const CurvatureEstimator& curvature_estimator() const { return *curvature_; }
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
  bool measures_curvature_this_step() const;
  torch::Tensor take_kept_forward();
  void keep_forward(torch::Tensor forward, TensorList buffers);
  double curvature(Objective& objective, const TensorList& u, double u_sq_norm);

  void add_group_transforms();
  TensorList transformed_gradient(const TensorList& gradient);
  void write_gradient(const TensorList& gradient);

  std::vector<ParamGroup> groups_;
  TensorList params_;
  std::unique_ptr<Direction> direction_;
  std::vector<std::unique_ptr<Transform>> gradient_transforms_, update_transforms_;
  std::unique_ptr<Tuner> tuner_;
  TunedOptimizerOptions options_;
  std::unique_ptr<CurvatureEstimator> curvature_;
  int64_t steps_ = 0;
  StepStats stats_;
  TensorList last_direction_;
  // This step's curvature estimate fell back to exact / changed how later steps measure.
  bool curvature_fallback_ = false;
  std::string warning_;
  // full_batch: the last step's accepted trial, the forward at the current parameters (with its graph), its
  // updates of the buffers, and the version of each parameter and buffer when it was kept: reused only if none changed since.
  torch::Tensor kept_forward_;
  TensorList kept_buffers_;  // the buffers as that forward left them (empty: it moved none)
  std::vector<std::pair<int64_t, const void*>> kept_versions_;
};

// torch::save(optimizer, path) / torch::load(optimizer, path) support.
torch::serialize::OutputArchive& operator<<(torch::serialize::OutputArchive& archive, const TunedOptimizer& optimizer);
torch::serialize::InputArchive& operator>>(torch::serialize::InputArchive& archive, TunedOptimizer& optimizer);

}  // namespace cdat
