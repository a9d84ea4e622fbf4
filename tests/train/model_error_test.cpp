// metrics.csv's quadratic-model columns (issue 11): predicted_change = η·gᵀu + η²·uᵀHu/2 and
// actual_change = f(w_{t+1}) − f(w_t) on the step's batch, checked against known answers.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "models/loss.h"
#include "run_folders.h"
#include "train/metrics_log.h"
#include "train/runner.h"

namespace cdat::train {
namespace {
namespace fs = std::filesystem;
using testing::metrics_without_time;

// Cells carry 10 significant digits ({:.10g}): a cell is within 5e-10 of its value, relatively.
constexpr double kCellPrecision = 5e-10;

RunConfig float64_full_batch_run(const std::string& name) {
  RunConfig c;
  c.train_size = 64;
  c.steps = 8;
  c.sharpness_every = 0;
  c.dtype = "float64";
  c.loss = "mse";
  c.out = (fs::path(::testing::TempDir()) / ("cdat_model_error_" + name)).string();
  fs::remove_all(c.out);
  return c;
}

// A linear model (mlp of depth 0) under MSE: f(w) = ½wᵀAw − bᵀw + const with A = ∂²f/∂w² constant, so
// f(w + ηu) − f(w) = η·gᵀu + η²·uᵀAu/2 exactly and model_error = actual − predicted is only the rounding
// of the two loss values (a few ulp of f ≈ 1e-16·f, computed before the cell is written).
RunConfig quadratic_run(const std::string& name) {
  auto c = float64_full_batch_run(name);
  c.depth = 0;
  return c;
}

void expect_model_exact(const std::string& dir) {
  const auto m = read_metrics_csv(dir + "/metrics.csv");
  const auto &loss = m.at("train_loss"), &predicted = m.at("predicted_change"), &error = m.at("model_error");
  ASSERT_EQ(loss.size(), 8u);
  for (size_t t = 0; t < loss.size(); ++t) {
    ASSERT_TRUE(std::isfinite(predicted[t])) << "step " << t;
    EXPECT_LT(predicted[t], 0.0) << "a descent step of a convex quadratic lowers f";
    EXPECT_LE(std::abs(error[t]), 1e-12 * std::abs(predicted[t])) << "step " << t;
  }
}

TEST(ModelError, ExactOnAQuadraticWithConstantLr) {
  CDAT_REQUIRE_FASHION_MNIST();
  auto c = quadratic_run("quadratic_constant");
  c.tuner = "constant";
  c.lr = 0.002;  // below 2/λ_max: the run descends (the model would be exact on a diverging run too)
  c.measure_curvature = true;
  run_training(c, {});
  expect_model_exact(c.out);
}

// CDAT with σ = 1 and no EMA: η = n/d, so predicted = −σ(1 − σ/2)n²/d = −n²/(2d) (PAPER §2).
TEST(ModelError, ExactOnAQuadraticWithCdat) {
  CDAT_REQUIRE_FASHION_MNIST();
  auto c = quadratic_run("quadratic_cdat");
  c.tuner = "cdat";
  c.sigma = 1.0;
  run_training(c, {});
  expect_model_exact(c.out);
  const auto m = read_metrics_csv(c.out + "/metrics.csv");
  for (size_t t = 0; t < m.at("step").size(); ++t) {
    const double n = m.at("numerator")[t], d = m.at("curvature")[t];  // d = |uᵀHu| + ε‖u‖² ≈ uᵀAu > 0
    EXPECT_NEAR(m.at("predicted_change")[t], -0.5 * n * n / d, 1e-6 * n * n / d) << "step " << t;
  }
}

// f(w) on the run's full training subset, by an independently built model at parameters `w`.
struct Replay {
  Prepared data;
  std::shared_ptr<models::Model> model;
  models::LossKind loss_kind;

  explicit Replay(const RunConfig& c) : data(prepare_data(c, torch::kCPU, torch::kFloat64)), loss_kind(models::parse_loss(c.loss)) {
    torch::manual_seed(static_cast<uint64_t>(c.seed));  // the runner's initialisation
    model = models::make_model(model_config(c, data.train));
    model->to(torch::kFloat64);
  }
  torch::Tensor loss() { return models::compute_loss(loss_kind, model->forward(data.train.inputs), data.train.labels); }
};

// A tanh MLP with constant-LR gradient descent, replayed by plain autograd: w_{t+1} = w_t − η g_t, and at each
// w_t the model's change −η‖g‖² + η²·gᵀHg/2 from a double backward (u = −g).
TEST(ModelError, NonQuadraticColumnsMatchTheNextLossAndAnIndependentDoubleBackward) {
  CDAT_REQUIRE_FASHION_MNIST();
  auto c = float64_full_batch_run("tanh_mlp");
  c.width = 8;
  c.depth = 1;
  c.tuner = "constant";
  c.lr = 0.5;
  c.measure_curvature = true;
  const auto summary = run_training(c, {});
  const auto m = read_metrics_csv(c.out + "/metrics.csv");
  const auto &loss = m.at("train_loss"), &actual = m.at("actual_change"), &predicted = m.at("predicted_change");
  ASSERT_EQ(loss.size(), 8u);
  for (size_t t = 0; t < loss.size(); ++t) {
    // Row t pairs with the loss after step t: row t + 1's loss, or the final loss after the last step.
    const double next = t + 1 < loss.size() ? loss[t + 1] : summary.final_train_loss;
    EXPECT_NEAR(actual[t], next - loss[t], kCellPrecision * (std::abs(next) + 2.0 * std::abs(loss[t]))) << "step " << t;
  }
  Replay replay(c);
  auto params = replay.model->parameters();
  bool nonzero_error = false;
  for (size_t t = 0; t < loss.size(); ++t) {
    auto grads = torch::autograd::grad({replay.loss()}, params, {}, /*retain_graph=*/true, /*create_graph=*/true);
    torch::Tensor g_dot_g = torch::zeros({}, torch::kFloat64);
    for (const auto& g : grads) g_dot_g = g_dot_g + (g * g).sum();
    // ∇(½‖g‖²) = Hg, so gᵀHg = Σ g·∇(½‖g‖²).
    auto hg = torch::autograd::grad({0.5 * g_dot_g}, params);
    double ghg = 0.0;
    for (size_t i = 0; i < params.size(); ++i) ghg += (grads[i] * hg[i]).sum().item<double>();
    const double gg = g_dot_g.item<double>();
    const double expected = -c.lr * gg + 0.5 * c.lr * c.lr * ghg;
    EXPECT_NEAR(predicted[t], expected, 1e-8 * c.lr * gg) << "step " << t;
    nonzero_error = nonzero_error || std::abs(actual[t] - predicted[t]) > 1e-6 * std::abs(predicted[t]);
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < params.size(); ++i) params[i].sub_(c.lr * grads[i]);
  }
  EXPECT_TRUE(nonzero_error) << "a tanh network is not quadratic: the model should err somewhere";
}

// The columns of a run interrupted after 3 steps and resumed equal those of a run never interrupted (whose
// row 2 takes its actual change from step 3's loss, the interrupted one from a forward at the checkpoint).
TEST(ModelError, ResumedRunHasTheSameColumns) {
  CDAT_REQUIRE_FASHION_MNIST();
  auto c = float64_full_batch_run("resume");
  c.width = 8;
  c.depth = 1;
  c.measure_curvature = true;
  const std::string straight = c.out + "_straight", split = c.out + "_split";
  c.out = straight;
  run_training(c, {});
  c.out = split;
  int polls = 0;
  ASSERT_EQ(run_training(c, {}, /*resume=*/false, [&] { return ++polls > 3; }).steps, 3);
  run_training(c, {}, /*resume=*/true);
  EXPECT_EQ(metrics_without_time(split), metrics_without_time(straight));
  const auto m = read_metrics_csv(split + "/metrics.csv");
  ASSERT_EQ(m.at("step").size(), 8u);
  for (double a : m.at("actual_change")) EXPECT_TRUE(std::isfinite(a));
}

// Mini batch: the next step's loss is on another batch, so without a tuner-measured value the cell is empty.
TEST(ModelError, MiniBatchLeavesActualChangeEmpty) {
  CDAT_REQUIRE_FASHION_MNIST();
  auto c = float64_full_batch_run("mini_batch");
  c.batch_size = 16;
  c.tuner = "constant";
  c.measure_curvature = true;
  run_training(c, {});
  const auto m = read_metrics_csv(c.out + "/metrics.csv");
  ASSERT_EQ(m.at("step").size(), 8u);
  for (size_t t = 0; t < 8; ++t) {
    EXPECT_TRUE(std::isnan(m.at("actual_change")[t])) << "step " << t;
    EXPECT_TRUE(std::isnan(m.at("model_error")[t])) << "step " << t;
    EXPECT_TRUE(std::isfinite(m.at("predicted_change")[t])) << "step " << t;
  }
}

}  // namespace
}  // namespace cdat::train
