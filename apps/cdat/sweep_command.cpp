// `cdat sweep`: any train flag may take a comma-separated list; the grid of all combinations is run into
// one folder, with a results table and the best configuration per tuner.
#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "commands.h"
#include "run_options.h"
#include "train/sweep.h"

namespace cdat::cli {
namespace fs = std::filesystem;
namespace {

struct SweepArgs {
  std::unique_ptr<RunOptions> options;
  int jobs = 1;
};

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

std::string self_executable() {
  std::error_code ec;
  const auto path = fs::read_symlink("/proc/self/exe", ec);
  if (ec) throw std::runtime_error("sweep: cannot locate the cdat executable (/proc/self/exe)");
  return path.string();
}

void run(const SweepArgs& args) {
  train::RunConfig base = args.options->base();
  std::map<std::string, std::vector<std::string>> grid;
  for (const auto& [key, value] : args.options->given()) {
    if (key == "out") {
      base.out = value;
      continue;
    }
    grid[key] = split_list(value);
  }
  // Share the cores between the parallel runs unless told otherwise.
  if (!grid.count("threads") && base.threads == 0 && args.jobs > 1) {
    base.threads = std::max<int64_t>(1, static_cast<int64_t>(std::thread::hardware_concurrency()) / args.jobs);
  }
  std::vector<std::string> swept;
  for (const auto& [key, values] : grid) {
    if (values.size() > 1) swept.push_back(key);
  }
  const auto points = train::expand_grid(base, grid, base.out);
  fs::create_directories(base.out);
  std::cout << fmt::format("cdat sweep: {} runs into {} ({} at a time)\n", points.size(), base.out, args.jobs);

  auto on_done = [](const train::SweepResult& r, size_t done, size_t total) {
    const std::string status = !r.completed ? fmt::format("FAILED (exit {}, see {}/train.log)", r.exit_code, r.point.config.out)
                               : r.diverged ? "diverged"
                                            : fmt::format("final train loss {:.6g}", r.final_train_loss);
    std::cout << fmt::format("[{}/{}] {}: {}\n", done, total, r.point.name, status) << std::flush;
  };
  const auto results = train::run_sweep(points, self_executable(), args.jobs, on_done);

  const fs::path table = fs::path(base.out) / "results.csv";
  std::ofstream(table) << train::results_csv(results, swept);
  nlohmann::json best = nlohmann::json::object();
  std::cout << "\nbest per tuner (by final train loss; diverged = worst):\n";
  for (size_t i : train::best_per_tuner(results)) {
    const auto& r = results[i];
    std::cout << fmt::format("  {:<10} {}  final train loss {}\n", r.point.config.tuner, r.point.name,
                             r.completed && !r.diverged ? fmt::format("{:.6g}", r.final_train_loss) : "(none converged)");
    best[r.point.config.tuner] = {{"run", r.point.name},
                                  {"folder", r.point.config.out},
                                  {"values", r.point.values},
                                  {"final_train_loss", r.final_train_loss},
                                  {"diverged", r.diverged}};
  }
  std::ofstream(fs::path(base.out) / "best.json") << best.dump(2) << "\n";
  std::cout << "results: " << table.string() << ", " << (fs::path(base.out) / "best.json").string() << "\n";
  const auto failed = std::count_if(results.begin(), results.end(), [](const auto& r) { return !r.completed; });
  if (failed > 0) throw std::runtime_error(fmt::format("{} of {} sweep runs failed", failed, results.size()));
}

}  // namespace

void add_sweep_command(CLI::App& app) {
  auto args = std::make_shared<SweepArgs>();
  CLI::App* command = app.add_subcommand(
      "sweep", "run a grid of train configurations: any train flag may be a comma-separated list (e.g. --lr 0.01,0.1)");
  args->options = std::make_unique<RunOptions>(*command);
  command->add_option("-j,--jobs", args->jobs, "runs at a time (separate processes)")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  command->callback([args] { run(*args); });
}

}  // namespace cdat::cli
