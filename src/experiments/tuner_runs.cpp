#include "experiments/tuner_runs.h"

#include <algorithm>

namespace cdat::experiments {

std::vector<Workload> full_batch_workloads(const Context& ctx) {
  std::vector<Workload> list = {mlp_mse(ctx.settings().scale), cnn_ce(ctx.settings().scale)};
  if (!ctx.settings().text_file.empty()) list.push_back(nanolm_ce(ctx.settings().scale, ctx.settings().text_file));
  return list;
}

// The cross-entropy workloads on 4× their data: not memorised in the run.
constexpr int64_t kMoreData = 4;

std::vector<Workload> safeguard_workloads(const Context& ctx) {
  const double scale = ctx.settings().scale;
  std::vector<Workload> list = {mlp_mse(scale), mlp_ce(scale), cnn_ce(scale)};
  if (!ctx.settings().text_file.empty()) list.push_back(nanolm_ce(scale, ctx.settings().text_file));
  for (auto& w : list) {
    if (w.name == "cnn-ce" || w.name == "nanolm-ce") {
      w.base.train_size = std::min<int64_t>(w.name == "cnn-ce" ? 60000 : 1 << 20, w.base.train_size * kMoreData);
    }
    w.base.sharpness_every = 0;
  }
  return list;
}

Tuned tune_constant(Context& ctx, const Workload& workload, const std::string& optimizer) {
  return ctx.tune_lr(with_tuner(workload.base, optimizer, "constant"), lr_grid(workload, optimizer), kLrGridFactor);
}

Tuned tune_schedule(Context& ctx, const Workload& workload, const std::string& optimizer, double constant_lr) {
  return ctx.tune_lr(with_tuner(workload.base, optimizer, "schedule"), {constant_lr, 2 * constant_lr}, kLrGridFactor);
}

TunedOverSeeds tuned_over_seeds(Context& ctx, Tuned tuned) {
  Seeded runs = ctx.best_over_seeds(tuned);
  return {std::move(tuned), std::move(runs)};
}

TunedOverSeeds tuned_constant_over_seeds(Context& ctx, const Workload& workload, const std::string& optimizer) {
  return tuned_over_seeds(ctx, tune_constant(ctx, workload, optimizer));
}

SeededPair run_cdat_pair(Context& ctx, const Workload& workload, const std::string& optimizer) {
  auto runs = ctx.run_seeds({with_tuner(workload.base, optimizer, "cdat", 2.0), with_tuner(workload.base, optimizer, "cdat", 1.0)});
  return {runs[0], runs[1]};
}

Seeded run_linesearch(Context& ctx, const Workload& workload, const std::string& optimizer) {
  return ctx.run_seeds(with_tuner(workload.base, optimizer, "linesearch"));
}

ClassicalTuners run_classical_tuners(Context& ctx, const Workload& workload, const std::string& optimizer) {
  auto runs = ctx.run_seeds({with_tuner(workload.base, optimizer, "linesearch"), with_tuner(workload.base, optimizer, "cdat", 1.0)});
  return {runs[0], runs[1]};
}

std::string optimizer_title(const std::string& optimizer) {
  if (optimizer == "gd") return "GD";
  if (optimizer == "rmsprop") return "RMSProp";
  if (optimizer == "adam") return "Adam";
  return optimizer;
}

}  // namespace cdat::experiments
