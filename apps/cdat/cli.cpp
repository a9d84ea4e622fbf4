// cdat: train and compare learning-rate tuners, run the simplified dynamics model, draw the paper's plots.
// The whole tool but main(), which is main.cpp (or a user's, examples/extending).
#include "cli.h"

#include "commands.h"

#include <cdat/errors.h>

#include <iostream>
#include <memory>
#include <string>

namespace cdat::cli {
namespace {

// CLI11's help with an option's default in brackets after its type, `--sigma FLOAT [2.0]`, as CLI11
// 2.3 prints it (Debian bookworm's CLI11 2.1 prints `--sigma FLOAT=2.0`).
class HelpFormatter : public CLI::Formatter {
 public:
  std::string make_option_opts(const CLI::Option* option) const override {
    std::string text = CLI::Formatter::make_option_opts(option);
    const std::string type = " " + get_label(option->get_type_name()), value = option->get_default_str();
    const std::string joined = type + "=" + value;
    if (!value.empty() && text.rfind(joined, 0) == 0) text.replace(0, joined.size(), type + " [" + value + "]");
    return text;
  }
};

}  // namespace

std::unique_ptr<CLI::App> make_app() {
  auto app = std::make_unique<CLI::App>("cdat — curvature-aware learning-rate tuning (CDAT) and its diagnostics");
  auto formatter = std::make_shared<HelpFormatter>();
  formatter->column_width(38);  // `--divergence-factor FLOAT [1000.0]` and its description on one line
  app->formatter(formatter);    // before the subcommands, which copy it
  app->require_subcommand(1);
  app->set_version_flag("--version", "cdat " CDAT_VERSION);  // the CMake project's version
  add_train_command(*app);
  add_sweep_command(*app);
  add_dynamics_command(*app);
  add_plot_command(*app);
  add_reproduce_command(*app);
  return app;
}

int run(int argc, char** argv) {
  const std::unique_ptr<CLI::App> app = make_app();
  try {
    app->parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app->exit(e);  // prints the help, the version or the parse error
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
