#include "experiments/series.h"

#include <algorithm>
#include <cmath>

namespace cdat::experiments {

Series measured(const RunData& run, const std::string& column) {
  const auto& steps = run.column("step");
  const auto& values = run.column(column);
  Series s;
  for (size_t i = 0; i < steps.size() && i < values.size(); ++i) {
    if (std::isfinite(values[i])) {
      s.step.push_back(steps[i]);
      s.value.push_back(values[i]);
    }
  }
  return s;
}

Series edge_scaled_sharpness(const RunData& run) {
  const auto& steps = run.column("step");
  const auto& sharpness = run.column("sharpness");
  const auto& threshold = run.column("stability_threshold");
  Series s;
  for (size_t i = 0; i < steps.size(); ++i) {
    if (std::isfinite(sharpness[i]) && std::isfinite(threshold[i]) && threshold[i] > 0) {
      s.step.push_back(steps[i]);
      s.value.push_back(2.0 * sharpness[i] / threshold[i]);
    }
  }
  return s;
}

double median(std::vector<double> values) {
  if (values.empty()) return std::nan("");
  const size_t mid = values.size() / 2;
  std::nth_element(values.begin(), values.begin() + mid, values.end());
  const double upper = values[mid];
  if (values.size() % 2 == 1) return upper;
  return 0.5 * (upper + *std::max_element(values.begin(), values.begin() + mid));
}

Series window(const Series& series, double from, double to) {
  Series inside;
  if (series.empty()) return inside;
  const double last = series.step.back();
  for (size_t i = 0; i < series.step.size(); ++i) {
    if (series.step[i] >= from * last && series.step[i] <= to * last) {
      inside.step.push_back(series.step[i]);
      inside.value.push_back(series.value[i]);
    }
  }
  return inside;
}

double window_median(const Series& series, double from, double to) {
  const Series inside = window(series, from, to);
  return inside.step.size() < kMinWindowPoints ? std::nan("") : median(inside.value);
}

double log_slope(const std::vector<double>& x, const std::vector<double>& y) {
  std::vector<double> xs, ys;
  for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
    if (std::isfinite(x[i]) && std::isfinite(y[i]) && y[i] > 0) {
      xs.push_back(x[i]);
      ys.push_back(std::log(y[i]));
    }
  }
  if (xs.size() < kMinWindowPoints) return std::nan("");
  const double n = static_cast<double>(xs.size());
  double mx = 0, my = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    mx += xs[i] / n;
    my += ys[i] / n;
  }
  double sxy = 0, sxx = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) * (xs[i] - mx);
  }
  return sxx > 0 ? sxy / sxx : std::nan("");
}

double value_at(const Series& series, double step) {
  for (size_t i = 0; i < series.step.size(); ++i) {
    if (series.step[i] >= step) return series.value[i];
  }
  return std::nan("");
}

int64_t increases(const Series& series, double from_step) {
  int64_t count = 0;
  for (size_t i = 1; i < series.step.size(); ++i) {
    if (series.step[i - 1] >= from_step && series.value[i] > series.value[i - 1]) ++count;
  }
  return count;
}

double last_step(const RunData& run) {
  const auto& steps = run.column("step");
  return steps.empty() ? 0.0 : steps.back();
}

PeriodTwo period_two(const Series& series, double from, double to) {
  const Series inside = window(series, from, to);
  std::vector<double> even, odd, two_step;
  for (size_t i = 0; i < inside.step.size(); ++i) {
    (std::fmod(inside.step[i], 2.0) == 0.0 ? even : odd).push_back(inside.value[i]);
    if (i + 1 < inside.step.size() && inside.step[i + 1] == inside.step[i] + 1) {
      two_step.push_back(std::sqrt(inside.value[i] * inside.value[i + 1]));
    }
  }
  auto enough = [](const std::vector<double>& v) { return v.size() < kMinWindowPoints ? std::nan("") : median(v); };
  return {enough(even), enough(odd), enough(two_step)};
}

}  // namespace cdat::experiments
