// What every experiment of `cdat reproduce` works with: the settings (scale, jobs, folders), the run store
// that runs and caches training runs, tuned learning-rate baselines, and the figure scripts.
#pragma once

#include <string>
#include <vector>

#include "experiments/run_store.h"
#include "experiments/seeds.h"
#include "experiments/workloads.h"

namespace cdat::experiments {

struct Settings {
  double scale = 1.0;
  int jobs = 2;                        // training runs at a time; the timings in docs/REPORT.md used 2 on 2 cores
  int nproc = 1;                       // data-parallel ranks per training run (cdat train --nproc)
  int seeds = 3;                       // every configuration runs with seeds 0..seeds−1 (seeds.h)
  std::string out = "runs/reproduce";  // <out>/runs/<run>: the shared runs; <out>/<experiment>: results
  std::string executable;              // the cdat binary (child `cdat train` processes)
  std::string python = "/usr/bin/python3";
  std::string scripts_dir;             // cdat_plot.py, reproduce_figures.py
  std::string text_file;               // Tiny Shakespeare; empty = the NanoLM workload is skipped
  bool figures = true;
};

// How a learning rate is searched: a log grid with `factor` between neighbours, widened by one point at a time
// (at most `max_widenings`) while the best final train loss sits at its edge; with `refine`, then the two
// points at √factor on either side of an interior best: the best of a grid √factor apart, bracketed by
// worse neighbours (its factor-`factor` neighbours lost to it already).
struct LrSearch {
  double factor = 2.0;
  int max_widenings = 2;
  bool refine = false;
};

// A learning rate tuned on a log grid (LrSearch), so the baseline is not limited by the grid.
struct Tuned {
  std::vector<RunData> runs;  // sorted by learning rate
  size_t best = 0;
  bool at_edge = false;       // the best is still at the widened grid's edge
  const RunData& best_run() const { return runs[best]; }
  std::string describe() const;  // "lr 0.05 (grid 0.0125…0.2, 5 runs)"
};

class Context {
 public:
  explicit Context(Settings settings);

  const Settings& settings() const { return settings_; }
  RunStore& store() { return store_; }
  // The experiment's result folder (created): <out>/<name>.
  std::string folder(const std::string& experiment) const;

  // Runs each configuration with seeds 0..seeds−1 (all requested together so that `jobs` stay busy).
  std::vector<Seeded> run_seeds(const std::vector<train::RunConfig>& configs);
  Seeded run_seeds(const train::RunConfig& config) { return run_seeds(std::vector<train::RunConfig>{config}).front(); }
  // A tuned learning rate (tuned on seed 0, the configurations' own seed) run over the seeds.
  Seeded best_over_seeds(const Tuned& tuned) { return run_seeds(tuned.best_run().config); }

  // Runs `base` (tuner constant or schedule) at each learning rate of `grid`, widening it as described.
  Tuned tune_lr(const train::RunConfig& base, std::vector<double> grid, double factor);
  // Several searches at once (bases[i] on grids[i]): each round's runs of all of them are requested together,
  // so that `jobs` stay busy.
  std::vector<Tuned> tune_lrs(const std::vector<train::RunConfig>& bases, std::vector<std::vector<double>> grids,
                              const LrSearch& search);

  // Draws the paper's panels for `runs` with scripts/cdat_plot.py into <folder>/<name>.png; returns the
  // file name, or "" when figures are off. Failures to draw are reported and do not stop the experiment.
  std::string plot_runs(const std::string& folder, const std::string& name, const std::vector<const RunData*>& runs,
                        const std::vector<std::string>& labels, const std::string& title);
  // Runs scripts/reproduce_figures.py with `args`; returns true on success.
  bool figure_script(const std::vector<std::string>& args);
  // Runs a figure command (argv[0] = the python); a failure is reported on stderr and returns false.
  bool run_figure_command(const std::vector<std::string>& argv);

 private:
  Settings settings_;
  RunStore store_;
};

}  // namespace cdat::experiments
