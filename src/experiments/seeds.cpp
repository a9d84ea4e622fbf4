#include "experiments/seeds.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <stdexcept>

#include "experiments/experiments.h"
#include "experiments/series.h"
#include "experiments/verdicts.h"

namespace cdat::experiments {

train::RunConfig with_seed(train::RunConfig config, int64_t seed) {
  config.seed = seed;
  return config;
}

OverSeeds over_seeds(const std::vector<RunData>& runs) {
  OverSeeds s;
  std::vector<double> finals;
  for (const auto& run : runs) {
    finals.push_back(run.rank_loss());
    if (blew_up(run)) ++s.blowups;
  }
  s.runs = static_cast<int>(runs.size());
  if (finals.empty()) return s;
  s.median = median(finals);
  s.low = *std::min_element(finals.begin(), finals.end());
  s.high = *std::max_element(finals.begin(), finals.end());
  return s;
}

std::string describe(const OverSeeds& s) {
  std::string text = s.runs == 1 ? num(s.median) : fmt::format("{} ({}–{})", num(s.median), num(s.low), num(s.high));
  if (s.blowups > 0) text += fmt::format(", {}/{} blew up", s.blowups, s.runs);
  return text;
}

namespace {

// The median of row `row` of `name` over the runs that have that row measured (finite); NaN if none did.
double row_median(const std::vector<RunData>& runs, const std::string& name, size_t row) {
  std::vector<double> values;
  for (const auto& run : runs) {
    auto it = run.columns.find(name);
    if (it != run.columns.end() && row < it->second.size() && std::isfinite(it->second[row])) values.push_back(it->second[row]);
  }
  return median(values);
}

}  // namespace

RunData median_run(const std::vector<RunData>& runs) {
  if (runs.empty()) throw std::invalid_argument("median_run: no runs");
  RunData m;
  m.folder = runs.front().folder;
  m.config = runs.front().config;
  m.completed = std::all_of(runs.begin(), runs.end(), [](const RunData& r) { return r.completed; });
  std::vector<double> finals, ratios;
  size_t rows = 0;
  for (const auto& run : runs) {
    finals.push_back(run.rank_loss());
    ratios.push_back(run.ok() ? run.final_over_initial : std::numeric_limits<double>::infinity());
    for (const auto& [name, values] : run.columns) rows = std::max(rows, values.size());
  }
  m.final_train_loss = median(finals);
  m.diverged = !std::isfinite(m.final_train_loss);
  m.final_over_initial = median(ratios);
  for (const auto& run : runs) {
    for (const auto& [name, values] : run.columns) {
      if (m.columns.count(name)) continue;
      auto& column = m.columns[name];
      for (size_t row = 0; row < rows; ++row) column.push_back(row_median(runs, name, row));
    }
  }
  return m;
}

Seeded seeded(std::vector<RunData> runs) {
  Seeded s;
  s.median = median_run(runs);
  s.seeds = std::move(runs);
  return s;
}

std::vector<Finding> judged_over_seeds(int seeds, const std::function<std::vector<Finding>(int k)>& findings_at) {
  std::vector<Finding> findings = findings_at(kMedian);
  for (int k = 0; k < seeds; ++k) {
    const std::vector<Finding> on_seed = findings_at(k);
    if (on_seed.size() != findings.size()) throw std::logic_error("judged_over_seeds: the seeds' findings differ in number");
    for (size_t i = 0; i < findings.size(); ++i) findings[i].on_seeds.push_back({on_seed[i].measurement, on_seed[i].outcome});
  }
  return findings;
}

}  // namespace cdat::experiments
