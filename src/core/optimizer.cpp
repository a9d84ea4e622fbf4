#include <cdat/errors.h>
#include <cdat/optimizer.h>

#include <torch/torch.h>

#include <cmath>

namespace cdat {
namespace {

// The lazy view of one step that tuners query (see tuner.h). Each quantity is computed at most once.
class LazyStepContext final : public StepContext {
 public:
  LazyStepContext(int64_t step, Objective& objective, const TensorList& direction)
      : step_(step), objective_(objective), direction_(direction) {}

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
    if (std::isnan(curvature_)) curvature_ = objective_.curvature(direction_, /*keep_graph=*/false);
    return curvature_;
  }
  double value_at(double eta) override { return objective_.value_at(direction_, eta); }

  double measured_slope() const { return slope_; }
  double measured_curvature() const { return curvature_; }
  double measured_direction_sq_norm() const { return direction_sq_norm_; }

 private:
  int64_t step_;
  Objective& objective_;
  const TensorList& direction_;
  double slope_ = kNotMeasured;
  double direction_sq_norm_ = kNotMeasured;
  double curvature_ = kNotMeasured;
};

}  // namespace

TunedOptimizer::TunedOptimizer(TensorList params, std::unique_ptr<Direction> direction, std::unique_ptr<Tuner> tuner,
                               TunedOptimizerOptions options)
    : params_(std::move(params)), direction_(std::move(direction)), tuner_(std::move(tuner)), options_(options) {
  if (params_.empty()) throw InvalidOption("cdat::TunedOptimizer: no parameters");
  if (!direction_) throw InvalidOption("cdat::TunedOptimizer: no direction");
  if (!tuner_) throw InvalidOption("cdat::TunedOptimizer: no tuner");
}

torch::Tensor TunedOptimizer::step(const LossClosure& closure) {
  Objective objective(params_, closure);
  const bool need_graph = tuner_->needs_curvature() || options_.measure_curvature;
  objective.evaluate(need_graph);

  const TensorList u = direction_->compute(params_, objective.gradient());
  LazyStepContext context(steps_, objective, u);
  if (options_.measure_curvature) context.curvature();
  const double lr = tuner_->learning_rate(context);
  objective.release_graph();

  add_scaled_(params_, u, lr);  // w ← w + η u

  StepStats stats;
  stats.step = steps_;
  stats.loss = objective.loss();
  stats.lr = lr;
  stats.slope = context.slope();
  stats.curvature = context.measured_curvature();
  stats.grad_norm = norm(objective.gradient());
  stats.direction_norm = std::sqrt(context.direction_sq_norm());
  stats.tuner = tuner_->report();
  stats_ = stats;
  last_direction_ = u;
  ++steps_;
  return torch::tensor(objective.loss(), torch::kFloat64);
}

void TunedOptimizer::save(torch::serialize::OutputArchive& archive) const {
  archive.write("steps", torch::tensor(steps_, torch::kInt64));
  torch::serialize::OutputArchive direction_archive, tuner_archive;
  direction_->save(direction_archive);
  tuner_->save(tuner_archive);
  archive.write("direction", direction_archive);
  archive.write("tuner", tuner_archive);
}

void TunedOptimizer::load(torch::serialize::InputArchive& archive) {
  torch::Tensor steps;
  archive.read("steps", steps);
  torch::serialize::InputArchive direction_archive, tuner_archive;
  archive.read("direction", direction_archive);
  archive.read("tuner", tuner_archive);
  direction_->load(direction_archive);
  tuner_->load(tuner_archive);
  steps_ = steps.item<int64_t>();
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
