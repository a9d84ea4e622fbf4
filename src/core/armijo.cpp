#include <cdat/armijo.h>
#include <cdat/errors.h>

#include "option_checks.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace cdat {

using detail::require;
using detail::str;

// Each message names the field and, for the CLI, its key.
void validate(const LinesearchOptions& o, const char* prefix) {
  const std::string p = prefix;
  require(o.c > 0.0 && o.c < 1.0, p + "c must be in (0, 1) (--ls-c), got " + str(o.c));
  require(o.kappa_down > 0.0 && o.kappa_down < 1.0,
          p + "kappa_down must be in (0, 1) (--ls-kappa-down), got " + str(o.kappa_down));
  require(std::isfinite(o.kappa_up) && o.kappa_up >= 1.0,
          p + "kappa_up must be finite and >= 1 (--ls-kappa-up), got " + str(o.kappa_up));
  require(std::isfinite(o.eta_max) && o.eta_max > 0.0,
          p + "eta_max must be finite and > 0 (--ls-eta-max), got " + str(o.eta_max));
  require(std::isfinite(o.eta_init) && o.eta_init > 0.0,
          p + "eta_init must be finite and > 0 (the first guess: --lr, capped by --ls-eta-max), got " + str(o.eta_init));
  require(o.max_trials >= 1, p + "max_trials must be >= 1 (--ls-max-trials), got " + std::to_string(o.max_trials));
}

ArmijoBacktracking::ArmijoBacktracking(LinesearchOptions options)
    : options_(options), previous_eta_(options.eta_init) {
  validate(options_);
}

ArmijoResult ArmijoBacktracking::search(const std::function<double(double)>& value_at, double value_at_zero,
                                        double slope) {
  ArmijoResult result;
  if (!(slope < 0.0)) {  // not a descent direction: no step can satisfy Armijo for small η
    result.non_descent = true;
    return result;
  }
  double eta = std::min(options_.kappa_up * previous_eta_, options_.eta_max);
  for (int trial = 1; trial <= options_.max_trials; ++trial) {
    result.trials = trial;
    const double value = value_at(eta);
    // Sufficient decrease; a non-finite value fails the comparison and backtracks.
    if (std::isfinite(value) && value <= value_at_zero + options_.c * eta * slope) {
      previous_eta_ = eta;
      result.eta = eta;
      return result;
    }
    if (trial < options_.max_trials) eta *= options_.kappa_down;
  }
  result.failed = true;
  previous_eta_ = eta;
  return result;
}

}  // namespace cdat
