// The exceptions the library throws. Messages name the culprit; the library never prints.
#pragma once

#include <stdexcept>
#include <string>

namespace cdat {

// A loss, gradient, curvature or learning rate that is NaN or infinite.
class NonFiniteError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An option out of its valid range (σ ≤ 0, β outside [0, 1), negative learning rate…).
class InvalidOption : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

}  // namespace cdat
