// metrics.csv: one row per step with the quantities the paper plots (PAPER §3); empty cell = not measured.
#pragma once

#include <cstdint>
#include <fstream>
#include <limits>
#include <map>
#include <string>
#include <vector>

namespace cdat::train {

constexpr double kEmpty = std::numeric_limits<double>::quiet_NaN();

struct MetricsRow {
  int64_t step = 0;
  double train_loss = kEmpty, train_acc = kEmpty, lr = kEmpty;
  double sharpness = kEmpty, lr_x_sharpness = kEmpty, stability_threshold = kEmpty;
  double grad_norm = kEmpty, curvature = kEmpty, numerator = kEmpty, alignment = kEmpty;
  double trials = kEmpty;
  // The quadratic model's error along the step (issue 11): predicted = η·gᵀu + η²·uᵀHu/2 (empty without a
  // measured curvature), actual = f(w + ηu) − f(w) on the step's batch (empty in mini batch unless the tuner
  // evaluated it), model_error = actual − predicted.
  double predicted_change = kEmpty, actual_change = kEmpty, model_error = kEmpty;
  double test_loss = kEmpty, test_acc = kEmpty, wall_time_s = kEmpty;
  // The tuner's logged values (Tuner::logged_names()), in the order of the log's tuner columns.
  std::vector<double> tuner_values;
};

// The change of the quadratic model f(w) + η·gᵀu + η²·uᵀHu/2 along u at step size η (PAPER §2); NaN when
// the curvature was not measured. For CDAT without EMA it equals −σ(1 − σ/2)n²/d.
double quadratic_model_change(double lr, double slope, double curvature);
// Sets row.actual_change and row.model_error from the actual change in loss over the step.
void set_actual_change(MetricsRow& row, double actual_change);

// The built-in columns, in file order: one table (metrics_log.cpp) writes the header and every row.
const std::vector<std::string>& metrics_columns();
// The header line (without newline): the built-in columns, then `tuner_columns` (a tuner's logged values).
std::string metrics_header(const std::vector<std::string>& tuner_columns = {});

// metrics.csv read back: each column by its header name, one value per row (NaN where the cell is empty).
using MetricsColumns = std::map<std::string, std::vector<double>>;
// Parses the text of a metrics file; throws std::runtime_error naming `source` and the line of a bad row.
MetricsColumns parse_metrics_csv(const std::string& text, const std::string& source);
// Reads and parses the file at `path` (the error names the path).
MetricsColumns read_metrics_csv(const std::string& path);

class MetricsLog {
 public:
  // Opens `path` for appending rows. With `keep_before_step` ≥ 0 (a resume), rows with step ≥ it are
  // dropped first (rewritten atomically), so a resumed run never duplicates or skips rows; otherwise the
  // file is started anew with the header. `tuner_columns` follow the built-in columns (the tuner's
  // Tuner::logged_names()); one that repeats a column's name is an InvalidOption.
  MetricsLog(const std::string& path, int64_t keep_before_step = -1, std::vector<std::string> tuner_columns = {});
  void append(const MetricsRow& row);
  void flush();

 private:
  std::string path_;
  std::vector<std::string> tuner_columns_;
  std::ofstream out_;
};

}  // namespace cdat::train
