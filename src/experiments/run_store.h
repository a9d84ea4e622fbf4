// Where `cdat reproduce` keeps its training runs: one folder per distinct configuration under
// <root>/runs/, named from the configuration (readable part + a hash of its TOML), so experiments that
// need the same run share it, and an interrupted reproduction skips every run that already finished and
// continues the runs it interrupted from their last checkpoint.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "train/metrics_log.h"
#include "train/run_config.h"
#include "train/sweep.h"

namespace cdat::experiments {

// One finished run read back: every metrics.csv column (NaN where not measured) and its summary.
struct RunData {
  std::string folder;
  train::RunConfig config;
  train::MetricsColumns columns;  // "step", "train_loss", "lr", "sharpness", ...
  bool completed = false, diverged = false;
  double final_train_loss = 0.0, final_over_initial = 0.0;  // from summary.json

  const std::vector<double>& column(const std::string& name) const;  // throws naming the column and folder
  // A run that ended without diverging and with a finite final loss.
  bool ok() const;
  // Final train loss for ranking: +inf unless ok().
  double rank_loss() const;
};

class RunStore {
 public:
  // Each run is computed by `nproc` data-parallel ranks (docs/distributed.md). How many processes computed a
  // run is not part of its identity: the same configuration gives the same numbers up to the rounding of
  // the reduction, so runs are shared whatever nproc made them.
  RunStore(std::string root, std::string executable, int jobs, int nproc = 1);

  // The folder a configuration runs in (its `out` is ignored and set to that folder).
  std::string folder_for(const train::RunConfig& config) const;
  // Runs those of `configs` that have not finished yet (child `cdat train` processes, `jobs` at a time),
  // printing one line per run; a run interrupted after a checkpoint continues from it (train::resumable).
  // Then reads every one back, in the order given.
  std::vector<RunData> run(const std::vector<train::RunConfig>& configs);
  // Reads one finished run (completed = false when it has no summary).
  RunData load(const train::RunConfig& config) const;

  const std::string& root() const { return root_; }
  // Runs that ended without a summary (crashed, killed, bad configuration) since this store was made.
  int failed_runs() const { return failed_; }

 private:
  std::string root_, executable_;
  int jobs_, nproc_;
  int failed_ = 0;
};

// A short stable name for a configuration: e.g. "mlp-gd-cdat-s2-b0-3f9a12c4". The output folder and the
// data-parallel settings (nproc, dist-timeout) are not part of it.
std::string run_name(const train::RunConfig& config);
// TOML keys of options added to RunConfig after the store's names were fixed (e.g. "sharpness-pairs"): at
// their default value they are not part of a run's name, so that adding an option renames no finished run.
const std::vector<std::string>& options_added_later();

}  // namespace cdat::experiments
