// The cdat command-line tool as a function, so that a user's own binary can add directions and tuners
// (cdat/registry.h) and still be `cdat` (examples/extending, docs/extending.md).
#pragma once

namespace cdat::cli {

// Parses the arguments, runs the subcommand and returns the exit code: 0 success, 1 a run that failed,
// 2 bad usage. Prints errors to stderr.
int run(int argc, char** argv);

}  // namespace cdat::cli
