#include "run_options.h"

#include <cdat/errors.h>

namespace cdat::cli {
namespace {

// The value a key takes, as help shows it: INT, FLOAT, TEXT or BOOL (batch-size also takes 'full').
std::string type_name(const train::KeyInfo& key) {
  if (key.name == "batch-size") return "INT|full";
  switch (key.type) {
    case train::KeyType::kInt:
      return "INT";
    case train::KeyType::kDouble:
      return "FLOAT";
    case train::KeyType::kBool:
      return "BOOL";
    case train::KeyType::kString:
      break;
  }
  return "TEXT";
}

}  // namespace

// Each flag is registered as text: help shows the key's type and its default, but the value stays unset
// (count() == 0) unless given, so that --config and the defaults are not overridden by flags not given.
RunOptions::RunOptions(CLI::App& command) {
  command.add_option("--config", config_file_, "TOML file with the same keys as the flags (flags override)")
      ->check(CLI::ExistingFile);
  const train::RunConfig defaults;
  for (const auto& key : train::config_keys()) {
    options_[key.name] = command.add_option("--" + key.name, values_[key.name], key.help)
                             ->type_name(type_name(key))
                             ->default_str(train::get_key(defaults, key.name))
                             ->group(key.group);
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
