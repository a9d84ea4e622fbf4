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

double first_step_curvature(TinyMlp& m, CurvatureMode curvature_mode) {
  auto saved = clone_detached(m.params());
  TunedOptimizer optimizer(m.params(), std::make_unique<GradientDescent>(), std::make_unique<CdatTuner>(),
                           mode(curvature_mode));
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

TEST(CurvatureMode, FiniteDifferencesAreExactOnAQuadratic) {
  Quadratic q({0.5, 2.0, 9.0}, /*seed=*/21);
  auto w0 = q.w.detach().clone();
  TunedOptimizer optimizer(q.params(), std::make_unique<GradientDescent>(), std::make_unique<CdatTuner>(),
                           mode(CurvatureMode::kFiniteDifference));
  optimizer.step(q.closure());
  auto u = -q.gradient_at(w0);
  const double exact = torch::dot(u, q.A.mv(u)).item<double>();
  EXPECT_NEAR(optimizer.last_stats().curvature, exact, 1e-9 * exact);
}

TEST(CurvatureMode, SecantUsesThePreviousStepsDirectionalCurvature) {
  Quadratic q({0.5, 2.0, 9.0}, /*seed=*/22);
  TunedOptimizer optimizer(q.params(), std::make_unique<GradientDescent>(), std::make_unique<CdatTuner>(),
                           mode(CurvatureMode::kSecant));
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

TEST(CurvatureMode, SecantStateResumesExactly) {
  TinyMlp a(3, 8, 2, 16, /*seed=*/5);
  TinyMlp b(3, 8, 2, 16, /*seed=*/5);
  TunedOptimizer opt_a(a.params(), std::make_unique<Adam>(), std::make_unique<CdatTuner>(), mode(CurvatureMode::kSecant));
  for (int t = 0; t < 5; ++t) opt_a.step(a.closure());
  torch::serialize::OutputArchive out;
  opt_a.save(out);
  const std::string path = ::testing::TempDir() + "cdat_secant_state.pt";
  out.save_to(path);
  auto params_b = b.params();
  copy_(params_b, a.params());
  TunedOptimizer opt_b(b.params(), std::make_unique<Adam>(), std::make_unique<CdatTuner>(), mode(CurvatureMode::kSecant));
  torch::serialize::InputArchive in;
  in.load_from(path);
  opt_b.load(in);
  for (int t = 0; t < 5; ++t) {
    opt_a.step(a.closure());
    opt_b.step(b.closure());
    EXPECT_EQ(opt_a.last_stats().curvature, opt_b.last_stats().curvature) << "step " << t;
  }
  for (size_t i = 0; i < a.params().size(); ++i) EXPECT_TRUE(torch::equal(a.params()[i], b.params()[i]));
}

}  // namespace
}  // namespace cdat
