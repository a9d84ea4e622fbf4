// `cdat reproduce dynamics` judges PAPER §5's four behaviours on the simplified model: at the default scale
// every claim must hold (the model is deterministic), and at a tiny scale the sharpness has no time to
// settle, so the constant-η claim must fail: the verdicts depend on the numbers.
#include <gtest/gtest.h>

#include <filesystem>

#include "experiments/experiments.h"

namespace cdat::experiments {
namespace {

Report run_dynamics(double scale, const std::string& folder) {
  Settings s;
  s.scale = scale;
  s.out = (std::filesystem::temp_directory_path() / folder).string();
  s.figures = false;
  Context ctx(s);
  return reproduce_dynamics(ctx);
}

TEST(ReproduceDynamics, AllFourBehavioursHoldAtTheDefaultScale) {
  const Report r = run_dynamics(1.0, "cdat_reproduce_dynamics_test");
  ASSERT_EQ(r.findings.size(), 4u);
  for (const auto& f : r.findings) EXPECT_EQ(f.outcome, Outcome::kHolds) << f.claim << ": " << f.measurement;
  EXPECT_TRUE(std::filesystem::exists(std::filesystem::temp_directory_path() / "cdat_reproduce_dynamics_test/dynamics/cdat2.csv"));
}

TEST(ReproduceDynamics, TooShortARunDoesNotShowTheEdge) {
  const Report r = run_dynamics(0.01, "cdat_reproduce_dynamics_short");  // 200 steps
  EXPECT_EQ(r.findings.front().outcome, Outcome::kDoesNotHold) << r.findings.front().measurement;
}

}  // namespace
}  // namespace cdat::experiments
