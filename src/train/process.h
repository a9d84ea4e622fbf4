// Running helper programs (the plotting scripts) without a shell: argv as given, no quoting issues.
#pragma once

#include <string>
#include <vector>

namespace cdat::train {

// Runs args[0] (a path) with the arguments args[1..], waits, and returns its exit code (128 + signal
// when killed, 127 when it cannot be started). Throws only if waiting fails.
int run_process(const std::vector<std::string>& args);

// The python with matplotlib used for figures: $CDAT_PYTHON, else /usr/bin/python3 (Debian's).
std::string figure_python();

}  // namespace cdat::train
