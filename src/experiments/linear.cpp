// PAPER Figure 2: on linear models the classical tuners, Armijo linesearch and the greedy rule (CDAT σ = 1 with
// the paper's rule), are effective: as good as a tuned constant LR, without tuning. Two linear models on the
// same images: least squares (MSE; a quadratic whose Hessian never changes, so there is no sharpening for the
// tuners to chase and the greedy rule is the exact line search) and softmax regression (CE; convex, the loss
// the deep workloads use), so that a verdict cannot be an artefact of one loss.
#include <fmt/format.h>

#include "experiments/experiments.h"
#include "experiments/series.h"
#include "experiments/tuner_runs.h"
#include "experiments/verdicts.h"

namespace cdat::experiments {
namespace {

// One linear model: the classical tuners and the tuned constant LR, over the seeds.
struct Cell {
  Workload workload;
  TunedOverSeeds constant;
  ClassicalTuners tuners;
};

std::vector<Cell> run_cells(Context& ctx) {
  const double scale = ctx.settings().scale;
  std::vector<Cell> cells;
  for (const Workload& w : {linear_mse(scale), linear_ce(scale)}) {
    TunedOverSeeds constant = tuned_constant_over_seeds(ctx, w, "gd");
    cells.push_back({w, std::move(constant), run_classical_tuners(ctx, w, "gd")});
  }
  return cells;
}

// λ_max and lr of the median run: their medians over the last 10 % of the run over those over 10–20 %.
std::vector<std::string> drift_columns(const RunData& run) {
  return {num(late_over_early(measured(run, "sharpness"), 0.1, 0.2)), num(late_over_early(measured(run, "lr"), 0.1, 0.2))};
}

Table linear_table(const std::vector<Cell>& cells) {
  Table table{"GD on linear models. Final train loss, median (lowest–highest) over the seeds, and its ratio to the tuned "
              "constant LR's median; λ_max and lr of the median run, last 10 % of the run over 10–20 %.",
              {"workload", "tuner", "final loss", "× tuned constant", "λ_max last / 10–20 %", "lr last / 10–20 %"},
              {}};
  for (const auto& cell : cells) {
    const Seeded& constant = cell.constant.runs;
    for (const auto* run : {&cell.tuners.linesearch, &cell.tuners.greedy, &constant}) {
      std::vector<std::string> row = {cell.workload.name, train::run_label(run->median.config), describe(run->final_loss()),
                                      ratio_text(run->median.rank_loss(), constant.median.rank_loss())};
      for (auto& column : drift_columns(run->median)) row.push_back(std::move(column));
      table.rows.push_back(std::move(row));
    }
  }
  return table;
}

// Linesearch's finding, then greedy's, against the tuned constant.
std::vector<Finding> cell_findings(const Cell& cell) {
  std::vector<Finding> all;
  const Seeded& constant = cell.constant.runs;
  for (const auto& [name, run] : {std::pair{"linesearch", &cell.tuners.linesearch}, std::pair{"greedy", &cell.tuners.greedy}}) {
    const std::string what = fmt::format("{}, GD, {}", cell.workload.name, name);
    for (auto& f : judged_over_seeds(constant.count(), [&](int k) { return linear_findings(what, run->at(k), constant.at(k)); })) {
      all.push_back(std::move(f));
    }
  }
  return all;
}

std::string plot_cell(Context& ctx, const Cell& cell) {
  return ctx.plot_runs(ctx.folder("linear"), "linear_" + cell.workload.name,
                       {&cell.tuners.linesearch.seeds.front(), &cell.tuners.greedy.seeds.front(), &cell.constant.runs.seeds.front()},
                       {"linesearch", "greedy (CDAT σ=1)", tuned_constant_label(cell.constant.lr())},
                       fmt::format("Classical tuners on a linear model: GD on {} (seed 0)", cell.workload.name));
}

}  // namespace

Report reproduce_linear(Context& ctx) {
  Report report{"linear", "Classical tuners are effective on linear models",
                "on linear models, linesearch and the quadratically greedy rule work: they do as well as a tuned "
                "constant learning rate (Figure 2), unlike on the deep models of §4.2.",
                {}, {}, {}, {}};
  const std::vector<Cell> cells = run_cells(ctx);

  report.tables.push_back(linear_table(cells));
  for (const auto& cell : cells) add_findings(report, cell_findings(cell));
  for (const auto& cell : cells) {
    add_figure(report, plot_cell(ctx, cell));
    report.notes.push_back(fmt::format("{} ({}): tuned constant {} (tuned on seed 0)", cell.workload.name,
                                       cell.workload.description(), cell.constant.tuned.describe()));
  }
  report.notes.push_back(fmt::format("linesearch's first guess is capped at η_max = {:g} here (1 in the other experiments, "
                                     "where GD's LR stays far below it): softmax regression's tuned constant LR is above 1",
                                     linear_ce(ctx.settings().scale).base.ls_eta_max));
  return report;
}

}  // namespace cdat::experiments
