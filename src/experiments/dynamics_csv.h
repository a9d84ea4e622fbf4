// The trajectory of the simplified model (cdat::dynamics) as CSV: t,eta,sharpness,y,x — the format
// scripts/plot_dynamics.py and `cdat plot` read.
#pragma once

#include <cdat/dynamics.h>

#include <string>
#include <vector>

namespace cdat::experiments {

// Throws std::runtime_error naming the path if it cannot be written.
void write_dynamics_csv(const std::string& path, const std::vector<dynamics::Record>& records);

}  // namespace cdat::experiments
