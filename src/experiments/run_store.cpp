#include "experiments/run_store.h"

#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <nlohmann/json.hpp>
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

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> cells;
  std::stringstream in(line);
  for (std::string cell; std::getline(in, cell, ',');) cells.push_back(cell);
  if (!line.empty() && line.back() == ',') cells.emplace_back();
  return cells;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

double json_number(const nlohmann::json& j, const char* key) {
  return j.contains(key) && j[key].is_number() ? j[key].get<double>() : std::nan("");
}

}  // namespace

const std::vector<double>& RunData::column(const std::string& name) const {
  auto it = columns.find(name);
  if (it == columns.end()) throw std::runtime_error(folder + "/metrics.csv has no column '" + name + "'");
  return it->second;
}

bool RunData::ok() const { return completed && !diverged && std::isfinite(final_train_loss); }

double RunData::rank_loss() const { return ok() ? final_train_loss : std::numeric_limits<double>::infinity(); }

std::map<std::string, std::vector<double>> parse_metrics_csv(const std::string& text, const std::string& source) {
  std::stringstream in(text);
  std::string line;
  if (!std::getline(in, line)) throw std::runtime_error(source + ": empty metrics file");
  const auto header = split(line);
  std::map<std::string, std::vector<double>> columns;
  for (const auto& name : header) columns[name];
  for (int row = 2; std::getline(in, line); ++row) {
    if (line.empty()) continue;
    const auto cells = split(line);
    if (cells.size() != header.size()) {
      throw std::runtime_error(fmt::format("{}: line {} has {} cells, the header {}", source, row, cells.size(), header.size()));
    }
    for (size_t i = 0; i < cells.size(); ++i) {
      double value = std::nan("");
      if (!cells[i].empty()) {
        try {
          value = std::stod(cells[i]);
        } catch (const std::exception&) {
          throw std::runtime_error(fmt::format("{}: line {}: '{}' is not a number", source, row, cells[i]));
        }
      }
      columns[header[i]].push_back(value);
    }
  }
  return columns;
}

std::string run_name(const train::RunConfig& config) {
  train::RunConfig key = config;
  key.out.clear();
  std::string tuner = config.tuner;
  if (config.tuner == "constant" || config.tuner == "schedule") tuner += "-lr" + compact(config.lr);
  if (config.tuner == "cdat") tuner += "-s" + compact(config.sigma) + (config.ema > 0 ? "-ema" + compact(config.ema) : "");
  return fmt::format("{}-{}-{}-b{}-{:08x}", config.model, config.optimizer, tuner, config.batch_size,
                     fnv1a(train::to_toml(key)) & 0xffffffffu);
}

RunStore::RunStore(std::string root, std::string executable, int jobs)
    : root_(std::move(root)), executable_(std::move(executable)), jobs_(jobs) {}

std::string RunStore::folder_for(const train::RunConfig& config) const {
  return (fs::path(root_) / "runs" / run_name(config)).string();
}

RunData RunStore::load(const train::RunConfig& config) const {
  RunData data;
  data.folder = folder_for(config);
  data.config = config;
  data.config.out = data.folder;
  const fs::path summary = fs::path(data.folder) / "summary.json";
  if (!fs::exists(summary)) return data;
  const auto j = nlohmann::json::parse(read_file(summary), nullptr, false);
  if (j.is_discarded() || j.value("interrupted", false)) return data;
  data.completed = true;
  data.diverged = j.value("diverged", false);
  data.initial_train_loss = json_number(j, "initial_train_loss");
  data.final_train_loss = json_number(j, "final_train_loss");
  data.final_over_initial = json_number(j, "final_over_initial");
  const fs::path metrics = fs::path(data.folder) / "metrics.csv";
  data.columns = parse_metrics_csv(read_file(metrics), metrics.string());
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
    if (seen.insert(point.name).second) points.push_back(point);
  }
  std::set<std::string> finished_before;  // runs an earlier reproduction (or experiment) already made
  for (const auto& point : points) {
    if (load(point.config).completed) finished_before.insert(point.name);
  }
  auto on_done = [&](const train::SweepResult& r, size_t done, size_t total) {
    if (!r.completed) ++failed_;
    const std::string status = !r.completed ? fmt::format("FAILED (exit {}; see {}/train.log)", r.exit_code, r.point.config.out)
                               : r.diverged ? "diverged"
                                            : fmt::format("final train loss {:.4g} ({:.0f} s)", r.final_train_loss, r.wall_time_s);
    const char* reused = finished_before.count(r.point.name) ? " (reused)" : "";
    std::cout << fmt::format("  [{}/{}] {:<44} {}{}\n", done, total, train::run_label(r.point.config), status, reused)
              << std::flush;
  };
  train::run_sweep(points, executable_, jobs_, on_done);
  std::vector<RunData> out;
  for (const auto& config : configs) out.push_back(load(config));
  return out;
}

}  // namespace cdat::experiments
