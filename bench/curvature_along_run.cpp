// The parabola estimates (issue 12) at every point of a `cdat train` run, against the exact uᵀHu there.
//
// Replays a full-batch GD run from `cdat train`'s flags (same data, initialisation and optimizer, so the
// trajectory is the CLI's) and, before each step, evaluates at that step's point w with u = −g:
//   - the exact uᵀHu (double backward);
//   - the one-sided and central parabola at the h the parabola mode starts from there (0.1·η_{t−1}; the
//     first step and after η = 0: h‖u‖ = 1e-3·max(‖w‖, 1)), before any shortening of h, from the same
//     closure values the mode uses.
// Then it takes the run's own step (whatever --curvature-mode says) and prints one CSV row per step, with
// the step's safeguard flags, and after the last step the final loss (`cdat train`'s final_train_loss).
// This separates "the estimate is biased at the same point" from "the closed loop amplifies a small
// difference".
//
//   curvature_along_run [cdat train flags: --model nanolm --steps 100 --sigma 2 --curvature-mode exact ...]
#include <cdat/cdat.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "models/loss.h"
#include "models/model.h"
#include "train/run_config.h"
#include "train/runner.h"

namespace {

cdat::train::RunConfig parse_config(int argc, char** argv) {
  cdat::train::RunConfig c;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i];
    if (key.rfind("--", 0) != 0) throw std::invalid_argument("expected --key value, got " + key);
    cdat::train::set_key(c, key.substr(2), argv[i + 1]);
  }
  cdat::train::validate(c);
  if (c.optimizer != "gd" || c.batch_size > 0) throw std::invalid_argument("only full-batch GD (u = −g)");
  return c;
}

// The h of TunedOptimizer::parabola at this point.
double parabola_step(const cdat::TunedOptimizerOptions& o, double previous_lr, const cdat::TensorList& params,
                     double u_norm) {
  if (previous_lr > 0.0) return o.parabola_step * previous_lr;
  return o.fd_step * std::max(cdat::norm(params), 1.0) / u_norm;
}

struct Estimates {
  double exact, h, one_sided, central;
};

// At the objective's point: exact uᵀHu and both parabola estimates at step h (loss differences in double,
// as the mode takes them).
Estimates estimates_at(cdat::Objective& objective, const cdat::TensorList& u, double h) {
  Estimates e{};
  e.exact = objective.curvature(u, /*keep_graph=*/true);
  const double f0 = objective.loss();
  const double f_plus = objective.value_at(u, h), f_minus = objective.value_at(u, -h);
  e.h = h;
  e.one_sided = 2.0 * ((f_plus - f0) - h * cdat::dot(objective.gradient(), u)) / (h * h);
  e.central = ((f_plus - f0) + (f_minus - f0)) / (h * h);
  return e;
}

}  // namespace

int main(int argc, char** argv) {
  const cdat::train::RunConfig c = parse_config(argc, argv);
  at::set_num_threads(static_cast<int>(std::max<int64_t>(c.threads, 1)));
  const torch::Dtype dtype = c.dtype == "float64" ? torch::kFloat64 : torch::kFloat32;
  const auto data = cdat::train::prepare_data(c, torch::kCPU, dtype);
  torch::manual_seed(static_cast<uint64_t>(c.seed));
  auto model = cdat::models::make_model(cdat::train::model_config(c, data.train));
  model->to(dtype);
  const auto loss_kind = cdat::models::parse_loss(c.loss);
  auto params = model->parameters();
  auto closure = [&] { return cdat::models::compute_loss(loss_kind, model->forward(data.train.inputs), data.train.labels); };
  const cdat::TunedOptimizerOptions options = cdat::train::optimizer_options(c);
  cdat::TunedOptimizer optimizer(params, cdat::make_direction(c.optimizer, cdat::train::direction_options(c)),
                                 cdat::make_tuner(c.tuner, cdat::train::tuner_options(c)), options);

  std::printf("step,loss,lr,numerator,used_curvature,exact,h,parabola,parabola_central,fallback,floored,"
              "growth_capped,trials,actual_change\n");
  double previous_lr = 0.0;
  for (int64_t t = 0; t < c.steps; ++t) {
    cdat::Objective objective(params, closure);
    objective.evaluate(/*keep_graph_for_curvature=*/true);
    cdat::TensorList u = cdat::clone_detached(objective.gradient());
    for (auto& x : u) x.neg_();
    const Estimates e = estimates_at(objective, u, parabola_step(options, previous_lr, params, cdat::norm(u)));
    try {
      optimizer.step(closure);
    } catch (const cdat::NonFiniteError& err) {
      std::printf("# diverged at step %lld: %s\n", static_cast<long long>(t), err.what());
      return 0;
    }
    const auto& s = optimizer.last_stats();
    std::printf("%lld,%.10g,%.10g,%.10g,%.10g,%.10g,%.6g,%.10g,%.10g,%d,%d,%d,%d,%.10g\n", static_cast<long long>(t),
                s.loss, s.lr, -s.slope, s.curvature, e.exact, e.h, e.one_sided, e.central, s.curvature_fallback ? 1 : 0,
                static_cast<int>(s.tuner.get("curvature_floored")), static_cast<int>(s.tuner.get("growth_capped")), s.tuner.trials, s.tuner.actual_change);
    previous_lr = s.lr;
  }
  torch::NoGradGuard no_grad;
  std::printf("# final loss %.10g\n", closure().item<double>());
  return 0;
}
