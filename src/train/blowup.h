// The rule "a run blew up", defined once: the runner writes it into summary.json ("blew_up"), the safeguards
// experiment judges with it (src/experiments/verdicts.h) and scripts/run_store_table.py reads the flag.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace cdat::train {

constexpr double kBlowupFactor = 2.0;  // no step may raise the loss above 2 × the initial loss

// The largest train loss of a run (metrics.csv's train_loss column, then the final evaluation) over its first
// one: +inf when the run is not ok (diverged, unfinished, or a non-finite final loss), when the first loss is not
// positive, or when any loss of the column is not finite (an unmeasured cell included).
inline double peak_over_initial(const std::vector<double>& train_loss, double final_train_loss, bool ok) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  if (!ok || train_loss.empty() || !(train_loss.front() > 0.0)) return kInf;
  double peak = train_loss.front();
  for (double f : train_loss) peak = std::isfinite(f) ? std::max(peak, f) : kInf;
  return std::max(peak, final_train_loss) / train_loss.front();
}

// A run that diverged, did not finish, or raised its loss above kBlowupFactor × the initial loss.
inline bool blew_up(double peak_over_initial) { return !(peak_over_initial <= kBlowupFactor); }

}  // namespace cdat::train
