// Curvature diagnostics against known spectra, a dense Hessian and finite differences.
#include <cdat/cdat.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "problems.h"

namespace cdat {
namespace {

using testing::Quadratic;
using testing::TinyMlp;

LinearOperator matrix_operator(const torch::Tensor& A) {
  return [A](const torch::Tensor& v) { return A.mv(v); };
}

TEST(Curvature, LanczosRecoversLambdaMaxOfAKnownSpectrum) {
  std::vector<double> spectrum;
  for (int i = 0; i < 200; ++i) spectrum.push_back(0.01 * i);
  spectrum.back() = 25.0;  // λ_max, with a gap
  spectrum[150] = 17.0;
  Quadratic q(spectrum, /*seed=*/3);
  HessianOperator H(q.params(), q.closure());
  EigenOptions o;
  o.iterations = 30;
  auto r = lanczos(H.as_operator(), q.w.detach(), o);
  EXPECT_LT(std::abs(r.eigenvalue - 25.0) / 25.0, 1e-6);
  // The eigenvector is the top eigenvector of A.
  EXPECT_NEAR((q.A.mv(r.eigenvector) - 25.0 * r.eigenvector).norm().item<double>(), 0.0, 1e-4);
  EXPECT_NEAR(r.eigenvector.norm().item<double>(), 1.0, 1e-12);
}

TEST(Curvature, LanczosStopsOnAnInvariantSubspaceAndIsExactForSmallProblems) {
  Quadratic q({-3.0, 1.0, 2.0, 9.0}, /*seed=*/8);
  EigenOptions o;
  o.iterations = 50;  // more than the dimension
  auto r = lanczos(matrix_operator(q.A), q.w.detach(), o);
  EXPECT_LE(r.iterations, 4);
  EXPECT_NEAR(r.eigenvalue, 9.0, 1e-10);
  ASSERT_EQ(r.ritz_values.size(), static_cast<size_t>(r.iterations));
  EXPECT_NEAR(r.ritz_values.front(), -3.0, 1e-10);
}

TEST(Curvature, PowerIterationRecoversLambdaMaxAndWarmStarts) {
  Quadratic q({0.5, 1.0, 2.0, 4.0, 10.0}, /*seed=*/9);
  EigenOptions o;
  o.iterations = 500;
  o.tolerance = 1e-15;
  auto r = power_iteration(matrix_operator(q.A), q.w.detach(), o);
  EXPECT_LT(std::abs(r.eigenvalue - 10.0) / 10.0, 1e-6);
  // Warm-started from the answer, it converges immediately.
  EigenOptions warm;
  warm.iterations = 500;
  warm.tolerance = 1e-12;
  warm.start = r.eigenvector;
  auto again = power_iteration(matrix_operator(q.A), q.w.detach(), warm);
  EXPECT_LE(again.iterations, 3);
  EXPECT_NEAR(again.eigenvalue, 10.0, 1e-8);
}

TEST(Curvature, HvpEqualsDenseHessianTimesVector) {
  TinyMlp m;
  auto H = testing::dense_hessian(m.params(), m.closure());
  auto v = torch::randn({H.size(0)}, torch::kFloat64);
  auto hv = flatten(hvp(m.params(), m.closure(), unflatten(v, m.params())));
  EXPECT_TRUE(torch::allclose(hv, H.mv(v), 1e-10, 1e-12));
  // Through the operator too, several products on one forward pass.
  HessianOperator op(m.params(), m.closure());
  for (int k = 0; k < 3; ++k) {
    auto w = torch::randn({H.size(0)}, torch::kFloat64);
    EXPECT_TRUE(torch::allclose(op(w), H.mv(w), 1e-10, 1e-12));
  }
}

TEST(Curvature, HvpMatchesCentralFiniteDifferencesOfTheGradient) {
  TinyMlp m;
  auto params = m.params();
  auto v = torch::randn({numel(params)}, torch::kFloat64);
  auto hv = flatten(hvp(params, m.closure(), unflatten(v, params)));
  const double h = 1e-5;
  auto w0 = clone_detached(params);
  add_scaled_(params, unflatten(v, params), h);
  auto g_plus = testing::flat_gradient(params, m.closure());
  copy_(params, w0);
  add_scaled_(params, unflatten(v, params), -h);
  auto g_minus = testing::flat_gradient(params, m.closure());
  copy_(params, w0);
  auto fd = (g_plus - g_minus) / (2 * h);
  EXPECT_LT((hv - fd).norm().item<double>(), 1e-7 * hv.norm().item<double>());
}

TEST(Curvature, PreconditionedSharpnessMatchesDenseEigenvalue) {
  TinyMlp m;
  auto H = testing::dense_hessian(m.params(), m.closure());
  const int64_t n = H.size(0);
  auto p = torch::rand({n}, torch::kFloat64) + 0.5;
  auto s = p.rsqrt();
  auto dense = torch::diag(s).mm(H).mm(torch::diag(s));
  const double expected = std::get<0>(torch::linalg_eigh(dense, "L")).max().item<double>();
  HessianOperator op(m.params(), m.closure());
  EigenOptions o;
  o.iterations = static_cast<int>(n);
  auto r = lanczos(precondition(op.as_operator(), p), p, o);
  EXPECT_NEAR(r.eigenvalue, expected, 1e-8 * std::abs(expected));
  EXPECT_THROW(precondition(op.as_operator(), -p), InvalidOption);
}

TEST(Curvature, HutchinsonIsExactOnDiagonalAndUnbiasedOtherwise) {
  auto d = torch::tensor({1.0, -2.0, 5.0, 0.5}, torch::kFloat64);
  EXPECT_NEAR(hutchinson_trace(matrix_operator(torch::diag(d)), d, 3), 4.5, 1e-12);
  Quadratic q({1.0, 2.0, 3.0, 4.0, 5.0, 6.0}, /*seed=*/12);
  const double estimate = hutchinson_trace(matrix_operator(q.A), q.w.detach(), 4000, /*seed=*/1);
  // Var(zᵀAz) = 2 Σ_{i≠j} A_ij²; 4000 samples give a standard error well under 0.3.
  const double off_diagonal = (q.A.pow(2).sum() - q.A.diag().pow(2).sum()).item<double>();
  const double standard_error = std::sqrt(2 * off_diagonal / 4000);
  EXPECT_NEAR(estimate, 21.0, 5 * standard_error);
}

TEST(Curvature, AlignmentOfUpdateWithEigenvector) {
  auto v = torch::tensor({0.0, 1.0, 0.0}, torch::kFloat64);
  EXPECT_DOUBLE_EQ(alignment(torch::tensor({0.0, -3.0, 0.0}, torch::kFloat64), v), 1.0);
  EXPECT_DOUBLE_EQ(alignment(torch::tensor({2.0, 0.0, 1.0}, torch::kFloat64), v), 0.0);
  EXPECT_NEAR(alignment(torch::tensor({1.0, 1.0, 0.0}, torch::kFloat64), v), std::sqrt(0.5), 1e-15);
  EXPECT_EQ(alignment(torch::zeros({3}, torch::kFloat64), v), 0.0);
}

}  // namespace
}  // namespace cdat
