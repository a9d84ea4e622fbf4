// Internal to the core: checks of option values, throwing cdat::InvalidOption with a message that names
// the option. Not a public header.
#pragma once

#include <cdat/errors.h>

#include <sstream>
#include <string>

namespace cdat::detail {

inline void require(bool condition, const std::string& message) {
  if (!condition) throw InvalidOption(message);
}

// A number as a user would write it (shortest form, e.g. "0.1", "1e-12").
inline std::string str(double x) {
  std::ostringstream out;
  out << x;
  return out.str();
}

}  // namespace cdat::detail
