// A one-line progress display on stderr: step, loss, lr, rate and ETA (redrawn at most 10 times a second).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace cdat::cli {

class ProgressBar {
 public:
  explicit ProgressBar(std::string label) : label_(std::move(label)) {}
  void update(int64_t step, int64_t total, double loss, double lr, double elapsed_s);
  void finish();

 private:
  std::string label_;
  std::chrono::steady_clock::time_point last_draw_{};
  bool drawn_ = false;
  int64_t first_step_ = -1;
  double first_elapsed_ = 0.0;
};

}  // namespace cdat::cli
