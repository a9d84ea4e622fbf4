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

// λ_max and lr of the median run: their medians over the last 10 % of the run over those over 10–20 %.
std::vector<std::string> drift_columns(const RunData& run) {
  return {num(late_over_early(measured(run, "sharpness"), 0.1, 0.2)), num(late_over_early(measured(run, "lr"), 0.1, 0.2))};
}

}  // namespace

Report reproduce_linear(Context& ctx) {
  Report report{"linear", "Classical tuners are effective on linear models",
                "on linear models, linesearch and the quadratically greedy rule work: they do as well as a tuned "
                "constant learning rate (Figure 2), unlike on the deep models of §4.2.",
                {}, {}, {}, {}};
  const std::string dir = ctx.folder("linear");
  Table table{"GD on linear models. Final train loss, median (lowest–highest) over the seeds, and its ratio to the tuned "
              "constant LR's median; λ_max and lr of the median run, last 10 % of the run over 10–20 %.",
              {"workload", "tuner", "final loss", "× tuned constant", "λ_max last / 10–20 %", "lr last / 10–20 %"},
              {}};
  const double scale = ctx.settings().scale;
  for (const Workload& w : {linear_mse(scale), linear_ce(scale)}) {
    const Tuned tuned = tune_constant(ctx, w, "gd");
    const Seeded constant = ctx.best_over_seeds(tuned);
    const ClassicalTuners tuners = run_classical_tuners(ctx, w, "gd");
    const int seeds = static_cast<int>(constant.seeds.size());
    for (const auto& [name, run] : {std::pair{"linesearch", &tuners.linesearch}, std::pair{"greedy", &tuners.greedy}}) {
      const std::string what = fmt::format("{}, GD, {}", w.name, name);
      auto findings = judged_over_seeds(seeds, [&](int k) { return linear_findings(what, run->at(k), constant.at(k)); });
      for (auto& finding : findings) report.findings.push_back(std::move(finding));
    }
    for (const auto* run : {&tuners.linesearch, &tuners.greedy, &constant}) {
      std::vector<std::string> row = {w.name, train::run_label(run->median.config), describe(run->final_loss()),
                                      ratio_text(run->median.rank_loss(), constant.median.rank_loss())};
      for (auto& cell : drift_columns(run->median)) row.push_back(std::move(cell));
      table.rows.push_back(std::move(row));
    }
    const auto fig = ctx.plot_runs(dir, "linear_" + w.name,
                                   {&tuners.linesearch.seeds.front(), &tuners.greedy.seeds.front(), &constant.seeds.front()},
                                   {"linesearch", "greedy (CDAT σ=1)", fmt::format("tuned constant lr={:g}", tuned.best_run().config.lr)},
                                   fmt::format("Classical tuners on a linear model: GD on {} (seed 0)", w.name));
    if (!fig.empty()) report.figures.push_back(fig);
    report.notes.push_back(fmt::format("{} ({}): tuned constant {} (tuned on seed 0)", w.name, w.description(), tuned.describe()));
  }
  report.notes.push_back(fmt::format("linesearch's first guess is capped at η_max = {:g} here (1 in the other experiments, "
                                      "where GD's LR stays far below it): softmax regression's tuned constant LR is above 1",
                                      linear_ce(scale).base.ls_eta_max));
  report.tables.push_back(table);
  return report;
}

}  // namespace cdat::experiments
