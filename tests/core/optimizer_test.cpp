#include <cdat/cdat.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>
#include <functional>

#include "problems.h"
#include "tolerance.h"

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

// Rounding (problems.h, in units of ε): gᵀg takes the forward, the backward and a P-term dot on each side,
// 2·pass + P, without cancellation; the library's uᵀHu curvature_roundings, the dense one the same plus its
// symmetrisation and the product H·u (P + 2); η = σ·n/d 3 more on the library's own d.
TEST(TunedOptimizer, ReportedCurvatureIsDenseUHU) {
  TinyMlp m;
  auto H = testing::dense_hessian(m.params(), m.closure());
  auto g = testing::flat_gradient(m.params(), m.closure());
  TunedOptimizerOptions exact;
  exact.curvature_mode = "exact";
  TunedOptimizer optimizer(m.params(), std::make_unique<GradientDescent>(), std::make_unique<CdatTuner>(), exact);
  optimizer.step(m.closure());
  const auto& s = optimizer.last_stats();
  auto u = -g;
  const double uhu = torch::dot(u, H.mv(u)).item<double>(), gg = g.dot(g).item<double>();
  const double p = static_cast<double>(numel(m.params())), n = 2 * m.pass_roundings() + p;
  const double d = m.curvature_roundings(testing::curvature_condition_bound(H, gg, uhu));
  EXPECT_NEAR(s.curvature, uhu, testing::tolerance_for(torch::kFloat64, 2 * d + p + 2) * std::abs(uhu));
  EXPECT_NEAR(s.slope, -gg, testing::tolerance_for(torch::kFloat64, 2 * n) * gg);
  EXPECT_NEAR(s.grad_norm, g.norm().item<double>(), testing::tolerance_for(torch::kFloat64, n + 1) * std::sqrt(gg));
  // η = σ·n/(|uᵀHu| + eps·‖u‖²), the default eps included (‖u‖² = gᵀg for GD).
  const double expected = 2.0 * gg / (std::abs(s.curvature) + CdatOptions{}.eps * gg);
  EXPECT_NEAR(s.lr, expected, testing::tolerance_for(torch::kFloat64, 2 * n + 3 + 3) * expected);
  EXPECT_DOUBLE_EQ(s.tuner.get("numerator"), -s.slope);
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

// float32 against float64, step by step. Both start each step from the same point: the float32 run's
// parameters and data, which float64 holds exactly. So the two steps differ only by the float32
// rounding of that one step, which tolerance.h bounds whichever kernels ran them, and not by a 30-step
// trajectory that would amplify it by the dynamics' own sensitivity (which ε cannot bound: GD at the
// edge of stability, σ = 2, is not a contraction). The float32 run follows its own trajectory and trains.
//
// The roundings of one step of this 3 → 16 → 2 tanh MLP on 32 examples (P = 98 parameters), in units of
// float32's ε (problems.h, tolerance.h): a pass (forward, backward, second backward) ≤ 32 + 3 + 16 + 2 + 7 = 60.
//   loss f: the forward, 60, times κ_f = Σ(|out| + |y|)·|r| / Σ r², the cancellation in r = out − y;
//   n = gᵀg: forward, backward and a 98-term dot, 2·60 + 98 = 218, no cancellation (a sum of squares);
//   d = |uᵀHu|: 3·60 + 98 = 278 times the dot's κ_d = Σ|u_i (Hu)_i| / |uᵀHu| (the MLP's H is indefinite);
//   η = σ·n/d: 218 + 278·κ_d + 1.
// κ_f and κ_d are measured in float64 at the step's point; float64's own rounding is 2⁻²⁹ times smaller.
TEST(TunedOptimizer, WorksInFloat32AndFloat64) {
  TinyMlp m32(3, 16, 2, 32, /*seed=*/7, torch::kFloat32);
  TinyMlp m64(3, 16, 2, 32, /*seed=*/7, torch::kFloat64);
  m64.x = m32.x.to(torch::kFloat64);
  m64.y = m32.y.to(torch::kFloat64);
  TunedOptimizerOptions exact;
  exact.curvature_mode = "exact";  // the float32 run follows float64's within the rounding of exact uᵀHu
  TunedOptimizer opt64(m64.params(), std::make_unique<GradientDescent>(), std::make_unique<CdatTuner>(), exact);
  TunedOptimizer opt32(m32.params(), std::make_unique<GradientDescent>(), std::make_unique<CdatTuner>(), exact);
  double first = 0.0;
  for (int t = 0; t < 30; ++t) {
    SCOPED_TRACE("step " + std::to_string(t));
    TensorList p64 = m64.params();
    copy_(p64, m32.params());  // exact: every float32 is a float64
    // The condition numbers, in float64 at this point (u = −g for GD).
    const torch::Tensor out = m64.net->forward(m64.x).detach(), r = out - m64.y;
    const double kappa_f = ((out.abs() + m64.y.abs()) * r.abs()).sum().item<double>() / r.pow(2).sum().item<double>();
    const TensorList g = torch::autograd::grad({m64.loss()}, p64);
    const torch::Tensor u = -flatten(g), hu = flatten(hvp(p64, m64.closure(), unflatten(u, p64)));
    const double kappa_d = (u * hu).abs().sum().item<double>() / std::abs(u.dot(hu).item<double>());

    const double loss64 = opt64.step(m64.closure()).item<double>();
    const double loss32 = opt32.step(m32.closure()).item<double>();
    if (t == 0) first = loss32;
    const double lr64 = opt64.last_stats().lr, lr32 = opt32.last_stats().lr;
    ASSERT_EQ(opt32.last_stats().tuner.trials, opt64.last_stats().tuner.trials)
        << "the trust check decided differently";
    const double pass = m64.pass_roundings(), n = 2 * pass + static_cast<double>(numel(p64));
    EXPECT_LT(std::abs(loss32 - loss64) / loss64, testing::tolerance_for(torch::kFloat32, pass * kappa_f));
    EXPECT_LT(std::abs(lr32 - lr64) / lr64,
              testing::tolerance_for(torch::kFloat32, n + m64.curvature_roundings(kappa_d) + 1));
  }
  EXPECT_LT(opt32.last_stats().loss, 0.95 * first);  // it trains
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
  // w₀ + ηu rounds once or twice on |w₀| + |ηu| and the subtraction here once more (atol, on the largest
  // such magnitude); −η·g rounds once, and the two gradients (the step's, this test's) each carry the
  // forward and backward's roundings on |g| (rtol).
  const double eta = optimizer.last_stats().lr;
  const double reach = (flatten(w0).abs() + eta * g.abs()).max().item<double>();
  EXPECT_TRUE(torch::allclose(moved, -eta * g, testing::tolerance_for(torch::kFloat64, 1 + 2 * 2 * m.pass_roundings()),
                              testing::tolerance_for(torch::kFloat64, 3) * reach));
}

}  // namespace
}  // namespace cdat
