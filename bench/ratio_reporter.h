// A Google Benchmark console reporter that also prints time ratios between named runs of one process,
// so that comparisons (e.g. CDAT step / GD step) come from the same run on a noisy, shared machine.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace cdat::bench {

class RatioReporter : public benchmark::ConsoleReporter {
 public:
  // Each ratio: (label, numerator, denominator), named as registered (e.g. "GdStep/mlp").
  struct Ratio {
    std::string label, numerator, denominator;
  };
  explicit RatioReporter(std::vector<Ratio> ratios) : ratios_(std::move(ratios)) {}

  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& run : runs) {
      if (run.run_type == Run::RT_Iteration && !run.error_occurred) {
        seconds_[run.run_name.function_name] = run.GetAdjustedRealTime();
        if (run.counters.count("trials")) trials_[run.run_name.function_name] = run.counters.at("trials");
      }
    }
  }

  void Finalize() override {
    ConsoleReporter::Finalize();
    std::printf("\nRatios (same process, real time):\n");
    for (const auto& r : ratios_) {
      auto n = seconds_.find(r.numerator), d = seconds_.find(r.denominator);
      if (n == seconds_.end() || d == seconds_.end()) continue;
      std::printf("  %-48s %6.2fx", r.label.c_str(), n->second / d->second);
      auto t = trials_.find(r.numerator);
      if (t != trials_.end() && t->second > 0) std::printf("   (%.1f trials a step)", t->second.value);
      std::printf("\n");
    }
  }

 private:
  std::vector<Ratio> ratios_;
  std::map<std::string, double> seconds_;
  std::map<std::string, benchmark::Counter> trials_;
};

}  // namespace cdat::bench
