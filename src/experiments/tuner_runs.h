// The full-batch runs that several experiments share (§4.2, §4.3): on one workload and base optimizer,
// CDAT σ = 2 and σ = 1 (the quadratically greedy rule), the tuned constant learning rate and the tuned
// warm-up + cosine schedule. The run store makes a run needed by two experiments run once.
#pragma once

#include <string>
#include <vector>

#include "experiments/context.h"
#include "experiments/workloads.h"

namespace cdat::experiments {

// The base optimizers of the full-batch and safeguards experiments.
inline const std::vector<std::string> kOptimizers = {"gd", "rmsprop", "adam"};

// The full-batch workloads: mlp-mse and cnn-ce, and nanolm-ce when a Tiny Shakespeare file is set.
std::vector<Workload> full_batch_workloads(const Context& ctx);

// The workloads of the safeguards and defaults experiments: mlp-mse, mlp-ce, cnn-ce and nanolm-ce (when a Tiny
// Shakespeare file is set), the cross-entropy CNN and NanoLM on 4 × their data (not memorised in the run),
// without the sharpness diagnostic (not judged there; Lanczos would dominate the cost).
std::vector<Workload> safeguard_workloads(const Context& ctx);

Tuned tune_constant(Context& ctx, const Workload& workload, const std::string& optimizer);
// Peak learning rate of a warm-up (10 % of the steps) + cosine schedule, tuned on {1, 2} × the tuned
// constant learning rate (widened like tune_lr).
Tuned tune_schedule(Context& ctx, const Workload& workload, const std::string& optimizer, double constant_lr);

// A learning rate tuned on seed 0 and its best configuration run over the seeds.
struct TunedOverSeeds {
  Tuned tuned;
  Seeded runs;
  double lr() const { return tuned.best_run().config.lr; }
};
TunedOverSeeds tuned_over_seeds(Context& ctx, Tuned tuned);
// tune_constant, then its best over the seeds.
TunedOverSeeds tuned_constant_over_seeds(Context& ctx, const Workload& workload, const std::string& optimizer);

struct CdatPair {
  RunData sigma2, sigma1;
};
// σ = 2 and σ = 1 over the seeds; at(k) is the pair of seed k, or of the median runs (kMedian).
struct SeededPair {
  Seeded sigma2, sigma1;
  CdatPair at(int k) const { return {sigma2.at(k), sigma1.at(k)}; }
};
SeededPair run_cdat_pair(Context& ctx, const Workload& workload, const std::string& optimizer);
Seeded run_linesearch(Context& ctx, const Workload& workload, const std::string& optimizer);
// The classical tuners of PAPER §4.2, linesearch and the greedy rule (CDAT σ = 1, the paper's rule), over the
// seeds; requested together so that the jobs stay busy.
struct ClassicalTuners {
  Seeded linesearch, greedy;
};
ClassicalTuners run_classical_tuners(Context& ctx, const Workload& workload, const std::string& optimizer);

// One configuration per cell (config_of(cell)) over the seeds, every cell's requested together so that the
// jobs stay busy: per cell, in the order of `cells`, the runs of its seeds.
template <typename Cell, typename ConfigOf>
std::vector<std::vector<RunData>> run_over_seeds(Context& ctx, const std::vector<Cell>& cells, const ConfigOf& config_of) {
  std::vector<train::RunConfig> configs;
  for (const auto& cell : cells) configs.push_back(config_of(cell));
  std::vector<std::vector<RunData>> per_cell;
  for (auto& runs : ctx.run_seeds(configs)) per_cell.push_back(std::move(runs.seeds));
  return per_cell;
}

// "gd", "rmsprop", "adam" → "GD", "RMSProp", "Adam".
std::string optimizer_title(const std::string& optimizer);

}  // namespace cdat::experiments
