#include <cdat/errors.h>
#include <cdat/registry.h>

#include <algorithm>
#include <cmath>

#include "option_checks.h"

namespace cdat {
namespace {

std::vector<DirectionEntry> builtin_directions() {
  return {
      {"gd", "gradient descent: u = −g",
       [](const DirectionOptions& o) { return std::make_unique<GradientDescent>(o); }},
      {"momentum", "heavy ball: m ← β₁m + g, u = −m",
       [](const DirectionOptions& o) { return std::make_unique<Momentum>(o, /*nesterov=*/false); }},
      {"nesterov", "Nesterov momentum: u = −(g + β₁m)",
       [](const DirectionOptions& o) { return std::make_unique<Momentum>(o, /*nesterov=*/true); }},
      {"rmsprop", "RMSProp: u = −g/(√v + ε)", [](const DirectionOptions& o) { return std::make_unique<RMSProp>(o); }},
      {"adam", "Adam: u = −m̂/(√v̂ + ε)", [](const DirectionOptions& o) { return std::make_unique<Adam>(o); }},
  };
}

std::vector<TunerEntry> builtin_tuners() {
  return {
      {"constant", "η = lr", {}, [](const TunerOptions& o) { return std::make_unique<ConstantTuner>(o.lr); }},
      {"schedule", "linear warm-up to lr, then cosine decay (or constant)", {},
       [](const TunerOptions& o) {
         ScheduleOptions schedule = o.schedule;
         schedule.peak_lr = o.lr;
         return std::make_unique<ScheduleTuner>(schedule);
       }},
      {"linesearch", "Armijo backtracking line search", {},
       [](const TunerOptions& o) { return std::make_unique<LinesearchTuner>(o.linesearch); }},
      {"greedy", "quadratically greedy η = −gᵀu / uᵀHu", {},
       [](const TunerOptions&) { return std::make_unique<GreedyTuner>(); }},
      {"cdat", "CDAT η = σ·max(−gᵀu, 0)/|uᵀHu| (PAPER §2)", {},
       [](const TunerOptions& o) { return std::make_unique<CdatTuner>(o.cdat); }},
  };
}

std::vector<CurvatureEntry> builtin_curvature_estimators() {
  return {
      {"exact", "double backward on the step's own forward pass (one Hessian-vector product)",
       [](const CurvatureOptions&) { return std::make_unique<ExactCurvature>(); }},
      {"forward", "forward-over-reverse AD: a second forward and backward pass carrying u",
       [](const CurvatureOptions&) { return std::make_unique<ForwardOverReverseCurvature>(); }},
      {"secant", "u_{t-1}ᵀ(g_t − g_{t-1})/η_{t-1}, rescaled to ‖u_t‖²: no extra pass, one step late",
       [](const CurvatureOptions&) { return std::make_unique<SecantCurvature>(); }},
      {"fd", "central finite differences of the gradient along u: two extra gradients",
       [](const CurvatureOptions& o) { return std::make_unique<FiniteDifferenceCurvature>(o.fd_step); }},
      {"parabola", "the parabola through f(w), gᵀu and f(w + hu): one forward pass without a graph",
       [](const CurvatureOptions& o) { return std::make_unique<ParabolaCurvature>(o); }},
      {"parabola-central", "the parabola through f(w − hu), f(w) and f(w + hu): two forward passes, O(h²)",
       [](const CurvatureOptions& o) {
         CurvatureOptions central = o;
         central.parabola_central = true;
         return std::make_unique<ParabolaCurvature>(central);
       }},
  };
}

std::vector<DirectionEntry>& directions() {
  static std::vector<DirectionEntry> entries = builtin_directions();
  return entries;
}

std::vector<TunerEntry>& tuners() {
  static std::vector<TunerEntry> entries = builtin_tuners();
  return entries;
}

std::vector<CurvatureEntry>& curvature_estimators() {
  static std::vector<CurvatureEntry> entries = builtin_curvature_estimators();
  return entries;
}

template <typename Entry>
std::vector<std::string> entry_names(const std::vector<Entry>& entries) {
  std::vector<std::string> names;
  for (const auto& e : entries) names.push_back(e.name);
  return names;
}

template <typename Entry>
const Entry& find_entry(const std::vector<Entry>& entries, const std::string& kind, const std::string& name) {
  auto it = std::find_if(entries.begin(), entries.end(), [&](const Entry& e) { return e.name == name; });
  if (it == entries.end()) {
    throw InvalidOption(kind + ": unknown value '" + name + "' (valid: " + detail::join(entry_names(entries)) + ")");
  }
  return *it;
}

template <typename Entry>
bool add_entry(std::vector<Entry>& entries, Entry entry, const std::string& kind) {
  detail::require(!entry.name.empty(), "cdat::register_" + kind + ": empty name");
  detail::require(static_cast<bool>(entry.make), "cdat::register_" + kind + ": no factory for '" + entry.name + "'");
  const bool taken = std::any_of(entries.begin(), entries.end(), [&](const Entry& e) { return e.name == entry.name; });
  detail::require(!taken, "cdat::register_" + kind + ": '" + entry.name + "' is already registered");
  entries.push_back(std::move(entry));
  return true;
}

}  // namespace

bool register_direction(DirectionEntry entry) { return add_entry(directions(), std::move(entry), "direction"); }
bool register_tuner(TunerEntry entry) { return add_entry(tuners(), std::move(entry), "tuner"); }
bool register_curvature_estimator(CurvatureEntry entry) {
  return add_entry(curvature_estimators(), std::move(entry), "curvature_estimator");
}

const std::vector<DirectionEntry>& direction_entries() { return directions(); }
const std::vector<TunerEntry>& tuner_entries() { return tuners(); }
const std::vector<CurvatureEntry>& curvature_entries() { return curvature_estimators(); }

const DirectionEntry& direction_entry(const std::string& name) { return find_entry(directions(), "optimizer", name); }
const TunerEntry& tuner_entry(const std::string& name) { return find_entry(tuners(), "tuner", name); }
const CurvatureEntry& curvature_entry(const std::string& name) {
  return find_entry(curvature_estimators(), "curvature-mode", name);
}

std::vector<std::string> direction_names() { return entry_names(directions()); }
std::vector<std::string> tuner_names() { return entry_names(tuners()); }
std::vector<std::string> curvature_estimator_names() { return entry_names(curvature_estimators()); }

std::unique_ptr<Direction> make_direction(const std::string& name, const DirectionOptions& options) {
  return direction_entry(name).make(options);
}

std::unique_ptr<Tuner> make_tuner(const std::string& name, const TunerOptions& options) {
  const TunerEntry& entry = tuner_entry(name);
  validate(options);
  for (const auto& [key, value] : options.extra) {
    const auto& valid = entry.extra_options;
    if (std::find(valid.begin(), valid.end(), key) == valid.end()) {
      throw InvalidOption("tuner-options: tuner '" + name + "' has no option '" + key + "'" +
                          (valid.empty() ? " (it takes none)" : " (valid: " + detail::join(valid) + ")"));
    }
  }
  return entry.make(options);
}

void validate(const CurvatureOptions& o) {
  curvature_entry(o.curvature_mode);  // an unknown name: InvalidOption listing the registered ones
  detail::require(o.fd_step > 0.0 && std::isfinite(o.fd_step), "fd-step must be finite and > 0, got " + detail::str(o.fd_step));
  detail::require(o.parabola_step > 0.0 && std::isfinite(o.parabola_step),
                  "parabola-step must be finite and > 0, got " + detail::str(o.parabola_step));
  detail::require(o.curvature_every >= 1, "curvature-every must be >= 1, got " + std::to_string(o.curvature_every));
}

std::unique_ptr<CurvatureEstimator> make_curvature_estimator(const CurvatureOptions& options) {
  validate(options);
  std::unique_ptr<CurvatureEstimator> estimator = curvature_entry(options.curvature_mode).make(options);
  if (!estimator) throw InvalidOption("curvature-mode: the factory of '" + options.curvature_mode + "' made nothing");
  if (options.curvature_every == 1) return estimator;
  return std::make_unique<AmortisedCurvature>(std::move(estimator), options.curvature_every);
}

}  // namespace cdat
