// The experiments of `cdat reproduce` (PAPER §4): each runs (or reuses) the training runs it needs, draws
// its figures and judges the paper's claims on the numbers. One function per experiment, one file each.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "experiments/context.h"
#include "experiments/report.h"

namespace cdat::experiments {

struct Experiment {
  std::string name;  // the CLI name: eos, undershoot, ...
  std::string summary;
  std::function<Report(Context&)> run;
};

// In the order `cdat reproduce all` runs them.
const std::vector<Experiment>& all_experiments();
// Throws cdat::InvalidOption naming the experiment and listing the valid names.
const Experiment& find_experiment(const std::string& name);

Report reproduce_eos(Context& ctx);               // §4.1
Report reproduce_undershoot(Context& ctx);        // §4.2
Report reproduce_linear(Context& ctx);            // §4.2, Figure 2: the classical tuners on linear models
Report reproduce_lr_decay(Context& ctx);          // §4.2: their LR over a long run
Report reproduce_cdat_full_batch(Context& ctx);   // §4.3
Report reproduce_one_step_vs_long(Context& ctx);  // §4.3, greedy vs σ = 2
Report reproduce_mini_batch(Context& ctx);        // §4.4
Report reproduce_ablation(Context& ctx);          // §4.5
Report reproduce_dynamics(Context& ctx);          // §5
// The simplified model over `steps` steps; the experiment runs kDynamicsSteps whatever --scale (about a second:
// scaling it down only made the smoke runs judge a model that had no time to settle).
constexpr int64_t kDynamicsSteps = 20000;
Report simulate_dynamics(Context& ctx, int64_t steps);
Report reproduce_safeguards(Context& ctx);        // issue 11: CDAT's safeguards (ours)
Report reproduce_defaults(Context& ctx);          // issue 24: the defaults against a per-seed tuned constant (ours)

// Shared formatting: "0.0123", "—" for NaN.
std::string num(double x);
// a / b as text, "—" when either is not finite (a diverged median has no ratio, not 0).
std::string ratio_text(double a, double b);
// A run's final train loss as text: the number, "diverged" or "failed".
std::string final_loss(const RunData& run);
// A tuned baseline's table cell: its final loss over the seeds, then its learning rate in brackets.
std::string loss_and_lr(const OverSeeds& loss, double lr);
// A tuned constant's label in a figure: "tuned constant lr=0.05".
std::string tuned_constant_label(double lr);
// The note of the experiments that run NanoLM only with a Tiny Shakespeare file, when there is none.
void note_nanolm_skipped(const Context& ctx, Report& report);

}  // namespace cdat::experiments
