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

// The base MLP with one factor changed.
struct Variant {
  std::string factor;  // "width", "depth", "weight decay", "data size"
  double value = NAN;  // the factor's value
  train::RunConfig base;
};

// A variant's runs over the seeds: CDAT σ = 2 and the tuned constant, and the advantage per seed.
struct VariantRuns {
  Variant variant;
  TunedOverSeeds constant;
  Seeded cdat;
  std::vector<double> advantage;  // per seed
};

// Tuned constant final loss / CDAT final loss (0 when CDAT diverged, +inf when only the constant did).
double advantage(const RunData& constant, const RunData& cdat) { return constant.rank_loss() / cdat.rank_loss(); }

// mlp-mse without sharpness, 500 steps at scale 1.
Workload ablation_workload(double scale) {
  Workload w = mlp_mse(scale);
  w.base.steps = scaled(500, scale, 4);
  w.base.sharpness_every = 0;
  return w;
}

std::vector<Variant> variants_of(const train::RunConfig& base) {
  std::vector<Variant> variants;
  auto add = [&](const std::string& factor, double value, auto change) {
    Variant v{factor, value, base};
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
  return variants;
}

std::vector<VariantRuns> run_variants(Context& ctx, const Workload& w) {
  std::vector<VariantRuns> out;
  for (const auto& v : variants_of(w.base)) {
    Workload vw = w;
    vw.base = v.base;
    TunedOverSeeds constant = tuned_constant_over_seeds(ctx, vw, "gd");
    Seeded cdat = ctx.run_seeds(with_tuner(v.base, "gd", "cdat", 2.0));
    std::vector<double> adv;
    for (size_t k = 0; k < cdat.seeds.size(); ++k) adv.push_back(advantage(constant.runs.seeds[k], cdat.seeds[k]));
    out.push_back({v, std::move(constant), std::move(cdat), std::move(adv)});
  }
  return out;
}

Table advantage_table(const train::RunConfig& base, const std::vector<VariantRuns>& runs) {
  Table table{"Base: " + describe(base) + "; one factor changed at a time. Advantage = tuned constant final loss / CDAT σ=2 "
              "final loss (> 1: CDAT better), per seed; median (lowest–highest) over the seeds. The constant LR is tuned on "
              "seed 0.",
              {"factor", "value", "CDAT σ=2", "tuned constant (lr)", "advantage"},
              {}};
  for (const auto& r : runs) {
    const auto low = std::min_element(r.advantage.begin(), r.advantage.end()),
               high = std::max_element(r.advantage.begin(), r.advantage.end());
    table.rows.push_back({r.variant.factor, fmt::format("{:g}", r.variant.value), describe(r.cdat.final_loss()),
                          loss_and_lr(r.constant.runs.final_loss(), r.constant.lr()),
                          fmt::format("{} ({}–{})", num(median(r.advantage)), num(*low), num(*high))});
  }
  return table;
}

// advantage.csv, which `reproduce_figures.py advantage` draws: one line per variant, medians over the seeds.
void write_advantage_csv(const std::string& path, const std::vector<VariantRuns>& runs) {
  std::ofstream csv(path);
  csv << "factor,value,advantage,cdat_final_loss,constant_final_loss,constant_lr\n";
  for (const auto& r : runs) {
    csv << fmt::format("{},{:g},{},{},{},{}\n", r.variant.factor, r.variant.value, median(r.advantage),
                       r.cdat.final_loss().median, r.constant.runs.final_loss().median, r.constant.lr());
  }
}

// Seed k's points (k = kMedian: every seed's points, for the trend over all of them).
AblationAdvantages advantages_at(const std::vector<VariantRuns>& runs, int k) {
  AblationAdvantages a;
  for (const auto& r : runs) {
    const Variant& v = r.variant;
    for (size_t seed = 0; seed < r.advantage.size(); ++seed) {
      if (k != kMedian && static_cast<size_t>(k) != seed) continue;
      const double adv = r.advantage[seed];
      if (v.factor == "weight decay") (v.value > 0 ? a.with_decay : a.without_decay).push_back(adv);
      FactorTrend* trend = v.factor == "width" ? &a.width : v.factor == "depth" ? &a.depth : v.factor == "data size" ? &a.data_size : nullptr;
      if (trend) {
        trend->value.push_back(v.value);
        trend->advantage.push_back(adv);
      }
    }
  }
  return a;
}

}  // namespace

Report reproduce_ablation(Context& ctx) {
  Report report{"ablation", "Ablation on the simple MLP",
                "CDAT's advantage grows with width and depth; weight decay matters; more data helps little (§4.5).",
                {}, {}, {}, {}};
  const Workload w = ablation_workload(ctx.settings().scale);
  const std::vector<VariantRuns> runs = run_variants(ctx, w);
  const std::filesystem::path dir = ctx.folder("ablation");
  write_advantage_csv((dir / "advantage.csv").string(), runs);

  report.tables.push_back(advantage_table(w.base, runs));
  add_findings(report, judged_over_seeds(static_cast<int>(runs.front().advantage.size()),
                                         [&](int k) { return ablation_findings(advantages_at(runs, k)); }));
  if (ctx.figure_script({"advantage", (dir / "advantage.csv").string(), "--out", (dir / "advantage.png").string()})) {
    report.figures.push_back("advantage.png");
  }
  return report;
}

}  // namespace cdat::experiments
