// Flags for every RunConfig key (--key VALUE), shared by `train` and `sweep`, and their resolution:
// defaults < --config TOML < flags given on the command line.
#pragma once

#include <CLI/CLI.hpp>

#include <map>
#include <string>

#include "train/run_config.h"

namespace cdat::cli {

class RunOptions {
 public:
  // Registers --config and one flag per configuration key on `command`.
  explicit RunOptions(CLI::App& command);
  // The flags given on the command line (key → raw text), in key order.
  std::map<std::string, std::string> given() const;
  // Defaults, then --config.
  train::RunConfig base() const;
  // Defaults, then --config, then the given flags.
  train::RunConfig resolve() const { return resolve_over(train::RunConfig{}); }
  // `start` (e.g. a stored run's configuration), then --config, then the given flags.
  train::RunConfig resolve_over(train::RunConfig start) const;
  const std::string& config_file() const { return config_file_; }

 private:
  std::map<std::string, std::string> values_;
  std::map<std::string, CLI::Option*> options_;
  std::string config_file_;
};

}  // namespace cdat::cli
