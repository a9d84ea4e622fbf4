// Armijo backtracking line search (PAPER §2), on any one-dimensional profile φ(η) = f(w + ηu).
// Plain arithmetic: used by LinesearchTuner on networks and by the dynamics model on its quadratic.
#pragma once

#include <functional>

namespace cdat {

struct LinesearchOptions {
  double c = 1e-4;          // sufficient-decrease constant
  double kappa_down = 0.8;  // backtracking factor
  double kappa_up = 1.5;    // growth of the initial guess from the last accepted η
  double eta_max = 1.0;     // cap of the initial guess
  double eta_init = 1.0;    // initial guess at the first step
  int max_trials = 30;      // trials (forward passes) per step at most
};

// Throws InvalidOption naming the option (with `prefix`) and its CLI key when one is out of range; the
// constructors and the CLI both call it, so a value is judged once, with one message.
void validate(const LinesearchOptions& options, const char* prefix = "linesearch ");

struct ArmijoResult {
  double eta = 0.0;        // the accepted step, or 0
  int trials = 0;          // φ evaluations made
  bool failed = false;     // no trial satisfied the condition
  bool non_descent = false;  // slope ≥ 0: no search was made
};

// The search and its one piece of state, the last step (the next search starts from κ_up times it).
class ArmijoBacktracking {
 public:
  explicit ArmijoBacktracking(LinesearchOptions options);

  // Start at min(κ_up·η_prev, η_max); shrink by κ_down until φ(η) ≤ φ(0) + c·η·slope. A non-finite
  // φ(η) fails that trial. If every trial fails, η = 0 and the next search starts from the smallest η
  // tried. A non-descent slope (≥ 0) gives η = 0 without trials.
  ArmijoResult search(const std::function<double(double)>& value_at, double value_at_zero, double slope);

  double previous_eta() const { return previous_eta_; }
  void set_previous_eta(double eta) { previous_eta_ = eta; }

 private:
  LinesearchOptions options_;
  double previous_eta_;
};

}  // namespace cdat
