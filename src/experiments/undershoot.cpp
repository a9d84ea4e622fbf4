// §4.2: linesearch and the greedy rule settle below the edge (η·λ < 2): the learning rate keeps falling,
// sharpness and gradient norm keep rising, and after early gains the tuned constant LR wins.
#include <fmt/format.h>

#include <cmath>

#include "experiments/experiments.h"
#include "experiments/series.h"
#include "experiments/tuner_runs.h"

namespace cdat::experiments {
namespace {

// Ratio of a column's median over the late window to its median over an early window.
double late_over_early(const Series& s, double early_from, double early_to) {
  return window_median(s, 0.9, 1.0) / window_median(s, early_from, early_to);
}

void judge_tuner(Report& report, const std::string& what, const RunData& run, const RunData& constant) {
  const Series eta_lambda = edge_scaled_sharpness(run), lr = measured(run, "lr"), lambda = measured(run, "sharpness"),
               grad = measured(run, "grad_norm"), loss = measured(run, "train_loss"),
               const_loss = measured(constant, "train_loss");
  const bool usable = run.completed && !lambda.empty();
  const double settled = window_median(eta_lambda, 0.5, 1.0);
  report.findings.push_back(judge(what + ": η·λ settles below the edge 2",
                                  fmt::format("median η·λ over the second half {}", num(settled)),
                                  settled < 1.95 && settled > 0.5, usable));
  const double lr_ratio = late_over_early(lr, 0.1, 0.2);
  report.findings.push_back(judge(what + ": the learning rate keeps falling",
                                  fmt::format("lr (last 10 %) / lr (10–20 %) = {}", num(lr_ratio)), lr_ratio < 1.0, usable));
  const double lambda_ratio = late_over_early(lambda, 0.2, 0.3), grad_ratio = late_over_early(grad, 0.2, 0.3);
  report.findings.push_back(judge(what + ": sharpness keeps rising",
                                  fmt::format("λ_max ×{} from 20–30 % of the run to the last 10 %", num(lambda_ratio)),
                                  lambda_ratio > 1.0, usable));
  report.findings.push_back(judge(what + ": the gradient norm grows",
                                  fmt::format("‖g‖ ×{} from 20–30 % of the run to the last 10 %", num(grad_ratio)),
                                  grad_ratio > 1.0, usable));
  const double early = std::max(1.0, std::round(last_step(run) / 20));
  const double ours_early = value_at(loss, early), const_early = value_at(const_loss, early);
  report.findings.push_back(judge(what + ": early gains over the tuned constant LR",
                                  fmt::format("loss at step {:g}: {} vs constant {}", early, num(ours_early), num(const_early)),
                                  ours_early < const_early, usable && constant.ok()));
  report.findings.push_back(judge(what + ": the tuned constant LR wins in the long run",
                                  fmt::format("final loss {} vs constant {}", final_loss(run), num(constant.final_train_loss)),
                                  run.rank_loss() > constant.final_train_loss, usable && constant.ok()));
}

}  // namespace

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
      judge_tuner(report, where + ", linesearch", linesearch, constant.best_run());
      judge_tuner(report, where + ", greedy", pair.sigma1, constant.best_run());
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
