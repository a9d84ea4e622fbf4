// `cdat dynamics`: runs the simplified model of PAPER §5 (cdat::dynamics), writes its trajectory as CSV,
// prints a summary and optionally draws it with scripts/plot_dynamics.py.
#include <cdat/dynamics.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "commands.h"
#include "experiments/dynamics_csv.h"
#include "train/process.h"


namespace cdat::cli {
namespace {

constexpr int64_t kMaxSteps = 10'000'000;  // 40 bytes a record in memory

// A finite number > 0 (or >= 0 with allow_zero). The message names the bound, not CLI::PositiveNumber's
// 309-digit DBL_MAX.
CLI::Validator finite_number(bool allow_zero) {
  const std::string bound = allow_zero ? ">= 0" : "> 0";
  return CLI::Validator(
      [allow_zero, bound](std::string& text) -> std::string {
        double value = 0.0;
        if (!CLI::detail::lexical_cast(text, value)) return "'" + text + "' is not a number";
        const bool ok = std::isfinite(value) && (allow_zero ? value >= 0.0 : value > 0.0);
        return ok ? std::string() : "must be finite and " + bound + ", got " + text;
      },
      "NUMBER " + bound);
}

struct DynamicsFlags {
  dynamics::Options options;
  std::string rule = "cdat";
  std::string closure = "lagged";
  std::string out;
  std::string plot;
};

std::string number(double x) {
  std::ostringstream out;
  out << x;
  return out.str();
}

// A legend label naming the rule and its parameter.
std::string label_of(const dynamics::Options& o) {
  switch (o.rule) {
    case dynamics::Rule::kConstant:
      return "constant lr=" + number(o.lr);
    case dynamics::Rule::kClassical:
      return "classical s/lambda, s=" + number(o.scale);
    case dynamics::Rule::kCdat:
      return "CDAT sigma=" + number(o.sigma) + " (" + dynamics::to_string(o.closure) + ")";
    case dynamics::Rule::kLinesearch:
      return "Armijo linesearch";
  }
  return "";
}

// Runs scripts/plot_dynamics.py with Debian's python (matplotlib); CDAT_PYTHON overrides the interpreter.
void plot(const std::string& csv, const std::string& label, const std::string& png) {
  const std::string python = train::figure_python();
  const std::string script = std::string(CDAT_SCRIPTS_DIR) + "/plot_dynamics.py";
  const int rc = train::run_process({python, script, csv, "--label", label, "--out", png});
  if (rc == 127) throw std::runtime_error("cannot run " + python + " for --plot");
  if (rc != 0) throw std::runtime_error("the --plot script " + script + " failed (needs matplotlib in " + python + ")");
}

void run(DynamicsFlags& flags, const CLI::App& command) {
  dynamics::Options& o = flags.options;
  o.rule = dynamics::parse_rule(flags.rule);
  o.closure = dynamics::parse_closure(flags.closure);
  // Flags that the chosen rule does not read are accepted but said to be ignored.
  const auto note_ignored = [&](const char* flag, bool used) {
    if (command.count(flag) > 0 && !used) {
      std::cerr << "cdat dynamics: note: " << flag << " is ignored by --rule " << flags.rule << "\n";
    }
  };
  note_ignored("--lr", o.rule == dynamics::Rule::kConstant);
  note_ignored("--scale", o.rule == dynamics::Rule::kClassical);
  note_ignored("--sigma", o.rule == dynamics::Rule::kCdat);
  note_ignored("--closure", o.rule == dynamics::Rule::kCdat);

  const std::vector<dynamics::Record> records = dynamics::simulate(o);  // validates the options
  experiments::write_dynamics_csv(flags.out, records);
  const dynamics::Summary s = dynamics::summarize(records);
  const std::string label = label_of(o);
  std::cout << "dynamics: " << label << ", " << o.steps << " steps (a=" << o.a << ", b=" << o.b
            << ", lambda0=" << o.lambda0 << ", x0=" << o.x0 << ", delta=" << o.delta << ")\n"
            << "  final sharpness           " << s.final_sharpness << "\n"
            << "  median y (second half)    " << s.median_y << "\n"
            << "  final eta                 " << s.final_eta << "\n"
            << "  sharpness range (2nd half) [" << s.min_sharpness << ", " << s.max_sharpness << "]\n"
            << "  growth exponent of sharpness (2nd half, lambda ~ t^p) " << s.growth_exponent << "\n"
            << "  wrote " << flags.out << "\n";
  if (!flags.plot.empty()) {
    plot(flags.out, label, flags.plot);
    std::cout << "  drew " << flags.plot << "\n";
  }
}

}  // namespace

void add_dynamics_command(CLI::App& app) {
  auto flags = std::make_shared<DynamicsFlags>();
  dynamics::Options& o = flags->options;
  CLI::App* cmd = app.add_subcommand(
      "dynamics", "Simulate the simplified learning-rate / sharpness model (PAPER §5) and write its trajectory");
  cmd->add_option("--rule", flags->rule, "learning-rate rule")
      ->check(CLI::IsMember(dynamics::rule_names()))
      ->capture_default_str();
  cmd->add_option("--lr", o.lr, "constant rule: eta")->check(finite_number(false))->capture_default_str();
  cmd->add_option("--scale", o.scale, "classical rule: s in eta = s / lambda_t")
      ->check(finite_number(false))
      ->capture_default_str();
  cmd->add_option("--sigma", o.sigma, "cdat rule: sigma (2 = on the edge)")
      ->check(finite_number(false))
      ->capture_default_str();
  cmd->add_option("--closure", flags->closure,
                  "cdat rule: lagged (eta = sigma / lambda_{t-1}) or current (eta = sigma / lambda_t)")
      ->check(CLI::IsMember(dynamics::closure_names()))
      ->capture_default_str();
  cmd->add_option("--steps", o.steps, "number of steps T")
      ->check(CLI::Range(int64_t{1}, kMaxSteps))
      ->capture_default_str();
  cmd->add_option("--a", o.a, "progressive-sharpening rate a")->check(finite_number(true))->capture_default_str();
  cmd->add_option("--b", o.b, "self-stabilization strength b")->check(finite_number(true))->capture_default_str();
  cmd->add_option("--lambda0", o.lambda0, "initial sharpness")->check(finite_number(false))->capture_default_str();
  cmd->add_option("--x0", o.x0, "initial component along the top eigenvector")->capture_default_str();
  cmd->add_option("--delta", o.delta, "additive perturbation of x (0 lets x underflow)")
      ->check(finite_number(true))
      ->capture_default_str();
  cmd->add_option("--out", flags->out, "CSV file to write (columns t,eta,sharpness,y,x)")->required();
  cmd->add_option("--plot", flags->plot, "also draw the run to this PNG (needs /usr/bin/python3 with matplotlib)");
  cmd->callback([flags, cmd] { run(*flags, *cmd); });
}

}  // namespace cdat::cli
