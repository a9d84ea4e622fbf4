#include "train/metrics_log.h"

#include <fmt/format.h>

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

}  // namespace

const char* metrics_header() {
  return "step,train_loss,train_acc,lr,sharpness,lr_x_sharpness,stability_threshold,grad_norm,curvature,numerator,"
         "alignment,trials,predicted_change,actual_change,model_error,test_loss,test_acc,wall_time_s";
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

MetricsLog::MetricsLog(const std::string& path, int64_t keep_before_step) : path_(path) {
  if (keep_before_step >= 0) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read " + path + " to resume");
    std::string line, kept = std::string(metrics_header()) + "\n";
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
    out_ << metrics_header() << "\n";
  }
  if (!out_) throw std::runtime_error("cannot write " + path);
}

void MetricsLog::append(const MetricsRow& r) {
  out_ << r.step << ',' << cell(r.train_loss) << ',' << cell(r.train_acc) << ',' << cell(r.lr) << ','
       << cell(r.sharpness) << ',' << cell(r.lr_x_sharpness) << ',' << cell(r.stability_threshold) << ','
       << cell(r.grad_norm) << ',' << cell(r.curvature) << ',' << cell(r.numerator) << ',' << cell(r.alignment) << ','
       << cell(r.trials) << ',' << cell(r.predicted_change) << ',' << cell(r.actual_change) << ','
       << cell(r.model_error) << ',' << cell(r.test_loss) << ',' << cell(r.test_acc) << ',' << cell(r.wall_time_s) << '\n';
}

void MetricsLog::flush() {
  out_.flush();
  if (!out_) throw std::runtime_error("cannot write " + path_);
}

}  // namespace cdat::train
