// §4.3: in full batch, CDAT on the edge (σ = 2) beats σ = 1 and the tuned constant LR for GD, RMSProp and
// Adam; its LR rises early like a warm-up then stabilises, and sharpening is reduced. And greedy (σ = 1)
// decreases the loss faster at first but loses over the run. Issue 13: an mlp-ce row (the same MLP with
// cross-entropy) contrasts the two losses on one architecture.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "experiments/experiments.h"
#include "experiments/series.h"
#include "experiments/tuner_runs.h"
#include "experiments/verdicts.h"

namespace cdat::experiments {
namespace {

// One full-batch workload × optimizer: CDAT σ = 2 and σ = 1, linesearch, and the tuned constant and schedule,
// over the seeds.
struct Cell {
  Workload workload;
  std::string optimizer;
  TunedOverSeeds constant, schedule;
  SeededPair pair;
  Seeded linesearch;
  std::string where() const { return fmt::format("{}, {}", workload.name, optimizer_title(optimizer)); }
};

// Both learning rates are tuned before either runs over the seeds (the order the run store's log has always shown).
Cell run_cell(Context& ctx, const Workload& w, const std::string& opt) {
  Tuned tuned_constant = tune_constant(ctx, w, opt);
  Tuned tuned_schedule = tune_schedule(ctx, w, opt, tuned_constant.best_run().config.lr);
  TunedOverSeeds constant = tuned_over_seeds(ctx, std::move(tuned_constant));
  TunedOverSeeds schedule = tuned_over_seeds(ctx, std::move(tuned_schedule));
  SeededPair pair = run_cdat_pair(ctx, w, opt);
  return {w, opt, std::move(constant), std::move(schedule), std::move(pair), run_linesearch(ctx, w, opt)};
}

// Per workload, its cells in the order of kOptimizers.
std::vector<std::vector<Cell>> run_cells(Context& ctx) {
  std::vector<std::vector<Cell>> cells;
  for (const auto& w : full_batch_workloads(ctx)) {
    cells.emplace_back();
    for (const auto& opt : kOptimizers) cells.back().push_back(run_cell(ctx, w, opt));
  }
  return cells;
}

// The MLP with cross-entropy (issue 13: CE and MSE on the same MLP), exactly as the safeguards experiment runs
// it (mlp_ce without the sharpness diagnostic), so the run store shares its σ = 2, σ = 1 and tuned-constant
// runs. Without sharpness only the findings that need none are judged; linesearch (there for the sharpening
// contrast) and the tuned schedule (a comparison) are not run, to keep the cost down. Each of its cells is
// contrasted with the same optimizer's mlp-mse cell (`mse`).
struct CeCell {
  std::string optimizer;
  TunedOverSeeds constant;
  SeededPair pair;
  const Cell* mse;
};

Workload mlp_ce_without_sharpness(double scale) {
  Workload w = mlp_ce(scale);
  w.base.sharpness_every = 0;
  return w;
}

std::vector<CeCell> run_ce_cells(Context& ctx, const Workload& w, const std::vector<std::vector<Cell>>& cells) {
  std::vector<CeCell> ce;
  for (const auto& opt : kOptimizers) {
    TunedOverSeeds constant = tuned_constant_over_seeds(ctx, w, opt);
    SeededPair pair = run_cdat_pair(ctx, w, opt);
    const Cell* mse = nullptr;
    for (const auto& row : cells) {
      for (const auto& cell : row) mse = cell.workload.name == "mlp-mse" && cell.optimizer == opt ? &cell : mse;
    }
    if (!mse) throw std::logic_error("cdat-full-batch: the mlp-ce contrast needs the mlp-mse runs");
    ce.push_back({opt, std::move(constant), std::move(pair), mse});
  }
  return ce;
}

Table workload_table(const std::vector<Cell>& row) {
  const Workload& w = row.front().workload;
  Table table{"**" + w.name + "**: " + w.description() + ". Final train loss, median (lowest–highest) over the seeds; the "
              "constant LR and the schedule's peak are tuned on seed 0. The schedule is a comparison, not a claim of the paper.",
              {"optimizer", "CDAT σ=2", "CDAT σ=1", "linesearch", "tuned constant (lr)", "tuned schedule (peak)",
               "σ=2 / constant", "σ=2 / schedule"},
              {}};
  for (const auto& cell : row) {
    const double edge = cell.pair.sigma2.final_loss().median;
    table.rows.push_back({optimizer_title(cell.optimizer), describe(cell.pair.sigma2.final_loss()),
                          describe(cell.pair.sigma1.final_loss()), describe(cell.linesearch.final_loss()),
                          loss_and_lr(cell.constant.runs.final_loss(), cell.constant.lr()),
                          loss_and_lr(cell.schedule.runs.final_loss(), cell.schedule.lr()),
                          ratio_text(edge, cell.constant.runs.final_loss().median),
                          ratio_text(edge, cell.schedule.runs.final_loss().median)});
  }
  return table;
}

Table ce_table(const Workload& w, const std::vector<CeCell>& ce) {
  Table table{"**" + w.name + "**: " + w.description() + ". The same MLP as mlp-mse with cross-entropy, as the safeguards experiment "
              "runs it (no sharpness measured). Final train loss, median (lowest–highest) over the seeds; the constant LR is tuned "
              "on seed 0. σ = 2 / constant is compared with mlp-mse's.",
              {"optimizer", "CDAT σ=2", "CDAT σ=1", "tuned constant (lr)", "σ=2 / constant", "mlp-mse: σ=2 / constant"},
              {}};
  for (const auto& cell : ce) {
    table.rows.push_back({optimizer_title(cell.optimizer), describe(cell.pair.sigma2.final_loss()),
                          describe(cell.pair.sigma1.final_loss()), loss_and_lr(cell.constant.runs.final_loss(), cell.constant.lr()),
                          num(edge_over_constant(cell.pair.sigma2.median, cell.constant.runs.median)),
                          num(edge_over_constant(cell.mse->pair.sigma2.median, cell.mse->constant.runs.median))});
  }
  return table;
}

std::vector<Finding> cell_findings(const Cell& cell) {
  const Seeded& constant = cell.constant.runs;
  return judged_over_seeds(constant.count(), [&](int k) {
    return cdat_full_batch_findings(cell.where(), cell.pair.at(k), constant.at(k), cell.linesearch.at(k));
  });
}

// Without sharpness: the edge findings, then the CE-vs-MSE contrast.
std::vector<Finding> ce_findings(const Workload& w, const CeCell& cell) {
  const std::string where = fmt::format("{}, {}", w.name, optimizer_title(cell.optimizer));
  const Seeded& constant = cell.constant.runs;
  const Cell& mse = *cell.mse;
  return judged_over_seeds(constant.count(), [&](int k) {
    auto all = cdat_edge_findings(where, cell.pair.at(k), constant.at(k));
    for (auto& f : loss_contrast_findings(optimizer_title(cell.optimizer), mse.pair.sigma2.at(k), mse.constant.runs.at(k),
                                          cell.pair.sigma2.at(k), constant.at(k))) {
      all.push_back(std::move(f));
    }
    return all;
  });
}

std::string plot_cell(Context& ctx, const Cell& cell) {
  return ctx.plot_runs(ctx.folder("cdat-full-batch"), fmt::format("cdat_{}_{}", cell.workload.name, cell.optimizer),
                       {&cell.pair.sigma2.seeds.front(), &cell.pair.sigma1.seeds.front(), &cell.constant.runs.seeds.front(),
                        &cell.schedule.runs.seeds.front()},
                       {"CDAT σ=2", "CDAT σ=1 (greedy)", tuned_constant_label(cell.constant.lr()),
                        fmt::format("tuned warm-up+cosine peak={:g}", cell.schedule.lr())},
                       fmt::format("CDAT in full batch: {} on {} (seed 0)", optimizer_title(cell.optimizer), cell.workload.name));
}

// σ = 2 and σ = 1 on one full-batch workload × optimizer (the one-step-vs-long experiment).
struct PairCell {
  Workload workload;
  std::string optimizer;
  SeededPair pair;
  std::string where() const { return fmt::format("{}, {}", workload.name, optimizer_title(optimizer)); }
};

std::vector<PairCell> run_pair_cells(Context& ctx) {
  std::vector<PairCell> cells;
  for (const auto& w : full_batch_workloads(ctx)) {
    for (const auto& opt : kOptimizers) cells.push_back({w, opt, run_cdat_pair(ctx, w, opt)});
  }
  return cells;
}

Table one_step_table(const std::vector<PairCell>& cells) {
  Table table{"Mean relative one-step decrease (f_t − f_{t+1}) / f_t over the first 10 steps of the median run, and the final "
              "train loss, median (lowest–highest) over the seeds.",
              {"workload", "optimizer", "greedy: early decrease", "σ=2: early decrease", "greedy: final", "σ=2: final"},
              {}};
  for (const auto& cell : cells) {
    const CdatPair median = cell.pair.at(kMedian);
    table.rows.push_back({cell.workload.name, optimizer_title(cell.optimizer), num(early_decrease(median.sigma1, 10)),
                          num(early_decrease(median.sigma2, 10)), describe(cell.pair.sigma1.final_loss()),
                          describe(cell.pair.sigma2.final_loss())});
  }
  return table;
}

std::string plot_pair(Context& ctx, const PairCell& cell) {
  const std::string& name = cell.workload.name;
  return ctx.plot_runs(ctx.folder("one-step-vs-long"), "one_step_" + name,
                       {&cell.pair.sigma1.seeds.front(), &cell.pair.sigma2.seeds.front()}, {"greedy (CDAT σ=1)", "CDAT σ=2"},
                       "Greedy vs edge: GD on " + name + " (seed 0)");
}

}  // namespace

Report reproduce_cdat_full_batch(Context& ctx) {
  Report report{"cdat-full-batch", "CDAT on the edge in full batch",
                "σ = 2 beats σ = 1 and the tuned constant LR, for GD, RMSProp and Adam; its LR rises early like a "
                "warm-up then stabilises, and sharpness stabilises (progressive sharpening is reduced, compared with the "
                "classical tuners) (§4.3). On the same MLP, cross-entropy is contrasted with MSE (issue 13).",
                {}, {}, {}, {}};
  const std::vector<std::vector<Cell>> cells = run_cells(ctx);
  const Workload ce_workload = mlp_ce_without_sharpness(ctx.settings().scale);
  const std::vector<CeCell> ce = run_ce_cells(ctx, ce_workload, cells);

  for (const auto& row : cells) report.tables.push_back(workload_table(row));
  report.tables.push_back(ce_table(ce_workload, ce));
  for (const auto& row : cells) {
    for (const auto& cell : row) add_findings(report, cell_findings(cell));
  }
  for (const auto& cell : ce) add_findings(report, ce_findings(ce_workload, cell));
  for (const auto& row : cells) {
    for (const auto& cell : row) {
      add_figure(report, plot_cell(ctx, cell));
      report.notes.push_back(fmt::format("{}: tuned constant {}; tuned schedule {}", cell.where(), cell.constant.tuned.describe(),
                                         cell.schedule.tuned.describe()));
    }
  }
  for (const auto& cell : ce) {
    report.notes.push_back(fmt::format("{}, {}: tuned constant {}", ce_workload.name, optimizer_title(cell.optimizer),
                                       cell.constant.tuned.describe()));
  }
  note_nanolm_skipped(ctx, report);
  return report;
}

Report reproduce_one_step_vs_long(Context& ctx) {
  Report report{"one-step-vs-long", "Greedy's one-step gain versus the edge's long run",
                "greedy (σ = 1) gives a larger decrease per step, but σ = 2 wins over the run (§4.3).", {}, {}, {}, {}};
  const std::vector<PairCell> cells = run_pair_cells(ctx);

  report.tables.push_back(one_step_table(cells));
  for (const auto& cell : cells) {
    add_findings(report, judged_over_seeds(cell.pair.sigma2.count(), [&](int k) { return one_step_findings(cell.where(), cell.pair.at(k)); }));
  }
  for (const auto& cell : cells) {
    if (cell.optimizer == "gd") add_figure(report, plot_pair(ctx, cell));
  }
  return report;
}

}  // namespace cdat::experiments
