// The simplified model of the joint learning-rate / sharpness dynamics (PAPER §5), after Damian,
// Nichani & Lee's self-stabilization analysis. Plain double arithmetic: no tensors, no data, no model.
//
//   x_{t+1} = (1 − η_t λ_t) x_t + δ          x: component of the iterate along the top eigenvector
//   λ_{t+1} = λ_t + η_t (a − b x_t²)          λ: sharpness; a: progressive sharpening; b: self-stabilization
//   y_t     = η_t λ_t − 2                     normalized centered sharpness (0 on the edge of stability)
//
// with η_t chosen by one of the rules below. docs/dynamics.md describes what each rule does.
#pragma once

#include <cdat/armijo.h>

#include <cstdint>
#include <string>
#include <vector>

namespace cdat::dynamics {

// How η_t is chosen.
enum class Rule {
  kConstant,    // η_t = lr
  kClassical,   // η_t = scale / λ_t: a classical tuner that settles at ηλ = scale < 2 (PAPER §5)
  kCdat,        // η_t = σ / λ_{t−1} (lagged closure) or σ / λ_t (current closure)
  kLinesearch,  // Armijo backtracking on f(x) = ½ λ_t x² along u = −λ_t x (PAPER §2)
};

// Which sharpness the CDAT rule divides by (reconstruction, PAPER §5).
enum class Closure {
  kLagged,   // η_t = σ / λ_{t−1}: the tuner measures the curvature before the sharpness update; λ_{−1} = λ₀
  kCurrent,  // η_t = σ / λ_t
};


// Every constant of the model and of the rules; the defaults are PAPER §5's (reconstruction).
struct Options {
  double a = 0.1;         // progressive-sharpening rate, ≥ 0
  double b = 10.0;        // self-stabilization strength, ≥ 0
  double lambda0 = 15.0;  // initial sharpness λ₀, > 0
  double x0 = 1e-2;       // initial component along the top eigenvector
  double delta = 1e-6;    // additive perturbation of x, ≥ 0; 0 lets x underflow to exactly 0
  int64_t steps = 3000;   // T: number of steps simulated (records t = 0 … T−1)

  Rule rule = Rule::kCdat;
  double lr = 0.1;                     // kConstant: η (edge at λ = 2/η)
  double scale = 1.9;                  // kClassical: s in η = s/λ_t
  double sigma = 2.0;                  // kCdat: σ (2 = on the edge)
  Closure closure = Closure::kLagged;  // kCdat only
  LinesearchOptions linesearch;            // kLinesearch only
};

// The state at the start of step t and the learning rate chosen for it.
struct Record {
  int64_t t = 0;
  double eta = 0.0;        // η_t
  double sharpness = 0.0;  // λ_t
  double y = 0.0;          // η_t λ_t − 2
  double x = 0.0;          // x_t
};

// Throws cdat::InvalidOption naming the first option out of range.
void validate(const Options& options);

// Runs the model for options.steps steps. Throws InvalidOption for bad options, and cdat::NonFiniteError
// (naming the step) if x or λ becomes non-finite, or if λ_t ≤ 0 under a rule that divides by it.
std::vector<Record> simulate(const Options& options);

// What the CLI and the docs report about a run.
struct Summary {
  double final_sharpness = 0.0;  // λ_{T−1}
  double final_eta = 0.0;        // η_{T−1}
  double median_y = 0.0;         // median of y over the second half (t ≥ T/2)
  double min_sharpness = 0.0;    // min / max of λ over the second half
  double max_sharpness = 0.0;
  double growth_exponent = 0.0;  // least-squares slope of ln λ against ln t over the second half (t ≥ 1):
                                 // ≈ 0.5 when λ ∝ √t, ≈ 0 when λ is stable
};

// Throws InvalidOption if records is empty.
Summary summarize(const std::vector<Record>& records);

// Names used by the CLI: constant, classical, cdat, linesearch; lagged, current.
const std::vector<std::string>& rule_names();
const std::vector<std::string>& closure_names();
std::string to_string(Rule rule);
std::string to_string(Closure closure);
Rule parse_rule(const std::string& name);        // throws InvalidOption naming "rule"
Closure parse_closure(const std::string& name);  // throws InvalidOption naming "closure"

}  // namespace cdat::dynamics
