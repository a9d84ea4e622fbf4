// libFuzzer target: the TOML run-configuration reader (`cdat train --config`, `--resume`). Any input
// either loads or throws InvalidOption naming the file; a configuration that loads and validates is
// written back by to_toml (the config.toml of a run) and must read back to the same values.
#include <cdat/errors.h>

#include "fuzz_input.h"
#include "train/run_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  cdat::train::RunConfig config;
  try {
    cdat::train::load_toml(config, cdat::fuzz::as_file(data, size));
    cdat::train::validate(config);
  } catch (const cdat::InvalidOption&) {
    return 0;
  }
  const std::string written = cdat::train::to_toml(config);
  cdat::train::RunConfig again;
  try {
    cdat::train::load_toml(again, cdat::fuzz::as_file(reinterpret_cast<const uint8_t*>(written.data()), written.size()));
  } catch (const cdat::InvalidOption& e) {
    std::fprintf(stderr, "config.toml written by to_toml does not load: %s\n%s", e.what(), written.c_str());
    std::abort();
  }
  for (const auto& key : cdat::train::config_keys()) {
    const auto before = cdat::train::get_key(config, key.name), after = cdat::train::get_key(again, key.name);
    if (before != after) {
      std::fprintf(stderr, "key %s: '%s' written, '%s' read back\n", key.name.c_str(), before.c_str(), after.c_str());
      std::abort();
    }
  }
  return 0;
}
