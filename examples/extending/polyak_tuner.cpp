// A user tuner, registered by name: the Polyak step. Along the direction u, the linear model
// f(w) + η·gᵀu reaches a target value f* at η = (f(w) − f*) / (−gᵀu); for GD (u = −g) this is Polyak's
// (f − f*)/‖g‖². Options (--tuner-options "fstar=0,max_lr=10"): fstar, the target (default 0, right for
// losses that can reach 0), and max_lr, a cap on η (default 0: none).
#include <cdat/cdat.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

namespace {

double option_or(const std::map<std::string, double>& options, const std::string& name, double fallback) {
  const auto it = options.find(name);
  return it == options.end() ? fallback : it->second;
}

class PolyakTuner final : public cdat::Tuner {
 public:
  explicit PolyakTuner(const std::map<std::string, double>& options)
      : fstar_(option_or(options, "fstar", 0.0)), max_lr_(option_or(options, "max_lr", 0.0)) {
    if (!(max_lr_ >= 0.0)) throw cdat::InvalidOption("tuner-options: max_lr must be >= 0 (0 = no cap)");
  }
  std::string name() const override { return "polyak"; }
  // Its own value in the report: the gap f − f* (a metrics.csv column, a key of torchcdat's last_stats).
  std::vector<std::string> report_names() const override { return {"gap"}; }

 private:
  // Asks the step only for what it needs (loss and slope): no curvature, so no double backward.
  double compute(cdat::StepContext& context, cdat::TunerReport& report) override {
    const double descent = -context.slope();
    const double gap = std::max(context.loss() - fstar_, 0.0);
    report.set("gap", gap);
    report.non_descent = !(descent > 0.0);
    if (report.non_descent) return 0.0;
    const double eta = gap / descent;
    return max_lr_ > 0.0 ? std::min(eta, max_lr_) : eta;
  }

  double fstar_, max_lr_;
};

const bool registered = cdat::register_tuner(
    {"polyak", "Polyak step η = (f − f*)/(−gᵀu) (examples/extending)", {"fstar", "max_lr"},
     [](const cdat::TunerOptions& options) { return std::make_unique<PolyakTuner>(options.extra); }});

}  // namespace
