// PAPER §4 finding 2 over a long run: with linesearch or the greedy rule the learning rate keeps falling,
// "orders of magnitude over long runs", while sharpness keeps rising. mlp-mse's MLP on a few hundred images,
// full batch, run for 20 000 steps at scale 1 and 10 000 at scale 0.5 (workloads.h, mlp_mse_long).
#include <fmt/format.h>

#include "experiments/experiments.h"
#include "experiments/series.h"
#include "experiments/tuner_runs.h"
#include "experiments/verdicts.h"

namespace cdat::experiments {
namespace {

// Linesearch and greedy, by name, in the order of the table and the findings.
std::vector<std::pair<std::string, const Seeded*>> by_name(const ClassicalTuners& tuners) {
  return {{"linesearch", &tuners.linesearch}, {"greedy", &tuners.greedy}};
}

Table lr_decay_table(const ClassicalTuners& tuners) {
  Table table{"GD, one long run per seed. Final train loss, median (lowest–highest) over the seeds; the median run's "
              "lr and λ_max as medians over 10–20 % of the run and over its last 10 %, and η·λ over the second half.",
              {"tuner", "final loss", "lr at 10–20 %", "lr last 10 %", "lr last / 10–20 %", "λ_max last / 10–20 %",
               "median η·λ"},
              {}};
  for (const auto& [name, run] : by_name(tuners)) {
    const Series lr = measured(run->median, "lr");
    table.rows.push_back({train::run_label(run->median.config), describe(run->final_loss()), num(window_median(lr, 0.1, 0.2)),
                          num(window_median(lr, 0.9, 1.0)), num(late_over_early(lr, 0.1, 0.2)),
                          num(late_over_early(measured(run->median, "sharpness"), 0.1, 0.2)),
                          num(window_median(edge_scaled_sharpness(run->median), 0.5, 1.0))});
  }
  return table;
}

std::string plot_tuners(Context& ctx, const Workload& w, const ClassicalTuners& tuners) {
  return ctx.plot_runs(ctx.folder("lr-decay"), "lr_decay_" + w.name, {&tuners.linesearch.seeds.front(), &tuners.greedy.seeds.front()},
                       {"linesearch", "greedy (CDAT σ=1)"},
                       fmt::format("Classical tuners over {} steps: GD on {} (seed 0)", w.base.steps, w.name));
}

}  // namespace

Report reproduce_lr_decay(Context& ctx) {
  const Workload w = mlp_mse_long(ctx.settings().scale);
  Report report{"lr-decay", "The classical tuners' learning rate falls by orders of magnitude",
                "with linesearch or the greedy rule, the learning rate keeps falling, by orders of magnitude over long "
                "runs, as sharpness keeps rising (§4.2).",
                {}, {}, {}, {fmt::format("workload: {}", w.description())}};
  const ClassicalTuners tuners = run_classical_tuners(ctx, w, "gd");

  report.tables.push_back(lr_decay_table(tuners));
  for (const auto& [name, run] : by_name(tuners)) {
    const std::string what = fmt::format("{}, GD, {}, {} steps", w.name, name, w.base.steps);
    add_findings(report, judged_over_seeds(run->count(), [&](int k) { return lr_decay_findings(what, run->at(k)); }));
  }
  add_figure(report, plot_tuners(ctx, w, tuners));
  return report;
}

}  // namespace cdat::experiments
