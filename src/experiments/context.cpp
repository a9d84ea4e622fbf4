#include "experiments/context.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>

#include "train/process.h"

namespace cdat::experiments {
namespace fs = std::filesystem;

std::string Tuned::describe() const {
  if (runs.empty()) return "no runs";
  return fmt::format("lr {:g} (grid {:g}…{:g}, {} runs{})", runs[best].config.lr, runs.front().config.lr,
                     runs.back().config.lr, runs.size(), at_edge ? ", best at the grid's edge" : "");
}

Context::Context(Settings settings)
    : settings_(std::move(settings)), store_(settings_.out, settings_.executable, settings_.jobs, settings_.nproc) {}

std::string Context::folder(const std::string& experiment) const {
  const fs::path dir = fs::path(settings_.out) / experiment;
  fs::create_directories(dir);
  return dir.string();
}

std::vector<Seeded> Context::run_seeds(const std::vector<train::RunConfig>& configs) {
  const size_t n = static_cast<size_t>(std::max(1, settings_.seeds));
  std::vector<train::RunConfig> all;
  for (const auto& config : configs) {
    for (size_t k = 0; k < n; ++k) all.push_back(with_seed(config, static_cast<int64_t>(k)));
  }
  const std::vector<RunData> runs = store_.run(all);
  std::vector<Seeded> out;
  for (size_t i = 0; i < configs.size(); ++i) {
    out.push_back(seeded({runs.begin() + static_cast<std::ptrdiff_t>(i * n), runs.begin() + static_cast<std::ptrdiff_t>((i + 1) * n)}));
  }
  return out;
}

Tuned Context::tune_lr(const train::RunConfig& base, std::vector<double> grid, double factor) {
  return tune_lrs({base}, {std::move(grid)}, LrSearch{factor, 2, false}).front();
}

namespace {

train::RunConfig at_lr(train::RunConfig config, double lr) {
  config.lr = lr;
  return config;
}

// The best of `runs` (sorted by learning rate) and whether it sits at an edge of them.
void pick_best(Tuned& tuned) {
  tuned.best = 0;
  for (size_t i = 1; i < tuned.runs.size(); ++i) {
    if (tuned.runs[i].rank_loss() < tuned.runs[tuned.best].rank_loss()) tuned.best = i;
  }
  const bool edge = tuned.best == 0 || tuned.best + 1 == tuned.runs.size();
  tuned.at_edge = tuned.runs[tuned.best].ok() && edge;
}

}  // namespace

std::vector<Tuned> Context::tune_lrs(const std::vector<train::RunConfig>& bases, std::vector<std::vector<double>> grids,
                                     const LrSearch& search) {
  std::vector<Tuned> tuned(bases.size());
  // Runs the grids of the searches `open` together, then picks each one's best.
  auto run_round = [&](const std::vector<size_t>& open) {
    std::vector<train::RunConfig> configs;
    for (size_t i : open) {
      std::sort(grids[i].begin(), grids[i].end());
      for (double lr : grids[i]) configs.push_back(at_lr(bases[i], lr));
    }
    const std::vector<RunData> runs = store_.run(configs);
    size_t next = 0;
    for (size_t i : open) {
      tuned[i].runs.assign(runs.begin() + static_cast<std::ptrdiff_t>(next),
                           runs.begin() + static_cast<std::ptrdiff_t>(next + grids[i].size()));
      next += grids[i].size();
      pick_best(tuned[i]);
    }
  };
  std::vector<size_t> open(bases.size());
  for (size_t i = 0; i < open.size(); ++i) open[i] = i;
  for (int widenings = 0; !open.empty(); ++widenings) {
    run_round(open);
    std::vector<size_t> still_open;
    for (size_t i : open) {
      if (!tuned[i].at_edge || widenings == search.max_widenings) continue;
      grids[i].push_back(tuned[i].best == 0 ? grids[i].front() / search.factor : grids[i].back() * search.factor);
      still_open.push_back(i);
    }
    open = std::move(still_open);
  }
  if (!search.refine) return tuned;
  std::vector<size_t> refined;
  for (size_t i = 0; i < bases.size(); ++i) {
    if (tuned[i].at_edge || !tuned[i].best_run().ok()) continue;
    const double best = tuned[i].best_run().config.lr, half_step = std::sqrt(search.factor);
    grids[i].insert(grids[i].end(), {best / half_step, best * half_step});
    refined.push_back(i);
  }
  if (!refined.empty()) run_round(refined);
  return tuned;
}

std::string Context::plot_runs(const std::string& folder, const std::string& name, const std::vector<const RunData*>& runs,
                               const std::vector<std::string>& labels, const std::string& title) {
  if (!settings_.figures || runs.empty()) return "";
  std::vector<std::string> args = {settings_.python, settings_.scripts_dir + "/cdat_plot.py"};
  std::string joined;
  for (size_t i = 0; i < runs.size(); ++i) {
    args.push_back(runs[i]->folder);
    joined += (i ? "," : "") + labels[i];
  }
  const std::string prefix = (fs::path(folder) / name).string();
  args.insert(args.end(), {"--out", prefix, "--labels", joined, "--title", title});
  if (!run_figure_command(args)) return "";  // reported on stderr; the experiment goes on without it
  fs::remove(prefix + ".svg");  // the report uses the PNG
  return name + ".png";
}

bool Context::figure_script(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {settings_.python, settings_.scripts_dir + "/reproduce_figures.py"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_figure_command(argv);
}

bool Context::run_figure_command(const std::vector<std::string>& argv) {
  if (!settings_.figures) return false;
  const int rc = train::run_process(argv);
  if (rc != 0) {
    std::cerr << fmt::format("reproduce: {} {} exited with {}\n", argv.front(), argv.size() > 1 ? argv[1] : "", rc);
  }
  return rc == 0;
}

}  // namespace cdat::experiments
