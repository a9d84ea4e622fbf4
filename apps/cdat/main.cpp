// cdat: train and compare learning-rate tuners, run the simplified dynamics model, draw the paper's plots.
#include "commands.h"

#include <cdat/errors.h>

#include <iostream>

int main(int argc, char** argv) {
  CLI::App app{"cdat — curvature-aware learning-rate tuning (CDAT) and its diagnostics"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "cdat 0.1.0");
  cdat::cli::add_dynamics_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);  // prints help or the parse error; 0 for --help, non-zero otherwise
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
