// §4.4: in mini batch, stochasticity damps the edge effects: the best σ shrinks with the batch size, EMA
// smoothing of CDAT's numerator and denominator lowers the sensitivity to σ, and CDAT is comparable to a
// tuned constant LR. Heat maps of final / initial train loss over σ × batch size, with and without EMA.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include "experiments/experiments.h"
#include "experiments/series.h"
#include "experiments/tuner_runs.h"
#include "experiments/verdicts.h"

namespace cdat::experiments {
namespace {

const std::vector<double> kSigmas = {0.25, 0.5, 1.0, 1.5, 2.0, 2.5};
const std::vector<double> kEmas = {0.0, 0.9};

// final / initial train loss (on the whole training subset); a diverged or failed run counts as 1 (no progress).
double progress_ratio(const RunData& run) { return run.ok() ? std::min(1.0, run.final_over_initial) : 1.0; }

// progress_ratio of seed k, or its median over the seeds (kMedian).
double progress_ratio(const Seeded& runs, int k) {
  if (k != kMedian) return progress_ratio(runs.at(k));
  std::vector<double> ratios;
  for (const auto& run : runs.seeds) ratios.push_back(progress_ratio(run));
  return median(ratios);
}

}  // namespace

Report reproduce_mini_batch(Context& ctx) {
  Report report{"mini-batch", "CDAT in mini batch",
                "stochasticity damps the effects: the best σ shrinks as the batch shrinks (heat map of final/initial train "
                "loss over σ × batch size); EMA smoothing reduces the sensitivity; CDAT is then comparable to tuned "
                "baselines (§4.4).",
                {}, {}, {}, {}};
  const double scale = ctx.settings().scale;
  Workload w = mlp_mse(scale);
  w.base.steps = scaled(500, scale, 4);
  w.base.sharpness_every = 0;
  const int64_t n = w.base.train_size;
  std::vector<int64_t> batches;
  for (int64_t b : {32, 128, 512}) {
    if (b < n) batches.push_back(b);
  }
  batches.push_back(0);  // full batch

  std::vector<train::RunConfig> configs;
  for (double ema : kEmas) {
    for (int64_t b : batches) {
      for (double sigma : kSigmas) {
        train::RunConfig c = with_tuner(w.base, "gd", "cdat", sigma);
        c.batch_size = b;
        c.ema = ema;
        configs.push_back(c);
      }
    }
  }
  const auto runs = ctx.run_seeds(configs);
  auto grid_at = [&](int k) {
    SigmaGrid grid{kSigmas, {}};  // (ema, batch) → ratio per σ
    for (size_t i = 0; i < runs.size(); ++i) grid.ratios[{configs[i].ema, configs[i].batch_size}].push_back(progress_ratio(runs[i], k));
    return grid;
  };
  const SigmaGrid grid = grid_at(kMedian);

  const std::string dir = ctx.folder("mini-batch");
  std::ofstream csv(std::filesystem::path(dir) / "heatmap.csv");
  csv << "ema,batch,sigma,final_over_initial,diverged\n";
  for (size_t i = 0; i < runs.size(); ++i) {
    const auto& c = configs[i];
    csv << fmt::format("{},{},{},{},{}\n", c.ema, batch_name(c.batch_size), c.sigma, progress_ratio(runs[i], kMedian),
                       runs[i].median.ok() ? 0 : 1);
  }
  csv.close();

  Table table{describe(w.base) + " (the batch size varies). GD + CDAT; final/initial train loss (whole training set; median "
              "over the seeds) of the best σ, and the spread (decades between the best and worst σ; a diverged run counts as "
              "1). The constant LR is tuned on seed 0.",
              {"batch", "best σ (no EMA)", "best ratio", "spread", "best σ (EMA 0.9)", "best ratio", "spread",
               "tuned constant ratio (lr)"},
              {}};
  std::vector<Seeded> constants;
  for (int64_t b : batches) {
    train::RunConfig base = with_tuner(w.base, "gd", "constant");
    base.batch_size = b;
    const Tuned tuned = ctx.tune_lr(base, lr_grid(w, "gd"), kLrGridFactor);
    constants.push_back(ctx.best_over_seeds(tuned));
    table.rows.push_back({batch_name(b), fmt::format("{:g}", grid.best_sigma(0.0, b)), num(grid.best_ratio(0.0, b)),
                          num(grid.spread(0.0, b)), fmt::format("{:g}", grid.best_sigma(0.9, b)),
                          num(grid.best_ratio(0.9, b)), num(grid.spread(0.9, b)),
                          fmt::format("{} ({:g})", num(progress_ratio(constants.back(), kMedian)), tuned.best_run().config.lr)});
  }
  report.tables.push_back(table);
  auto findings = judged_over_seeds(static_cast<int>(runs.front().seeds.size()), [&](int k) {
    std::map<int64_t, double> constant_ratio;
    for (size_t i = 0; i < batches.size(); ++i) constant_ratio[batches[i]] = progress_ratio(constants[i], k);
    return mini_batch_findings(grid_at(k), batches, constant_ratio);
  });
  for (auto& finding : findings) report.findings.push_back(std::move(finding));
  if (ctx.figure_script({"heatmap", (std::filesystem::path(dir) / "heatmap.csv").string(), "--out",
                         (std::filesystem::path(dir) / "heatmap.png").string()})) {
    report.figures.push_back("heatmap.png");
  }
  return report;
}

}  // namespace cdat::experiments
