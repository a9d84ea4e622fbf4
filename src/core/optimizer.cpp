#include <cdat/errors.h>
#include <cdat/optimizer.h>
#include <cdat/registry.h>

#include "option_checks.h"
#include "step_closure.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_set>
#include <utility>

namespace cdat {
namespace {

double largest_finite(torch::ScalarType type) {
  switch (type) {
    case torch::kDouble: return std::numeric_limits<double>::max();
    case torch::kFloat: return std::numeric_limits<float>::max();
    case torch::kHalf: return 65504.0;
    case torch::kBFloat16: return 3.38953139e38;
    default: return std::numeric_limits<double>::infinity();
  }
}

void check_options(const TunedOptimizerOptions& o) {
  if (o.measure_curvature_every < 0) {
    throw InvalidOption("cdat::TunedOptimizer: measure_curvature_every must be >= 0 (0 = never)");
  }
}

// Throws NonFiniteError, before anything changes, if w + ηu could leave the parameters' floating-point
// range (or u is not finite): a finite loss, gradient and η can still overflow the parameters, and the
// run's last state would then be inf/NaN. Every element obeys |w + ηu| ≤ max|w| + η·max|u|; half of the
// type's largest value leaves room for the rounding of η·u. One device sync.
void check_update_stays_finite(const TensorList& params, const TensorList& u, double lr, int64_t step) {
  if (lr == 0.0) return;
  std::vector<torch::Tensor> ratios;
  for (size_t i = 0; i < params.size(); ++i) {
    if (params[i].numel() == 0) continue;
    const auto w_max = at::norm(params[i].detach(), INFINITY).to(torch::kFloat64);
    const auto u_max = at::norm(u[i].detach(), INFINITY).to(torch::kFloat64);
    ratios.push_back((w_max + lr * u_max) / (0.5 * largest_finite(params[i].scalar_type())));
  }
  if (ratios.empty()) return;
  const double worst = torch::stack(ratios).max().item<double>();
  if (!(worst < 1.0)) {
    throw NonFiniteError("cdat: the update w + ηu at step " + std::to_string(step) + " (η = " + std::to_string(lr) +
                         ") would make the parameters non-finite");
  }
}

// The lazy view of one step that tuners query (see tuner.h). Each quantity is computed at most once.
class LazyStepContext final : public StepContext {
 public:
  using CurvatureFn = std::function<double()>;
  // `keep_trials`: the tuner's trials are trial_value_at (their forward may become the next step's).
  LazyStepContext(int64_t step, Objective& objective, const TensorList& direction, CurvatureFn curvature,
                  bool keep_trials)
      : step_(step),
        objective_(objective),
        direction_(direction),
        compute_curvature_(std::move(curvature)),
        keep_trials_(keep_trials) {}

  int64_t step() const override { return step_; }
  double loss() override { return objective_.loss(); }
  double slope() override {
    if (std::isnan(slope_)) slope_ = dot(objective_.gradient(), direction_);
    return slope_;
  }
  double direction_sq_norm() override {
    if (std::isnan(direction_sq_norm_)) direction_sq_norm_ = dot(direction_, direction_);
    return direction_sq_norm_;
  }
  double curvature() override {
    if (std::isnan(curvature_)) {
      curvature_ = compute_curvature_();
      if (!std::isfinite(curvature_)) throw NonFiniteError("cdat: curvature uᵀHu is not finite");
    }
    return curvature_;
  }
  double value_at(double eta) override {
    return keep_trials_ ? objective_.trial_value_at(direction_, eta) : objective_.value_at(direction_, eta);
  }

  double measured_curvature() const { return curvature_; }

 private:
  int64_t step_;
  Objective& objective_;
  const TensorList& direction_;
  CurvatureFn compute_curvature_;
  bool keep_trials_;
  double slope_ = kNotMeasured;
  double direction_sq_norm_ = kNotMeasured;
  double curvature_ = kNotMeasured;
};

// The groups without their frozen parameters; a tensor listed twice is an error (as in torch::optim).
std::vector<ParamGroup> trainable_groups(std::vector<ParamGroup> groups) {
  std::unordered_set<const void*> seen;
  for (auto& group : groups) {
    TensorList trained;
    for (auto& p : group.params) {
      if (!p.defined()) throw InvalidOption("cdat::TunedOptimizer: an undefined parameter tensor");
      if (!seen.insert(p.unsafeGetTensorImpl()).second) {
        throw InvalidOption("cdat::TunedOptimizer: a parameter appears in more than one group (or twice in one)");
      }
      if (p.requires_grad()) trained.push_back(p);
    }
    group.params = std::move(trained);
  }
  return groups;
}

// Each tensor's version counter and storage: an in-place change through torch moves the one, a new
// storage the other.
std::vector<std::pair<int64_t, const void*>> versions(const TensorList& params, const TensorList& buffers) {
  std::vector<std::pair<int64_t, const void*>> out;
  for (const TensorList* list : {&params, &buffers}) {
    for (const auto& t : *list) out.emplace_back(t._version(), t.data_ptr());
  }
  return out;
}

TensorList all_params(const std::vector<ParamGroup>& groups) {
  TensorList params;
  for (const auto& group : groups) params.insert(params.end(), group.params.begin(), group.params.end());
  return params;
}

}  // namespace

TunedOptimizer::TunedOptimizer(TensorList params, std::unique_ptr<Direction> direction, std::unique_ptr<Tuner> tuner,
                               TunedOptimizerOptions options)
    : TunedOptimizer(std::vector<ParamGroup>{ParamGroup{std::move(params)}}, std::move(direction), std::move(tuner),
                     options) {}

TunedOptimizer::TunedOptimizer(std::vector<ParamGroup> groups, std::unique_ptr<Direction> direction,
                               std::unique_ptr<Tuner> tuner, TunedOptimizerOptions options)
    : groups_(trainable_groups(std::move(groups))),
      params_(all_params(groups_)),
      direction_(std::move(direction)),
      tuner_(std::move(tuner)),
      options_(options) {
  if (params_.empty()) throw InvalidOption("cdat::TunedOptimizer: no parameters that require grad");
  if (!direction_) throw InvalidOption("cdat::TunedOptimizer: no direction");
  if (!tuner_) throw InvalidOption("cdat::TunedOptimizer: no tuner");
  check_options(options_);
  curvature_ = make_curvature_estimator(options_);
  if (options_.clip_norm != 0.0) add_gradient_transform(std::make_unique<ClipByGlobalNorm>(options_.clip_norm));
  add_group_transforms();
}

// Weight decay and scale per parameter tensor, as update transforms, only where a group asks for them
// (so an optimizer without groups computes exactly what it did before groups existed).
void TunedOptimizer::add_group_transforms() {
  std::vector<double> decay, scale;
  for (const auto& group : groups_) {
    decay.insert(decay.end(), group.params.size(), group.weight_decay);
    scale.insert(scale.end(), group.params.size(), group.scale);
  }
  const bool decays = std::any_of(decay.begin(), decay.end(), [](double x) { return x != 0.0; });
  const bool scales = std::any_of(scale.begin(), scale.end(), [](double x) { return x != 1.0; });
  if (decays) add_update_transform(std::make_unique<AddDecayedWeights>(decay));
  if (scales) add_update_transform(std::make_unique<ScaleByParameter>(scale));
}

void TunedOptimizer::add_gradient_transform(std::unique_ptr<Transform> transform) {
  if (!transform) throw InvalidOption("cdat::TunedOptimizer: no transform");
  gradient_transforms_.push_back(std::move(transform));
}

void TunedOptimizer::add_update_transform(std::unique_ptr<Transform> transform) {
  if (!transform) throw InvalidOption("cdat::TunedOptimizer: no transform");
  update_transforms_.push_back(std::move(transform));
}

TensorList TunedOptimizer::transformed_gradient(const TensorList& gradient) {
  if (gradient_transforms_.empty()) return gradient;
  TensorList g = clone_detached(gradient);
  for (auto& transform : gradient_transforms_) transform->apply(params_, g);
  return g;
}

// p.grad() ← ∇f(w_t), a detached copy (the objective's gradient may carry a graph until released).
void TunedOptimizer::write_gradient(const TensorList& gradient) {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) params_[i].mutable_grad() = gradient[i].detach().clone();
}

bool TunedOptimizer::measures_curvature_this_step() const {
  const int64_t every = options_.measure_curvature_every;
  return options_.measure_curvature || (every > 0 && steps_ % every == 0);
}

double TunedOptimizer::curvature(Objective& objective, const TensorList& u, double u_sq_norm) {
  CurvatureEstimate estimate = curvature_->estimate(CurvatureQuery{objective, u, u_sq_norm, steps_});
  curvature_fallback_ = estimate.fallback;
  if (!estimate.warning.empty()) warning_ = std::move(estimate.warning);
  return estimate.value;
}

// The last step's accepted trial, if it is still the forward at the current parameters (no parameter or
// buffer changed since); dropped otherwise. Taken once.
// Its buffer updates come back through set_data (step_closure.h: keep_last_trial).
torch::Tensor TunedOptimizer::take_kept_forward() {
  torch::Tensor forward = std::exchange(kept_forward_, torch::Tensor());
  const TensorList buffers = std::exchange(kept_buffers_, TensorList());
  if (!forward.defined() || versions(params_, options_.buffers) != kept_versions_) return {};
  for (size_t i = 0; i < buffers.size(); ++i) options_.buffers[i].set_data(buffers[i]);
  return forward;
}

void TunedOptimizer::keep_forward(torch::Tensor forward, TensorList buffers) {
  kept_forward_ = std::move(forward);
  kept_buffers_ = std::move(buffers);
  kept_versions_ = versions(params_, options_.buffers);
}

torch::Tensor TunedOptimizer::step(const LossClosure& closure) {
  detail::StepClosure step_closure(closure, params_, options_.buffers, options_.same_randomness_in_trials);
  Objective objective(params_, step_closure.closure(), options_.data_parallel);
  const bool wants_curvature = tuner_->needs_curvature() || measures_curvature_this_step();
  torch::Tensor kept_forward = take_kept_forward();
  const bool reused_forward = kept_forward.defined();
  if (reused_forward) step_closure.adopt_own_forward();
  objective.evaluate(wants_curvature && curvature_->needs_gradient_graph(steps_), std::move(kept_forward));

  TensorList u = direction_->compute(params_, transformed_gradient(objective.gradient()));
  for (auto& transform : update_transforms_) transform->apply(params_, u);
  // full_batch: an accepted trial at w + ηu is the next step's forward, unless this one drew random numbers
  // (the next one would draw others).
  const bool keep_trials = options_.full_batch && !step_closure.own_forward_drew_random_numbers();
  // ‖u‖² comes from the context, which computes it at most once per step.
  LazyStepContext context(
      steps_, objective, u, [&] { return curvature(objective, u, context.direction_sq_norm()); }, keep_trials);
  if (measures_curvature_this_step()) context.curvature();
  const double lr = tuner_->learning_rate(context);
  objective.release_graph();
  check_update_stays_finite(objective.evaluated_params(), u, lr, steps_);

  torch::Tensor accepted_trial = objective.take_trial(lr);  // when defined, the parameters are at w + ηu
  TensorList trial_buffers;
  if (accepted_trial.defined()) {
    trial_buffers = step_closure.keep_last_trial();
  } else {
    add_scaled_(params_, u, lr);  // w ← w + η u (trial_value_at computes the same)
  }
  if (options_.write_grad) write_gradient(objective.gradient());

  StepStats stats;
  stats.step = steps_;
  stats.loss = objective.loss();
  stats.lr = lr;
  stats.slope = context.slope();
  stats.curvature = context.measured_curvature();
  stats.grad_norm = norm(objective.gradient());
  stats.direction_norm = std::sqrt(context.direction_sq_norm());
  stats.tuner = tuner_->report();
  stats.curvature_fallback = std::exchange(curvature_fallback_, false);
  stats.reused_forward = reused_forward;
  stats.warning = std::move(warning_);
  warning_.clear();
  stats_ = stats;
  curvature_->after_step(objective.gradient(), u, lr);
  last_direction_ = u;
  ++steps_;
  if (accepted_trial.defined()) keep_forward(std::move(accepted_trial), std::move(trial_buffers));
  return torch::tensor(objective.loss(), torch::kFloat64);
}

namespace {

void write_transforms(torch::serialize::OutputArchive& archive, const std::string& key,
                      const std::vector<std::unique_ptr<Transform>>& transforms) {
  for (size_t i = 0; i < transforms.size(); ++i) {
    torch::serialize::OutputArchive state;
    transforms[i]->save(state);
    archive.write(key + "." + std::to_string(i), state);
  }
}

// Checkpoints written before transforms existed have none of these keys: the transforms keep their state.
void read_transforms(torch::serialize::InputArchive& archive, const std::string& key,
                     std::vector<std::unique_ptr<Transform>>& transforms) {
  for (size_t i = 0; i < transforms.size(); ++i) {
    torch::serialize::InputArchive state;
    if (archive.try_read(key + "." + std::to_string(i), state)) transforms[i]->load(state);
  }
}

}  // namespace

void TunedOptimizer::save(torch::serialize::OutputArchive& archive) const {
  archive.write("steps", torch::tensor(steps_, torch::kInt64));
  torch::serialize::OutputArchive direction_archive, tuner_archive;
  direction_->save(direction_archive);
  tuner_->save(tuner_archive);
  archive.write("direction", direction_archive);
  archive.write("tuner", tuner_archive);
  write_transforms(archive, "gradient_transform", gradient_transforms_);
  write_transforms(archive, "update_transform", update_transforms_);
  curvature_->save(archive);  // the estimator's history (secant, parabola, amortisation), for an exact resume
}

void TunedOptimizer::load(torch::serialize::InputArchive& archive) {
  torch::Tensor steps;
  archive.read("steps", steps);
  torch::serialize::InputArchive direction_archive, tuner_archive;
  archive.read("direction", direction_archive);
  archive.read("tuner", tuner_archive);
  direction_->load(direction_archive);
  tuner_->load(tuner_archive);
  read_transforms(archive, "gradient_transform", gradient_transforms_);
  read_transforms(archive, "update_transform", update_transforms_);
  steps_ = steps.item<int64_t>();
  curvature_->load(archive);
  kept_forward_ = torch::Tensor();  // the next step evaluates the loaded state afresh
  kept_buffers_.clear();
}

torch::serialize::OutputArchive& operator<<(torch::serialize::OutputArchive& archive, const TunedOptimizer& optimizer) {
  optimizer.save(archive);
  return archive;
}

torch::serialize::InputArchive& operator>>(torch::serialize::InputArchive& archive, TunedOptimizer& optimizer) {
  optimizer.load(archive);
  return archive;
}

}  // namespace cdat
