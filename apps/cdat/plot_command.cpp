// `cdat plot`: draws the paper's panels (train loss, learning rate, sharpness with its stability threshold,
// eta*lambda with the edge at 2, gradient norm; with metrics.csv's predicted_change/actual_change columns also
// the quadratic model's predicted against the actual change per step and its error over the loss) from run
// folders written by `cdat train --out DIR`, by
// running scripts/cdat_plot.py with Debian's python (matplotlib). Dynamics CSVs written by `cdat dynamics`
// are handed on by that script to scripts/plot_dynamics.py.
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "train/process.h"

namespace cdat::cli {
namespace {

struct PlotFlags {
  std::vector<std::string> runs;
  std::string out;
  std::string labels;
  std::string title;
};

// The default output prefix: <first run dir>/plot, or <file without extension>_plot for a CSV file.
std::string default_prefix(const std::string& first) {
  namespace fs = std::filesystem;
  const fs::path path(first);
  std::error_code ec;
  if (fs::is_directory(path, ec)) return (path / "plot").string();
  fs::path stem = path;
  stem.replace_extension();
  return stem.string() + "_plot";
}

// PREFIX.png -> PREFIX (the script writes both PREFIX.png and PREFIX.svg).
std::string strip_image_extension(const std::string& prefix) {
  for (const char* ext : {".png", ".svg", ".PNG", ".SVG"}) {
    const std::string e(ext);
    if (prefix.size() > e.size() && prefix.compare(prefix.size() - e.size(), e.size(), e) == 0) {
      return prefix.substr(0, prefix.size() - e.size());
    }
  }
  return prefix;
}

void run(const PlotFlags& flags) {
  if (!flags.labels.empty()) {
    const auto names = CLI::detail::split(flags.labels, ',');
    if (names.size() != flags.runs.size()) {
      throw UsageError("--labels has " + std::to_string(names.size()) + " names for " +
                       std::to_string(flags.runs.size()) + " runs");
    }
  }
  const std::string prefix = strip_image_extension(flags.out.empty() ? default_prefix(flags.runs.front()) : flags.out);

  const std::string python = train::figure_python();
  const std::string script = std::string(CDAT_SCRIPTS_DIR) + "/cdat_plot.py";
  std::vector<std::string> args = {python, script};
  args.insert(args.end(), flags.runs.begin(), flags.runs.end());
  args.insert(args.end(), {"--out", prefix});
  if (!flags.labels.empty()) args.insert(args.end(), {"--labels", flags.labels});
  if (!flags.title.empty()) args.insert(args.end(), {"--title", flags.title});

  const int rc = train::run_process(args);
  if (rc == 127) throw std::runtime_error("cannot run " + python + " (set CDAT_PYTHON to a python with matplotlib)");
  if (rc != 0) {
    throw std::runtime_error("plotting failed (" + script + " exited with " + std::to_string(rc) + ")");
  }
  for (const char* ext : {".png", ".svg"}) {
    const std::string path = prefix + ext;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) {
      throw std::runtime_error("the plot script reported success but did not write " + path);
    }
    std::cout << "wrote " << path << "\n";
  }
}

}  // namespace

void add_plot_command(CLI::App& app) {
  auto flags = std::make_shared<PlotFlags>();
  CLI::App* cmd = app.add_subcommand(
      "plot",
      "Draw the paper's panels (loss, lr, sharpness and its threshold, lr*sharpness, gradient norm, and the "
      "quadratic model's predicted vs actual change per step when logged) from run folders; dynamics CSVs from "
      "`cdat dynamics` are drawn as lr / sharpness / y panels");
  cmd->add_option("runs", flags->runs, "run folders written by `cdat train --out` (or metrics.csv / dynamics CSV files)")
      ->required()
      ->expected(1, -1)
      ->check(CLI::ExistingPath);
  cmd->add_option("--out", flags->out, "output prefix: writes PREFIX.png and PREFIX.svg (default: <first run>/plot)");
  cmd->add_option("--labels", flags->labels, "comma-separated legend labels, one per run (default: summary.json's label)");
  cmd->add_option("--title", flags->title, "figure title");
  cmd->callback([flags] { run(*flags); });
}

}  // namespace cdat::cli
