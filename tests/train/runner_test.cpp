// The runner end to end on a small Fashion-MNIST subset: outputs, divergence, and exact resume.
#include "train/runner.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "run_folders.h"
#include "stability.h"
#include "tolerance.h"
#include "train/metrics_log.h"

namespace cdat::train {
namespace {
namespace fs = std::filesystem;
using testing::lines;
using testing::metrics_without_time;

torch::Tensor checkpoint_parameters(const std::string& dir) { return testing::read_checkpoint(dir).parameters; }

RunConfig small_run(const std::string& name) {
  RunConfig c;
  c.train_size = 256;
  c.width = 32;
  c.steps = 12;
  c.sharpness_every = 4;
  c.lanczos_iters = 8;
  c.out = (fs::path(::testing::TempDir()) / ("cdat_runner_" + name)).string();
  fs::remove_all(c.out);
  return c;
}

TEST(Runner, WritesConfigMetricsSummaryAndCheckpoint) {
  CDAT_REQUIRE_FASHION_MNIST();
  auto c = small_run("outputs");
  const auto s = run_training(c, {});
  EXPECT_FALSE(s.diverged);
  EXPECT_EQ(s.steps, 12);
  EXPECT_LT(s.final_train_loss, s.initial_train_loss);
  EXPECT_LE(s.best_train_loss, s.final_train_loss);
  for (const char* f : {"config.toml", "metrics.csv", "summary.json", "checkpoint.pt"}) {
    EXPECT_TRUE(fs::exists(fs::path(c.out) / f)) << f;
  }
  auto rows = lines(c.out + "/metrics.csv");
  ASSERT_EQ(rows.size(), 13u);
  EXPECT_EQ(rows[0], metrics_header());
  // Sharpness every 4 steps: present at steps 0, 4, 8 and empty elsewhere, with η·λ_max and the alignment
  // (their values against dense linear algebra: runner_sharpness_test.cpp). Columns by name.
  const auto metrics = read_metrics_csv(c.out + "/metrics.csv");
  ASSERT_EQ(metrics.at("step").size(), 12u);
  for (size_t step = 0; step < 12; ++step) {
    EXPECT_EQ(metrics.at("step")[step], static_cast<double>(step));
    for (const char* column : {"sharpness", "lr_x_sharpness", "alignment"}) {
      EXPECT_EQ(std::isnan(metrics.at(column)[step]), step % 4 != 0) << column << " at step " << step;
    }
  }
  nlohmann::json summary;
  std::ifstream(c.out + "/summary.json") >> summary;
  EXPECT_EQ(summary["steps"], 12);
  EXPECT_EQ(summary["diverged"], false);
  EXPECT_EQ(summary["blew_up"], false);  // train/blowup.h on the metrics just read
  EXPECT_EQ(summary["sharpness_kind"], "hessian");
}

// With dropout the training steps see the network with it, and the evaluations without it (eval mode): the
// initial and final train loss are those of the same weights without dropout, so the initial loss is the one of
// the same run without dropout, bit for bit (the weights are the same: dropout draws nothing at construction).
TEST(Runner, DropoutIsOffInTheEvaluations) {
  CDAT_REQUIRE_FASHION_MNIST();
  auto plain = small_run("dropout_off");
  plain.steps = 2;
  plain.sharpness_every = 0;
  plain.batch_size = 64;
  auto dropped = small_run("dropout_on");
  dropped.steps = plain.steps;
  dropped.sharpness_every = 0;
  dropped.batch_size = 64;
  dropped.dropout = 0.5;
  const auto without = run_training(plain, {});
  const auto with = run_training(dropped, {});
  EXPECT_EQ(with.initial_train_loss, without.initial_train_loss);
  EXPECT_TRUE(std::isfinite(with.final_train_loss));
  EXPECT_NE(with.final_train_loss, without.final_train_loss);  // the steps did see the dropout
}

TEST(Runner, DivergenceEndsTheRunCleanly) {
  CDAT_REQUIRE_FASHION_MNIST();
  auto c = small_run("diverge");
  c.tuner = "constant";
  c.lr = 50.0;
  c.steps = 50;
  c.sharpness_every = 0;
  const auto s = run_training(c, {});
  EXPECT_TRUE(s.diverged);
  EXPECT_LT(s.steps, 50);
  EXPECT_FALSE(s.diverged_reason.empty());
  nlohmann::json summary;
  std::ifstream(c.out + "/summary.json") >> summary;
  EXPECT_EQ(summary["diverged"], true);
  EXPECT_EQ(summary["blew_up"], true);  // a diverged run blew up
  EXPECT_TRUE(fs::exists(c.out + "/checkpoint.pt"));
}

// LibTorch 1.13 has no forward derivative for the backward of log_softmax, so `--curvature-mode forward`
// on a cross-entropy run falls back to exact double backward at step 0, says so once, and then trains
// exactly like an exact run. With MSE, forward AD works and there is no warning.
TEST(Runner, ForwardCurvatureModeFallsBackOnceOnCrossEntropy) {
  CDAT_REQUIRE_FASHION_MNIST();
  auto exact = small_run("forward_exact");
  exact.curvature_mode = "exact";
  exact.steps = 4;
  exact.sharpness_every = 0;
  exact.loss = "ce";
  auto forward = exact;
  forward.out = small_run("forward_ce").out;
  forward.curvature_mode = "forward";
  std::vector<std::string> warnings;
  run_training(exact, {});
  const auto s = run_training(forward, [&](const Progress& p) {
    if (!p.warning.empty()) warnings.push_back(p.warning);
  });
  ASSERT_EQ(s.warnings.size(), 1u);
  EXPECT_NE(s.warnings[0].find("step 0: "), std::string::npos) << s.warnings[0];
  EXPECT_NE(s.warnings[0].find("_log_softmax_backward_data"), std::string::npos) << s.warnings[0];
  EXPECT_EQ(warnings.size(), 1u);
  nlohmann::json summary;
  std::ifstream(forward.out + "/summary.json") >> summary;
  EXPECT_EQ(summary["warnings"].size(), 1u);
  EXPECT_EQ(metrics_without_time(forward.out), metrics_without_time(exact.out));

  auto mse = forward;
  mse.out = small_run("forward_mse").out;
  mse.loss = "mse";
  EXPECT_TRUE(run_training(mse, {}).warnings.empty());
}

// With the default flags a baseline pays no curvature diagnostics: the curvature column is filled on the
// sharpness steps only; --measure-curvature true fills every row. A CDAT run logs what its tuner used.
TEST(Runner, BaselinesMeasureCurvatureOnlyOnSharpnessSteps) {
  CDAT_REQUIRE_FASHION_MNIST();
  auto constant = small_run("curvature_constant");
  constant.tuner = "constant";
  run_training(constant, {});
  const auto sparse = read_metrics_csv(constant.out + "/metrics.csv").at("curvature");
  ASSERT_EQ(sparse.size(), 12u);
  for (size_t step = 0; step < sparse.size(); ++step) {
    EXPECT_EQ(std::isnan(sparse[step]), step % 4 != 0) << "step " << step;
  }
  auto every = constant;
  every.out = small_run("curvature_constant_every").out;
  every.measure_curvature = true;
  run_training(every, {});
  const auto dense = read_metrics_csv(every.out + "/metrics.csv").at("curvature");
  for (size_t step = 0; step < dense.size(); ++step) {
    EXPECT_TRUE(std::isfinite(dense[step])) << "step " << step;
  }
  EXPECT_EQ(dense[0], sparse[0]);  // the same measurement (later steps may differ in rounding: graph or not)
  auto cdat = small_run("curvature_cdat");
  cdat.sharpness_every = 0;
  run_training(cdat, {});
  const auto cdat_curvature = read_metrics_csv(cdat.out + "/metrics.csv").at("curvature");  // a copy: the map is a temporary
  for (double c : cdat_curvature) EXPECT_TRUE(std::isfinite(c));
}

// An interrupted run resumed from its checkpoint gives the same metrics and parameters as one that ran
// straight through.
void expect_exact_resume(RunConfig c) {
  const std::string straight = c.out + "_straight", split = c.out + "_split";
  fs::remove_all(straight);
  fs::remove_all(split);
  c.out = straight;
  run_training(c, {});

  c.out = split;
  int polls = 0;
  const auto first = run_training(c, {}, /*resume=*/false, [&] { return ++polls > 5; });  // stop after 5 steps
  ASSERT_TRUE(first.interrupted);
  ASSERT_EQ(first.steps, 5);
  const auto second = run_training(c, {}, /*resume=*/true);
  EXPECT_EQ(second.steps, c.steps);
  EXPECT_EQ(metrics_without_time(split), metrics_without_time(straight));
  EXPECT_TRUE(torch::equal(checkpoint_parameters(split), checkpoint_parameters(straight)));
}

TEST(Runner, FullBatchResumeIsBitIdentical) {
  CDAT_REQUIRE_FASHION_MNIST();
  expect_exact_resume(small_run("resume_full"));
}

TEST(Runner, MiniBatchResumeIsBitIdentical) {
  CDAT_REQUIRE_FASHION_MNIST();
  auto c = small_run("resume_mini");
  c.batch_size = 64;  // 4 batches per epoch: the split crosses an epoch boundary
  c.optimizer = "adam";
  c.ema = 0.9;
  c.sigma = 1.0;
  expect_exact_resume(c);
}

// Parabola curvature measured every 3 steps: the split at step 5 falls inside a window, so the resumed run
// needs κ̄ and η_{t−1} from the checkpoint. summary.json counts the fallbacks to exact.
TEST(Runner, AmortisedParabolaResumeIsBitIdentical) {
  CDAT_REQUIRE_FASHION_MNIST();
  auto c = small_run("resume_parabola");
  c.batch_size = 64;
  c.curvature_mode = "parabola";
  c.curvature_every = 3;
  expect_exact_resume(c);
  nlohmann::json summary;
  std::ifstream(c.out + "_straight/summary.json") >> summary;
  EXPECT_TRUE(summary["curvature_fallbacks"].is_number_integer());
}

TEST(Runner, LinesearchWithMomentumResumeIsBitIdentical) {
  CDAT_REQUIRE_FASHION_MNIST();
  auto c = small_run("resume_linesearch");
  c.optimizer = "nesterov";
  c.tuner = "linesearch";  // its state (the last accepted η) and the momentum buffer both cross the split
  expect_exact_resume(c);
}

nlohmann::json summary_of(const std::string& dir) {
  nlohmann::json summary;
  std::ifstream(dir + "/summary.json") >> summary;
  return summary;
}

// metrics.csv's stability_threshold at a known η is the edge of each optimizer's linearised update found
// numerically (tests/stability.h: where the spectral radius reaches 1), not the closed form typed again.
// β₁ = 0.8 so that a formula using the default 0.9 somewhere would show. RMSProp and Adam report the
// preconditioned sharpness, the others the Hessian's.
TEST(Runner, StabilityThresholdColumnIsTheNumericalEdgeOfEachOptimizer) {
  CDAT_REQUIRE_FASHION_MNIST();
  for (const std::string optimizer : {"gd", "momentum", "nesterov", "rmsprop", "adam"}) {
    auto c = small_run("threshold_" + optimizer);
    c.optimizer = optimizer;
    c.tuner = "constant";
    c.lr = 0.05;
    c.beta1 = 0.8;
    c.steps = 2;
    c.sharpness_every = 0;
    run_training(c, {});
    const auto metrics = read_metrics_csv(c.out + "/metrics.csv");
    const double edge = cdat::testing::numerical_stability_threshold(optimizer, c.lr, c.beta1);
    ASSERT_EQ(metrics.at("stability_threshold").size(), 2u) << optimizer;
    // metrics.csv keeps 10 significant digits; the closed form rounds ≤ 6 times, the bisection within
    // numerical_threshold_tolerance (stability.h).
    const double tolerance = (testing::kCsvCellRelative + testing::tolerance_for(torch::kFloat64, 6)) * edge +
                             cdat::testing::numerical_threshold_tolerance(optimizer, c.lr, c.beta1);
    for (double threshold : metrics.at("stability_threshold")) EXPECT_NEAR(threshold, edge, tolerance) << optimizer;
    const bool preconditioned = optimizer == "rmsprop" || optimizer == "adam";
    EXPECT_EQ(summary_of(c.out)["sharpness_kind"], preconditioned ? "preconditioned" : "hessian") << optimizer;
  }
}

// With ε = 1000 ≫ √v the RMSProp/Adam preconditioner is P ≈ ε·1 (√v ~ |g| ≲ 1e-1 here), so the
// preconditioned sharpness λ_max(P^{-1/2} H P^{-1/2}) is λ_max(H)/ε. η = 1e-9 keeps w₁ ≈ w₀, so it is
// compared with GD's Hessian sharpness at step 0 (both by 40 Lanczos iterations, different seeds).
// RMSProp/Adam have no preconditioner before their first step: step 0 has no sharpness.
// How far apart: P = √v + ε lies between ε and ε + max|g₀,i|·s (s = √(1 − β₂) for RMSProp's raw v,
// 1 for Adam's bias-corrected v̂ = g₀²), so λ_max(P^{-1/2}HP^{-1/2}) is within a relative max|g₀,i|·s/ε
// ≤ ‖g₀‖·s/ε of λ_max(H)/ε (the model, not rounding). Each run's sharpness is a float32 Rayleigh quotient
// vᵀHv of its Ritz vector, stationary in v, so it carries the rounding of one product and dot: 3 passes
// (256 examples, 784 inputs, the width, 10 classes, 7 elementwise) and a P-term dot, float32, each run.
TEST(Runner, RmspropAndAdamSharpnessIsPreconditioned) {
  CDAT_REQUIRE_FASHION_MNIST();
  auto base = small_run("sharpness_gd");
  base.tuner = "constant";
  base.lr = 1e-9;
  base.eps = 1e3;
  base.steps = 2;
  base.sharpness_every = 1;
  base.lanczos_iters = 40;
  run_training(base, {});
  const double hessian_sharpness = read_metrics_csv(base.out + "/metrics.csv").at("sharpness").at(0);
  ASSERT_GT(hessian_sharpness, 0.0);
  for (const std::string optimizer : {"rmsprop", "adam"}) {
    auto c = base;
    c.out = small_run("sharpness_" + optimizer).out;
    c.optimizer = optimizer;
    run_training(c, {});
    const auto sharpness = read_metrics_csv(c.out + "/metrics.csv").at("sharpness");
    EXPECT_TRUE(std::isnan(sharpness.at(0))) << optimizer;
    const double expected = hessian_sharpness / c.eps;
    const double g0 = read_metrics_csv(base.out + "/metrics.csv").at("grad_norm").at(0);
    const double s = optimizer == "rmsprop" ? std::sqrt(1 - c.beta2) : 1.0;
    const double pass = static_cast<double>(c.train_size + 784 + c.width + 10 + 7);
    const double params = static_cast<double>(checkpoint_parameters(c.out).numel());
    const double tolerance = g0 * s / c.eps + testing::tolerance_for(torch::kFloat32, 2 * (3 * pass + params));
    EXPECT_NEAR(sharpness.at(1), expected, tolerance * expected) << optimizer;
  }
}

}  // namespace
}  // namespace cdat::train
