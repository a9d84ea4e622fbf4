// The subcommands of the `cdat` tool. Each registers its flags on the app and sets the callback that
// runs it. Commands turn flags into library/train calls: no math and no training loop lives here.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>

namespace cdat::cli {

// Exit codes: 0 success, 1 a run that failed (diverged, I/O error), 2 bad usage (flags, config).
constexpr int kExitRunFailed = 1;
constexpr int kExitUsage = 2;

// Thrown by a command for bad usage detected after parsing (exit code 2).
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The whole tool, every subcommand registered, not yet parsed: run() (cli.h) parses it, tests read its help.
// Help shows each option's type and default (`--sigma FLOAT [2.0]`); defined in cli.cpp.
std::unique_ptr<CLI::App> make_app();

// Each add_* registers one subcommand; defined in <name>_command.cpp.
void add_dynamics_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_sweep_command(CLI::App& app);
void add_plot_command(CLI::App& app);
void add_reproduce_command(CLI::App& app);

}  // namespace cdat::cli
