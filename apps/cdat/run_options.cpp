#include "run_options.h"

#include <cdat/errors.h>

namespace cdat::cli {

RunOptions::RunOptions(CLI::App& command) {
  command.add_option("--config", config_file_, "TOML file with the same keys as the flags (flags override)")
      ->check(CLI::ExistingFile);
  for (const auto& key : train::config_keys()) {
    options_[key.name] = command.add_option("--" + key.name, values_[key.name], key.help);
  }
}

std::map<std::string, std::string> RunOptions::given() const {
  std::map<std::string, std::string> out;
  for (const auto& [key, option] : options_) {
    if (option->count() > 0) out[key] = values_.at(key);
  }
  return out;
}

train::RunConfig RunOptions::base() const {
  train::RunConfig config;
  if (!config_file_.empty()) train::load_toml(config, config_file_);
  return config;
}

train::RunConfig RunOptions::resolve_over(train::RunConfig config) const {
  if (!config_file_.empty()) train::load_toml(config, config_file_);
  for (const auto& [key, value] : given()) {
    try {
      train::set_key(config, key, value);
    } catch (const InvalidOption& e) {
      throw InvalidOption("--" + std::string(e.what()));
    }
  }
  return config;
}

}  // namespace cdat::cli
