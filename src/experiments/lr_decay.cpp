// PAPER §4 finding 2 over a long run: with linesearch or the greedy rule the learning rate keeps falling,
// "orders of magnitude over long runs", while sharpness keeps rising. mlp-mse's MLP on a few hundred images,
// full batch, run for 20 000 steps at scale 1 and 10 000 at scale 0.5 (workloads.h, mlp_mse_long).
#include <fmt/format.h>

#include "experiments/experiments.h"
#include "experiments/series.h"
#include "experiments/tuner_runs.h"
#include "experiments/verdicts.h"

namespace cdat::experiments {

Report reproduce_lr_decay(Context& ctx) {
  const Workload w = mlp_mse_long(ctx.settings().scale);
  Report report{"lr-decay", "The classical tuners' learning rate falls by orders of magnitude",
                "with linesearch or the greedy rule, the learning rate keeps falling, by orders of magnitude over long "
                "runs, as sharpness keeps rising (§4.2).",
                {}, {}, {}, {fmt::format("workload: {}", w.description())}};
  const std::string dir = ctx.folder("lr-decay");
  Table table{"GD, one long run per seed. Final train loss, median (lowest–highest) over the seeds; the median run's "
              "lr and λ_max as medians over 10–20 % of the run and over its last 10 %, and η·λ over the second half.",
              {"tuner", "final loss", "lr at 10–20 %", "lr last 10 %", "lr last / 10–20 %", "λ_max last / 10–20 %",
               "median η·λ"},
              {}};
  const ClassicalTuners tuners = run_classical_tuners(ctx, w, "gd");
  for (const auto& [name, run] : {std::pair{"linesearch", &tuners.linesearch}, std::pair{"greedy", &tuners.greedy}}) {
    const std::string what = fmt::format("{}, GD, {}, {} steps", w.name, name, w.base.steps);
    auto findings = judged_over_seeds(static_cast<int>(run->seeds.size()),
                                      [&](int k) { return lr_decay_findings(what, run->at(k)); });
    for (auto& finding : findings) report.findings.push_back(std::move(finding));
    const Series lr = measured(run->median, "lr");
    table.rows.push_back({train::run_label(run->median.config), describe(run->final_loss()), num(window_median(lr, 0.1, 0.2)),
                          num(window_median(lr, 0.9, 1.0)), num(late_over_early(lr, 0.1, 0.2)),
                          num(late_over_early(measured(run->median, "sharpness"), 0.1, 0.2)),
                          num(window_median(edge_scaled_sharpness(run->median), 0.5, 1.0))});
  }
  report.tables.push_back(table);
  const auto fig = ctx.plot_runs(dir, "lr_decay_" + w.name, {&tuners.linesearch.seeds.front(), &tuners.greedy.seeds.front()},
                                 {"linesearch", "greedy (CDAT σ=1)"},
                                 fmt::format("Classical tuners over {} steps: GD on {} (seed 0)", w.base.steps, w.name));
  if (!fig.empty()) report.figures.push_back(fig);
  return report;
}

}  // namespace cdat::experiments
