#include <cdat/errors.h>
#include <cdat/optimizer.h>

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

// The unit roundoff of a parameter type (the loss values are computed in it).
double machine_epsilon(torch::ScalarType type) {
  switch (type) {
    case torch::kDouble: return std::numeric_limits<double>::epsilon();
    case torch::kHalf: return 0x1p-10;
    case torch::kBFloat16: return 0x1p-7;
    default: return std::numeric_limits<float>::epsilon();
  }
}

// A loss value computed in a type with unit roundoff ε carries an error of a few ε·|f| (the batch mean's
// pairwise sum rounds to O(ε log n)); 32 ε bounds that for any batch a step sees. The parabola's
// second-order term is a difference of such values, so below this floor it is rounding noise.
constexpr double kLossRoundingUlps = 32.0;

// How often one step may shorten the parabola's h to a tenth of the estimate's own greedy step (parabola()).
constexpr int kMaxParabolaRescales = 3;

// The parabola through f(w), the slope gᵀu and f(w + hu) (and f(w − hu) when central), or nothing when the
// estimate is not finite, negative, or a second-order term within the loss values' rounding noise. The
// value differences are taken in double from the values the closure returns.
std::optional<double> parabola_at(Objective& objective, const TensorList& u, double slope, double h, bool central) {
  const double f0 = objective.loss();
  const double f_plus = objective.value_at(u, h);
  const double epsilon = machine_epsilon(objective.params().front().scalar_type());
  double second_order, noise;
  if (central) {
    const double f_minus = objective.value_at(u, -h);
    second_order = (f_plus - f0) + (f_minus - f0);  // h²·uᵀHu + O(h⁴)
    noise = kLossRoundingUlps * epsilon * (std::abs(f_plus) + 2.0 * std::abs(f0) + std::abs(f_minus));
  } else {
    const double step_slope = h * slope;
    second_order = 2.0 * ((f_plus - f0) - step_slope);  // h²·uᵀHu + O(h³)
    noise = 2.0 * kLossRoundingUlps * epsilon * (std::abs(f_plus) + std::abs(f0) + std::abs(step_slope));
  }
  const double value = second_order / (h * h);
  if (!std::isfinite(value) || value < 0.0 || std::abs(second_order) <= noise) return std::nullopt;
  return value;
}

void check_options(const TunedOptimizerOptions& o) {
  if (!(o.fd_step > 0.0)) throw InvalidOption("cdat::TunedOptimizer: fd_step must be > 0");
  if (!(o.parabola_step > 0.0)) throw InvalidOption("cdat::TunedOptimizer: parabola_step must be > 0");
  if (o.curvature_every < 1) throw InvalidOption("cdat::TunedOptimizer: curvature_every must be >= 1");
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
  LazyStepContext(int64_t step, Objective& objective, const TensorList& direction, CurvatureFn curvature)
      : step_(step), objective_(objective), direction_(direction), compute_curvature_(std::move(curvature)) {}

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
  double value_at(double eta) override { return objective_.value_at(direction_, eta); }

  double measured_curvature() const { return curvature_; }

 private:
  int64_t step_;
  Objective& objective_;
  const TensorList& direction_;
  CurvatureFn compute_curvature_;
  double slope_ = kNotMeasured;
  double direction_sq_norm_ = kNotMeasured;
  double curvature_ = kNotMeasured;
};

const detail::NameTable<CurvatureMode>& curvature_mode_table() {
  static const detail::NameTable<CurvatureMode> table = {{CurvatureMode::kExact, "exact"},
                                                         {CurvatureMode::kForwardOverReverse, "forward"},
                                                         {CurvatureMode::kSecant, "secant"},
                                                         {CurvatureMode::kFiniteDifference, "fd"},
                                                         {CurvatureMode::kParabola, "parabola"}};
  return table;
}

}  // namespace

CurvatureMode parse_curvature_mode(const std::string& name) {
  return detail::parse_name(curvature_mode_table(), "curvature-mode", name);
}
std::string to_string(CurvatureMode mode) { return detail::name_of(curvature_mode_table(), mode); }
const std::vector<std::string>& curvature_mode_names() {
  static const std::vector<std::string> names = detail::names_of(curvature_mode_table());
  return names;
}

namespace {

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

bool TunedOptimizer::has_secant_history() const { return !previous_gradient_.empty() && previous_lr_ > 0.0; }

bool TunedOptimizer::measures_curvature_this_step() const {
  const int64_t every = options_.measure_curvature_every;
  return options_.measure_curvature || (every > 0 && steps_ % every == 0);
}

// Between two measurements (every curvature_every steps) the curvature is κ̄·‖u‖² and costs nothing.
bool TunedOptimizer::uses_amortised_curvature() const {
  return options_.curvature_every > 1 && steps_ % options_.curvature_every != 0 && std::isfinite(directional_curvature_);
}

bool TunedOptimizer::needs_gradient_graph(bool wants_curvature) const {
  if (!wants_curvature || uses_amortised_curvature()) return false;
  switch (options_.curvature_mode) {
    case CurvatureMode::kExact: return true;
    case CurvatureMode::kSecant: return !has_secant_history();
    case CurvatureMode::kForwardOverReverse: return !forward_ad_failure_.empty();
    case CurvatureMode::kFiniteDifference: return false;
    case CurvatureMode::kParabola: return false;
  }
  return true;
}

double TunedOptimizer::curvature(Objective& objective, const TensorList& u, double u_sq_norm) {
  if (uses_amortised_curvature()) return directional_curvature_ * u_sq_norm;
  const double value = measured_curvature(objective, u, u_sq_norm);
  if (u_sq_norm > 0.0) directional_curvature_ = value / u_sq_norm;
  return value;
}

double TunedOptimizer::measured_curvature(Objective& objective, const TensorList& u, double u_sq_norm) {
  const bool secant = options_.curvature_mode == CurvatureMode::kSecant && has_secant_history();
  if (secant) {
    // y = g_t − g_{t−1} over the step s = η_{t−1} u_{t−1}: uᵀ_{t−1} y / η_{t−1} = u_{t−1}ᵀ H̄ u_{t−1} for the
    // Hessian averaged along the step; rescaled from ‖u_{t−1}‖² to ‖u_t‖².
    const double along_previous = (dot(last_direction_, objective.gradient()) - dot(last_direction_, previous_gradient_)) /
                                  previous_lr_;
    return along_previous / dot(last_direction_, last_direction_) * u_sq_norm;
  }
  if (options_.curvature_mode == CurvatureMode::kFiniteDifference) {
    const double u_norm = std::sqrt(u_sq_norm);
    if (u_norm == 0.0) return 0.0;
    const double h = options_.fd_step * std::max(norm(params_), 1.0) / u_norm;
    return (dot(objective.gradient_at(u, h), u) - dot(objective.gradient_at(u, -h), u)) / (2.0 * h);
  }
  if (options_.curvature_mode == CurvatureMode::kForwardOverReverse && forward_ad_failure_.empty()) {
    if (auto value = forward_over_reverse(objective, u)) return *value;
  }
  if (options_.curvature_mode == CurvatureMode::kParabola) {
    if (auto value = parabola(objective, u, u_sq_norm)) return *value;
    curvature_fallback_ = true;
  }
  return exact_curvature(objective, u);
}

// Double backward; a step evaluated without the gradient graph evaluates again with it.
double TunedOptimizer::exact_curvature(Objective& objective, const TensorList& u) {
  if (!objective.has_graph()) objective.evaluate(/*keep_graph_for_curvature=*/true);
  return objective.curvature(u, /*keep_graph=*/false);
}

// uᵀHu from the parabola along u (TunedOptimizerOptions::parabola_step), or nothing when unreliable.
// h = parabola_step·η_{t−1} assumes this step's scale is the last one's. After an outsized step (the first
// one from a flat start, typically) the curvature can grow by orders of magnitude: an h longer than the
// greedy step n/c of the estimate itself (the quadratic model's minimiser along u, PAPER §2) averages the
// curvature over a stretch this step will not travel (NanoLM: 0.08 × the exact uᵀHu, docs/performance.md
// "Parabola"). Then h = parabola_step·n/c and measure again, at most kMaxParabolaRescales times.
std::optional<double> TunedOptimizer::parabola(Objective& objective, const TensorList& u, double u_sq_norm) {
  if (u_sq_norm == 0.0) return 0.0;
  double h = previous_lr_ > 0.0 ? options_.parabola_step * previous_lr_
                                : options_.fd_step * std::max(norm(params_), 1.0) / std::sqrt(u_sq_norm);
  const double slope = dot(objective.gradient(), u);
  std::optional<double> value = parabola_at(objective, u, slope, h, options_.parabola_central);
  for (int i = 0; i < kMaxParabolaRescales && value && -slope > 0.0 && h * *value > -slope; ++i) {
    h = options_.parabola_step * -slope / *value;
    value = parabola_at(objective, u, slope, h, options_.parabola_central);
  }
  return value;
}

// uᵀHu by forward AD, or nothing (and the run switches to exact) when an op has no forward derivative.
std::optional<double> TunedOptimizer::forward_over_reverse(Objective& objective, const TensorList& u) {
  try {
    return objective.curvature_forward_over_reverse(u);
  } catch (const c10::Error& e) {
    std::string reason = e.what_without_backtrace();
    reason = reason.substr(0, reason.find('\n'));
    forward_ad_failure_ = reason.empty() ? "forward AD failed" : reason;
    warning_ = "curvature mode forward-over-reverse unsupported (" + forward_ad_failure_ +
               "); exact double backward from step " + std::to_string(steps_) + " on";
    return std::nullopt;
  }
}

torch::Tensor TunedOptimizer::step(const LossClosure& closure) {
  detail::StepClosure step_closure(closure, params_, options_.buffers, options_.same_randomness_in_trials);
  Objective objective(params_, step_closure.closure(), options_.data_parallel);
  const bool wants_curvature = tuner_->needs_curvature() || measures_curvature_this_step();
  objective.evaluate(needs_gradient_graph(wants_curvature));

  TensorList u = direction_->compute(params_, transformed_gradient(objective.gradient()));
  for (auto& transform : update_transforms_) transform->apply(params_, u);
  // ‖u‖² comes from the context, which computes it at most once per step.
  LazyStepContext context(steps_, objective, u, [&] { return curvature(objective, u, context.direction_sq_norm()); });
  if (measures_curvature_this_step()) context.curvature();
  const double lr = tuner_->learning_rate(context);
  objective.release_graph();
  check_update_stays_finite(params_, u, lr, steps_);

  add_scaled_(params_, u, lr);  // w ← w + η u
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
  stats.warning = std::move(warning_);
  warning_.clear();
  stats_ = stats;
  if (options_.curvature_mode == CurvatureMode::kSecant) previous_gradient_ = objective.gradient();
  previous_lr_ = lr;
  last_direction_ = u;
  ++steps_;
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
  // The secant history, so that a resumed secant run continues exactly.
  archive.write("secant.lr", torch::tensor(previous_lr_, torch::kFloat64));  // also kParabola's step scale
  archive.write("curvature.directional", torch::tensor(directional_curvature_, torch::kFloat64));
  archive.write("secant.size", torch::tensor(static_cast<int64_t>(previous_gradient_.size()), torch::kInt64));
  for (size_t i = 0; i < previous_gradient_.size(); ++i) {
    archive.write("secant.g." + std::to_string(i), previous_gradient_[i]);
    archive.write("secant.u." + std::to_string(i), last_direction_[i]);
  }
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
  torch::Tensor lr, size;
  archive.read("secant.lr", lr);
  archive.read("secant.size", size);
  previous_lr_ = lr.item<double>();
  torch::Tensor directional;  // absent from checkpoints written before amortised curvature: measure anew
  directional_curvature_ = archive.try_read("curvature.directional", directional) ? directional.item<double>() : kNotMeasured;
  previous_gradient_.assign(static_cast<size_t>(size.item<int64_t>()), torch::Tensor());
  last_direction_.assign(previous_gradient_.size(), torch::Tensor());
  for (size_t i = 0; i < previous_gradient_.size(); ++i) {
    archive.read("secant.g." + std::to_string(i), previous_gradient_[i]);
    archive.read("secant.u." + std::to_string(i), last_direction_[i]);
  }
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
