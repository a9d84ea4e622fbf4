// The curvature modes of TunedOptimizer against the exact double-backward uᵀHu.
#include <cdat/cdat.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "problems.h"
#include "tolerance.h"

namespace cdat {
namespace {

using testing::Quadratic;
using testing::TinyMlp;
using testing::tolerance_for;

TunedOptimizerOptions mode(const std::string& m) {
  TunedOptimizerOptions o;
  o.curvature_mode = m;
  return o;
}

// Why forward AD failed in an optimizer using the forward-over-reverse estimator (empty while it works).
const std::string& forward_ad_failure(const TunedOptimizer& optimizer) {
  return dynamic_cast<const ForwardOverReverseCurvature&>(optimizer.curvature_estimator()).failure();
}

// GD + CDAT (σ = 2) on `params`, measuring the curvature with `curvature_mode`.
TunedOptimizer gd_cdat(const TensorList& params, const std::string& curvature_mode) {
  return TunedOptimizer(params, std::make_unique<GradientDescent>(), std::make_unique<CdatTuner>(), mode(curvature_mode));
}

// Class labels of TinyMlp's 8 examples, for the cross-entropy tests.
torch::Tensor eight_labels() { return torch::tensor({0, 1, 2, 0, 1, 2, 2, 1}, torch::kLong); }

double first_step_curvature(TinyMlp& m, const std::string& curvature_mode) {
  auto saved = clone_detached(m.params());
  TunedOptimizer optimizer = gd_cdat(m.params(), curvature_mode);
  optimizer.step(m.closure());
  auto params = m.params();
  copy_(params, saved);
  return optimizer.last_stats().curvature;
}

// κ of the first GD step's uᵀHu on m (u = −g), from the dense Hessian.
double first_step_condition(TinyMlp& m) {
  const torch::Tensor hessian = testing::dense_hessian(m.params(), m.closure());
  const torch::Tensor u = -testing::flat_gradient(m.params(), m.closure());
  return testing::curvature_condition_bound(hessian, u.dot(u).item<double>(), u.dot(hessian.mv(u)).item<double>());
}

// A truncation bound, not a rounding one: central differences err by (h‖u‖)²·D⁴f[û,û,û,û]/6 relative to
// ûᵀHû, with h‖u‖ = 10⁻³·max(‖w‖, 1), i.e. ~10⁻⁶ for a fourth derivative of the order of the second. Their
// rounding, ~pass·ε·‖g‖/(h‖u‖) relative, is ~10⁻¹¹.
TEST(CurvatureMode, FiniteDifferencesAgreeWithExactOnATinyMlp) {
  TinyMlp m;
  const double exact = first_step_curvature(m, "exact");
  const double fd = first_step_curvature(m, "fd");
  EXPECT_NEAR(fd, exact, 1e-6 * std::abs(exact));
}

// One GD + CDAT step on a quadratic with spectrum {0.5, 2, 9}: the curvature the step measured, the exact
// uᵀAu for u = −∇f(w₀), and the step's warning.
// Rounding bounds (units of ε, relative to uᵀAu): `exact` both uᵀAu computed two ways (problems.h),
// `central` the central differences uᵀ(g(w + hu) − g(w − hu))/2h at h‖u‖ = 10⁻³·max(‖w‖, 1), exact on a
// quadratic but for rounding divided by 2h: each gradient's k + 3 roundings on |A|(|w| + h|u|) + |b| and
// w ± hu's on |w| + h|u|, moved through A, dotted with |u|; plus the exact uᵀAu's.
struct QuadraticStep {
  double measured, exact;
  std::string warning;
  double exact_roundings, central_roundings;
};
QuadraticStep first_step_on_quadratic(const std::string& curvature_mode, int seed) {
  Quadratic q({0.5, 2.0, 9.0}, seed);
  auto w0 = q.w.detach().clone();
  TunedOptimizer optimizer = gd_cdat(q.params(), curvature_mode);
  optimizer.step(q.closure());
  auto u = -q.gradient_at(w0);
  const double k = static_cast<double>(q.spectrum.size()), uau = torch::dot(u, q.A.mv(u)).item<double>();
  const double h = 1e-3 * std::max(w0.norm().item<double>(), 1.0) / u.norm().item<double>();
  const torch::Tensor reach = w0.abs() + h * u.abs(), au = q.A.abs().mv(u.abs());
  const double differenced = 2 * (k + 3) * (q.A.abs().mv(reach) + q.b.abs()).dot(u.abs()).item<double>() +
                             2 * 2 * reach.dot(au).item<double>();
  return {optimizer.last_stats().curvature, uau, optimizer.last_stats().warning, 2 * q.curvature_roundings(w0),
          differenced / (2 * h * uau) + k + 1 + q.curvature_roundings(w0)};
}

TEST(CurvatureMode, FiniteDifferencesAreExactOnAQuadratic) {
  const auto step = first_step_on_quadratic("fd", 21);
  EXPECT_NEAR(step.measured, step.exact, tolerance_for(torch::kFloat64, step.central_roundings) * step.exact);
}

TEST(CurvatureMode, SecantUsesThePreviousStepsDirectionalCurvature) {
  Quadratic q({0.5, 2.0, 9.0}, /*seed=*/22);
  TunedOptimizer optimizer = gd_cdat(q.params(), "secant");
  // Step 0 has no history: exact.
  auto w0 = q.w.detach().clone();
  auto u0 = -q.gradient_at(w0);
  optimizer.step(q.closure());
  const double exact0 = torch::dot(u0, q.A.mv(u0)).item<double>();
  EXPECT_NEAR(optimizer.last_stats().curvature, exact0,
              tolerance_for(torch::kFloat64, 2 * q.curvature_roundings(w0)) * exact0);
  // Step 1: on a quadratic the secant along u₀ is exact, rescaled to ‖u₁‖². Its rounding: g₁ − g₀ = η₀Au₀
  // cancels, so both gradients' k + 3 roundings (on |A||w| + |b|) and w₁ = w₀ + η₀u₀'s two (on |w₀| + η₀|u₀|,
  // moved through A) count against η₀·u₀ᵀAu₀ after the dot with |u₀|; then the dot, ‖u₀‖², ‖u₁‖² and 3
  // products and quotients — and the expected value's own uᵀAu and norms.
  const torch::Tensor w1 = q.w.detach().clone();
  auto u1 = -q.gradient_at(w1);
  const double eta0 = optimizer.last_stats().lr, k = static_cast<double>(q.spectrum.size());
  optimizer.step(q.closure());
  const double expected = torch::dot(u0, q.A.mv(u0)).item<double>() / u0.dot(u0).item<double>() * u1.dot(u1).item<double>();
  const torch::Tensor magnitudes = q.A.abs().mv(w0.abs() + w1.abs()) + 2 * q.b.abs();
  const double secant = ((k + 3) * magnitudes.dot(u0.abs()).item<double>() +
                         2 * (w0.abs() + eta0 * u0.abs()).dot(q.A.abs().mv(u0.abs())).item<double>()) /
                            (eta0 * exact0) +
                        k + 2 * q.gradient_sq_norm_roundings(w0) + 2 * q.gradient_sq_norm_roundings(w1) + 3;
  EXPECT_NEAR(optimizer.last_stats().curvature, expected,
              tolerance_for(torch::kFloat64, secant + q.curvature_roundings(w0) + 2) * expected);
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
  expect_optimizer_resumes_exactly(mode("secant"), /*seed=*/5, /*before=*/5, "cdat_secant_state.pt");
}

// Two exact computations of uᵀHu (double backward; forward over reverse), each within the MLP's bound.
TEST(CurvatureMode, ForwardOverReverseAgreesWithExactOnATinyMlp) {
  TinyMlp m;
  const double tolerance = tolerance_for(torch::kFloat64, 2 * m.curvature_roundings(first_step_condition(m)));
  const double exact = first_step_curvature(m, "exact");
  const double forward = first_step_curvature(m, "forward");
  EXPECT_NEAR(forward, exact, tolerance * std::abs(exact));
}

TEST(CurvatureMode, ForwardOverReverseIsExactOnAQuadratic) {
  const auto step = first_step_on_quadratic("forward", 23);
  EXPECT_NEAR(step.measured, step.exact, tolerance_for(torch::kFloat64, step.exact_roundings) * step.exact);
  EXPECT_TRUE(step.warning.empty());
}

// Over Adam steps, each step from the same point: b takes a's parameters before every step (the Adam and
// tuner states then see the same gradients), so the two differ by one step's rounding, not by a trajectory
// that would amplify it (Adam + CDAT at σ = 2 is chaotic: tests/distributed). Adam's u = −m̂/(√v̂ + ε) adds
// ≤ 10 roundings (the moments, the bias corrections, √, +ε, ÷); η = σ·n/d adds n = −gᵀu's, the forward, the
// backward and a P-term dot after u (2·pass + P + 10), and 2.
TEST(CurvatureMode, ForwardOverReverseFollowsExactOverAdamSteps) {
  TinyMlp a(3, 8, 2, 16, /*seed=*/6), b(3, 8, 2, 16, /*seed=*/6);
  TunedOptimizer exact(a.params(), std::make_unique<Adam>(), std::make_unique<CdatTuner>(), mode("exact"));
  TunedOptimizer forward(b.params(), std::make_unique<Adam>(), std::make_unique<CdatTuner>(),
                         mode("forward"));
  const double numerator = 2 * a.pass_roundings() + static_cast<double>(numel(a.params())) + 10;
  for (int t = 0; t < 5; ++t) {
    auto params_b = b.params();
    copy_(params_b, a.params());
    const torch::Tensor hessian = testing::dense_hessian(a.params(), a.closure());
    exact.step(a.closure());
    forward.step(b.closure());
    const double c = exact.last_stats().curvature, u = exact.last_stats().direction_norm;
    const double curvature = 2 * a.curvature_roundings(testing::curvature_condition_bound(hessian, u * u, c), 10);
    EXPECT_NEAR(forward.last_stats().curvature, c, tolerance_for(torch::kFloat64, curvature) * std::abs(c))
        << "step " << t;
    EXPECT_NEAR(forward.last_stats().lr, exact.last_stats().lr,
                tolerance_for(torch::kFloat64, curvature + 2 * numerator + 2) * exact.last_stats().lr)
        << "step " << t;
  }
  EXPECT_TRUE(forward_ad_failure(forward).empty());
}

// LibTorch 1.13 has no forward derivative for _log_softmax_backward_data (nor for the backward of nll_loss,
// softmax, layer norm and batch norm), so forward-over-reverse fails on a cross-entropy loss.
TEST(CurvatureMode, ForwardOverReverseFallsBackToExactOnceWhereAnOpHasNoForwardDerivative) {
  TinyMlp a(3, 6, 3, 8, /*seed=*/7), b(3, 6, 3, 8, /*seed=*/7);
  const torch::Tensor labels = eight_labels();
  auto cross_entropy = [&labels](TinyMlp& m) -> LossClosure {
    return [&m, &labels] { return -torch::log_softmax(m.net->forward(m.x), 1).gather(1, labels.unsqueeze(1)).mean(); };
  };
  TunedOptimizer exact = gd_cdat(a.params(), "exact");
  TunedOptimizer forward = gd_cdat(b.params(), "forward");
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
  EXPECT_NE(forward_ad_failure(forward).find("_log_softmax_backward_data"), std::string::npos);
  // The failed attempt exited its dual level: forward AD still works for a supported model.
  TinyMlp m;
  const double exact_curvature = first_step_curvature(m, "exact");
  EXPECT_NEAR(
      first_step_curvature(m, "forward"), exact_curvature,
      tolerance_for(torch::kFloat64, 2 * m.curvature_roundings(first_step_condition(m))) * std::abs(exact_curvature));
}

// The same cross-entropy written as logsumexp(z) − z_y: every op of it and of its backward has a forward
// derivative in LibTorch 1.13, so forward-over-reverse runs (no fallback) and equals exact: compared at each
// step from the same point (b takes a's parameters), each within the MLP's bound; the cross-entropy's
// elementwise operations (exp, log, −z_y) are within pass_roundings' 7 (its sums are the MSE's).
TEST(CurvatureMode, ForwardOverReverseWorksOnCrossEntropyWrittenWithLogsumexp) {
  TinyMlp a(3, 6, 3, 8, /*seed=*/8), b(3, 6, 3, 8, /*seed=*/8);
  const torch::Tensor labels = eight_labels();
  auto cross_entropy = [&labels](TinyMlp& m) -> LossClosure {
    return [&m, &labels] {
      const torch::Tensor z = m.net->forward(m.x);
      return (torch::logsumexp(z, 1) - z.gather(1, labels.unsqueeze(1)).squeeze(1)).mean();
    };
  };
  TunedOptimizer exact = gd_cdat(a.params(), "exact");
  TunedOptimizer forward = gd_cdat(b.params(), "forward");
  for (int t = 0; t < 3; ++t) {
    auto params_b = b.params();
    copy_(params_b, a.params());
    const torch::Tensor hessian = testing::dense_hessian(a.params(), cross_entropy(a));
    exact.step(cross_entropy(a));
    forward.step(cross_entropy(b));
    const double c = exact.last_stats().curvature, u = exact.last_stats().direction_norm;
    const double tolerance = tolerance_for(
        torch::kFloat64, 2 * a.curvature_roundings(testing::curvature_condition_bound(hessian, u * u, c)));
    EXPECT_NEAR(forward.last_stats().curvature, c, tolerance * std::abs(c)) << "step " << t;
    EXPECT_TRUE(forward.last_stats().warning.empty()) << forward.last_stats().warning;
  }
  EXPECT_TRUE(forward_ad_failure(forward).empty());
}

// On a quadratic the parabola through f(w), gᵀu and f(w + hu) is f itself along u: c = uᵀAu up to rounding.
// Its numerator f(w + hu) − f(w) − h·gᵀu (central: f(w + hu) − 2f(w) + f(w − hu)) is the second-order term
// h²uᵀAu/2 (h²uᵀAu): the loss values' 2k + 2 roundings each on value_magnitude_at, w ± hu's two on
// |w| + h|u| (moved through |g|), and h·gᵀu's (k + its gradient's k + 3, on h·|u|ᵀm) all count against it.
TEST(CurvatureMode, ParabolaIsExactOnAQuadraticAtTheFirstAndLaterSteps) {
  for (const bool central : {false, true}) {
    Quadratic q({0.5, 2.0, 9.0}, /*seed=*/24);
    TunedOptimizerOptions o = mode("parabola");
    o.parabola_central = central;
    TunedOptimizer optimizer(q.params(), std::make_unique<GradientDescent>(), std::make_unique<CdatTuner>(), o);
    const double k = static_cast<double>(q.spectrum.size());
    for (int t = 0; t < 3; ++t) {  // step 0: h from ‖w‖; then h = 0.1·η_{t−1}
      const torch::Tensor w = q.w.detach().clone();
      auto u = -q.gradient_at(w);
      const double h = t == 0 ? o.fd_step * std::max(w.norm().item<double>(), 1.0) / u.norm().item<double>()
                              : o.parabola_step * optimizer.last_stats().lr;
      optimizer.step(q.closure());
      const double exact = torch::dot(u, q.A.mv(u)).item<double>();
      const torch::Tensor reach = w.abs() + h * u.abs();
      double values = q.value_magnitude_at(w + h * u) + (central ? 2.0 : 1.0) * q.value_magnitude_at(w);
      double moved = q.gradient_at(w + h * u).abs().dot(reach).item<double>();
      if (central) {
        values += q.value_magnitude_at(w - h * u);
        moved += q.gradient_at(w - h * u).abs().dot(reach).item<double>();
      }
      const double slope =
          central ? 0.0 : h * (k + (k + 3)) * (q.A.abs().mv(w.abs()) + q.b.abs()).dot(u.abs()).item<double>();
      const double second_order = (central ? 1.0 : 0.5) * h * h * exact;
      const double roundings = ((2 * k + 2) * values + 2 * moved + slope) / second_order + 3 + q.curvature_roundings(w);
      EXPECT_NEAR(optimizer.last_stats().curvature, exact, tolerance_for(torch::kFloat64, roundings) * exact)
          << "step " << t << " central " << central;
      EXPECT_FALSE(optimizer.last_stats().curvature_fallback);
    }
  }
}

// A float32 quadratic shifted by 1e4: the loss values round to ≈1e-3, far above the second-order term
// h²uᵀAu/2 ≈ 1e-5, so the parabola is rounding noise; the step measures exactly instead and says so. That
// exact uᵀAu and the test's are two float32 computations, each within curvature_roundings (problems.h).
TEST(CurvatureMode, ParabolaFallsBackToExactWhereTheLossValuesCancel) {
  Quadratic q({0.5, 2.0, 9.0}, /*seed=*/25, torch::kFloat32);
  TunedOptimizer optimizer(q.params(), std::make_unique<GradientDescent>(), std::make_unique<ConstantTuner>(0.01),
                           [] {
                             TunedOptimizerOptions o = mode("parabola");
                             o.measure_curvature = true;
                             return o;
                           }());
  for (int t = 0; t < 2; ++t) {
    const torch::Tensor w = q.w.detach().clone();
    auto u = -q.gradient_at(w);
    optimizer.step([&q] { return q.loss() + 1e4; });
    const double exact = torch::dot(u, q.A.mv(u)).item<double>();
    EXPECT_TRUE(optimizer.last_stats().curvature_fallback) << "step " << t;
    EXPECT_NEAR(optimizer.last_stats().curvature, exact,
                tolerance_for(torch::kFloat32, 2 * q.curvature_roundings(w)) * exact)
        << "step " << t;
  }
}

// After an outsized step h = 0.1·η_{t−1} is no longer local: f(x) = x⁴, x₀ = 0.5, a constant η₀ = 3 lands
// on x₁ = 0.5 − 3·4·0.5³ = −1, where u = −f'(x₁) = 4, n = −gᵀu = 16 and uᵀHu = u²·12x₁² = 192. Along u the
// parabolas carry f'''(x₁) = −24 and f'''' = 24: one-sided c(h) = u²(12 − 24·hu/3 + 24(hu)²/12)
// = 16(12 − 32h + 32h²), central c(h) = u²(12 + 24(hu)²/12) = 16(12 + 32h²). At h = 0.1·3 = 0.3 they are
// 84.48 and 238.08, so h·c > n (h longer than the estimate's own greedy step n/c): the step measures again
// at h = 0.1·n/c = 1.6/84.48 resp. 1.6/238.08, where h·c < n. Without that: 0.44 × and 1.24 × uᵀHu.
// Rounding: the parabola's numerator (h²c/2 one-sided, h²c central) cancels the loss values (x⁴: 3
// roundings and x + hu's 1 each) and h·f'·u (2), summed in 3 more: 7 roundings on the sum of their
// magnitudes; the library's h differs from the literal by its first parabola's rounding (≲ 10 ε, moving c
// by ≲ 1 ε), and `expected` takes 6.
TEST(CurvatureMode, ParabolaShortensAStepLongerThanItsOwnGreedyStep) {
  for (const bool central : {false, true}) {
    auto x = torch::tensor({0.5}, torch::kFloat64).requires_grad_();
    TunedOptimizerOptions o = mode("parabola");
    o.parabola_central = central;
    o.measure_curvature = true;
    TunedOptimizer optimizer({x}, std::make_unique<GradientDescent>(), std::make_unique<ConstantTuner>(3.0), o);
    auto quartic = [&x] { return x.pow(4).sum(); };
    optimizer.step(quartic);
    ASSERT_DOUBLE_EQ(x.item<double>(), -1.0);
    optimizer.step(quartic);
    const double h = central ? 1.6 / 238.08 : 1.6 / 84.48;
    const double expected = central ? 16.0 * (12.0 + 32.0 * h * h) : 16.0 * (12.0 - 32.0 * h + 32.0 * h * h);
    const double magnitudes = central ? std::pow(-1.0 + 4 * h, 4) + 2.0 + std::pow(-1.0 - 4 * h, 4)
                                      : std::pow(-1.0 + 4 * h, 4) + 1.0 + 16 * h;  // f(x + hu), f(x), |h·f'(x)·u|
    const double numerator = (central ? 1.0 : 0.5) * h * h * expected;
    EXPECT_NEAR(optimizer.last_stats().curvature, expected,
                tolerance_for(torch::kFloat64, 7 * magnitudes / numerator + 1 + 6) * expected)
        << "central " << central;
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
// optimizer forms, up to the rounding of ‖u‖ in StepStats). Rounding: a measured uᵀAu and the test's are two
// computations (problems.h); κ̄·‖u_t‖² takes ‖u₀‖², ‖u_t‖² on both sides, the measured uᵀAu's own, and 3
// products and quotients.
TEST(CurvatureMode, AmortisedCurvatureReusesTheLastDirectionalCurvature) {
  Quadratic q({0.5, 2.0, 9.0}, /*seed=*/26);
  TunedOptimizerOptions o = mode("exact");
  o.curvature_every = 4;
  TunedOptimizer optimizer(q.params(), std::make_unique<GradientDescent>(), std::make_unique<CdatTuner>(), o);
  double kappa = 0.0, kappa_roundings = 0.0;
  for (int t = 0; t < 6; ++t) {
    const torch::Tensor w = q.w.detach().clone();
    auto u = -q.gradient_at(w);
    optimizer.step(q.closure());
    const double u_sq = u.dot(u).item<double>();
    const double measured = optimizer.last_stats().curvature;
    if (t % 4 == 0) {
      const double exact = torch::dot(u, q.A.mv(u)).item<double>();
      EXPECT_NEAR(measured, exact, tolerance_for(torch::kFloat64, 2 * q.curvature_roundings(w)) * exact)
          << "step " << t;
      kappa = measured / u_sq;
      kappa_roundings = q.curvature_roundings(w) + 2 * q.gradient_sq_norm_roundings(w);
    } else {
      const double roundings = kappa_roundings + 2 * q.gradient_sq_norm_roundings(w) + 3;
      EXPECT_NEAR(measured, kappa * u_sq, tolerance_for(torch::kFloat64, roundings) * kappa * u_sq) << "step " << t;
    }
  }
}

// Resuming in the middle of a curvature_every window needs κ̄ and η_{t−1} (the parabola's h): the
// resumed run continues bit-exactly.
TEST(CurvatureMode, AmortisedParabolaResumesExactly) {
  TunedOptimizerOptions o = mode("parabola");
  o.curvature_every = 3;
  expect_optimizer_resumes_exactly(o, /*seed=*/9, /*before=*/4, "cdat_amortised_state.pt");
}

// measure_curvature_every = 3 with a tuner that needs no curvature: measured on steps 0, 3, 6 only.
TEST(CurvatureMode, DiagnosticCurvatureOnlyOnItsSteps) {
  Quadratic q({0.5, 2.0, 9.0}, /*seed=*/27);
  TunedOptimizerOptions o = mode("exact");
  o.measure_curvature_every = 3;
  TunedOptimizer optimizer(q.params(), std::make_unique<GradientDescent>(), std::make_unique<ConstantTuner>(0.05), o);
  for (int t = 0; t < 7; ++t) {
    const torch::Tensor w = q.w.detach().clone();
    auto u = -q.gradient_at(w);
    optimizer.step(q.closure());
    const double measured = optimizer.last_stats().curvature;
    if (t % 3 == 0) {
      const double exact = torch::dot(u, q.A.mv(u)).item<double>();
      EXPECT_NEAR(measured, exact, tolerance_for(torch::kFloat64, 2 * q.curvature_roundings(w)) * exact)
          << "step " << t;
    } else {
      EXPECT_TRUE(std::isnan(measured)) << "step " << t;
    }
  }
}

// A registered estimator is chosen by name: one that asks the exact estimator and counts its calls trains
// bit-identically to "exact", is asked once a step, and with curvature_every = 3 only on steps 0 and 3.
class CountingCurvature final : public CurvatureEstimator {
 public:
  explicit CountingCurvature(int* calls) : calls_(calls) {}
  std::string name() const override { return "test-counting"; }
  bool needs_gradient_graph(int64_t) const override { return true; }
  CurvatureEstimate estimate(const CurvatureQuery& query) override {
    ++*calls_;
    return exact_.estimate(query);
  }

 private:
  int* calls_;
  ExactCurvature exact_;
};

int counting_calls = 0;
const bool counting_registered = register_curvature_estimator(
    {"test-counting", "exact, counting its calls (test)",
     [](const CurvatureOptions&) { return std::make_unique<CountingCurvature>(&counting_calls); }});

TEST(CurvatureEstimator, ARegisteredEstimatorIsChosenByName) {
  ASSERT_TRUE(counting_registered);
  const auto names = curvature_estimator_names();
  EXPECT_EQ(names.back(), "test-counting");
  EXPECT_EQ(std::vector<std::string>(names.begin(), names.begin() + 5),
            (std::vector<std::string>{"exact", "forward", "secant", "fd", "parabola"}));
  for (const int every : {1, 3}) {
    TinyMlp a(3, 8, 2, 16, /*seed=*/31), b(3, 8, 2, 16, /*seed=*/31);
    TunedOptimizerOptions counted = mode("test-counting"), exact = mode("exact");
    counted.curvature_every = exact.curvature_every = every;
    TunedOptimizer with_counting(a.params(), std::make_unique<GradientDescent>(), std::make_unique<CdatTuner>(), counted);
    TunedOptimizer with_exact(b.params(), std::make_unique<GradientDescent>(), std::make_unique<CdatTuner>(), exact);
    counting_calls = 0;
    for (int t = 0; t < 5; ++t) {
      with_counting.step(a.closure());
      with_exact.step(b.closure());
      EXPECT_EQ(with_counting.last_stats().curvature, with_exact.last_stats().curvature) << "step " << t;
    }
    EXPECT_EQ(counting_calls, every == 1 ? 5 : 2) << "curvature_every " << every;
    for (size_t i = 0; i < a.params().size(); ++i) EXPECT_TRUE(torch::equal(a.params()[i], b.params()[i]));
  }
}

TEST(CurvatureEstimator, UnknownNamesAndTakenNamesAreRefused) {
  TinyMlp m(3, 8, 2, 16, /*seed=*/32);
  try {
    gd_cdat(m.params(), "exactly");
    FAIL() << "an unknown curvature mode was accepted";
  } catch (const InvalidOption& e) {
    EXPECT_NE(std::string(e.what()).find("curvature-mode: unknown value 'exactly' (valid: exact, forward, secant, fd, "
                                         "parabola"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(register_curvature_estimator({"exact", "again", [](const CurvatureOptions&) {
                                               return std::make_unique<ExactCurvature>();
                                             }}),
               InvalidOption);
  TunedOptimizerOptions o = mode("exact");
  o.curvature_every = 0;
  EXPECT_THROW(TunedOptimizer(m.params(), std::make_unique<GradientDescent>(), std::make_unique<CdatTuner>(), o),
               InvalidOption);
}

// "parabola-central" is the parabola with parabola_central: the same estimator, bit-identical steps.
TEST(CurvatureEstimator, ParabolaCentralByNameIsTheParabolaWithItsOption) {
  TinyMlp a(3, 8, 2, 16, /*seed=*/33), b(3, 8, 2, 16, /*seed=*/33);
  TunedOptimizerOptions by_option = mode("parabola");
  by_option.parabola_central = true;
  TunedOptimizer by_name = gd_cdat(a.params(), "parabola-central");
  TunedOptimizer with_option(b.params(), std::make_unique<GradientDescent>(), std::make_unique<CdatTuner>(), by_option);
  EXPECT_EQ(by_name.curvature_estimator().name(), "parabola-central");
  EXPECT_EQ(with_option.curvature_estimator().name(), "parabola-central");
  for (int t = 0; t < 5; ++t) {
    by_name.step(a.closure());
    with_option.step(b.closure());
    EXPECT_EQ(by_name.last_stats().curvature, with_option.last_stats().curvature) << "step " << t;
  }
  for (size_t i = 0; i < a.params().size(); ++i) EXPECT_TRUE(torch::equal(a.params()[i], b.params()[i]));
}

}  // namespace
}  // namespace cdat
