#include <cdat/cdat.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>
#include <functional>

#include "problems.h"

namespace cdat {
namespace {

using testing::TinyMlp;

// Relative agreement of a float32 run with the float64 run over 30 steps: a few float32 roundings (ε = 1.2e-7);
// measured 2.9e-7 (loss) and 6.1e-7 (η).
constexpr double kFloat32Agreement = 1e-6;

std::unique_ptr<TunedOptimizer> adam_cdat(const TensorList& params) {
  ParamGroup group{params};
  group.weight_decay = 1e-3;
  CdatOptions c;
  c.ema_beta = 0.9;
  c.sigma = 1.5;
  return std::make_unique<TunedOptimizer>(std::vector<ParamGroup>{group}, std::make_unique<Adam>(),
                                          std::make_unique<CdatTuner>(c));
}

using OptimizerMaker = std::function<std::unique_ptr<TunedOptimizer>(const TensorList&)>;

std::unique_ptr<TunedOptimizer> momentum_linesearch(const TensorList& params, bool nesterov) {
  DirectionOptions d;
  d.beta1 = 0.8;
  LinesearchOptions l;
  l.eta_init = 0.3;
  l.eta_max = 10.0;
  return std::make_unique<TunedOptimizer>(params, std::make_unique<Momentum>(d, nesterov),
                                          std::make_unique<LinesearchTuner>(l));
}

std::unique_ptr<TunedOptimizer> rmsprop_cdat(const TensorList& params) {
  DirectionOptions d;
  d.beta2 = 0.9;
  CdatOptions c;
  c.ema_beta = 0.5;
  return std::make_unique<TunedOptimizer>(params, std::make_unique<RMSProp>(d), std::make_unique<CdatTuner>(c));
}

// 10 steps, save parameters and optimizer, 10 more steps; a fresh model and optimizer restored from the
// checkpoint must reproduce those 10 steps bit for bit (direction state, tuner state and step counter).
void expect_bit_identical_resume(const OptimizerMaker& make, const std::string& what) {
  SCOPED_TRACE(what);
  const std::string path = ::testing::TempDir() + "cdat_optimizer_state.pt";
  TinyMlp a(4, 6, 3, 8, /*seed=*/11, torch::kFloat32);
  auto opt_a = make(a.params());
  for (int t = 0; t < 10; ++t) opt_a->step(a.closure());
  // Checkpoint the parameters and the whole optimizer state.
  TensorList saved_params = clone_detached(a.params());
  torch::save(*opt_a, path);
  std::vector<double> lrs_a;
  for (int t = 0; t < 10; ++t) {
    opt_a->step(a.closure());
    lrs_a.push_back(opt_a->last_stats().lr);
  }

  TinyMlp b(4, 6, 3, 8, /*seed=*/11, torch::kFloat32);  // same data; parameters come from the checkpoint
  TensorList params_b = b.params();
  copy_(params_b, saved_params);
  auto opt_b = make(b.params());
  torch::load(*opt_b, path);
  EXPECT_EQ(opt_b->steps(), 10);
  std::vector<double> lrs_b;
  for (int t = 0; t < 10; ++t) {
    opt_b->step(b.closure());
    lrs_b.push_back(opt_b->last_stats().lr);
  }
  for (size_t i = 0; i < a.params().size(); ++i) {
    EXPECT_TRUE(torch::equal(a.params()[i], b.params()[i])) << "parameter " << i;
  }
  EXPECT_EQ(lrs_a, lrs_b);
  std::remove(path.c_str());
}

TEST(TunedOptimizer, SaveLoadResumesToBitIdenticalParameters) {
  expect_bit_identical_resume(adam_cdat, "adam + cdat (EMA)");
  expect_bit_identical_resume(rmsprop_cdat, "rmsprop + cdat (EMA)");
  // The linesearch's state is the last accepted η (the next search starts from κ_up times it).
  expect_bit_identical_resume([](const TensorList& p) { return momentum_linesearch(p, false); },
                              "heavy ball + linesearch");
  expect_bit_identical_resume([](const TensorList& p) { return momentum_linesearch(p, true); },
                              "nesterov + linesearch");
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

// The same problem in float64 and in float32 (the float32 copy cast from the float64 one): the float32
// run keeps its dtype and follows the float64 trajectory up to float32 rounding, step by step.
TEST(TunedOptimizer, WorksInFloat32AndFloat64) {
  TinyMlp m64(3, 16, 2, 32, /*seed=*/7, torch::kFloat64);
  TinyMlp m32(3, 16, 2, 32, /*seed=*/7, torch::kFloat32);
  TensorList p32 = m32.params();
  copy_(p32, m64.params());
  m32.x = m64.x.to(torch::kFloat32);
  m32.y = m64.y.to(torch::kFloat32);
  TunedOptimizer opt64(m64.params(), std::make_unique<GradientDescent>(), std::make_unique<CdatTuner>());
  TunedOptimizer opt32(m32.params(), std::make_unique<GradientDescent>(), std::make_unique<CdatTuner>());
  double first = 0.0, worst_loss = 0.0, worst_lr = 0.0;
  for (int t = 0; t < 30; ++t) {
    const double loss64 = opt64.step(m64.closure()).item<double>();
    const double loss32 = opt32.step(m32.closure()).item<double>();
    if (t == 0) first = loss64;
    worst_loss = std::max(worst_loss, std::abs(loss32 - loss64) / loss64);
    worst_lr = std::max(worst_lr, std::abs(opt32.last_stats().lr - opt64.last_stats().lr) / opt64.last_stats().lr);
  }
  EXPECT_LT(opt64.last_stats().loss, 0.95 * first);  // it trains
  EXPECT_LT(worst_loss, kFloat32Agreement);
  EXPECT_LT(worst_lr, kFloat32Agreement);
  EXPECT_EQ(m32.params()[0].scalar_type(), torch::kFloat32);
  EXPECT_EQ(m64.params()[0].scalar_type(), torch::kFloat64);
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
