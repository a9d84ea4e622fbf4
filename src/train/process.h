// Running helper programs (the plotting scripts) without a shell: argv as given, no quoting issues.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace cdat::train {

// Runs args[0] (a path) with the arguments args[1..], waits, and returns its exit code (128 + signal
// when killed, 127 when it cannot be started). Throws only if waiting fails.
int run_process(const std::vector<std::string>& args);

// Starts args[0] with the arguments args[1..] and this process's environment plus `extra_env`
// ("NAME=value" entries, which override). Returns the child's pid; throws std::runtime_error if it
// cannot be started.
int start_process(const std::vector<std::string>& args, const std::vector<std::string>& extra_env = {});
// Waits for a child started by start_process; its exit code as run_process returns it.
int wait_process(int pid);

// One rank of a data-parallel run started by start_process.
struct RankProcess {
  int rank = 0;
  int pid = 0;
};
// Waits for every rank. When one fails, the others get `grace` to fail too (they notice the lost peer
// within the run's dist-timeout), then are killed. Returns "" when all exited 0, else a message naming
// the first rank that failed and how (exit code or signal).
std::string wait_ranks(const std::vector<RankProcess>& ranks, std::chrono::milliseconds grace);

// The python with matplotlib used for figures: $CDAT_PYTHON, else /usr/bin/python3 (Debian's).
std::string figure_python();

}  // namespace cdat::train
