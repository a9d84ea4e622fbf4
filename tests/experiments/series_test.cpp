// The numbers `cdat reproduce` reads off runs: metrics.csv parsing, medians over windows, edge scaling.
#include <gtest/gtest.h>

#include <cmath>

#include "experiments/run_store.h"
#include "experiments/series.h"
#include "train/run_config.h"

namespace cdat::experiments {
namespace {

RunData run_from_csv(const std::string& csv) {
  RunData run;
  run.folder = "test";
  run.columns = parse_metrics_csv(csv, "test.csv");
  return run;
}

TEST(MetricsCsv, EmptyCellsAreNaNAndColumnsKeepTheirRows) {
  const auto columns = parse_metrics_csv("step,train_loss,sharpness\n0,1.5,\n1,1.25,30\n2,1,\n", "m.csv");
  ASSERT_EQ(columns.at("step").size(), 3u);
  EXPECT_DOUBLE_EQ(columns.at("train_loss")[1], 1.25);
  EXPECT_TRUE(std::isnan(columns.at("sharpness")[0]));
  EXPECT_DOUBLE_EQ(columns.at("sharpness")[1], 30.0);
  EXPECT_TRUE(std::isnan(columns.at("sharpness")[2]));  // a trailing empty cell
}

TEST(MetricsCsv, BadRowsNameTheFileAndLine) {
  try {
    parse_metrics_csv("step,train_loss\n0,1\n1,abc\n", "runs/x/metrics.csv");
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("runs/x/metrics.csv: line 3: 'abc' is not a number"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_metrics_csv("step,train_loss\n0,1,2\n", "m.csv"), std::runtime_error);
  EXPECT_THROW(parse_metrics_csv("", "m.csv"), std::runtime_error);
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
  EXPECT_DOUBLE_EQ(window_median(s, 0.85, 1.0), 7.5);  // steps 90, 100: {5, 10}
  EXPECT_DOUBLE_EQ(value_at(s, 35), 4.0);              // first point at or after step 35 is step 40
  EXPECT_TRUE(std::isnan(value_at(s, 101)));
  EXPECT_EQ(increases(s, 0), 6);   // 0→5, 2→5, 4→5, 5→6, 5→8, 5→10
  EXPECT_EQ(increases(s, 60), 2);  // from step 60: 6→5 (no), 5→8 (yes), 8→5 (no), 5→10 (yes)
}

TEST(RunName, StableReadableAndIgnoresTheOutputFolder) {
  train::RunConfig a;
  a.tuner = "constant";
  a.lr = 0.1;
  train::RunConfig b = a;
  b.out = "elsewhere";
  EXPECT_EQ(run_name(a), run_name(b));
  EXPECT_EQ(run_name(a).rfind("mlp-gd-constant-lr0.1-b0-", 0), 0u) << run_name(a);
  b.lr = 0.2;
  EXPECT_NE(run_name(a), run_name(b));
  b = a;
  b.steps += 1;  // any key changes the hash, not only those in the readable part
  EXPECT_NE(run_name(a), run_name(b));
}

}  // namespace
}  // namespace cdat::experiments
