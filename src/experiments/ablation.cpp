// §4.5: on the simple MLP, CDAT's advantage over the tuned constant LR grows with width and depth,
// weight decay matters, and more data helps little. Advantage = tuned constant final loss / CDAT final loss.
#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "experiments/experiments.h"
#include "experiments/tuner_runs.h"
#include "experiments/verdicts.h"

namespace cdat::experiments {
namespace {

struct Variant {
  std::string factor, value;  // e.g. "width", "512"
  train::RunConfig base;
  double advantage = NAN, cdat_loss = NAN, constant_loss = NAN, constant_lr = NAN;
};

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
  auto add = [&](const std::string& factor, const std::string& value, auto change) {
    Variant v{factor, value, base};
    change(v.base);
    variants.push_back(v);
  };
  for (int64_t width : {base.width / 4, base.width, base.width * 4}) {
    add("width", std::to_string(width), [&](train::RunConfig& c) { c.width = width; });
  }
  for (int64_t depth : {1, 2, 4}) add("depth", std::to_string(depth), [&](train::RunConfig& c) { c.depth = depth; });
  for (double wd : {0.0, 1e-3}) add("weight decay", fmt::format("{:g}", wd), [&](train::RunConfig& c) { c.weight_decay = wd; });
  for (int64_t n : {base.train_size / 4, base.train_size, base.train_size * 4}) {
    add("data size", std::to_string(n), [&](train::RunConfig& c) { c.train_size = std::min<int64_t>(60000, n); });
  }

  const std::string dir = ctx.folder("ablation");
  std::ofstream csv(std::filesystem::path(dir) / "advantage.csv");
  csv << "factor,value,advantage,cdat_final_loss,constant_final_loss,constant_lr\n";
  Table table{"Base: " + describe(base) + "; one factor changed at a time. Advantage = tuned constant final loss / CDAT σ=2 "
              "final loss (> 1: CDAT better).",
              {"factor", "value", "CDAT σ=2", "tuned constant (lr)", "advantage"},
              {}};
  for (auto& v : variants) {
    Workload vw = w;
    vw.base = v.base;
    const Tuned constant = tune_constant(ctx, vw, "gd");
    const RunData cdat = ctx.store().run({with_tuner(v.base, "gd", "cdat", 2.0)}).front();
    v.cdat_loss = cdat.rank_loss();
    v.constant_loss = constant.best_run().rank_loss();
    v.constant_lr = constant.best_run().config.lr;
    v.advantage = v.constant_loss / v.cdat_loss;  // 0 when CDAT diverged
    table.rows.push_back({v.factor, v.value, num(v.cdat_loss), fmt::format("{} ({:g})", num(v.constant_loss), v.constant_lr),
                          num(v.advantage)});
    csv << fmt::format("{},{},{},{},{},{}\n", v.factor, v.value, v.advantage, v.cdat_loss, v.constant_loss, v.constant_lr);
  }
  csv.close();
  report.tables.push_back(table);

  auto advantages = [&](const std::string& factor) {  // in the order the variants were added
    std::vector<double> of;
    for (const auto& v : variants) {
      if (v.factor == factor) of.push_back(v.advantage);
    }
    return of;
  };
  const AblationAdvantages a{advantages("width"), advantages("depth"), advantages("weight decay"),
                             advantages("data size"), variants[0].value, variants[2].value};
  for (auto& finding : ablation_findings(a)) report.findings.push_back(std::move(finding));
  if (ctx.figure_script({"advantage", (std::filesystem::path(dir) / "advantage.csv").string(), "--out",
                         (std::filesystem::path(dir) / "advantage.png").string()})) {
    report.figures.push_back("advantage.png");
  }
  return report;
}

}  // namespace cdat::experiments
