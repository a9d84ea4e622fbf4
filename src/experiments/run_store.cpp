#include "experiments/run_store.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <limits>
#include <set>
#include <sstream>
#include <stdexcept>

namespace cdat::experiments {
namespace fs = std::filesystem;
namespace {

// FNV-1a: a hash that is the same on every machine and build (std::hash is not).
uint64_t fnv1a(const std::string& text) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::string compact(double x) { return fmt::format("{:g}", x); }

}  // namespace

const std::vector<double>& RunData::column(const std::string& name) const {
  auto it = columns.find(name);
  if (it == columns.end()) throw std::runtime_error(folder + "/metrics.csv has no column '" + name + "'");
  return it->second;
}

bool RunData::ok() const { return completed && !diverged && std::isfinite(final_train_loss); }

double RunData::rank_loss() const { return ok() ? final_train_loss : std::numeric_limits<double>::infinity(); }

// Options added to RunConfig after the store's names were fixed: at their default they are left out of a
// run's identity, so that adding an option renames no finished run (a reproduction reuses them).
const std::vector<std::string>& options_added_later() {
  static const std::vector<std::string> keys = {"sharpness-pairs", "dropout"};
  return keys;
}

namespace {

// The TOML lines of `toml` without the options added later that hold their default value.
std::string without_later_options_at_default(const std::string& toml) {
  static const std::string defaults = "\n" + train::to_toml(train::RunConfig{});
  std::istringstream lines(toml);
  std::string out, line;
  while (std::getline(lines, line)) {
    const bool later = std::any_of(options_added_later().begin(), options_added_later().end(),
                                   [&](const std::string& key) { return line.rfind(key + " = ", 0) == 0; });
    if (later && defaults.find("\n" + line + "\n") != std::string::npos) continue;
    out += line + "\n";
  }
  return out;
}

}  // namespace

std::string run_name(const train::RunConfig& config) {
  train::RunConfig key = config;
  key.out.clear();
  key.nproc = train::RunConfig{}.nproc;
  key.dist_timeout = train::RunConfig{}.dist_timeout;
  key.checkpoint_every = train::RunConfig{}.checkpoint_every;  // when to checkpoint does not change the trajectory
  // Keys without effect are not part of a run's identity: CDAT's safeguard options outside a CDAT run with
  // safeguards. They are set to fixed values (CdatSafeguard::first_default: the defaults when these names
  // were introduced), not to RunConfig's current defaults, so that a change of a default renames only the
  // runs it acts on and every name in the store stays what it was.
  if (config.tuner != "cdat" || !config.safeguards) {
    key.safeguards = config.tuner == "cdat" ? config.safeguards : true;
    for (const auto& s : cdat_safeguards()) train::set_key(key, s.key, s.first_default);
  }
  std::string tuner = config.tuner;
  if (config.tuner == "constant" || config.tuner == "schedule") tuner += "-lr" + compact(config.lr);
  if (config.tuner == "cdat") tuner += "-s" + compact(config.sigma) + (config.ema > 0 ? "-ema" + compact(config.ema) : "");
  return fmt::format("{}-{}-{}-b{}-{:08x}", config.model, config.optimizer, tuner, config.batch_size,
                     fnv1a(without_later_options_at_default(train::to_toml(key))) & 0xffffffffu);
}

RunStore::RunStore(std::string root, std::string executable, int jobs, int nproc)
    : root_(std::move(root)), executable_(std::move(executable)), jobs_(jobs), nproc_(nproc) {}

std::string RunStore::folder_for(const train::RunConfig& config) const {
  return (fs::path(root_) / "runs" / run_name(config)).string();
}

RunData RunStore::load(const train::RunConfig& config) const {
  RunData data;
  data.folder = folder_for(config);
  data.config = config;
  data.config.out = data.folder;
  train::SweepResult summary;
  if (!train::read_run_summary(data.folder, summary)) return data;  // not run, interrupted or unreadable
  data.completed = true;
  data.diverged = summary.diverged;
  data.final_train_loss = summary.final_train_loss;
  data.final_over_initial = summary.final_over_initial;
  data.columns = train::read_metrics_csv((fs::path(data.folder) / "metrics.csv").string());
  return data;
}

std::vector<RunData> RunStore::run(const std::vector<train::RunConfig>& configs) {
  std::vector<train::SweepPoint> points;
  std::set<std::string> seen;
  for (const auto& config : configs) {
    train::SweepPoint point;
    point.name = run_name(config);
    point.config = config;
    point.config.out = folder_for(config);
    point.config.nproc = nproc_;
    if (seen.insert(point.name).second) points.push_back(point);
  }
  std::set<std::string> finished_before, resumed;  // runs an earlier reproduction (or experiment) made or began
  for (const auto& point : points) {
    train::SweepResult summary;
    if (train::read_run_summary(point.config.out, summary)) finished_before.insert(point.name);
    if (train::resumable(point.config.out)) resumed.insert(point.name);
  }
  auto on_done = [&](const train::SweepResult& r, size_t done, size_t total) {
    if (!r.completed) ++failed_;
    const std::string status = !r.completed ? fmt::format("FAILED (exit {}; see {}/train.log)", r.exit_code, r.point.config.out)
                               : r.diverged ? "diverged"
                                            : fmt::format("final train loss {:.4g} ({:.0f} s)", r.final_train_loss, r.wall_time_s);
    const char* reused = finished_before.count(r.point.name) ? " (reused)" : resumed.count(r.point.name) ? " (resumed)" : "";
    std::cout << fmt::format("  [{}/{}] {:<44} {}{}\n", done, total, train::run_label(r.point.config), status, reused)
              << std::flush;
  };
  train::run_sweep(points, executable_, jobs_, on_done);
  std::vector<RunData> out;
  for (const auto& config : configs) out.push_back(load(config));
  return out;
}

}  // namespace cdat::experiments
