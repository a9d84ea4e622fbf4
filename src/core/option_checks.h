// Internal to the core: checks of option values, throwing cdat::InvalidOption with a message that names
// the option. Not a public header.
#pragma once

#include <cdat/errors.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

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

// "a, b, c"
inline std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// The names of an enum's values, in one table per enum; parse and to_string go through it.
template <typename Enum>
using NameTable = std::vector<std::pair<Enum, std::string>>;

template <typename Enum>
std::vector<std::string> names_of(const NameTable<Enum>& table) {
  std::vector<std::string> names;
  for (const auto& entry : table) names.push_back(entry.second);
  return names;
}

// `key` is the option's CLI/TOML name, used in the message.
template <typename Enum>
Enum parse_name(const NameTable<Enum>& table, const std::string& key, const std::string& name) {
  for (const auto& [value, text] : table) {
    if (text == name) return value;
  }
  throw InvalidOption(key + ": unknown value '" + name + "' (valid: " + join(names_of(table)) + ")");
}

template <typename Enum>
std::string name_of(const NameTable<Enum>& table, Enum value) {
  for (const auto& [v, text] : table) {
    if (v == value) return text;
  }
  return "?";
}

}  // namespace cdat::detail
