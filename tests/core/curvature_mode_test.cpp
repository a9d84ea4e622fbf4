// The curvature modes of TunedOptimizer against the exact double-backward uᵀHu.
#include <cdat/cdat.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "problems.h"

namespace cdat {
namespace {

using testing::Quadratic;
using testing::TinyMlp;

TunedOptimizerOptions mode(CurvatureMode m) {
  TunedOptimizerOptions o;
  o.curvature_mode = m;
  return o;
}

// GD + CDAT (σ = 2) on `params`, measuring the curvature with `curvature_mode`.
TunedOptimizer gd_cdat(const TensorList& params, CurvatureMode curvature_mode) {
  return TunedOptimizer(params, std::make_unique<GradientDescent>(), std::make_unique<CdatTuner>(), mode(curvature_mode));
}

// Class labels of TinyMlp's 8 examples, for the cross-entropy tests.
torch::Tensor eight_labels() { return torch::tensor({0, 1, 2, 0, 1, 2, 2, 1}, torch::kLong); }

double first_step_curvature(TinyMlp& m, CurvatureMode curvature_mode) {
  auto saved = clone_detached(m.params());
  TunedOptimizer optimizer = gd_cdat(m.params(), curvature_mode);
  optimizer.step(m.closure());
  auto params = m.params();
  copy_(params, saved);
  return optimizer.last_stats().curvature;
}

TEST(CurvatureMode, FiniteDifferencesAgreeWithExactOnATinyMlp) {
  TinyMlp m;
  const double exact = first_step_curvature(m, CurvatureMode::kExact);
  const double fd = first_step_curvature(m, CurvatureMode::kFiniteDifference);
  EXPECT_NEAR(fd, exact, 1e-6 * std::abs(exact));
}

// One GD + CDAT step on a quadratic with spectrum {0.5, 2, 9}: the curvature the step measured, the exact
// uᵀAu for u = −∇f(w₀), and the step's warning.
struct QuadraticStep {
  double measured, exact;
  std::string warning;
};
QuadraticStep first_step_on_quadratic(CurvatureMode curvature_mode, int seed) {
  Quadratic q({0.5, 2.0, 9.0}, seed);
  auto w0 = q.w.detach().clone();
  TunedOptimizer optimizer = gd_cdat(q.params(), curvature_mode);
  optimizer.step(q.closure());
  auto u = -q.gradient_at(w0);
  return {optimizer.last_stats().curvature, torch::dot(u, q.A.mv(u)).item<double>(), optimizer.last_stats().warning};
}

TEST(CurvatureMode, FiniteDifferencesAreExactOnAQuadratic) {
  const auto step = first_step_on_quadratic(CurvatureMode::kFiniteDifference, 21);
  EXPECT_NEAR(step.measured, step.exact, 1e-9 * step.exact);
}

TEST(CurvatureMode, SecantUsesThePreviousStepsDirectionalCurvature) {
  Quadratic q({0.5, 2.0, 9.0}, /*seed=*/22);
  TunedOptimizer optimizer = gd_cdat(q.params(), CurvatureMode::kSecant);
  // Step 0 has no history: exact.
  auto w0 = q.w.detach().clone();
  auto u0 = -q.gradient_at(w0);
  optimizer.step(q.closure());
  const double exact0 = torch::dot(u0, q.A.mv(u0)).item<double>();
  EXPECT_NEAR(optimizer.last_stats().curvature, exact0, 1e-10 * exact0);
  // Step 1: on a quadratic the secant along u₀ is exact, rescaled to ‖u₁‖².
  auto u1 = -q.gradient_at(q.w.detach());
  optimizer.step(q.closure());
  const double expected = torch::dot(u0, q.A.mv(u0)).item<double>() / u0.dot(u0).item<double>() * u1.dot(u1).item<double>();
  EXPECT_NEAR(optimizer.last_stats().curvature, expected, 1e-9 * expected);
}

// Adam + CDAT with `options` takes `before` steps on one TinyMlp; its saved state is loaded into a fresh
// optimizer on a copy of the parameters, and both continue identically for 5 steps.
void expect_optimizer_resumes_exactly(const TunedOptimizerOptions& options, uint64_t seed, int before,
                                      const std::string& file) {
  TinyMlp a(3, 8, 2, 16, seed), b(3, 8, 2, 16, seed);
  TunedOptimizer opt_a(a.params(), std::make_unique<Adam>(), std::make_unique<CdatTuner>(), options);
  for (int t = 0; t < before; ++t) opt_a.step(a.closure());
  torch::serialize::OutputArchive out;
  opt_a.save(out);
  const std::string path = ::testing::TempDir() + file;
  out.save_to(path);
  auto params_b = b.params();
  copy_(params_b, a.params());
  TunedOptimizer opt_b(b.params(), std::make_unique<Adam>(), std::make_unique<CdatTuner>(), options);
  torch::serialize::InputArchive in;
  in.load_from(path);
  opt_b.load(in);
  for (int t = 0; t < 5; ++t) {
    opt_a.step(a.closure());
    opt_b.step(b.closure());
    EXPECT_EQ(opt_a.last_stats().curvature, opt_b.last_stats().curvature) << "step " << t;
    EXPECT_EQ(opt_a.last_stats().lr, opt_b.last_stats().lr) << "step " << t;
  }
  for (size_t i = 0; i < a.params().size(); ++i) EXPECT_TRUE(torch::equal(a.params()[i], b.params()[i]));
}

TEST(CurvatureMode, SecantStateResumesExactly) {
  expect_optimizer_resumes_exactly(mode(CurvatureMode::kSecant), /*seed=*/5, /*before=*/5, "cdat_secant_state.pt");
}

TEST(CurvatureMode, ForwardOverReverseAgreesWithExactOnATinyMlp) {
  TinyMlp m;
  const double exact = first_step_curvature(m, CurvatureMode::kExact);
  const double forward = first_step_curvature(m, CurvatureMode::kForwardOverReverse);
  EXPECT_NEAR(forward, exact, 1e-12 * std::abs(exact));
}

TEST(CurvatureMode, ForwardOverReverseIsExactOnAQuadratic) {
  const auto step = first_step_on_quadratic(CurvatureMode::kForwardOverReverse, 23);
  EXPECT_NEAR(step.measured, step.exact, 1e-12 * step.exact);
  EXPECT_TRUE(step.warning.empty());
}

TEST(CurvatureMode, ForwardOverReverseFollowsExactOverAdamSteps) {
  TinyMlp a(3, 8, 2, 16, /*seed=*/6), b(3, 8, 2, 16, /*seed=*/6);
  TunedOptimizer exact(a.params(), std::make_unique<Adam>(), std::make_unique<CdatTuner>(), mode(CurvatureMode::kExact));
  TunedOptimizer forward(b.params(), std::make_unique<Adam>(), std::make_unique<CdatTuner>(),
                         mode(CurvatureMode::kForwardOverReverse));
  for (int t = 0; t < 5; ++t) {
    exact.step(a.closure());
    forward.step(b.closure());
    const double c = exact.last_stats().curvature;
    EXPECT_NEAR(forward.last_stats().curvature, c, 1e-10 * std::abs(c)) << "step " << t;
    EXPECT_NEAR(forward.last_stats().lr, exact.last_stats().lr, 1e-9 * exact.last_stats().lr) << "step " << t;
  }
  EXPECT_TRUE(forward.forward_ad_failure().empty());
}

// LibTorch 1.13 has no forward derivative for _log_softmax_backward_data (nor for the backward of nll_loss,
// softmax, layer norm and batch norm), so forward-over-reverse fails on a cross-entropy loss.
TEST(CurvatureMode, ForwardOverReverseFallsBackToExactOnceWhereAnOpHasNoForwardDerivative) {
  TinyMlp a(3, 6, 3, 8, /*seed=*/7), b(3, 6, 3, 8, /*seed=*/7);
  const torch::Tensor labels = eight_labels();
  auto cross_entropy = [&labels](TinyMlp& m) -> LossClosure {
    return [&m, &labels] { return -torch::log_softmax(m.net->forward(m.x), 1).gather(1, labels.unsqueeze(1)).mean(); };
  };
  TunedOptimizer exact = gd_cdat(a.params(), CurvatureMode::kExact);
  TunedOptimizer forward = gd_cdat(b.params(), CurvatureMode::kForwardOverReverse);
  for (int t = 0; t < 3; ++t) {
    exact.step(cross_entropy(a));
    forward.step(cross_entropy(b));
    EXPECT_EQ(forward.last_stats().curvature, exact.last_stats().curvature) << "step " << t;
    EXPECT_EQ(forward.last_stats().lr, exact.last_stats().lr) << "step " << t;
    const std::string& warning = forward.last_stats().warning;
    if (t == 0) {
      EXPECT_NE(warning.find("_log_softmax_backward_data"), std::string::npos) << warning;
      EXPECT_NE(warning.find("exact double backward from step 0"), std::string::npos) << warning;
      EXPECT_EQ(warning.find('\n'), std::string::npos) << "one line";
    } else {
      EXPECT_TRUE(warning.empty()) << "warned again at step " << t << ": " << warning;
    }
  }
  EXPECT_NE(forward.forward_ad_failure().find("_log_softmax_backward_data"), std::string::npos);
  // The failed attempt exited its dual level: forward AD still works for a supported model.
  TinyMlp m;
  EXPECT_NEAR(first_step_curvature(m, CurvatureMode::kForwardOverReverse),
              first_step_curvature(m, CurvatureMode::kExact), 1e-12 * std::abs(first_step_curvature(m, CurvatureMode::kExact)));
}

// The same cross-entropy written as logsumexp(z) − z_y: every op of it and of its backward has a forward
// derivative in LibTorch 1.13, so forward-over-reverse runs (no fallback) and equals exact.
TEST(CurvatureMode, ForwardOverReverseWorksOnCrossEntropyWrittenWithLogsumexp) {
  TinyMlp a(3, 6, 3, 8, /*seed=*/8), b(3, 6, 3, 8, /*seed=*/8);
  const torch::Tensor labels = eight_labels();
  auto cross_entropy = [&labels](TinyMlp& m) -> LossClosure {
    return [&m, &labels] {
      const torch::Tensor z = m.net->forward(m.x);
      return (torch::logsumexp(z, 1) - z.gather(1, labels.unsqueeze(1)).squeeze(1)).mean();
    };
  };
  TunedOptimizer exact = gd_cdat(a.params(), CurvatureMode::kExact);
  TunedOptimizer forward = gd_cdat(b.params(), CurvatureMode::kForwardOverReverse);
  for (int t = 0; t < 3; ++t) {
    exact.step(cross_entropy(a));
    forward.step(cross_entropy(b));
    const double c = exact.last_stats().curvature;
    EXPECT_NEAR(forward.last_stats().curvature, c, 1e-10 * std::abs(c)) << "step " << t;
    EXPECT_TRUE(forward.last_stats().warning.empty()) << forward.last_stats().warning;
  }
  EXPECT_TRUE(forward.forward_ad_failure().empty());
}

// On a quadratic the parabola through f(w), gᵀu and f(w + hu) is f itself along u: c = uᵀAu up to the
// rounding of the loss values (≈1e-15·|f|) over the second-order term (≈1e-6 at the first step's
// h‖u‖ = 1e-3·‖w‖), a relative 1e-8; 1e-7 leaves a factor 10.
TEST(CurvatureMode, ParabolaIsExactOnAQuadraticAtTheFirstAndLaterSteps) {
  for (const bool central : {false, true}) {
    Quadratic q({0.5, 2.0, 9.0}, /*seed=*/24);
    TunedOptimizerOptions o = mode(CurvatureMode::kParabola);
    o.parabola_central = central;
    TunedOptimizer optimizer(q.params(), std::make_unique<GradientDescent>(), std::make_unique<CdatTuner>(), o);
    for (int t = 0; t < 3; ++t) {  // step 0: h from ‖w‖; then h = 0.1·η_{t−1}
      auto u = -q.gradient_at(q.w.detach());
      optimizer.step(q.closure());
      const double exact = torch::dot(u, q.A.mv(u)).item<double>();
      EXPECT_NEAR(optimizer.last_stats().curvature, exact, 1e-7 * exact) << "step " << t << " central " << central;
      EXPECT_FALSE(optimizer.last_stats().curvature_fallback);
    }
  }
}

// A float32 quadratic shifted by 1e4: the loss values round to ≈1e-3, far above the second-order term
// h²uᵀAu/2 ≈ 1e-5, so the parabola is rounding noise; the step measures exactly instead and says so.
TEST(CurvatureMode, ParabolaFallsBackToExactWhereTheLossValuesCancel) {
  Quadratic q({0.5, 2.0, 9.0}, /*seed=*/25, torch::kFloat32);
  TunedOptimizer optimizer(q.params(), std::make_unique<GradientDescent>(), std::make_unique<ConstantTuner>(0.01),
                           [] {
                             TunedOptimizerOptions o = mode(CurvatureMode::kParabola);
                             o.measure_curvature = true;
                             return o;
                           }());
  for (int t = 0; t < 2; ++t) {
    auto u = -q.gradient_at(q.w.detach());
    optimizer.step([&q] { return q.loss() + 1e4; });
    const double exact = torch::dot(u, q.A.mv(u)).item<double>();
    EXPECT_TRUE(optimizer.last_stats().curvature_fallback) << "step " << t;
    EXPECT_NEAR(optimizer.last_stats().curvature, exact, 1e-5 * exact) << "step " << t;
  }
}

// After an outsized step h = 0.1·η_{t−1} is no longer local: f(x) = x⁴, x₀ = 0.5, a constant η₀ = 3 lands
// on x₁ = 0.5 − 3·4·0.5³ = −1, where u = −f'(x₁) = 4, n = −gᵀu = 16 and uᵀHu = u²·12x₁² = 192. Along u the
// parabolas carry f'''(x₁) = −24 and f'''' = 24: one-sided c(h) = u²(12 − 24·hu/3 + 24(hu)²/12)
// = 16(12 − 32h + 32h²), central c(h) = u²(12 + 24(hu)²/12) = 16(12 + 32h²). At h = 0.1·3 = 0.3 they are
// 84.48 and 238.08, so h·c > n (h longer than the estimate's own greedy step n/c): the step measures again
// at h = 0.1·n/c = 1.6/84.48 resp. 1.6/238.08, where h·c < n. Without that: 0.44 × and 1.24 × uᵀHu.
TEST(CurvatureMode, ParabolaShortensAStepLongerThanItsOwnGreedyStep) {
  for (const bool central : {false, true}) {
    auto x = torch::tensor({0.5}, torch::kFloat64).requires_grad_();
    TunedOptimizerOptions o = mode(CurvatureMode::kParabola);
    o.parabola_central = central;
    o.measure_curvature = true;
    TunedOptimizer optimizer({x}, std::make_unique<GradientDescent>(), std::make_unique<ConstantTuner>(3.0), o);
    auto quartic = [&x] { return x.pow(4).sum(); };
    optimizer.step(quartic);
    ASSERT_DOUBLE_EQ(x.item<double>(), -1.0);
    optimizer.step(quartic);
    const double h = central ? 1.6 / 238.08 : 1.6 / 84.48;
    const double expected = central ? 16.0 * (12.0 + 32.0 * h * h) : 16.0 * (12.0 - 32.0 * h + 32.0 * h * h);
    EXPECT_NEAR(optimizer.last_stats().curvature, expected, 1e-9 * expected) << "central " << central;
    EXPECT_FALSE(optimizer.last_stats().curvature_fallback);
  }
}

TEST(CurvatureMode, ParabolaRejectsBadOptions) {
  Quadratic q({1.0, 2.0});
  for (auto set : std::vector<std::function<void(TunedOptimizerOptions&)>>{
           [](TunedOptimizerOptions& o) { o.parabola_step = 0.0; },
           [](TunedOptimizerOptions& o) { o.curvature_every = 0; },
           [](TunedOptimizerOptions& o) { o.measure_curvature_every = -1; }}) {
    TunedOptimizerOptions o;
    set(o);
    EXPECT_THROW(TunedOptimizer(q.params(), std::make_unique<GradientDescent>(), std::make_unique<CdatTuner>(), o),
                 InvalidOption);
  }
}

// curvature_every = 4: steps 0 and 4 measure κ̄ = uᵀAu/‖u‖²; steps 1–3 use κ̄·‖u_t‖² (the same product the
// optimizer forms, up to the rounding of ‖u‖ in StepStats).
TEST(CurvatureMode, AmortisedCurvatureReusesTheLastDirectionalCurvature) {
  Quadratic q({0.5, 2.0, 9.0}, /*seed=*/26);
  TunedOptimizerOptions o = mode(CurvatureMode::kExact);
  o.curvature_every = 4;
  TunedOptimizer optimizer(q.params(), std::make_unique<GradientDescent>(), std::make_unique<CdatTuner>(), o);
  double kappa = 0.0;
  for (int t = 0; t < 6; ++t) {
    auto u = -q.gradient_at(q.w.detach());
    optimizer.step(q.closure());
    const double u_sq = u.dot(u).item<double>();
    const double measured = optimizer.last_stats().curvature;
    if (t % 4 == 0) {
      const double exact = torch::dot(u, q.A.mv(u)).item<double>();
      EXPECT_NEAR(measured, exact, 1e-12 * exact) << "step " << t;
      kappa = measured / u_sq;
    } else {
      EXPECT_NEAR(measured, kappa * u_sq, 1e-13 * kappa * u_sq) << "step " << t;
    }
  }
}

// Resuming in the middle of a curvature_every window needs κ̄ and η_{t−1} (the parabola's h): the
// resumed run continues bit-exactly.
TEST(CurvatureMode, AmortisedParabolaResumesExactly) {
  TunedOptimizerOptions o = mode(CurvatureMode::kParabola);
  o.curvature_every = 3;
  expect_optimizer_resumes_exactly(o, /*seed=*/9, /*before=*/4, "cdat_amortised_state.pt");
}

// measure_curvature_every = 3 with a tuner that needs no curvature: measured on steps 0, 3, 6 only.
TEST(CurvatureMode, DiagnosticCurvatureOnlyOnItsSteps) {
  Quadratic q({0.5, 2.0, 9.0}, /*seed=*/27);
  TunedOptimizerOptions o;
  o.measure_curvature_every = 3;
  TunedOptimizer optimizer(q.params(), std::make_unique<GradientDescent>(), std::make_unique<ConstantTuner>(0.05), o);
  for (int t = 0; t < 7; ++t) {
    auto u = -q.gradient_at(q.w.detach());
    optimizer.step(q.closure());
    const double measured = optimizer.last_stats().curvature;
    if (t % 3 == 0) {
      const double exact = torch::dot(u, q.A.mv(u)).item<double>();
      EXPECT_NEAR(measured, exact, 1e-12 * exact) << "step " << t;
    } else {
      EXPECT_TRUE(std::isnan(measured)) << "step " << t;
    }
  }
}

}  // namespace
}  // namespace cdat
