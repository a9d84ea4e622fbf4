// Tests that read data from outside the repository (Fashion-MNIST from Debian's dataset-fashion-mnist,
// Tiny Shakespeare in ../shared/data): a developer clone without the data skips them with a message
// saying what is missing; under CI (CI set and not "false"/"0") a missing file FAILS the test instead,
// so the CI job cannot go green while silently testing nothing.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace cdat::testing {

inline bool running_in_ci() {
  const char* ci = std::getenv("CI");
  if (ci == nullptr) return false;
  const std::string value(ci);
  return !value.empty() && value != "false" && value != "0";
}

}  // namespace cdat::testing

// Ends the test when `present` is false: a failure under CI, a skip elsewhere. `what` names the data
// and how to get it.
#define CDAT_REQUIRE_EXTERNAL_DATA(present, what)                                       \
  do {                                                                                  \
    if (!(present)) {                                                                   \
      if (::cdat::testing::running_in_ci()) {                                           \
        GTEST_FAIL() << what << " (CI is set: tests that need this data must not skip)"; \
      } else {                                                                          \
        GTEST_SKIP() << what;                                                           \
      }                                                                                 \
    }                                                                                   \
  } while (0)
