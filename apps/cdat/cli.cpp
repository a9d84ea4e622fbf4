// cdat: train and compare learning-rate tuners, run the simplified dynamics model, draw the paper's plots.
// The whole tool but main(), which is main.cpp (or a user's, examples/extending).
#include "cli.h"

#include "commands.h"

#include <cdat/errors.h>

#include <iostream>

namespace cdat::cli {

int run(int argc, char** argv) {
  CLI::App app{"cdat — curvature-aware learning-rate tuning (CDAT) and its diagnostics"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "cdat 0.1.0");
  cdat::cli::add_train_command(app);
  cdat::cli::add_sweep_command(app);
  cdat::cli::add_dynamics_command(app);
  cdat::cli::add_plot_command(app);
  cdat::cli::add_reproduce_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);  // prints the help, the version or the parse error
    return code == 0 ? 0 : cdat::cli::kExitUsage;
  } catch (const cdat::cli::UsageError& e) {
    std::cerr << "cdat: error: " << e.what() << "\n";
    return cdat::cli::kExitUsage;
  } catch (const cdat::InvalidOption& e) {
    std::cerr << "cdat: error: " << e.what() << "\n";
    return cdat::cli::kExitUsage;
  } catch (const std::exception& e) {
    std::cerr << "cdat: error: " << e.what() << "\n";
    return cdat::cli::kExitRunFailed;
  }
  return 0;
}

}  // namespace cdat::cli
