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
  Table table{"Final train loss and median η·λ over the second half (edge = 2).",
              {"workload", "optimizer", "tuner", "final loss", "median η·λ", "lr last / lr at 10–20 %"},
              {}};
  auto workloads = full_batch_workloads(ctx);
  workloads.resize(std::min<size_t>(2, workloads.size()));  // mlp-mse and cnn-ce
  for (const auto& w : workloads) {
    for (const std::string opt : {"gd", "rmsprop"}) {
      const Tuned constant = tune_constant(ctx, w, opt);
      const auto pair = run_cdat_pair(ctx, w, opt);
      const auto linesearch = ctx.store().run({with_tuner(w.base, opt, "linesearch")}).front();
      const std::string where = fmt::format("{}, {}", w.name, optimizer_title(opt));
      for (const auto& [what, run] : {std::pair{where + ", linesearch", &linesearch}, std::pair{where + ", greedy", &pair.sigma1}}) {
        for (auto& finding : undershoot_findings(what, *run, constant.best_run())) report.findings.push_back(std::move(finding));
      }
      for (const auto* run : {&linesearch, &pair.sigma1, &constant.best_run()}) {
        const Series lr = measured(*run, "lr");
        table.rows.push_back({w.name, optimizer_title(opt), train::run_label(run->config), final_loss(*run),
                              num(window_median(edge_scaled_sharpness(*run), 0.5, 1.0)),
                              num(late_over_early(lr, 0.1, 0.2))});
      }
      const auto fig = ctx.plot_runs(dir, fmt::format("undershoot_{}_{}", w.name, opt),
                                     {&linesearch, &pair.sigma1, &constant.best_run()},
                                     {"linesearch", "greedy (CDAT σ=1)", fmt::format("tuned constant lr={:g}", constant.best_run().config.lr)},
                                     fmt::format("Classical tuners undershoot the edge: {} on {}", optimizer_title(opt), w.name));
      if (!fig.empty()) report.figures.push_back(fig);
      report.notes.push_back(fmt::format("{}: tuned constant {}", where, constant.describe()));
    }
  }
  report.tables.push_back(table);
  return report;
}

}  // namespace cdat::experiments
