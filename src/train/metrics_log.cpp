#include "train/metrics_log.h"

#include <cdat/errors.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <stdexcept>

namespace cdat::train {
namespace {

std::string cell(double x) { return std::isnan(x) ? "" : fmt::format("{:.10g}", x); }

// The cells of one CSV line; a trailing comma is a trailing empty cell.
std::vector<std::string> split_cells(const std::string& line) {
  std::vector<std::string> cells;
  std::stringstream in(line);
  for (std::string c; std::getline(in, c, ',');) cells.push_back(c);
  if (!line.empty() && line.back() == ',') cells.emplace_back();
  return cells;
}

// The built-in columns after `step`, in file order, each with the row's field it writes.
struct Column {
  const char* name;
  double MetricsRow::*field;
};

const std::vector<Column>& value_columns() {
  static const std::vector<Column> table = {
      {"train_loss", &MetricsRow::train_loss},
      {"train_acc", &MetricsRow::train_acc},
      {"lr", &MetricsRow::lr},
      {"sharpness", &MetricsRow::sharpness},
      {"lr_x_sharpness", &MetricsRow::lr_x_sharpness},
      {"stability_threshold", &MetricsRow::stability_threshold},
      {"grad_norm", &MetricsRow::grad_norm},
      {"curvature", &MetricsRow::curvature},
      {"numerator", &MetricsRow::numerator},
      {"alignment", &MetricsRow::alignment},
      {"trials", &MetricsRow::trials},
      {"predicted_change", &MetricsRow::predicted_change},
      {"actual_change", &MetricsRow::actual_change},
      {"model_error", &MetricsRow::model_error},
      {"test_loss", &MetricsRow::test_loss},
      {"test_acc", &MetricsRow::test_acc},
      {"wall_time_s", &MetricsRow::wall_time_s},
  };
  return table;
}

}  // namespace

const std::vector<std::string>& metrics_columns() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out = {"step"};
    for (const auto& c : value_columns()) out.emplace_back(c.name);
    return out;
  }();
  return names;
}

std::string metrics_header(const std::vector<std::string>& tuner_columns) {
  std::string header;
  for (const auto& name : metrics_columns()) header += (header.empty() ? "" : ",") + name;
  for (const auto& name : tuner_columns) header += "," + name;
  return header;
}

double quadratic_model_change(double lr, double slope, double curvature) {
  return lr * slope + 0.5 * lr * lr * curvature;  // NaN propagates from an unmeasured curvature
}

void set_actual_change(MetricsRow& row, double actual_change) {
  row.actual_change = actual_change;
  row.model_error = actual_change - row.predicted_change;
}

MetricsColumns parse_metrics_csv(const std::string& text, const std::string& source) {
  std::stringstream in(text);
  std::string line;
  if (!std::getline(in, line)) throw std::runtime_error(source + ": empty metrics file");
  const auto header = split_cells(line);
  MetricsColumns columns;
  for (const auto& name : header) columns[name];
  for (int row = 2; std::getline(in, line); ++row) {
    if (line.empty()) continue;
    const auto cells = split_cells(line);
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

MetricsColumns read_metrics_csv(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  return parse_metrics_csv(text.str(), path);
}

MetricsLog::MetricsLog(const std::string& path, int64_t keep_before_step, std::vector<std::string> tuner_columns)
    : path_(path), tuner_columns_(std::move(tuner_columns)) {
  const auto& builtin = metrics_columns();
  for (size_t i = 0; i < tuner_columns_.size(); ++i) {
    const std::string& name = tuner_columns_[i];
    const bool repeated = std::find(builtin.begin(), builtin.end(), name) != builtin.end() ||
                          std::find(tuner_columns_.begin(), tuner_columns_.begin() + i, name) != tuner_columns_.begin() + i;
    if (repeated || name.empty() || name.find_first_of(",\n\"") != std::string::npos) {
      throw InvalidOption("metrics.csv: the tuner's logged value '" + name +
                          "' is empty, holds a comma, newline or quote, or repeats a column's name (" +
                          metrics_header() + ")");
    }
  }
  if (keep_before_step >= 0) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read " + path + " to resume");
    std::string line, kept = metrics_header(tuner_columns_) + "\n";
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      const int64_t step = std::stoll(line.substr(0, line.find(',')));
      if (step < keep_before_step) kept += line + "\n";
    }
    const std::string tmp = path + ".tmp";
    {
      std::ofstream rewrite(tmp, std::ios::trunc);
      rewrite << kept;
      if (!rewrite.flush()) throw std::runtime_error("cannot write " + tmp);
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) throw std::runtime_error("cannot replace " + path);
    out_.open(path, std::ios::app);
  } else {
    out_.open(path, std::ios::trunc);
    out_ << metrics_header(tuner_columns_) << "\n";
  }
  if (!out_) throw std::runtime_error("cannot write " + path);
}

void MetricsLog::append(const MetricsRow& r) {
  if (r.tuner_values.size() != tuner_columns_.size()) {
    throw std::logic_error(fmt::format("metrics.csv: a row with {} tuner values for {} tuner columns",
                                       r.tuner_values.size(), tuner_columns_.size()));
  }
  out_ << r.step;
  for (const auto& c : value_columns()) out_ << ',' << cell(r.*c.field);
  for (double value : r.tuner_values) out_ << ',' << cell(value);
  out_ << '\n';
}

void MetricsLog::flush() {
  out_.flush();
  if (!out_) throw std::runtime_error("cannot write " + path_);
}

}  // namespace cdat::train
