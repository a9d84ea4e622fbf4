// metrics.csv: one row per step with the quantities the paper plots (PAPER §3); empty cell = not measured.
#pragma once

#include <cstdint>
#include <fstream>
#include <limits>
#include <string>

namespace cdat::train {

constexpr double kEmpty = std::numeric_limits<double>::quiet_NaN();

struct MetricsRow {
  int64_t step = 0;
  double train_loss = kEmpty, train_acc = kEmpty, lr = kEmpty;
  double sharpness = kEmpty, lr_x_sharpness = kEmpty, stability_threshold = kEmpty;
  double grad_norm = kEmpty, curvature = kEmpty, numerator = kEmpty, alignment = kEmpty;
  double trials = kEmpty, test_loss = kEmpty, test_acc = kEmpty, wall_time_s = kEmpty;
};

// The header line (without newline).
const char* metrics_header();

class MetricsLog {
 public:
  // Opens `path` for appending rows. With `keep_before_step` ≥ 0 (a resume), rows with step ≥ it are
  // dropped first (rewritten atomically), so a resumed run never duplicates or skips rows; otherwise the
  // file is started anew with the header.
  MetricsLog(const std::string& path, int64_t keep_before_step = -1);
  void append(const MetricsRow& row);
  void flush();

 private:
  std::string path_;
  std::ofstream out_;
};

}  // namespace cdat::train
