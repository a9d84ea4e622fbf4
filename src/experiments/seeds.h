// Seeds (issue 13): every configuration of `cdat reproduce` runs with seeds 0..N−1 (`--seeds N`, default 3).
// Tables show the median and the lowest–highest over the seeds. A verdict is judged once, on the median run
// (the element-wise median of every metrics column and the median final loss), and says in how many seeds it
// held when judged on each seed's run alone.
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "experiments/report.h"
#include "experiments/run_store.h"

namespace cdat::experiments {

train::RunConfig with_seed(train::RunConfig config, int64_t seed);

// Final train loss over the seeds of one configuration: median, lowest, highest (+inf counts for a run
// that is not ok()), and how many blew up (verdicts.h, blew_up).
struct OverSeeds {
  double median = NAN, low = NAN, high = NAN;
  int blowups = 0, runs = 0;
};
OverSeeds over_seeds(const std::vector<RunData>& runs);
// "0.123 (0.1–0.15)" and ", 1/3 blew up" when some did; just the number for one seed.
std::string describe(const OverSeeds& s);

// A run whose columns are the element-wise medians of the seeds' columns (over the seeds that measured the
// row), whose final loss (and final/initial) is the median of their rank_loss() (+inf for a seed that is not
// ok(), so it is diverged when most seeds are), and that is completed only when every seed completed.
RunData median_run(const std::vector<RunData>& runs);

// One configuration over its seeds.
struct Seeded {
  std::vector<RunData> seeds;  // seed 0, 1, ...
  RunData median;              // median_run(seeds)
  // k = kMedian: the median run; else seed k's run.
  const RunData& at(int k) const { return k < 0 ? median : seeds[static_cast<size_t>(k)]; }
  OverSeeds final_loss() const { return over_seeds(seeds); }
  int count() const { return static_cast<int>(seeds.size()); }
};
constexpr int kMedian = -1;
Seeded seeded(std::vector<RunData> runs);

// `findings_at(kMedian)` decides each outcome; `findings_at(k)` for k = 0..seeds−1 is judged too and
// counted: Finding::seeds_held() of Finding::seeds() (the findings must be the same claims in the same order).
std::vector<Finding> judged_over_seeds(int seeds, const std::function<std::vector<Finding>(int k)>& findings_at);

}  // namespace cdat::experiments
