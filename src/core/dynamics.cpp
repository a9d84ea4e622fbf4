// The simplified model of PAPER §5: plain arithmetic, no tensors.
#include <cdat/dynamics.h>
#include <cdat/errors.h>

#include "option_checks.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace cdat::dynamics {
namespace {

void require(bool condition, const std::string& message) { detail::require(condition, "dynamics: " + message); }

using detail::str;

bool finite_at_least(double value, double low) { return std::isfinite(value) && value >= low; }
bool finite_positive(double value) { return std::isfinite(value) && value > 0.0; }

// Armijo backtracking (PAPER §2) on f(z) = ½ λ z² from z = x along u = −λx, the gradient step of the
// model's one-dimensional quadratic, with the library's search and constants.
double armijo_step(ArmijoBacktracking& search, double lambda, double x) {
  const auto f = [lambda](double z) { return 0.5 * lambda * z * z; };
  const double u = -lambda * x;
  return search.search([&](double eta) { return f(x + eta * u); }, f(x), /*slope=*/lambda * x * u).eta;
}

void require_positive_sharpness(double lambda, int64_t t, const Options& options, const char* which) {
  if (!(lambda > 0.0)) {
    throw NonFiniteError("dynamics: sharpness " + std::string(which) + " = " + str(lambda) + " at step " +
                         std::to_string(t) + " is not positive; rule '" + to_string(options.rule) + "' divides by it");
  }
}

}  // namespace

void validate(const Options& o) {
  require(finite_at_least(o.a, 0.0), "a must be finite and >= 0, got " + str(o.a));
  require(finite_at_least(o.b, 0.0), "b must be finite and >= 0, got " + str(o.b));
  require(finite_positive(o.lambda0), "lambda0 must be finite and > 0, got " + str(o.lambda0));
  require(std::isfinite(o.x0), "x0 must be finite, got " + str(o.x0));
  require(finite_at_least(o.delta, 0.0), "delta must be finite and >= 0, got " + str(o.delta));
  require(o.steps >= 1, "steps must be >= 1, got " + std::to_string(o.steps));
  require(finite_positive(o.lr), "lr must be finite and > 0, got " + str(o.lr));
  require(finite_positive(o.scale), "scale must be finite and > 0, got " + str(o.scale));
  require(finite_positive(o.sigma), "sigma must be finite and > 0, got " + str(o.sigma));
  cdat::validate(o.linesearch, "dynamics: linesearch ");
}

std::vector<Record> simulate(const Options& options) {
  validate(options);
  std::vector<Record> records;
  records.reserve(static_cast<size_t>(options.steps));
  ArmijoBacktracking armijo(options.linesearch);
  double x = options.x0;
  double lambda = options.lambda0;
  double previous_lambda = options.lambda0;  // λ_{t−1}, with λ_{−1} = λ₀

  for (int64_t t = 0; t < options.steps; ++t) {
    double eta = 0.0;
    switch (options.rule) {
      case Rule::kConstant:
        eta = options.lr;
        break;
      case Rule::kClassical:
        require_positive_sharpness(lambda, t, options, "lambda_t");
        eta = options.scale / lambda;
        break;
      case Rule::kCdat:
        if (options.closure == Closure::kLagged) {
          require_positive_sharpness(previous_lambda, t, options, "lambda_{t-1}");
          eta = options.sigma / previous_lambda;
        } else {
          require_positive_sharpness(lambda, t, options, "lambda_t");
          eta = options.sigma / lambda;
        }
        break;
      case Rule::kLinesearch:
        eta = armijo_step(armijo, lambda, x);
        break;
    }
    records.push_back(Record{t, eta, lambda, eta * lambda - 2.0, x});

    // PAPER §5: both updates use the state at step t.
    const double next_x = (1.0 - eta * lambda) * x + options.delta;
    const double next_lambda = lambda + eta * (options.a - options.b * x * x);
    if (!std::isfinite(next_x) || !std::isfinite(next_lambda)) {
      throw NonFiniteError("dynamics: the run diverged at step " + std::to_string(t) + " (x = " + str(next_x) +
                           ", sharpness = " + str(next_lambda) + ")");
    }
    previous_lambda = lambda;
    x = next_x;
    lambda = next_lambda;
  }
  return records;
}

Summary summarize(const std::vector<Record>& records) {
  require(!records.empty(), "summarize needs at least one record");
  const size_t n = records.size();
  const size_t half = n / 2;
  Summary s;
  s.final_sharpness = records.back().sharpness;
  s.final_eta = records.back().eta;

  std::vector<double> ys;
  ys.reserve(n - half);
  s.min_sharpness = records[half].sharpness;
  s.max_sharpness = records[half].sharpness;
  double sum_u = 0.0, sum_v = 0.0, sum_uu = 0.0, sum_uv = 0.0;
  int64_t count = 0;
  for (size_t i = half; i < n; ++i) {
    const Record& r = records[i];
    ys.push_back(r.y);
    s.min_sharpness = std::min(s.min_sharpness, r.sharpness);
    s.max_sharpness = std::max(s.max_sharpness, r.sharpness);
    if (r.t >= 1 && r.sharpness > 0.0) {
      const double u = std::log(static_cast<double>(r.t));
      const double v = std::log(r.sharpness);
      sum_u += u, sum_v += v, sum_uu += u * u, sum_uv += u * v;
      ++count;
    }
  }
  const size_t mid = ys.size() / 2;
  std::nth_element(ys.begin(), ys.begin() + static_cast<std::ptrdiff_t>(mid), ys.end());
  s.median_y = ys[mid];
  if (ys.size() % 2 == 0) {
    const double below = *std::max_element(ys.begin(), ys.begin() + static_cast<std::ptrdiff_t>(mid));
    s.median_y = 0.5 * (s.median_y + below);
  }
  const double denominator = static_cast<double>(count) * sum_uu - sum_u * sum_u;
  s.growth_exponent =
      (count >= 2 && denominator > 0.0) ? (static_cast<double>(count) * sum_uv - sum_u * sum_v) / denominator : 0.0;
  return s;
}

const std::vector<std::string>& rule_names() {
  static const std::vector<std::string> names = {"constant", "classical", "cdat", "linesearch"};
  return names;
}

const std::vector<std::string>& closure_names() {
  static const std::vector<std::string> names = {"lagged", "current"};
  return names;
}

std::string to_string(Rule rule) {
  switch (rule) {
    case Rule::kConstant:
      return "constant";
    case Rule::kClassical:
      return "classical";
    case Rule::kCdat:
      return "cdat";
    case Rule::kLinesearch:
      return "linesearch";
  }
  return "unknown";
}

std::string to_string(Closure closure) { return closure == Closure::kLagged ? "lagged" : "current"; }

Rule parse_rule(const std::string& name) {
  if (name == "constant") return Rule::kConstant;
  if (name == "classical") return Rule::kClassical;
  if (name == "cdat") return Rule::kCdat;
  if (name == "linesearch") return Rule::kLinesearch;
  throw InvalidOption("dynamics: rule must be one of constant, classical, cdat, linesearch; got '" + name + "'");
}

Closure parse_closure(const std::string& name) {
  if (name == "lagged") return Closure::kLagged;
  if (name == "current") return Closure::kCurrent;
  throw InvalidOption("dynamics: closure must be lagged or current; got '" + name + "'");
}

}  // namespace cdat::dynamics
