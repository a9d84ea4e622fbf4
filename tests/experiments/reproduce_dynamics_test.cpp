// `cdat reproduce dynamics` judges PAPER §5's four behaviours on the simplified model: over its 20 000 steps
// every claim must hold (the model is deterministic), whatever --scale (a one-second simulation is not scaled
// down), and over 200 steps the sharpness has no time to settle, so the constant-η claim must fail: the verdicts
// depend on the numbers.
#include <gtest/gtest.h>

#include <filesystem>

#include "experiments/experiments.h"

namespace cdat::experiments {
namespace {

Context context(double scale, const std::string& folder) {
  Settings s;
  s.scale = scale;
  s.out = (std::filesystem::temp_directory_path() / folder).string();
  s.figures = false;
  return Context(s);
}

TEST(ReproduceDynamics, AllFourBehavioursHoldAtAnyScale) {
  for (double scale : {1.0, 0.01}) {  // the CI smoke's scale included
    Context ctx = context(scale, "cdat_reproduce_dynamics_test");
    const Report r = reproduce_dynamics(ctx);
    ASSERT_EQ(r.findings.size(), 4u);
    for (const auto& f : r.findings) EXPECT_EQ(f.outcome, Outcome::kHolds) << f.claim << ": " << f.measurement << " (scale " << scale << ")";
    EXPECT_NE(r.tables.front().caption.find("20000 steps"), std::string::npos) << r.tables.front().caption;
  }
  EXPECT_TRUE(std::filesystem::exists(std::filesystem::temp_directory_path() / "cdat_reproduce_dynamics_test/dynamics/cdat2.csv"));
}

TEST(ReproduceDynamics, TooShortARunDoesNotShowTheEdge) {
  Context ctx = context(1.0, "cdat_reproduce_dynamics_short");
  const Report r = simulate_dynamics(ctx, 200);
  EXPECT_EQ(r.findings.front().outcome, Outcome::kDoesNotHold) << r.findings.front().measurement;
}

}  // namespace
}  // namespace cdat::experiments
