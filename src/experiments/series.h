// Numbers read off a run's metrics for the verdicts of `cdat reproduce`: medians over windows of the
// run, values at a step, counts of loss increases. Windows are fractions of the run's steps.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "experiments/run_store.h"

namespace cdat::experiments {

struct Series {
  std::vector<double> step, value;  // only rows where the value was measured (finite)
  bool empty() const { return step.empty(); }
};

// The measured (finite) points of a column.
Series measured(const RunData& run, const std::string& column);
// η·λ on a scale where the edge of stability is 2 for every optimizer: 2 λ / threshold, where the
// threshold is the optimizer's (2/η for GD and RMSProp, (2 + 2β1)/((1 − β1) η) for Adam; PAPER §3).
Series edge_scaled_sharpness(const RunData& run);

double median(std::vector<double> values);  // NaN when empty
// A verdict window must hold at least this many measurements (issue 13); with fewer, the numbers read off it
// are NaN and the finding judged on them is inconclusive.
constexpr size_t kMinWindowPoints = 3;
// The points with from·T ≤ step ≤ to·T, T the series' last step.
Series window(const Series& series, double from, double to);
// Median of window(series, from, to); NaN if it holds fewer than kMinWindowPoints points.
double window_median(const Series& series, double from, double to);
// Least-squares slope of log y against x over the points with finite x and finite y > 0; NaN with fewer than
// kMinWindowPoints such points or when x does not vary.
double log_slope(const std::vector<double>& x, const std::vector<double>& y);
// Value at the first point with step ≥ `step` (NaN if none).
double value_at(const Series& series, double step);
// Number of increases from one point to the next among points with step ≥ `from_step`.
int64_t increases(const Series& series, double from_step);
// Last step of a run's metrics (0 if empty).
double last_step(const RunData& run);

// ---- Period-2 dynamics (issue 13, item 2): a series measured at pairs of consecutive steps (t, t+1)
// (RunConfig::sharpness_pairs), e.g. greedy's η·λ, which zigzags with period 2.
struct PeriodTwo {
  double even = NAN, odd = NAN;  // median over the window's points at even / at odd steps
  double two_step = NAN;         // median over the window's consecutive pairs (t, t+1) of (x_t · x_{t+1})^{1/2}
};
// Over window(series, from, to); each number is NaN when it rests on fewer than kMinWindowPoints points (pairs).
PeriodTwo period_two(const Series& series, double from, double to);

}  // namespace cdat::experiments
