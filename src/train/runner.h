// One training run: data + model + loss + TunedOptimizer, with the paper's diagnostics around each step
// (sharpness every K steps, η·λ, alignment), metrics.csv, summary.json, checkpoints and resume.
#pragma once

#include <cdat/collective.h>

#include "data/dataset.h"
#include "models/model.h"
#include "train/run_config.h"

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace cdat::train {

struct Progress {
  int64_t step = 0;      // steps completed
  int64_t total = 0;
  double loss = 0.0;     // last training (batch) loss
  double lr = 0.0;
  double elapsed_s = 0.0;
  std::string warning;   // one line when this step changed how it is computed (StepStats::warning)
};
using ProgressFn = std::function<void(const Progress&)>;

struct RunSummary {
  std::string label;
  double initial_train_loss = 0.0;  // on the whole training subset
  double final_train_loss = 0.0;    // on the whole training subset, after the last step
  double best_train_loss = 0.0;     // best loss seen: step losses (batch loss in mini batch) and the final loss
  double final_train_acc = 0.0;
  double final_test_loss = 0.0, final_test_acc = 0.0;  // NaN without a test subset
  bool diverged = false;
  std::string diverged_reason;
  int64_t steps = 0;                // steps completed
  double wall_time_s = 0.0;
  bool interrupted = false;         // stopped by a signal; resumable
  std::vector<std::string> warnings;  // "step N: …" for each StepStats::warning (e.g. a curvature-mode fallback)
  int64_t curvature_fallbacks = 0;    // steps whose parabola estimate was unreliable and measured exactly
  int64_t bytes_reduced = 0;        // data parallel: payload this rank sent into all-reduces (collective.h)
  // The tuner's logged values (Tuner::logged_names()) at the last step, in order; summary.json's
  // "last_tuner_values" (absent when the tuner logs none, as the built-in ones).
  std::vector<std::pair<std::string, double>> last_tuner_values;
};

// Runs (or, with resume, continues) the run described by `config` in config.out. Writes config.toml,
// metrics.csv, summary.json and checkpoint.pt there. `stop_requested` is polled between steps (signals).
// With a `collective` of config.nproc ranks this process is one rank of a data-parallel run
// (docs/distributed.md): only rank 0 writes files, and its summary is the run's.
RunSummary run_training(const RunConfig& config, const ProgressFn& progress, bool resume = false,
                        const std::function<bool()>& stop_requested = {},
                        std::shared_ptr<Collective> collective = nullptr);

// What a run trains on, exposed so that tests can replay a run independently: the training and test subsets,
// standardised per feature with the training subset's statistics, and the model's configuration.
struct Prepared {
  data::Dataset train, test;
};
Prepared prepare_data(const RunConfig& c, torch::Device device, torch::Dtype dtype);
models::ModelConfig model_config(const RunConfig& c, const data::Dataset& train);

// The config.toml a run folder holds, for --resume.
RunConfig load_run_config(const std::string& run_dir);

}  // namespace cdat::train
