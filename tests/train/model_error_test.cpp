// metrics.csv's quadratic-model columns (issue 11): predicted_change = η·gᵀu + η²·uᵀHu/2 and
// actual_change = f(w_{t+1}) − f(w_t) on the step's batch, checked against known answers.
#include <cdat/curvature.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "models/loss.h"
#include "run_folders.h"
#include "tolerance.h"
#include "train/metrics_log.h"
#include "train/runner.h"

namespace cdat::train {
namespace {
namespace fs = std::filesystem;
using testing::metrics_without_time;

// Cells carry 10 significant digits ({:.10g}): a cell is within kCsvCellRelative = 5e-10 of its value.
constexpr double kCellPrecision = testing::kCsvCellRelative;

RunConfig float64_full_batch_run(const std::string& name) {
  RunConfig c;
  c.train_size = 64;
  c.steps = 8;
  c.sharpness_every = 0;
  c.dtype = "float64";
  c.loss = "mse";
  c.curvature_mode = "exact";  // the columns are checked against an independent double backward
  c.out = (fs::path(::testing::TempDir()) / ("cdat_model_error_" + name)).string();
  fs::remove_all(c.out);
  return c;
}

// f(w) on the run's full training subset, by an independently built model at parameters `w`.
struct Replay {
  Prepared data;
  std::shared_ptr<models::Model> model;
  models::LossKind loss_kind;

  explicit Replay(const RunConfig& c)
      : data(prepare_data(c, torch::kCPU, torch::kFloat64)), loss_kind(models::parse_loss(c.loss)) {
    torch::manual_seed(static_cast<uint64_t>(c.seed));  // the runner's initialisation
    model = models::make_model(model_config(c, data.train));
    model->to(torch::kFloat64);
  }
  torch::Tensor loss() { return models::compute_loss(loss_kind, model->forward(data.train.inputs), data.train.labels); }
};

// A linear model (mlp of depth 0) under MSE: f(w) = ½wᵀAw − bᵀw + const with A = ∂²f/∂w² constant, so
// f(w + ηu) − f(w) = η·gᵀu + η²·uᵀAu/2 exactly and model_error = actual − predicted is only rounding
// (computed before the cell is written). With x̃ = (x, 1) (785 inputs), r = out − y over 10 classes and the
// 64 examples (tolerance.h, in units of ε):
//   a loss value, ½·mean Σ r²: 785 + 2 + 10 + 65 + 1 = 863 roundings on M = ½·mean Σ(|out| + |y|)²;
//   w + ηu rounds twice on |w| + η|u|, which moves f(w + ηu) by |g(w + ηu)|ᵀ that;
//   ĝᵀu: the gradient's forward and backward (2·863) and the 7850-term dot on Gᵀ|u| (G = mean (|out| + |y|)|x̃|);
//   uᵀAu: three passes and the dot (3·863 + 7850) on |u|ᵀ|A||u| = mean Σ_c (|x̃|ᵀ|u_c|)²;
//   predicted = −ηn + η²d/2: 4 more on η|n| + η²d/2.
// The magnitudes are replayed here (Replay, GD with the run's η from the lr column).
RunConfig quadratic_run(const std::string& name) {
  auto c = float64_full_batch_run(name);
  c.depth = 0;
  return c;
}

void expect_model_exact(const RunConfig& c) {
  const auto m = read_metrics_csv(c.out + "/metrics.csv");
  const auto &loss = m.at("train_loss"), &predicted = m.at("predicted_change"), &error = m.at("model_error");
  const auto &lr = m.at("lr"), &n = m.at("numerator"), &d = m.at("curvature");
  ASSERT_EQ(loss.size(), 8u);
  Replay replay(c);
  auto params = replay.model->parameters();
  const torch::Tensor x = replay.data.train.inputs.reshape({replay.data.train.inputs.size(0), -1}).abs();
  const torch::Tensor y =
      torch::zeros({x.size(0), 10}, torch::kFloat64).scatter_(1, replay.data.train.labels.unsqueeze(1), 1.0);
  auto magnitudes = [&] {  // M, and |out| + |y|
    torch::NoGradGuard no_grad;
    const torch::Tensor a = replay.model->forward(replay.data.train.inputs).abs() + y;
    return std::make_pair(0.5 * a.pow(2).sum(1).mean().item<double>(), a);
  };
  const double loss_roundings = 785 + 2 + 10 + 65 + 1, dot = static_cast<double>(numel(params));
  for (size_t t = 0; t < loss.size(); ++t) {
    ASSERT_TRUE(std::isfinite(predicted[t])) << "step " << t;
    EXPECT_LT(predicted[t], 0.0) << "a descent step of a convex quadratic lowers f";
    const auto [m0, a0] = magnitudes();
    const TensorList g = torch::autograd::grad({replay.loss()}, params);
    const torch::Tensor u_weight = g[0].abs(), u_bias = g[1].abs();  // |u| = |g| (GD); out.weight, out.bias
    const torch::Tensor s = x.mm(u_weight.t()) + u_bias;             // |x̃|ᵀ|u_c| per example and class
    const double gu = (a0 * s).sum(1).mean().item<double>(), uau = s.pow(2).sum(1).mean().item<double>();
    const torch::Tensor reach = flatten(params).abs() + lr[t] * flatten(g).abs();
    {
      torch::NoGradGuard no_grad;
      for (size_t i = 0; i < params.size(); ++i) params[i].sub_(lr[t] * g[i]);
    }
    const auto [m1, a1] = magnitudes();
    const double moved = flatten(torch::autograd::grad({replay.loss()}, params)).abs().dot(reach).item<double>();
    const double bound =
        testing::tolerance_for(torch::kFloat64, loss_roundings) * (m0 + m1) +
        testing::tolerance_for(torch::kFloat64, 2) * moved +
        testing::tolerance_for(torch::kFloat64, 2 * loss_roundings + dot) * lr[t] * gu +
        testing::tolerance_for(torch::kFloat64, 3 * loss_roundings + dot) * 0.5 * lr[t] * lr[t] * uau +
        testing::tolerance_for(torch::kFloat64, 4) * (lr[t] * std::abs(n[t]) + 0.5 * lr[t] * lr[t] * std::abs(d[t]));
    EXPECT_LE(std::abs(error[t]), bound + kCellPrecision * std::abs(error[t])) << "step " << t;
  }
}

TEST(ModelError, ExactOnAQuadraticWithConstantLr) {
  CDAT_REQUIRE_FASHION_MNIST();
  auto c = quadratic_run("quadratic_constant");
  c.tuner = "constant";
  c.lr = 0.002;  // below 2/λ_max: the run descends (the model would be exact on a diverging run too)
  c.measure_curvature = true;
  run_training(c, {});
  expect_model_exact(c);
}

// CDAT with σ = 1 and no EMA: η = n/d, so predicted = −σ(1 − σ/2)n²/d = −n²/(2d) (PAPER §2).
TEST(ModelError, ExactOnAQuadraticWithCdat) {
  CDAT_REQUIRE_FASHION_MNIST();
  auto c = quadratic_run("quadratic_cdat");
  c.tuner = "cdat";
  c.sigma = 1.0;
  run_training(c, {});
  expect_model_exact(c);
  const auto m = read_metrics_csv(c.out + "/metrics.csv");
  for (size_t t = 0; t < m.at("step").size(); ++t) {
    // d = uᵀAu > 0; the tuner's η = n/(d + ε‖u‖²) makes predicted −n²/(2d)·(1 − (ε‖u‖²/(d + ε‖u‖²))²), a
    // relative 1e-24 off. The cells: predicted, n (twice) and d, 10 digits each; predicted = −ηn + η²d/2
    // adds 4 roundings, its two terms cancelling by a factor 3 ((1 + ½)/½).
    const double n = m.at("numerator")[t], d = m.at("curvature")[t];
    const double tolerance = 4 * kCellPrecision + testing::tolerance_for(torch::kFloat64, 3 * 4 + 2);
    EXPECT_NEAR(m.at("predicted_change")[t], -0.5 * n * n / d, tolerance * 0.5 * n * n / d) << "step " << t;
  }
}

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
    // Three 10-digit cells (actual, next, loss) and the subtraction.
    EXPECT_NEAR(actual[t], next - loss[t],
                kCellPrecision * (std::abs(next) + std::abs(loss[t]) + std::abs(actual[t])) +
                    testing::tolerance_for(torch::kFloat64, 1) * std::abs(actual[t]))
        << "step " << t;
  }
  Replay replay(c);
  auto params = replay.model->parameters();
  const double hessian_norm = [&] {
    HessianOperator hessian(params, [&replay] { return replay.loss(); });
    EigenOptions o;
    const auto r = lanczos(hessian.as_operator(), flatten(params).detach(), o);
    double largest = 0.0;
    for (double theta : r.ritz_values) largest = std::max(largest, std::abs(theta));
    return largest;
  }();
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
    // The cell (10 digits), and two computations of −η‖g‖² + η²gᵀHg/2 at points that drift apart by
    // rounding: ‖g‖² takes 2·pass + P roundings (pass = 64 examples + 784 inputs + 8 + 10 + 7), gᵀHg
    // 3·pass + P times its dot's κ ≤ ‖g‖‖Hg‖/|gᵀHg|; and each of the ≤ 8 steps rounds w twice on |w|
    // (‖Δw‖ ≤ 16ε·max|w|·√P), which moves g by ≤ ‖H‖‖Δw‖ and the two terms by 2η‖g‖·‖Δg‖ and η²‖Hg‖‖Δg‖·2.
    // ‖H‖: the largest |Ritz value| of 20 Lanczos steps, which approaches it from below, doubled.
    const double pass = 64 + 784 + 8 + 10 + 7, p = static_cast<double>(numel(params));
    const double hg_norm = flatten(hg).norm().item<double>(), g_norm = std::sqrt(gg);
    const double kappa = g_norm * hg_norm / std::abs(ghg);
    const double delta_g = 2 * hessian_norm * testing::tolerance_for(torch::kFloat64, 2 * 8) *
                           flatten(params).abs().max().item<double>() * std::sqrt(p);
    const double tolerance =
        kCellPrecision * std::abs(predicted[t]) +
        testing::tolerance_for(torch::kFloat64, 2 * (2 * pass + p)) * c.lr * gg +
        testing::tolerance_for(torch::kFloat64, 2 * (3 * pass + p) * kappa) * 0.5 * c.lr * c.lr * std::abs(ghg) +
        2 * c.lr * g_norm * delta_g + c.lr * c.lr * hg_norm * delta_g;
    EXPECT_NEAR(predicted[t], expected, tolerance) << "step " << t;
    // Not a rounding bound: a tanh network's model error, far above the cells' 10 digits and the rounding.
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
