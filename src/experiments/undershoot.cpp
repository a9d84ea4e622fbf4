// §4.2: linesearch and the greedy rule settle below the edge (η·λ < 2): the learning rate keeps falling,
// sharpness and gradient norm keep rising, and after early gains the tuned constant LR wins.
#include <fmt/format.h>

#include <cmath>

#include "experiments/experiments.h"
#include "experiments/series.h"
#include "experiments/tuner_runs.h"
#include "experiments/verdicts.h"

namespace cdat::experiments {
Report reproduce_undershoot(Context& ctx) {
  Report report{"undershoot", "Linesearch and greedy undershoot the edge of stability",
                "with linesearch or the greedy rule, η·λ_max settles a bit below 2, sharpness keeps rising, the learning "
                "rate keeps falling and the gradient norm grows: early one-step gains, then a long-term loss worse than "
                "a tuned constant LR; on GD and RMSProp (§4.2).",
                {}, {}, {}, {}};
  const std::string dir = ctx.folder("undershoot");
  Table table{"Final train loss, median (lowest–highest) over the seeds; median η·λ over the second half (edge = 2) and "
              "the lr ratio, of the median run.",
              {"workload", "optimizer", "tuner", "final loss", "median η·λ", "lr last / lr at 10–20 %"},
              {}};
  auto workloads = full_batch_workloads(ctx);
  workloads.resize(std::min<size_t>(2, workloads.size()));  // mlp-mse and cnn-ce
  for (const auto& w : workloads) {
    for (const std::string opt : {"gd", "rmsprop"}) {
      const Tuned tuned = tune_constant(ctx, w, opt);
      const Seeded constant = ctx.best_over_seeds(tuned);
      const SeededPair pair = run_cdat_pair(ctx, w, opt);
      const Seeded linesearch = run_linesearch(ctx, w, opt);
      const std::string where = fmt::format("{}, {}", w.name, optimizer_title(opt));
      const int seeds = static_cast<int>(constant.seeds.size());
      for (const auto& [what, run] : {std::pair{where + ", linesearch", &linesearch}, std::pair{where + ", greedy", &pair.sigma1}}) {
        auto findings = judged_over_seeds(seeds, [&](int k) { return undershoot_findings(what, run->at(k), constant.at(k)); });
        for (auto& finding : findings) report.findings.push_back(std::move(finding));
      }
      for (const auto* run : {&linesearch, &pair.sigma1, &constant}) {
        const Series lr = measured(run->median, "lr");
        table.rows.push_back({w.name, optimizer_title(opt), train::run_label(run->median.config), describe(run->final_loss()),
                              num(window_median(edge_scaled_sharpness(run->median), 0.5, 1.0)),
                              num(late_over_early(lr, 0.1, 0.2))});
      }
      const auto fig = ctx.plot_runs(dir, fmt::format("undershoot_{}_{}", w.name, opt),
                                     {&linesearch.seeds.front(), &pair.sigma1.seeds.front(), &constant.seeds.front()},
                                     {"linesearch", "greedy (CDAT σ=1)", fmt::format("tuned constant lr={:g}", tuned.best_run().config.lr)},
                                     fmt::format("Classical tuners undershoot the edge: {} on {} (seed 0)", optimizer_title(opt), w.name));
      if (!fig.empty()) report.figures.push_back(fig);
      report.notes.push_back(fmt::format("{}: tuned constant {} (tuned on seed 0)", where, tuned.describe()));
    }
  }
  report.tables.push_back(table);
  return report;
}

}  // namespace cdat::experiments
