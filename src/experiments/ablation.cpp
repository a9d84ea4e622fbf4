// §4.5: on the simple MLP, CDAT's advantage over the tuned constant LR grows with width and depth,
// weight decay matters, and more data helps little. Advantage = tuned constant final loss / CDAT final loss.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "experiments/experiments.h"
#include "experiments/series.h"
#include "experiments/tuner_runs.h"
#include "experiments/verdicts.h"

namespace cdat::experiments {
namespace {

struct Variant {
  std::string factor;  // "width", "depth", "weight decay", "data size"
  double value = NAN;  // the factor's value
  train::RunConfig base;
  std::vector<double> advantage;  // per seed
  double constant_lr = NAN;
};

// Tuned constant final loss / CDAT final loss (0 when CDAT diverged, +inf when only the constant did).
double advantage(const RunData& constant, const RunData& cdat) { return constant.rank_loss() / cdat.rank_loss(); }

}  // namespace

Report reproduce_ablation(Context& ctx) {
  Report report{"ablation", "Ablation on the simple MLP",
                "CDAT's advantage grows with width and depth; weight decay matters; more data helps little (§4.5).",
                {}, {}, {}, {}};
  const double scale = ctx.settings().scale;
  Workload w = mlp_mse(scale);
  w.base.steps = scaled(500, scale, 4);
  w.base.sharpness_every = 0;
  const train::RunConfig base = w.base;
  std::vector<Variant> variants;
  auto add = [&](const std::string& factor, double value, auto change) {
    Variant v{factor, value, base, {}, NAN};
    change(v.base);
    variants.push_back(v);
  };
  for (int64_t width : {base.width / 4, base.width, base.width * 4}) {
    add("width", static_cast<double>(width), [&](train::RunConfig& c) { c.width = width; });
  }
  for (int64_t depth : {1, 2, 4}) add("depth", static_cast<double>(depth), [&](train::RunConfig& c) { c.depth = depth; });
  for (double wd : {0.0, 1e-3}) add("weight decay", wd, [&](train::RunConfig& c) { c.weight_decay = wd; });
  for (int64_t n : {base.train_size / 4, base.train_size, base.train_size * 4}) {
    const int64_t size = std::min<int64_t>(60000, n);
    add("data size", static_cast<double>(size), [&](train::RunConfig& c) { c.train_size = size; });
  }

  const std::string dir = ctx.folder("ablation");
  std::ofstream csv(std::filesystem::path(dir) / "advantage.csv");
  csv << "factor,value,advantage,cdat_final_loss,constant_final_loss,constant_lr\n";
  Table table{"Base: " + describe(base) + "; one factor changed at a time. Advantage = tuned constant final loss / CDAT σ=2 "
              "final loss (> 1: CDAT better), per seed; median (lowest–highest) over the seeds. The constant LR is tuned on "
              "seed 0.",
              {"factor", "value", "CDAT σ=2", "tuned constant (lr)", "advantage"},
              {}};
  for (auto& v : variants) {
    Workload vw = w;
    vw.base = v.base;
    const Tuned tuned = tune_constant(ctx, vw, "gd");
    const Seeded constant = ctx.best_over_seeds(tuned);
    const Seeded cdat = ctx.run_seeds(with_tuner(v.base, "gd", "cdat", 2.0));
    v.constant_lr = tuned.best_run().config.lr;
    for (size_t k = 0; k < cdat.seeds.size(); ++k) v.advantage.push_back(advantage(constant.seeds[k], cdat.seeds[k]));
    const double median_advantage = median(v.advantage);
    table.rows.push_back({v.factor, fmt::format("{:g}", v.value), describe(cdat.final_loss()),
                          fmt::format("{} ({:g})", describe(constant.final_loss()), v.constant_lr),
                          fmt::format("{} ({}–{})", num(median_advantage), num(*std::min_element(v.advantage.begin(), v.advantage.end())),
                                      num(*std::max_element(v.advantage.begin(), v.advantage.end())))});
    csv << fmt::format("{},{:g},{},{},{},{}\n", v.factor, v.value, median_advantage, cdat.final_loss().median,
                       constant.final_loss().median, v.constant_lr);
  }
  csv.close();
  report.tables.push_back(table);

  // Seed k's points (k = kMedian: every seed's points, for the trend over all of them).
  auto advantages_at = [&](int k) {
    AblationAdvantages a;
    for (const auto& v : variants) {
      for (size_t seed = 0; seed < v.advantage.size(); ++seed) {
        if (k != kMedian && static_cast<size_t>(k) != seed) continue;
        const double adv = v.advantage[seed];
        if (v.factor == "weight decay") (v.value > 0 ? a.with_decay : a.without_decay).push_back(adv);
        FactorTrend* trend = v.factor == "width" ? &a.width : v.factor == "depth" ? &a.depth : v.factor == "data size" ? &a.data_size : nullptr;
        if (trend) {
          trend->value.push_back(v.value);
          trend->advantage.push_back(adv);
        }
      }
    }
    return a;
  };
  auto findings = judged_over_seeds(static_cast<int>(variants.front().advantage.size()),
                                    [&](int k) { return ablation_findings(advantages_at(k)); });
  for (auto& finding : findings) report.findings.push_back(std::move(finding));
  if (ctx.figure_script({"advantage", (std::filesystem::path(dir) / "advantage.csv").string(), "--out",
                         (std::filesystem::path(dir) / "advantage.png").string()})) {
    report.figures.push_back("advantage.png");
  }
  return report;
}

}  // namespace cdat::experiments
