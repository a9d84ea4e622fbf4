#include "experiments/experiments.h"

#include <cdat/errors.h>
#include <fmt/format.h>

#include <cmath>

namespace cdat::experiments {

std::string num(double x) { return std::isfinite(x) ? fmt::format("{:.3g}", x == 0.0 ? 0.0 : x) : "—"; }  // no "-0"

std::string ratio_text(double a, double b) { return std::isfinite(a) && std::isfinite(b) ? num(a / b) : num(NAN); }

std::string final_loss(const RunData& run) {
  if (!run.completed) return "failed";
  return run.diverged ? "diverged" : num(run.final_train_loss);
}

std::string loss_and_lr(const OverSeeds& loss, double lr) { return fmt::format("{} ({:g})", describe(loss), lr); }

std::string tuned_constant_label(double lr) { return fmt::format("tuned constant lr={:g}", lr); }

void note_nanolm_skipped(const Context& ctx, Report& report) {
  if (ctx.settings().text_file.empty()) report.notes.push_back("NanoLM skipped: no Tiny Shakespeare file (--text-file).");
}

const std::vector<Experiment>& all_experiments() {
  static const std::vector<Experiment> list = {
      {"eos", "edge of stability with constant-LR GD (§4.1)", reproduce_eos},
      {"undershoot", "linesearch and greedy undershoot the edge, for GD and RMSProp (§4.2)", reproduce_undershoot},
      {"linear", "linesearch and greedy are as good as a tuned constant LR on linear models (Figure 2)", reproduce_linear},
      {"lr-decay", "linesearch's and greedy's LR falls by an order of magnitude over a long run (§4.2)", reproduce_lr_decay},
      {"cdat-full-batch", "CDAT σ=2 vs σ=1, tuned constant LR and tuned schedule, 3 optimizers × 3 workloads (§4.3)",
       reproduce_cdat_full_batch},
      {"one-step-vs-long", "greedy's larger early decrease vs σ=2's better long run (§4.3)", reproduce_one_step_vs_long},
      {"mini-batch", "σ × batch-size heat maps with and without EMA (§4.4)", reproduce_mini_batch},
      {"ablation", "CDAT's advantage over width, depth, weight decay and data size (§4.5)", reproduce_ablation},
      {"dynamics", "the simplified model's four behaviours (§5)", reproduce_dynamics},
      {"safeguards", "CDAT σ=2 with its safeguards vs the paper's rule over the seeds, and their ablation (issue 11)",
       reproduce_safeguards},
      {"defaults", "CDAT's defaults vs the constant LR tuned per seed, full and mini batch, and candidate defaults (issue 24)",
       reproduce_defaults},
  };
  return list;
}

const Experiment& find_experiment(const std::string& name) {
  std::string names;
  for (const auto& e : all_experiments()) {
    if (e.name == name) return e;
    names += (names.empty() ? "" : ", ") + e.name;
  }
  throw InvalidOption("unknown experiment '" + name + "' (choose from: " + names + ", all)");
}

}  // namespace cdat::experiments
