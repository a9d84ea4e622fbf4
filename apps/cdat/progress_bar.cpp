#include "progress_bar.h"

#include <fmt/format.h>

#include <cstdio>
#include <unistd.h>

namespace cdat::cli {
namespace {

std::string duration(double seconds) {
  const auto s = static_cast<int64_t>(seconds + 0.5);
  return s >= 3600 ? fmt::format("{}h{:02}m", s / 3600, s / 60 % 60) : fmt::format("{}m{:02}s", s / 60, s % 60);
}

}  // namespace

void ProgressBar::update(int64_t step, int64_t total, double loss, double lr, double elapsed_s) {
  if (first_step_ < 0) {
    first_step_ = step - 1;
    first_elapsed_ = 0.0;
  }
  // Redraw a terminal line 10 times a second; in a log file, print a line every 5 seconds.
  const bool tty = isatty(fileno(stderr));
  const auto interval = std::chrono::milliseconds(tty ? 100 : 5000);
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && step < total && now - last_draw_ < interval) return;
  last_draw_ = now;
  const int64_t done = step - first_step_;
  const double rate = elapsed_s > first_elapsed_ ? done / (elapsed_s - first_elapsed_) : 0.0;
  const double eta = rate > 0 ? (total - step) / rate : 0.0;
  const int width = 24;
  const int filled = total > 0 ? static_cast<int>(width * step / total) : 0;
  const std::string bar = std::string(filled, '#') + std::string(width - filled, '.');
  fmt::print(stderr, "{}{} [{}] {}/{} loss {:.4g} lr {:.3g} {:.1f} it/s ETA {}{}", tty ? "\r" : "", label_, bar, step,
             total, loss, lr, rate, duration(eta), tty ? "\033[K" : "\n");
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressBar::finish() {
  if (drawn_ && isatty(fileno(stderr))) fmt::print(stderr, "\n");
}

}  // namespace cdat::cli
