#include <cdat/cdat.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>

#include "problems.h"

namespace cdat {
namespace {

using testing::TinyMlp;

std::unique_ptr<TunedOptimizer> adam_cdat(const TensorList& params) {
  ParamGroup group{params};
  group.weight_decay = 1e-3;
  CdatOptions c;
  c.ema_beta = 0.9;
  c.sigma = 1.5;
  return std::make_unique<TunedOptimizer>(std::vector<ParamGroup>{group}, std::make_unique<Adam>(),
                                          std::make_unique<CdatTuner>(c));
}

TEST(TunedOptimizer, SaveLoadResumesToBitIdenticalParameters) {
  const std::string path = ::testing::TempDir() + "cdat_optimizer_state.pt";
  TinyMlp a(4, 6, 3, 8, /*seed=*/11, torch::kFloat32);
  auto opt_a = adam_cdat(a.params());
  for (int t = 0; t < 10; ++t) opt_a->step(a.closure());
  // Checkpoint the parameters and the whole optimizer state.
  TensorList saved_params = clone_detached(a.params());
  torch::save(*opt_a, path);
  for (int t = 0; t < 10; ++t) opt_a->step(a.closure());

  // A fresh model and optimizer, restored from the checkpoint, must reproduce the same 10 steps exactly.
  TinyMlp b(4, 6, 3, 8, /*seed=*/11, torch::kFloat32);  // same data; parameters come from the checkpoint
  TensorList params_b = b.params();
  copy_(params_b, saved_params);
  auto opt_b = adam_cdat(b.params());
  torch::load(*opt_b, path);
  EXPECT_EQ(opt_b->steps(), 10);
  for (int t = 0; t < 10; ++t) opt_b->step(b.closure());
  for (size_t i = 0; i < a.params().size(); ++i) {
    EXPECT_TRUE(torch::equal(a.params()[i], b.params()[i])) << "parameter " << i;
  }
  EXPECT_EQ(opt_a->last_stats().lr, opt_b->last_stats().lr);
  std::remove(path.c_str());
}

TEST(TunedOptimizer, ReportedCurvatureIsDenseUHU) {
  TinyMlp m;
  auto H = testing::dense_hessian(m.params(), m.closure());
  auto g = testing::flat_gradient(m.params(), m.closure());
  TunedOptimizer optimizer(m.params(), std::make_unique<GradientDescent>(), std::make_unique<CdatTuner>());
  optimizer.step(m.closure());
  const auto& s = optimizer.last_stats();
  auto u = -g;
  EXPECT_NEAR(s.curvature, torch::dot(u, H.mv(u)).item<double>(), 1e-10);
  EXPECT_NEAR(s.slope, -torch::dot(g, g).item<double>(), 1e-12);
  EXPECT_NEAR(s.grad_norm, g.norm().item<double>(), 1e-12);
  EXPECT_NEAR(s.lr, 2.0 * g.dot(g).item<double>() / std::abs(s.curvature), 1e-9);
  EXPECT_DOUBLE_EQ(s.tuner.numerator, -s.slope);
}

TEST(TunedOptimizer, ConstantTunerDoesNotMeasureCurvatureUnlessAsked) {
  TinyMlp m;
  TunedOptimizer plain(m.params(), std::make_unique<GradientDescent>(), std::make_unique<ConstantTuner>(0.1));
  plain.step(m.closure());
  EXPECT_TRUE(std::isnan(plain.last_stats().curvature));
  TunedOptimizerOptions o;
  o.measure_curvature = true;
  TunedOptimizer measured(m.params(), std::make_unique<GradientDescent>(), std::make_unique<ConstantTuner>(0.1), o);
  measured.step(m.closure());
  EXPECT_TRUE(std::isfinite(measured.last_stats().curvature));
}

TEST(TunedOptimizer, NanLossIsAClearErrorAndLeavesParametersUntouched) {
  TinyMlp m;
  TunedOptimizer optimizer(m.params(), std::make_unique<GradientDescent>(), std::make_unique<CdatTuner>());
  auto before = clone_detached(m.params());
  auto nan_closure = [&] { return m.loss() * std::numeric_limits<double>::quiet_NaN(); };
  try {
    optimizer.step(nan_closure);
    FAIL() << "expected NonFiniteError";
  } catch (const NonFiniteError& e) {
    EXPECT_NE(std::string(e.what()).find("loss"), std::string::npos);
  }
  for (size_t i = 0; i < before.size(); ++i) EXPECT_TRUE(torch::equal(before[i], m.params()[i]));
  EXPECT_EQ(optimizer.steps(), 0);
}

TEST(TunedOptimizer, NanGradientIsAClearError) {
  TinyMlp m;
  TunedOptimizer optimizer(m.params(), std::make_unique<GradientDescent>(), std::make_unique<ConstantTuner>(0.1));
  // sqrt at 0 has an infinite derivative: finite loss, non-finite gradient.
  auto closure = [&] { return m.loss() + (m.params()[0] - m.params()[0].detach()).abs().sum().sqrt(); };
  try {
    optimizer.step(closure);
    FAIL() << "expected NonFiniteError";
  } catch (const NonFiniteError& e) {
    EXPECT_NE(std::string(e.what()).find("gradient"), std::string::npos);
  }
}

TEST(TunedOptimizer, WorksInFloat32AndFloat64) {
  for (auto dtype : {torch::kFloat32, torch::kFloat64}) {
    TinyMlp m(3, 16, 2, 32, /*seed=*/7, dtype);
    TunedOptimizer optimizer(m.params(), std::make_unique<GradientDescent>(), std::make_unique<CdatTuner>());
    const double first = optimizer.step(m.closure()).item<double>();
    double last = first;
    for (int t = 0; t < 30; ++t) last = optimizer.step(m.closure()).item<double>();
    EXPECT_LT(last, first) << dtype;
    EXPECT_EQ(m.params()[0].scalar_type(), dtype);
  }
}

TEST(TunedOptimizer, LinesearchRestoresParametersBetweenTrials) {
  // A linesearch step must move the parameters by exactly η u, whatever trials were made.
  TinyMlp m;
  auto w0 = clone_detached(m.params());
  auto g = testing::flat_gradient(m.params(), m.closure());
  LinesearchOptions o;
  o.eta_init = 50.0;
  o.eta_max = 100.0;  // forces several backtracking trials
  TunedOptimizer optimizer(m.params(), std::make_unique<GradientDescent>(), std::make_unique<LinesearchTuner>(o));
  optimizer.step(m.closure());
  EXPECT_GT(optimizer.last_stats().tuner.trials, 1);
  auto moved = flatten(m.params()) - flatten(w0);
  EXPECT_TRUE(torch::allclose(moved, -optimizer.last_stats().lr * g, 1e-12, 1e-14));
}

}  // namespace
}  // namespace cdat
