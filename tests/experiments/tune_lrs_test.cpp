// Context::tune_lrs, the learning-rate search of the baselines, on a stand-in for `cdat train`
// (fake_train.py) whose final loss is 1 + (log2 lr − log2 target)²: a known best on any grid.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "experiments/context.h"

namespace cdat::experiments {
namespace {

namespace fs = std::filesystem;

class TuneLrs : public ::testing::Test {
 protected:
  void SetUp() override {
    out_ = fs::temp_directory_path() / ("cdat_tune_lrs_" + std::to_string(::getpid()));
    fs::remove_all(out_);
  }
  void TearDown() override { fs::remove_all(out_); }

  Context context() const {
    Settings s;
    s.out = out_.string();
    s.executable = std::string(CDAT_SOURCE_DIR) + "/tests/experiments/fake_train.py";
    s.jobs = 2;
    s.figures = false;
    return Context(s);
  }
  static train::RunConfig constant() {
    train::RunConfig c;
    c.tuner = "constant";
    return c;
  }

  fs::path out_;
};

TEST_F(TuneLrs, WidensUntilTheBestIsInteriorThenRefinesToTheSquareRootOfTheFactor) {
  ::setenv("CDAT_FAKE_TARGET_LR", "90", 1);  // log2 90 = 6.49: 64 is the best power of 2, 64·√2 = 90.5 of the √2 grid
  Context ctx = context();
  const Tuned tuned = ctx.tune_lrs({constant()}, {{1, 2, 4, 8, 16}}, LrSearch{2.0, 8, true}).front();
  EXPECT_FALSE(tuned.at_edge);
  EXPECT_DOUBLE_EQ(tuned.best_run().config.lr, 64 * std::sqrt(2.0));
  // 5 + 3 widenings (32, 64, 128) + 2 refinements (64/√2, 64·√2), sorted by learning rate.
  ASSERT_EQ(tuned.runs.size(), 10u);
  for (size_t i = 1; i < tuned.runs.size(); ++i) EXPECT_LT(tuned.runs[i - 1].config.lr, tuned.runs[i].config.lr);
}

TEST_F(TuneLrs, StopsAtTheEdgeAfterMaxWideningsAndSaysSoWithoutRefining) {
  ::setenv("CDAT_FAKE_TARGET_LR", "90", 1);
  Context ctx = context();
  const Tuned tuned = ctx.tune_lrs({constant()}, {{1, 2, 4, 8, 16}}, LrSearch{2.0, 2, true}).front();
  EXPECT_TRUE(tuned.at_edge);
  EXPECT_EQ(tuned.best_run().config.lr, 64.0);
  EXPECT_EQ(tuned.runs.size(), 7u);
}

TEST_F(TuneLrs, SeveralSearchesTogetherEqualEachAlone) {
  ::setenv("CDAT_FAKE_TARGET_LR", "0.3", 1);
  Context ctx = context();
  train::RunConfig other = constant();
  other.seed = 1;  // another run name, the same loss
  const auto together = ctx.tune_lrs({constant(), other}, {{1, 2, 4}, {0.0625, 0.125, 0.25, 0.5, 1}}, LrSearch{2.0, 8, true});
  // 0.3: the best power of 2 is 0.25, and of the √2 grid 0.25·√2 = 0.354 (log2 distance 0.24 vs 0.26 for 0.25).
  for (const auto& t : together) EXPECT_DOUBLE_EQ(t.best_run().config.lr, 0.25 * std::sqrt(2.0));
  EXPECT_EQ(together[0].runs.size(), 8u);  // 1, 2, 4 + 0.5, 0.25, 0.125 + 2 refinements
  EXPECT_EQ(together[1].runs.size(), 7u);  // 5 + 2 refinements
  // tune_lr is the one-search case without refinement, up to 2 widenings (the experiments' old baselines): from
  // {1, 2, 4} it reaches 0.25 and stops there, at the edge.
  const Tuned alone = ctx.tune_lr(constant(), {1, 2, 4}, 2.0);
  EXPECT_TRUE(alone.at_edge);
  EXPECT_EQ(alone.best_run().config.lr, 0.25);
  EXPECT_EQ(alone.runs.size(), 5u);
}

}  // namespace
}  // namespace cdat::experiments
