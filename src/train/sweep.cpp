#include "train/sweep.h"

#include <cdat/errors.h>
#include <fmt/format.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstring>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

extern char** environ;

namespace cdat::train {
namespace fs = std::filesystem;
namespace {

// Characters safe in a folder name; others become '_'.
std::string sanitize(const std::string& text) {
  std::string out;
  for (char ch : text) out += (std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '-') ? ch : '_';
  return out;
}

double number(const nlohmann::json& j, const char* key) {
  return j.contains(key) && j[key].is_number() ? j[key].get<double>() : std::nan("");
}

pid_t spawn_train(const std::string& executable, const SweepPoint& point) {
  const fs::path dir = point.config.out;
  fs::create_directories(dir);
  std::vector<std::string> args = train_arguments(point);
  const bool resume = args[1] == "--resume";
  if (!resume) std::ofstream(dir / "requested.toml", std::ios::trunc) << to_toml(point.config);
  args.insert(args.begin(), executable);
  const std::string log = (dir / "train.log").string();
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | (resume ? O_APPEND : O_TRUNC), 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, executable.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("sweep: cannot start " + executable + ": " + std::strerror(rc));
  return pid;
}

}  // namespace

std::vector<SweepPoint> expand_grid(const RunConfig& base, const std::map<std::string, std::vector<std::string>>& grid,
                                    const std::string& sweep_dir) {
  std::vector<SweepPoint> points(1);
  points[0].config = base;
  for (const auto& [key, values] : grid) {
    if (values.empty()) throw InvalidOption(key + ": empty list of values");
    std::vector<SweepPoint> next;
    for (const auto& point : points) {
      for (const auto& value : values) {
        SweepPoint p = point;
        set_key(p.config, key, value);
        p.values[key] = value;
        next.push_back(std::move(p));
      }
    }
    points = std::move(next);
  }
  for (size_t i = 0; i < points.size(); ++i) {
    std::string name = fmt::format("{:03}", i);
    for (const auto& [key, value] : points[i].values) {
      if (grid.at(key).size() > 1) name += "_" + key + "=" + sanitize(value);
    }
    points[i].name = name;
    points[i].config.out = (fs::path(sweep_dir) / name).string();
    try {
      validate(points[i].config);
    } catch (const InvalidOption& e) {
      throw InvalidOption(fmt::format("sweep point {}: {}", name, e.what()));
    }
  }
  return points;
}

bool read_run_summary(const std::string& run_dir, SweepResult& r) {
  std::ifstream in(fs::path(run_dir) / "summary.json");
  if (!in) return false;
  nlohmann::json j;
  try {
    in >> j;
  } catch (const nlohmann::json::exception&) {
    return false;
  }
  if (j.value("interrupted", false)) return false;
  r.completed = true;
  r.diverged = j.value("diverged", false);
  r.final_train_loss = number(j, "final_train_loss");
  r.best_train_loss = number(j, "best_train_loss");
  r.final_over_initial = number(j, "final_over_initial");
  r.wall_time_s = number(j, "wall_time_s");
  r.steps = j.value("steps", int64_t{0});
  return true;
}

bool resumable(const std::string& run_dir) {
  SweepResult finished;
  const fs::path dir = run_dir;
  return fs::exists(dir / "checkpoint.pt") && fs::exists(dir / "config.toml") && !read_run_summary(run_dir, finished);
}

std::vector<std::string> train_arguments(const SweepPoint& point) {
  const std::string& dir = point.config.out;
  if (resumable(dir)) return {"train", "--resume", dir, "--quiet"};
  return {"train", "--config", (fs::path(dir) / "requested.toml").string(), "--quiet"};
}

std::vector<SweepResult> run_sweep(const std::vector<SweepPoint>& points, const std::string& executable, int jobs,
                                   const std::function<void(const SweepResult&, size_t, size_t)>& on_done) {
  std::vector<SweepResult> results(points.size());
  std::map<pid_t, size_t> running;
  size_t next = 0, done = 0;
  auto finish = [&](size_t i) {
    ++done;
    if (on_done) on_done(results[i], done, points.size());
  };
  while (done < points.size()) {
    while (next < points.size() && static_cast<int>(running.size()) < std::max(1, jobs)) {
      const size_t i = next++;
      results[i].point = points[i];
      if (read_run_summary(points[i].config.out, results[i])) {  // finished in an earlier sweep
        finish(i);
        continue;
      }
      running[spawn_train(executable, points[i])] = i;
    }
    if (running.empty()) continue;
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, 0);
    auto it = running.find(pid);
    if (it == running.end()) continue;
    const size_t i = it->second;
    running.erase(it);
    results[i].exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    read_run_summary(points[i].config.out, results[i]);
    finish(i);
  }
  return results;
}

bool better(const SweepResult& a, const SweepResult& b) {
  auto rank = [](const SweepResult& r) {
    const bool ok = r.completed && !r.diverged && std::isfinite(r.final_train_loss);
    return std::make_pair(ok ? 0 : 1, ok ? r.final_train_loss : 0.0);
  };
  return rank(a) < rank(b);
}

std::vector<size_t> best_per_tuner(const std::vector<SweepResult>& results) {
  std::vector<std::string> tuners;
  std::map<std::string, size_t> best;
  for (size_t i = 0; i < results.size(); ++i) {
    const std::string& tuner = results[i].point.config.tuner;
    auto it = best.find(tuner);
    if (it == best.end()) {
      tuners.push_back(tuner);
      best[tuner] = i;
    } else if (better(results[i], results[it->second])) {
      it->second = i;
    }
  }
  std::vector<size_t> out;
  for (const auto& t : tuners) out.push_back(best[t]);
  return out;
}

std::string results_csv(const std::vector<SweepResult>& results, const std::vector<std::string>& swept_keys) {
  auto cell = [](double x) { return std::isfinite(x) ? fmt::format("{:.8g}", x) : std::string(); };
  // tuner and optimizer always have a column; swept keys other than those get one each.
  std::vector<std::string> keys;
  for (const auto& k : swept_keys) {
    if (k != "tuner" && k != "optimizer") keys.push_back(k);
  }
  std::string out = "run";
  for (const auto& k : keys) out += "," + k;
  out += ",tuner,optimizer,final_train_loss,best_train_loss,final_over_initial,diverged,completed,exit_code,steps,"
         "wall_time_s\n";
  for (const auto& r : results) {
    out += r.point.name;
    for (const auto& k : keys) out += "," + get_key(r.point.config, k);
    out += fmt::format(",{},{},{},{},{},{},{},{},{},{}\n", r.point.config.tuner, r.point.config.optimizer,
                       cell(r.final_train_loss), cell(r.best_train_loss), cell(r.final_over_initial),
                       r.diverged ? "true" : "false", r.completed ? "true" : "false", r.exit_code, r.steps,
                       cell(r.wall_time_s));
  }
  return out;
}

}  // namespace cdat::train
