#include <cdat/errors.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "train/sweep.h"

namespace cdat::train {
namespace {

TEST(Sweep, ExpandsTheCartesianProductAndNamesFoldersBySweptKeys) {
  RunConfig base;
  base.tuner = "constant";
  auto points = expand_grid(base, {{"lr", {"0.01", "0.1", "1"}}, {"seed", {"0", "1"}}, {"steps", {"7"}}}, "/tmp/s");
  ASSERT_EQ(points.size(), 6u);
  EXPECT_EQ(points[0].name, "000_lr=0.01_seed=0");
  EXPECT_EQ(points[5].name, "005_lr=1_seed=1");
  EXPECT_EQ(points[5].config.out, "/tmp/s/005_lr=1_seed=1");
  EXPECT_DOUBLE_EQ(points[3].config.lr, 0.1);
  EXPECT_EQ(points[3].config.seed, 1);
  for (const auto& p : points) EXPECT_EQ(p.config.steps, 7);
}

TEST(Sweep, AnInvalidPointIsRejectedBeforeAnythingRuns) {
  RunConfig base;
  try {
    expand_grid(base, {{"sigma", {"1", "-2"}}}, "/tmp/s");
    FAIL();
  } catch (const InvalidOption& e) {
    EXPECT_NE(std::string(e.what()).find("sigma must be > 0"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("001_sigma=-2"), std::string::npos);
  }
}

SweepResult result(const std::string& tuner, double loss, bool diverged, bool completed = true) {
  SweepResult r;
  r.point.config.tuner = tuner;
  r.point.name = tuner + std::to_string(loss);
  r.final_train_loss = loss;
  r.diverged = diverged;
  r.completed = completed;
  return r;
}

TEST(Sweep, BestPerTunerRanksDivergedAndFailedRunsLast) {
  std::vector<SweepResult> results = {
      result("constant", 0.5, false), result("constant", 0.01, true),  // diverged despite a low last loss
      result("constant", 0.3, false), result("cdat", std::nan(""), false),
      result("cdat", 0.2, false, /*completed=*/false), result("cdat", 0.4, false)};
  auto best = best_per_tuner(results);
  ASSERT_EQ(best.size(), 2u);
  EXPECT_EQ(best[0], 2u);
  EXPECT_EQ(best[1], 5u);
}

TEST(Sweep, ResultsTableHasOneColumnPerSweptKeyAndNoDuplicates) {
  RunConfig base;
  auto points = expand_grid(base, {{"lr", {"0.1", "0.2"}}, {"tuner", {"constant", "cdat"}}}, "/tmp/s");
  std::vector<SweepResult> results;
  for (const auto& p : points) {
    SweepResult r;
    r.point = p;
    r.completed = true;
    r.final_train_loss = 1.0;
    results.push_back(r);
  }
  const std::string csv = results_csv(results, {"lr", "tuner"});
  const std::string header = csv.substr(0, csv.find('\n'));
  EXPECT_EQ(header,
            "run,lr,tuner,optimizer,final_train_loss,best_train_loss,final_over_initial,diverged,completed,exit_code,"
            "steps,wall_time_s");
  EXPECT_NE(csv.find("\n000_lr=0.1_tuner=constant,0.1,constant,gd,1,"), std::string::npos);
  EXPECT_NE(csv.find("\n001_lr=0.1_tuner=cdat,0.1,cdat,gd,1,"), std::string::npos);
}

TEST(Sweep, AnInterruptedRunWithACheckpointResumesAFinishedOneIsNotRunAndANewOneStarts) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / "cdat_sweep_resume_test";
  fs::remove_all(dir);
  fs::create_directories(dir);
  SweepPoint point;
  point.config.out = dir.string();
  auto touch = [&](const std::string& name, const std::string& text) { std::ofstream(dir / name) << text; };
  // New: nothing there yet (or only a config): started from scratch.
  EXPECT_FALSE(resumable(dir.string()));
  touch("config.toml", "");
  EXPECT_FALSE(resumable(dir.string()));
  EXPECT_EQ(train_arguments(point), (std::vector<std::string>{"train", "--config", (dir / "requested.toml").string(), "--quiet"}));
  // Interrupted after a checkpoint: continued from it.
  touch("checkpoint.pt", "");
  EXPECT_TRUE(resumable(dir.string()));
  EXPECT_EQ(train_arguments(point), (std::vector<std::string>{"train", "--resume", dir.string(), "--quiet"}));
  // A summary written by an interrupted run (Ctrl-C) does not count as finished: still resumed.
  touch("summary.json", R"({"interrupted": true, "final_train_loss": 0.5})");
  EXPECT_TRUE(resumable(dir.string()));
  // Finished: a complete summary; run_sweep reuses it and never launches it.
  touch("summary.json", R"({"final_train_loss": 0.5, "diverged": false})");
  EXPECT_FALSE(resumable(dir.string()));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace cdat::train
