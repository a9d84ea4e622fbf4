// §4.1: with a constant learning rate η, full-batch GD sharpens until λ_max ≈ 2/η, then hovers at the edge
// while the loss keeps falling non-monotonically.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "experiments/experiments.h"
#include "experiments/series.h"

namespace cdat::experiments {
namespace {

constexpr double kArrival = 1.9;  // η·λ at which the run counts as having reached the edge

struct EdgeStats {
  double lr = 0, lambda0 = NAN, lambda_max = NAN, arrival = NAN, median_after = NAN, loss_at_arrival = NAN;
  double final_loss = NAN;
  int64_t increases_after = 0;
};

EdgeStats edge_stats(const RunData& run) {
  EdgeStats s;
  s.lr = run.config.lr;
  const Series lambda = measured(run, "sharpness"), eta_lambda = edge_scaled_sharpness(run), loss = measured(run, "train_loss");
  if (lambda.empty() || loss.empty()) return s;
  s.lambda0 = lambda.value.front();
  s.lambda_max = *std::max_element(lambda.value.begin(), lambda.value.end());
  s.final_loss = run.final_train_loss;
  for (size_t i = 0; i < eta_lambda.step.size(); ++i) {
    if (eta_lambda.value[i] >= kArrival) {
      s.arrival = eta_lambda.step[i];
      break;
    }
  }
  if (std::isfinite(s.arrival)) {
    std::vector<double> after;
    for (size_t i = 0; i < eta_lambda.step.size(); ++i) {
      if (eta_lambda.step[i] >= s.arrival) after.push_back(eta_lambda.value[i]);
    }
    s.median_after = median(after);
    s.loss_at_arrival = value_at(loss, s.arrival);
    s.increases_after = increases(loss, s.arrival);
  }
  return s;
}

}  // namespace

Report reproduce_eos(Context& ctx) {
  Report report{"eos", "Edge of stability with constant-LR gradient descent",
                "with a constant learning rate, full-batch GD's sharpness rises (progressive sharpening) until "
                "λ_max ≈ 2/η, then hovers there while the loss keeps decreasing non-monotonically (§4.1).",
                {}, {}, {}, {}};
  const double scale = ctx.settings().scale;
  Workload w = mlp_mse(scale);
  w.base.steps = scaled(2500, scale, 4);
  w.base.sharpness_every = std::max<int64_t>(1, w.base.steps / 100);  // the edge needs a dense λ_max curve
  w.base.lanczos_iters = 20;
  std::vector<train::RunConfig> configs;
  for (double lr : {0.04, 0.08}) configs.push_back(with_tuner(w.base, "gd", "constant", lr));
  const auto runs = ctx.store().run(configs);

  Table table{"Runs: " + w.description() + ".",
              {"η", "2/η", "λ_max at step 0", "largest λ_max", "first step with η·λ ≥ 1.9", "median η·λ after it",
               "loss then", "final loss", "loss increases after"},
              {}};
  std::vector<const RunData*> plotted;
  std::vector<std::string> labels;
  for (const auto& run : runs) {
    const EdgeStats s = edge_stats(run);
    const std::string at = fmt::format("η = {:g}", s.lr);
    table.rows.push_back({fmt::format("{:g}", s.lr), num(2 / s.lr), num(s.lambda0), num(s.lambda_max), std::isfinite(s.arrival) ? fmt::format("{:.0f}", s.arrival) : "never",
                          num(s.median_after), num(s.loss_at_arrival), num(s.final_loss), std::to_string(s.increases_after)});
    const bool measured_run = run.ok() && std::isfinite(s.lambda0);
    report.findings.push_back(judge(at + ": sharpness rises (progressive sharpening) to the edge 2/η",
                                    fmt::format("λ_max {} → {} (2/η = {})", num(s.lambda0), num(s.lambda_max), num(2 / s.lr)),
                                    s.lambda_max >= 1.1 * s.lambda0 && std::isfinite(s.arrival), measured_run));
    const bool arrived = measured_run && std::isfinite(s.arrival);
    report.findings.push_back(judge(at + ": then hovers at the edge (median η·λ within 2 ± 0.2)",
                                    fmt::format("median η·λ {} from step {:.0f} on", num(s.median_after), s.arrival),
                                    std::abs(s.median_after - 2.0) <= 0.2, arrived));
    report.findings.push_back(judge(at + ": while the loss keeps decreasing, non-monotonically",
                                    fmt::format("loss {} → {} with {} increases", num(s.loss_at_arrival), num(s.final_loss),
                                                s.increases_after),
                                    s.final_loss < s.loss_at_arrival && s.increases_after > 0, arrived));
    plotted.push_back(&run);
    labels.push_back(fmt::format("GD constant lr={:g}", s.lr));
  }
  report.tables.push_back(table);
  const std::string dir = ctx.folder("eos");
  const auto fig = ctx.plot_runs(dir, "eos", plotted, labels, "Edge of stability: constant-LR GD (" + w.name + ")");
  if (!fig.empty()) report.figures.push_back(fig);
  return report;
}

}  // namespace cdat::experiments
