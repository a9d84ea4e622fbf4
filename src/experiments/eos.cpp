// §4.1: with a constant learning rate η, full-batch GD sharpens until λ_max ≈ 2/η, then hovers at the edge
// while the loss keeps falling non-monotonically.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "experiments/experiments.h"
#include "experiments/series.h"
#include "experiments/verdicts.h"

namespace cdat::experiments {
namespace {

// mlp-mse with a dense λ_max curve (the edge needs one), at two constant learning rates.
Workload eos_workload(double scale) {
  Workload w = mlp_mse(scale);
  w.base.steps = scaled(2500, scale, 4);
  w.base.sharpness_every = std::max<int64_t>(1, w.base.steps / 100);
  w.base.lanczos_iters = 20;
  return w;
}

std::vector<Seeded> run_constant_lrs(Context& ctx, const Workload& w) {
  std::vector<train::RunConfig> configs;
  for (double lr : {0.04, 0.08}) configs.push_back(with_tuner(w.base, "gd", "constant", lr));
  return ctx.run_seeds(configs);
}

Table edge_table(const Workload& w, const std::vector<Seeded>& runs) {
  Table table{"Runs: " + w.description() + ". The median run over the seeds (element-wise medians of the metrics).",
              {"η", "2/η", "λ_max at step 0", "largest λ_max", "first step with η·λ ≥ 1.9", "median η·λ after it",
               "loss then", "final loss (lowest–highest)", "loss increases after"},
              {}};
  for (const auto& run : runs) {
    const EdgeStats s = edge_stats(run.median);
    table.rows.push_back({fmt::format("{:g}", s.lr), num(2 / s.lr), num(s.lambda0), num(s.lambda_max),
                          std::isfinite(s.arrival) ? fmt::format("{:.0f}", s.arrival) : "never", num(s.median_after),
                          num(s.loss_at_arrival), describe(run.final_loss()), std::to_string(s.increases_after)});
  }
  return table;
}

std::string plot_edge(Context& ctx, const Workload& w, const std::vector<Seeded>& runs) {
  std::vector<const RunData*> plotted;
  std::vector<std::string> labels;
  for (const auto& run : runs) {
    plotted.push_back(&run.seeds.front());
    labels.push_back(fmt::format("GD constant lr={:g}", run.median.config.lr));
  }
  return ctx.plot_runs(ctx.folder("eos"), "eos", plotted, labels, "Edge of stability: constant-LR GD (" + w.name + ")");
}

}  // namespace

Report reproduce_eos(Context& ctx) {
  Report report{"eos", "Edge of stability with constant-LR gradient descent",
                "with a constant learning rate, full-batch GD's sharpness rises (progressive sharpening) until "
                "λ_max ≈ 2/η, then hovers there while the loss keeps decreasing non-monotonically (§4.1).",
                {}, {}, {}, {}};
  const Workload w = eos_workload(ctx.settings().scale);
  const std::vector<Seeded> runs = run_constant_lrs(ctx, w);

  report.tables.push_back(edge_table(w, runs));
  for (const auto& run : runs) {
    add_findings(report, judged_over_seeds(run.count(), [&](int k) { return eos_findings(run.at(k)); }));
  }
  add_figure(report, plot_edge(ctx, w, runs));
  return report;
}

}  // namespace cdat::experiments
