// Sweeps: the cartesian product of per-key value lists over a base configuration, each point run as its
// own `cdat train` process (so one crashing run cannot take the sweep down), a results table and the
// best configuration per tuner by final training loss (diverged or failed runs rank last).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "train/run_config.h"

namespace cdat::train {

struct SweepPoint {
  std::string name;                          // folder name, e.g. "003_lr=0.1_tuner=constant"
  std::map<std::string, std::string> values; // the swept keys' values at this point
  RunConfig config;                          // base + values, out = <sweep dir>/<name>
};

// Expands `grid` (key → values) over `base`; every point is validated (InvalidOption names the key).
std::vector<SweepPoint> expand_grid(const RunConfig& base, const std::map<std::string, std::vector<std::string>>& grid,
                                    const std::string& sweep_dir);

struct SweepResult {
  SweepPoint point;
  bool completed = false;  // summary.json was written (diverged runs complete too)
  bool diverged = false;
  int exit_code = 0;
  double final_train_loss = 0.0, best_train_loss = 0.0, final_over_initial = 0.0, wall_time_s = 0.0;
  int64_t steps = 0;
};

// Reads a finished run's summary.json into `result` (false if absent or incomplete).
bool read_run_summary(const std::string& run_dir, SweepResult& result);

// A run folder left by an interrupted run: it has a checkpoint (checkpoint.pt and the config.toml it was made
// with) but no complete summary.json. Such a run is continued with `cdat train --resume`, not restarted.
bool resumable(const std::string& run_dir);
// The arguments (after the executable) that run a point: `train --resume OUT --quiet` when resumable(OUT),
// else `train --config OUT/requested.toml --quiet`.
std::vector<std::string> train_arguments(const SweepPoint& point);

// Runs the points with at most `jobs` `train` processes at once (`executable` is the cdat binary); runs
// whose summary.json is already complete are not run again and interrupted runs with a checkpoint continue
// from it (resumable), so an interrupted sweep continues.
// `on_done` is called as each run ends.
std::vector<SweepResult> run_sweep(const std::vector<SweepPoint>& points, const std::string& executable, int jobs,
                                   const std::function<void(const SweepResult&, size_t done, size_t total)>& on_done);

// Ranking key: finite final loss ascending; diverged, failed or non-finite last.
bool better(const SweepResult& a, const SweepResult& b);
// The best result per tuner (index into results), in tuner order of first appearance.
std::vector<size_t> best_per_tuner(const std::vector<SweepResult>& results);

// results.csv: one row per point with the swept keys and the summary numbers.
std::string results_csv(const std::vector<SweepResult>& results, const std::vector<std::string>& swept_keys);

}  // namespace cdat::train
