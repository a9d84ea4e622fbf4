// §4.4: in mini batch, stochasticity damps the edge effects: the best σ shrinks with the batch size, EMA
// smoothing of CDAT's numerator and denominator lowers the sensitivity to σ, and CDAT is comparable to a
// tuned constant LR. Heat maps of final / initial train loss over σ × batch size, with and without EMA.
// Issue 13 adds, at each batch size: linesearch and greedy (σ = 1, a cell of the σ grid) against the tuned
// constant (stochasticity explains the classical tuners' success at suitable batch sizes), Adam + CDAT over
// the σ grid against Adam's own tuned constant, EMA β = 0.99 and the EMA-of-the-ratio mode.
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
constexpr double kGreedySigma = 1.0;  // greedy = CDAT σ = 1 without EMA (PAPER §2): a cell of the σ grid

// final / initial train loss (on the whole training subset); a diverged or failed run counts as 1 (no progress).
double progress_ratio(const RunData& run) { return run.ok() ? std::min(1.0, run.final_over_initial) : 1.0; }

// progress_ratio of seed k, or its median over the seeds (kMedian).
double progress_ratio(const Seeded& runs, int k) {
  if (k != kMedian) return progress_ratio(runs.at(k));
  std::vector<double> ratios;
  for (const auto& run : runs.seeds) ratios.push_back(progress_ratio(run));
  return median(ratios);
}

// progress_ratio of runs[i] (one per batch size, in the order of `batches`), by batch size.
std::map<int64_t, double> ratio_per_batch(const std::vector<Seeded>& runs, const std::vector<int64_t>& batches, int k) {
  std::map<int64_t, double> ratio;
  for (size_t i = 0; i < batches.size(); ++i) ratio[batches[i]] = progress_ratio(runs[i], k);
  return ratio;
}

// One σ × batch grid of CDAT runs: an optimizer, its EMA values and the EMA mode.
struct GridSpec {
  std::string optimizer;
  std::vector<double> emas;
  std::string ema_mode;  // "separate" (RunConfig's default, left untouched so the original runs keep their hash) or "ratio"
};
const GridSpec kGd{"gd", {0.0, 0.9, 0.99}, "separate"}, kGdRatio{"gd", {0.9}, "ratio"}, kAdam{"adam", kEmas, "separate"};

// Every configuration of the grids, in order, and which grid each belongs to.
struct GridRuns {
  std::vector<train::RunConfig> configs;
  std::vector<size_t> grid_of;
  std::vector<Seeded> runs;
  // grid g's final/initial ratios (seed k, or the median over seeds).
  SigmaGrid at(size_t g, int k) const {
    SigmaGrid grid{kSigmas, {}};
    for (size_t i = 0; i < runs.size(); ++i) {
      if (grid_of[i] == g) grid.ratios[{configs[i].ema, configs[i].batch_size}].push_back(progress_ratio(runs[i], k));
    }
    return grid;
  }
};

GridRuns run_grids(Context& ctx, const train::RunConfig& base, const std::vector<GridSpec>& specs,
                   const std::vector<int64_t>& batches) {
  GridRuns out;
  for (size_t g = 0; g < specs.size(); ++g) {
    for (double ema : specs[g].emas) {
      for (int64_t b : batches) {
        for (double sigma : kSigmas) {
          train::RunConfig c = with_tuner(base, specs[g].optimizer, "cdat", sigma);
          c.batch_size = b;
          c.ema = ema;
          if (specs[g].ema_mode != "separate") c.ema_mode = specs[g].ema_mode;
          out.configs.push_back(c);
          out.grid_of.push_back(g);
        }
      }
    }
  }
  out.runs = ctx.run_seeds(out.configs);
  return out;
}

// A tuned constant LR per batch size (tuned on seed 0), run over the seeds.
struct Constants {
  std::vector<Seeded> runs;  // per batch, in the order of `batches`
  std::vector<double> lrs;
  std::map<int64_t, double> ratio_at(const std::vector<int64_t>& batches, int k) const {
    return ratio_per_batch(runs, batches, k);
  }
};

Constants tune_constants(Context& ctx, const Workload& w, const std::string& optimizer, const std::vector<int64_t>& batches) {
  Constants out;
  for (int64_t b : batches) {
    train::RunConfig base = with_tuner(w.base, optimizer, "constant");
    base.batch_size = b;
    const Tuned tuned = ctx.tune_lr(base, lr_grid(w, optimizer), kLrGridFactor);
    out.runs.push_back(ctx.best_over_seeds(tuned));
    out.lrs.push_back(tuned.best_run().config.lr);
  }
  return out;
}

double ratio_at_sigma(const SigmaGrid& grid, double ema, int64_t batch, double sigma) {
  const auto at = std::find(grid.sigmas.begin(), grid.sigmas.end(), sigma) - grid.sigmas.begin();
  return grid.ratios.at({ema, batch}).at(static_cast<size_t>(at));
}

// One group of columns of a σ-grid table: best σ, best ratio and spread of `grid` at EMA `ema`.
struct GridColumns {
  std::string label;  // e.g. "no EMA", "EMA 0.9"
  const SigmaGrid* grid;
  double ema;
};

// Per batch size: each group of columns, then the tuned constant's ratio (lr).
Table sigma_grid_table(const std::string& caption, const std::vector<GridColumns>& groups, const std::vector<int64_t>& batches,
                       const Constants& constants) {
  Table table{caption, {"batch"}, {}};
  for (const auto& group : groups) {
    table.header.insert(table.header.end(), {"best σ (" + group.label + ")", "best ratio", "spread"});
  }
  table.header.push_back("tuned constant ratio (lr)");
  const auto constant_ratio = constants.ratio_at(batches, kMedian);
  for (size_t i = 0; i < batches.size(); ++i) {
    const int64_t b = batches[i];
    std::vector<std::string> row{batch_name(b)};
    for (const auto& [label, grid, ema] : groups) {
      row.insert(row.end(), {fmt::format("{:g}", grid->best_sigma(ema, b)), num(grid->best_ratio(ema, b)), num(grid->spread(ema, b))});
    }
    row.push_back(fmt::format("{} ({:g})", num(constant_ratio.at(b)), constants.lrs[i]));
    table.rows.push_back(row);
  }
  return table;
}

// heatmap.csv, which `reproduce_figures.py heatmap` draws: one line per configuration of the grids, its median
// final/initial over the seeds.
void write_heatmap(const std::string& path, const GridRuns& grids) {
  std::ofstream csv(path);
  csv << "ema,batch,sigma,final_over_initial,diverged,optimizer,ema_mode\n";
  for (size_t i = 0; i < grids.runs.size(); ++i) {
    const auto& c = grids.configs[i];
    csv << fmt::format("{},{},{},{},{},{},{}\n", c.ema, batch_name(c.batch_size), c.sigma, progress_ratio(grids.runs[i], kMedian),
                       grids.runs[i].median.ok() ? 0 : 1, c.optimizer, c.ema_mode);
  }
}

// The grids of run_grids, in the order given to it.
enum : size_t { kGdGrid, kGdRatioGrid, kAdamGrid };

// Every run of the experiment, over the seeds.
struct MiniBatchRuns {
  std::vector<int64_t> batches;  // the mini batch sizes below the training set's, smallest first, then 0 = full batch
  GridRuns grids;                // kGd, kGdRatio, kAdam
  std::vector<Seeded> linesearch;  // GD + linesearch, per batch
  Constants gd_constants, adam_constants;
};

// mlp-mse without sharpness, 500 steps at scale 1.
Workload mini_batch_workload(double scale) {
  Workload w = mlp_mse(scale);
  w.base.steps = scaled(500, scale, 4);
  w.base.sharpness_every = 0;
  return w;
}

MiniBatchRuns run_mini_batch(Context& ctx, const Workload& w) {
  MiniBatchRuns runs;
  for (int64_t b : {32, 128, 512}) {
    if (b < w.base.train_size) runs.batches.push_back(b);
  }
  runs.batches.push_back(0);  // full batch
  runs.grids = run_grids(ctx, w.base, {kGd, kGdRatio, kAdam}, runs.batches);
  std::vector<train::RunConfig> linesearch_configs;
  for (int64_t b : runs.batches) {
    linesearch_configs.push_back(with_tuner(w.base, "gd", "linesearch"));
    linesearch_configs.back().batch_size = b;
  }
  runs.linesearch = ctx.run_seeds(linesearch_configs);
  runs.gd_constants = tune_constants(ctx, w, "gd", runs.batches);
  runs.adam_constants = tune_constants(ctx, w, "adam", runs.batches);
  return runs;
}

std::vector<Table> sigma_grid_tables(const Workload& w, const MiniBatchRuns& runs) {
  const std::string seeds_note = "(whole training set; median over the seeds) of the best σ, and the spread (decades between the "
                                 "best and worst σ; a diverged run counts as 1). The constant LR is tuned on seed 0.";
  const SigmaGrid gd = runs.grids.at(kGdGrid, kMedian), gd_ratio = runs.grids.at(kGdRatioGrid, kMedian),
                  adam = runs.grids.at(kAdamGrid, kMedian);
  return {
      sigma_grid_table(describe(w.base) + " (the batch size varies). GD + CDAT; final/initial train loss " + seeds_note,
                       {{"no EMA", &gd, 0.0}, {"EMA 0.9", &gd, 0.9}}, runs.batches, runs.gd_constants),
      sigma_grid_table("GD + CDAT, the EMA variants: β = 0.9 and 0.99 (EMA of n and d separately) and the EMA of "
                       "the ratio n/d (β = 0.9, a comparison: the paper's ablation); final/initial train loss " + seeds_note,
                       {{"EMA 0.9", &gd, 0.9}, {"EMA 0.99", &gd, 0.99}, {"EMA of the ratio, 0.9", &gd_ratio, 0.9}},
                       runs.batches, runs.gd_constants),
      sigma_grid_table("Adam + CDAT; final/initial train loss " + seeds_note + " Adam's own constant LR.",
                       {{"no EMA", &adam, 0.0}, {"EMA 0.9", &adam, 0.9}}, runs.batches, runs.adam_constants),
  };
}

Table classical_table(const MiniBatchRuns& runs) {
  Table classical{"The classical tuners with GD: final/initial train loss (median over the seeds) of linesearch and of greedy "
                  "(CDAT σ = 1 without EMA, the σ grid's cell), and over the tuned constant's.",
                  {"batch", "linesearch", "greedy (σ = 1)", "tuned constant", "linesearch / constant", "greedy / constant"},
                  {}};
  const SigmaGrid gd = runs.grids.at(kGdGrid, kMedian);
  const auto constant_ratio = runs.gd_constants.ratio_at(runs.batches, kMedian);
  for (size_t i = 0; i < runs.batches.size(); ++i) {
    const int64_t b = runs.batches[i];
    const double ls = progress_ratio(runs.linesearch[i], kMedian), greedy = ratio_at_sigma(gd, 0.0, b, kGreedySigma);
    classical.rows.push_back({batch_name(b), num(ls), num(greedy), num(constant_ratio.at(b)), ratio_text(ls, constant_ratio.at(b)),
                              ratio_text(greedy, constant_ratio.at(b))});
  }
  return classical;
}

// Seed k's findings (or the median's): the σ grid's, linesearch's and greedy's, Adam's, EMA β = 0.99's.
std::vector<Finding> findings_at(const MiniBatchRuns& runs, int k) {
  const auto& batches = runs.batches;
  const SigmaGrid gd = runs.grids.at(kGdGrid, k);
  const auto constant_ratio = runs.gd_constants.ratio_at(batches, k);
  const auto linesearch_ratio = ratio_per_batch(runs.linesearch, batches, k);
  std::map<int64_t, double> greedy_ratio;
  for (int64_t b : batches) greedy_ratio[b] = ratio_at_sigma(gd, 0.0, b, kGreedySigma);
  std::vector<Finding> all = mini_batch_findings(gd, batches, constant_ratio);
  for (auto part : {classical_mini_batch_findings("linesearch", linesearch_ratio, constant_ratio, batches),
                    classical_mini_batch_findings("greedy (σ = 1)", greedy_ratio, constant_ratio, batches),
                    adam_mini_batch_findings(runs.grids.at(kAdamGrid, k), batches, runs.adam_constants.ratio_at(batches, k)),
                    ema_099_findings(gd, batches)}) {
    for (auto& f : part) all.push_back(std::move(f));
  }
  return all;
}

}  // namespace

Report reproduce_mini_batch(Context& ctx) {
  Report report{"mini-batch", "CDAT in mini batch",
                "stochasticity damps the effects: the best σ shrinks as the batch shrinks (heat map of final/initial train "
                "loss over σ × batch size); EMA smoothing reduces the sensitivity; CDAT is then comparable to tuned "
                "baselines; and stochasticity explains the classical tuners' (linesearch, greedy) success at suitable "
                "batch sizes (§4.4).",
                {}, {}, {}, {}};
  const Workload w = mini_batch_workload(ctx.settings().scale);
  const MiniBatchRuns runs = run_mini_batch(ctx, w);
  const std::filesystem::path dir = ctx.folder("mini-batch");
  write_heatmap((dir / "heatmap.csv").string(), runs.grids);

  for (auto& table : sigma_grid_tables(w, runs)) report.tables.push_back(std::move(table));
  report.tables.push_back(classical_table(runs));
  add_findings(report, judged_over_seeds(runs.grids.runs.front().count(), [&](int k) { return findings_at(runs, k); }));
  if (ctx.figure_script({"heatmap", (dir / "heatmap.csv").string(), "--out", (dir / "heatmap.png").string()})) {
    report.figures.push_back("heatmap.png");
  }
  return report;
}

}  // namespace cdat::experiments
