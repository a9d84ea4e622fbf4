// Name → factory registries of directions (base optimizers), tuners and curvature estimators. make_direction,
// make_tuner, make_curvature_estimator, the CLI (--optimizer, --tuner, --curvature-mode), `cdat sweep`, the
// help text and the docs all read them, so a new direction, tuner or curvature estimator is one file plus
// one registration (docs/extending.md):
//
//   static const bool registered = cdat::register_tuner({"polyak", "Polyak step (f − f*)/(−gᵀu)",
//       {"fstar"}, [](const cdat::TunerOptions& o) { return std::make_unique<PolyakTuner>(o.extra); }});
//
// The facts the runner needs about a direction (its edge of stability, whether its sharpness is the
// preconditioned one) are virtual functions of Direction, not entries here.
#pragma once

#include <cdat/curvature_estimator.h>
#include <cdat/direction.h>
#include <cdat/tuner.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace cdat {

struct DirectionEntry {
  std::string name;     // as --optimizer takes it
  std::string summary;  // one line for --help and the docs
  std::function<std::unique_ptr<Direction>(const DirectionOptions&)> make;
};

struct TunerEntry {
  std::string name;     // as --tuner takes it
  std::string summary;  // one line for --help and the docs
  // The names this tuner reads from TunerOptions::extra (the CLI's --tuner-options "k=v,..."); any other
  // name given there is an InvalidOption.
  std::vector<std::string> extra_options;
  std::function<std::unique_ptr<Tuner>(const TunerOptions&)> make;
};

struct CurvatureEntry {
  std::string name;     // as --curvature-mode takes it
  std::string summary;  // one line for --help and the docs
  std::function<std::unique_ptr<CurvatureEstimator>(const CurvatureOptions&)> make;
};

// Adds an entry; returns true so that it can initialise a static. Throws InvalidOption for an empty name,
// a name already registered, or no factory.
bool register_direction(DirectionEntry entry);
bool register_tuner(TunerEntry entry);
bool register_curvature_estimator(CurvatureEntry entry);

// Every entry: the built-in ones first, then the registered ones in registration order.
const std::vector<DirectionEntry>& direction_entries();
const std::vector<TunerEntry>& tuner_entries();
const std::vector<CurvatureEntry>& curvature_entries();
// The entry of that name; throws InvalidOption listing the valid names otherwise.
const DirectionEntry& direction_entry(const std::string& name);
const TunerEntry& tuner_entry(const std::string& name);
const CurvatureEntry& curvature_entry(const std::string& name);
// The names make_curvature_estimator accepts, built-in ones first.
std::vector<std::string> curvature_estimator_names();

}  // namespace cdat
