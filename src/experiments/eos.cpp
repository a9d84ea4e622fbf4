// §4.1: with a constant learning rate η, full-batch GD sharpens until λ_max ≈ 2/η, then hovers at the edge
// while the loss keeps falling non-monotonically.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "experiments/experiments.h"
#include "experiments/series.h"
#include "experiments/verdicts.h"

namespace cdat::experiments {

Report reproduce_eos(Context& ctx) {
  Report report{"eos", "Edge of stability with constant-LR gradient descent",
                "with a constant learning rate, full-batch GD's sharpness rises (progressive sharpening) until "
                "λ_max ≈ 2/η, then hovers there while the loss keeps decreasing non-monotonically (§4.1).",
                {}, {}, {}, {}};
  const double scale = ctx.settings().scale;
  Workload w = mlp_mse(scale);
  w.base.steps = scaled(2500, scale, 4);
  w.base.sharpness_every = std::max<int64_t>(1, w.base.steps / 100);  // the edge needs a dense λ_max curve
  w.base.lanczos_iters = 20;
  std::vector<train::RunConfig> configs;
  for (double lr : {0.04, 0.08}) configs.push_back(with_tuner(w.base, "gd", "constant", lr));
  const auto runs = ctx.run_seeds(configs);

  Table table{"Runs: " + w.description() + ". The median run over the seeds (element-wise medians of the metrics).",
              {"η", "2/η", "λ_max at step 0", "largest λ_max", "first step with η·λ ≥ 1.9", "median η·λ after it",
               "loss then", "final loss (lowest–highest)", "loss increases after"},
              {}};
  std::vector<const RunData*> plotted;
  std::vector<std::string> labels;
  for (const auto& seeded_run : runs) {
    const RunData& run = seeded_run.median;
    const EdgeStats s = edge_stats(run);
    table.rows.push_back({fmt::format("{:g}", s.lr), num(2 / s.lr), num(s.lambda0), num(s.lambda_max), std::isfinite(s.arrival) ? fmt::format("{:.0f}", s.arrival) : "never",
                          num(s.median_after), num(s.loss_at_arrival), describe(seeded_run.final_loss()),
                          std::to_string(s.increases_after)});
    const int seeds = static_cast<int>(seeded_run.seeds.size());
    for (auto& finding : judged_over_seeds(seeds, [&](int k) { return eos_findings(seeded_run.at(k)); })) {
      report.findings.push_back(std::move(finding));
    }
    plotted.push_back(&seeded_run.seeds.front());
    labels.push_back(fmt::format("GD constant lr={:g}", s.lr));
  }
  report.tables.push_back(table);
  const std::string dir = ctx.folder("eos");
  const auto fig = ctx.plot_runs(dir, "eos", plotted, labels, "Edge of stability: constant-LR GD (" + w.name + ")");
  if (!fig.empty()) report.figures.push_back(fig);
  return report;
}

}  // namespace cdat::experiments
