// metrics.csv read back (train::parse_metrics_csv / read_metrics_csv), the reader that `cdat reproduce` and
// the reliability tests use for the files MetricsLog writes.
#include <gtest/gtest.h>

#include <cmath>
#include <cdat/errors.h>

#include <filesystem>
#include <fstream>

#include "train/metrics_log.h"

namespace cdat::train {
namespace {

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

// η = 0.5, gᵀu = −4, uᵀHu = 8: 0.5·(−4) + 0.25·8/2 = −2 + 1 = −1; an unmeasured curvature leaves it empty.
TEST(MetricsCsv, QuadraticModelChange) {
  EXPECT_EQ(quadratic_model_change(0.5, -4.0, 8.0), -1.0);
  EXPECT_TRUE(std::isnan(quadratic_model_change(0.5, -4.0, kEmpty)));
}

TEST(MetricsCsv, ReadsBackWhatMetricsLogWrote) {
  const std::string path = (std::filesystem::path(::testing::TempDir()) / "cdat_metrics_roundtrip.csv").string();
  {
    MetricsLog log(path);
    MetricsRow r;
    r.step = 0;
    r.train_loss = 0.5;
    r.lr = 0.125;
    log.append(r);
    r.step = 1;
    r.sharpness = 42.0;
    r.wall_time_s = 1.5;
    r.predicted_change = -0.25;
    set_actual_change(r, -0.125);
    log.append(r);
    log.flush();
  }
  const auto columns = read_metrics_csv(path);
  EXPECT_EQ(columns.size(), 18u);
  EXPECT_EQ(columns.at("step"), (std::vector<double>{0, 1}));
  EXPECT_EQ(columns.at("lr"), (std::vector<double>{0.125, 0.125}));
  EXPECT_TRUE(std::isnan(columns.at("sharpness")[0]));
  EXPECT_DOUBLE_EQ(columns.at("sharpness")[1], 42.0);
  EXPECT_TRUE(std::isnan(columns.at("wall_time_s")[0]));  // an empty last cell (trailing comma)
  EXPECT_DOUBLE_EQ(columns.at("wall_time_s")[1], 1.5);
  EXPECT_TRUE(std::isnan(columns.at("actual_change")[0]));
  EXPECT_EQ(columns.at("predicted_change")[1], -0.25);
  EXPECT_EQ(columns.at("actual_change")[1], -0.125);
  EXPECT_EQ(columns.at("model_error")[1], 0.125);  // actual − predicted
  EXPECT_THROW(read_metrics_csv(path + ".missing"), std::runtime_error);
}

// The built-in header is the one metrics.csv has had since the quadratic model's columns (issue 11): a run
// of a built-in tuner writes the same columns in the same order.
TEST(MetricsCsv, BuiltInHeaderIsUnchanged) {
  EXPECT_EQ(metrics_header(),
            "step,train_loss,train_acc,lr,sharpness,lr_x_sharpness,stability_threshold,grad_norm,curvature,numerator,"
            "alignment,trials,predicted_change,actual_change,model_error,test_loss,test_acc,wall_time_s");
  EXPECT_EQ(metrics_columns().front(), "step");
  EXPECT_EQ(metrics_columns().size(), 18u);
}

// A tuner's logged values follow the built-in columns, in order; a row carries one value each; a name that
// repeats a column is refused.
TEST(MetricsCsv, TunerColumnsFollowTheBuiltInOnes) {
  const std::string path = (std::filesystem::path(::testing::TempDir()) / "cdat_metrics_tuner.csv").string();
  {
    MetricsLog log(path, -1, {"gap", "ratio"});
    MetricsRow r;
    r.tuner_values = {0.5, kEmpty};
    log.append(r);
    r.step = 1;
    r.tuner_values = {0.25, 3.0};
    log.append(r);
    MetricsRow short_row;
    EXPECT_THROW(log.append(short_row), std::logic_error);
    log.flush();
  }
  std::ifstream in(path);
  std::string header;
  std::getline(in, header);
  EXPECT_EQ(header, metrics_header() + ",gap,ratio");
  const auto columns = read_metrics_csv(path);
  EXPECT_EQ(columns.at("gap"), (std::vector<double>{0.5, 0.25}));
  EXPECT_TRUE(std::isnan(columns.at("ratio")[0]));
  EXPECT_EQ(columns.at("ratio")[1], 3.0);
  {  // a resume keeps the tuner's columns
    MetricsLog resumed(path, 1, {"gap", "ratio"});
  }
  std::ifstream again(path);
  std::getline(again, header);
  EXPECT_EQ(header, metrics_header() + ",gap,ratio");
  EXPECT_THROW(MetricsLog(path, -1, {"lr"}), InvalidOption);
  EXPECT_THROW(MetricsLog(path, -1, {"gap", "gap"}), InvalidOption);
  EXPECT_THROW(MetricsLog(path, -1, {"a,b"}), InvalidOption);
}

}  // namespace
}  // namespace cdat::train
