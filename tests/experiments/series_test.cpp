// The numbers `cdat reproduce` reads off runs: medians over windows, edge scaling, run names.
#include "experiments/series.h"

#include <gtest/gtest.h>

#include <cmath>

#include "experiments/run_store.h"
#include "tolerance.h"
#include "train/run_config.h"

namespace cdat::experiments {
namespace {

RunData run_from_csv(const std::string& csv) {
  RunData run;
  run.folder = "test";
  run.columns = train::parse_metrics_csv(csv, "test.csv");
  return run;
}

// Period 2: η·λ measured at pairs (t, t+1) every 10 steps, zigzagging 4 on even steps and 1 on odd ones, so
// each phase's median is 4 and 1 and every two-step product is (4 · 1)^{1/2} = 2 exactly.
TEST(Series, PeriodTwoSplitsThePhasesAndTakesTheTwoStepProduct) {
  Series s;
  for (double t : {0.0, 10.0, 20.0, 30.0, 40.0, 50.0}) {
    for (double k : {t, t + 1}) {
      s.step.push_back(k);
      s.value.push_back(std::fmod(k, 2.0) == 0.0 ? 4.0 : 1.0);
    }
  }
  const PeriodTwo all = period_two(s, 0.0, 1.0);
  EXPECT_EQ(all.even, 4.0);
  EXPECT_EQ(all.odd, 1.0);
  EXPECT_EQ(all.two_step, 2.0);
  // Window 40 %–100 % of step 51 (from step 20.4): 21, 30, 31, 40, 41, 50, 51; step 21 has lost its partner
  // 20, so three pairs remain, and the phases keep their values.
  const PeriodTwo late = period_two(s, 0.4, 1.0);
  EXPECT_EQ(late.even, 4.0);
  EXPECT_EQ(late.odd, 1.0);
  EXPECT_EQ(late.two_step, 2.0);
  // Points straddling a gap are no pairs: steps 0, 10, 20, 30 give no two-step product; no odd points.
  Series sparse{{0, 10, 20, 30}, {4, 4, 4, 4}};
  const PeriodTwo lone = period_two(sparse, 0.0, 1.0);
  EXPECT_EQ(lone.even, 4.0);
  EXPECT_TRUE(std::isnan(lone.odd));
  EXPECT_TRUE(std::isnan(lone.two_step));
}

TEST(Series, MeasuredSkipsUnmeasuredRows) {
  const RunData run = run_from_csv("step,sharpness\n0,10\n1,\n2,12\n");
  const Series s = measured(run, "sharpness");
  EXPECT_EQ(s.step, (std::vector<double>{0, 2}));
  EXPECT_EQ(s.value, (std::vector<double>{10, 12}));
  EXPECT_THROW(measured(run, "lr"), std::runtime_error);
}

TEST(Series, EdgeScalingIsEtaLambdaForGdAndTwoAtEveryOptimizersEdge) {
  // GD with η = 0.1: threshold 2/η = 20, so λ = 15 gives η·λ = 1.5. Adam's threshold (2+2β1)/((1−β1)η):
  // λ equal to it is on the edge, 2.
  const RunData run = run_from_csv("step,sharpness,stability_threshold\n0,15,20\n1,380,380\n");
  const Series s = edge_scaled_sharpness(run);
  ASSERT_EQ(s.value.size(), 2u);
  EXPECT_DOUBLE_EQ(s.value[0], 1.5);
  EXPECT_DOUBLE_EQ(s.value[1], 2.0);
}

TEST(Series, MedianWindowsValueAtAndIncreases) {
  EXPECT_DOUBLE_EQ(median({3, 1, 2}), 2.0);
  EXPECT_DOUBLE_EQ(median({4, 1, 3, 2}), 2.5);
  EXPECT_TRUE(std::isnan(median({})));
  Series s;
  for (int i = 0; i <= 10; ++i) {
    s.step.push_back(10.0 * i);
    s.value.push_back(i % 2 ? 5.0 : static_cast<double>(i));  // 0,5,2,5,4,5,6,5,8,5,10
  }
  EXPECT_DOUBLE_EQ(window_median(s, 0.0, 0.2), 2.0);   // steps 0..20: {0, 5, 2}
  EXPECT_DOUBLE_EQ(window_median(s, 0.75, 1.0), 8.0);  // steps 80, 90, 100: {8, 5, 10}
  EXPECT_DOUBLE_EQ(value_at(s, 35), 4.0);              // first point at or after step 35 is step 40
  EXPECT_TRUE(std::isnan(value_at(s, 101)));
  EXPECT_EQ(increases(s, 0), 6);   // 0→5, 2→5, 4→5, 5→6, 5→8, 5→10
  EXPECT_EQ(increases(s, 60), 2);  // from step 60: 6→5 (no), 5→8 (yes), 8→5 (no), 5→10 (yes)
}

TEST(Series, AWindowWithFewerThanThreePointsHasNoMedian) {
  Series s;
  for (int i = 0; i <= 10; ++i) {
    s.step.push_back(10.0 * i);
    s.value.push_back(1.0);
  }
  EXPECT_EQ(window(s, 0.85, 1.0).step, (std::vector<double>{90, 100}));
  EXPECT_TRUE(std::isnan(window_median(s, 0.85, 1.0)));  // 2 points: below kMinWindowPoints
  EXPECT_EQ(window_median(s, 0.8, 1.0), 1.0);            // 3 points: enough
}

// slope_tolerance (tests/tolerance.h) of log_slope(x, y): the slope of log y, whose logs (and the test's
// exps) add 2 + 2 roundings each, and the expected value's own 2.
double log_slope_tolerance(const std::vector<double>& x, const std::vector<double>& y) {
  std::vector<double> log_y;
  for (double v : y) log_y.push_back(std::log(v));
  return cdat::testing::slope_tolerance(x, log_y, 4) + cdat::testing::tolerance_for(torch::kFloat64, 2);
}

TEST(Series, LogSlopeIsTheLeastSquaresSlopeOfLogY) {
  // y = 3·e^{0.5 x} exactly on a line in log space: slope 0.5.
  const std::vector<double> x = {0, 1, 2, 3}, y = {3, 3 * std::exp(0.5), 3 * std::exp(1.0), 3 * std::exp(1.5)};
  EXPECT_NEAR(log_slope(x, y), 0.5, log_slope_tolerance(x, y));
  // log y = 0, log 4, log 2 at x = 0, 1, 2 (y = 1, 4, 2): x̄ = 1, slope = Σ(x−x̄)(ℓ−ℓ̄)/Σ(x−x̄)² = (−0 + log 2)/2.
  EXPECT_NEAR(log_slope({0, 1, 2}, {1, 4, 2}), std::log(2.0) / 2, log_slope_tolerance({0, 1, 2}, {1, 4, 2}));
  // Points with y ≤ 0 or non-finite are left out; fewer than 3 left, or x constant: NaN.
  EXPECT_NEAR(log_slope({0, 1, 2, 3}, {1, 0, std::exp(2.0), std::exp(3.0)}), 1.0,
              log_slope_tolerance({0, 2, 3}, {1, std::exp(2.0), std::exp(3.0)}));
  EXPECT_TRUE(std::isnan(log_slope({0, 1, 2}, {1, 2, 0})));
  EXPECT_TRUE(std::isnan(log_slope({1, 1, 1}, {1, 2, 3})));
}

TEST(RunName, StableReadableAndIgnoresTheOutputFolder) {
  train::RunConfig a;
  a.tuner = "constant";
  a.lr = 0.1;
  train::RunConfig b = a;
  b.out = "elsewhere";
  b.checkpoint_every = 7;  // checkpoints do not change the trajectory: a resumed reproduction reuses the run
  EXPECT_EQ(run_name(a), run_name(b));
  EXPECT_EQ(run_name(a).rfind("mlp-gd-constant-lr0.1-b0-", 0), 0u) << run_name(a);
  b = a;
  b.sharpness_pairs = true;  // an option added later (options_added_later) names the run once it is on
  EXPECT_NE(run_name(a), run_name(b));
  b = a;
  b.dropout = 0.25;  // so does dropout (issue 24)
  EXPECT_NE(run_name(a), run_name(b));
  b.dropout = 0.0;
  EXPECT_EQ(run_name(a), run_name(b));
  b.lr = 0.2;
  EXPECT_NE(run_name(a), run_name(b));
  b = a;
  b.steps += 1;  // any key changes the hash, not only those in the readable part
  EXPECT_NE(run_name(a), run_name(b));
}

// The names of finished runs do not change from one version to the next (a reproduction reuses them): these
// two were computed by the code of c93e292, before the CLI's loss floor default went from 0 to −∞, and with the
// curvature of that time, exact (the experiments' workloads pin it: src/experiments/workloads.cpp).
TEST(RunName, DoesNotChangeWhenADefaultOrALaterOptionChanges) {
  train::RunConfig constant;
  constant.tuner = "constant";
  constant.lr = 0.1;
  constant.curvature_mode = "exact";
  EXPECT_EQ(run_name(constant), "mlp-gd-constant-lr0.1-b0-dedaec0e");
  train::RunConfig paper;
  paper.tuner = "cdat";
  paper.safeguards = false;
  paper.curvature_mode = "exact";
  EXPECT_EQ(run_name(paper), "mlp-gd-cdat-s2-b0-335bb823");
  // Another curvature makes other runs: they have other names.
  paper.curvature_mode = "parabola-central";
  EXPECT_NE(run_name(paper), "mlp-gd-cdat-s2-b0-335bb823");
  // A CDAT run with safeguards is named by them: the new default loss floor renames it.
  train::RunConfig guarded;
  guarded.tuner = "cdat";
  guarded.curvature_mode = "exact";
  EXPECT_NE(run_name(guarded), "mlp-gd-cdat-s2-b0-a63d99d8");
  guarded.loss_floor = 0.0;
  EXPECT_EQ(run_name(guarded), "mlp-gd-cdat-s2-b0-a63d99d8");
}

// CDAT's safeguard keys name a run only where they act: in a CDAT run with safeguards on.
TEST(RunName, SafeguardKeysCountOnlyInACdatRunWithSafeguards) {
  train::RunConfig constant;
  constant.tuner = "constant";
  train::RunConfig other = constant;
  other.trust_check = "off";
  other.max_growth = 0.0;
  other.safeguards = false;
  EXPECT_EQ(run_name(constant), run_name(other));
  train::RunConfig paper;
  paper.tuner = "cdat";
  paper.safeguards = false;
  train::RunConfig paper_other = paper;
  paper_other.trust_check = "first";
  paper_other.loss_floor = -1.0;
  EXPECT_EQ(run_name(paper), run_name(paper_other));
  train::RunConfig guarded = paper;
  guarded.safeguards = true;
  EXPECT_NE(run_name(paper), run_name(guarded));
  train::RunConfig guarded_other = guarded;
  guarded_other.trust_check = "first";
  EXPECT_NE(run_name(guarded), run_name(guarded_other));
}

}  // namespace
}  // namespace cdat::experiments
