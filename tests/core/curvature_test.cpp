// Curvature diagnostics against known spectra, a dense Hessian and finite differences.
#include <cdat/cdat.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "problems.h"
#include "tolerance.h"

namespace cdat {
namespace {

using testing::Quadratic;
using testing::TinyMlp;
using testing::tolerance_for;

// Lanczos and power iteration below converge far past rounding (rates stated per test), so what remains of
// their error is rounding: each of k iterations multiplies by the matrix (`product` roundings on |A||v|:
// n for a dense product) and orthogonalises (n-term dots, + 3 for the norm and scalings). A Ritz value is
// then within k·(product + n + 3)·ε·‖|A|‖₂ ≤ k·(product + n + 3)·ε·√n·‖A‖₂ of an eigenvalue
// (‖|A|‖₂ ≤ √n‖A‖₂); this returns that bound relative to ‖A‖₂. A test Quadratic's A = Q·diag·Qᵀ is formed
// with ≤ 2n + 2 roundings, so its eigenvalues are within one more "iteration" of the chosen spectrum.
double ritz_tolerance(int iterations, int64_t n, double product = -1.0) {
  const double dim = static_cast<double>(n);
  return tolerance_for(torch::kFloat64, iterations * ((product < 0 ? dim : product) + dim + 3)) * std::sqrt(dim);
}

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
  // Kaniel–Paige: gap ratio (25 − 17)/17 ≈ 0.47, so 30 steps converge like T₃₀(1.94)⁻² ≈ 3.6⁻⁶⁰: rounding only.
  const double tolerance = ritz_tolerance(o.iterations + 1, 200, 2 * 200 + 3);  // the product: ½(A + Aᵀ)v
  EXPECT_LT(std::abs(r.eigenvalue - 25.0) / 25.0, tolerance);
  // The eigenvector is the top eigenvector of A: its residual is converged too (≈ 3.6⁻³⁰), but for rounding,
  // and 25 differs from the Ritz value by the tolerance above.
  EXPECT_NEAR((q.A.mv(r.eigenvector) - 25.0 * r.eigenvector).norm().item<double>(), 0.0, 2 * tolerance * 25.0);
  EXPECT_NEAR(r.eigenvector.norm().item<double>(), 1.0, tolerance_for(torch::kFloat64, 200 + 3));  // ‖·‖ and ÷
}

TEST(Curvature, LanczosStopsOnAnInvariantSubspaceAndIsExactForSmallProblems) {
  Quadratic q({-3.0, 1.0, 2.0, 9.0}, /*seed=*/8);
  EigenOptions o;
  o.iterations = 50;  // more than the dimension
  auto r = lanczos(matrix_operator(q.A), q.w.detach(), o);
  EXPECT_LE(r.iterations, 4);
  // Exact in exact arithmetic (the whole space); rounding relative to ‖A‖₂ = 9.
  const double tolerance = ritz_tolerance(4 + 1, 4) * 9.0;
  EXPECT_NEAR(r.eigenvalue, 9.0, tolerance);
  ASSERT_EQ(r.ritz_values.size(), static_cast<size_t>(r.iterations));
  EXPECT_NEAR(r.ritz_values.front(), -3.0, tolerance);
}

TEST(Curvature, PowerIterationRecoversLambdaMaxAndWarmStarts) {
  Quadratic q({0.5, 1.0, 2.0, 4.0, 10.0}, /*seed=*/9);
  EigenOptions o;
  o.iterations = 500;
  o.tolerance = 1e-15;
  auto r = power_iteration(matrix_operator(q.A), q.w.detach(), o);
  // The Rayleigh quotient converges like (4/10)²ᵗ: when the run stops at |Δλ| ≤ tolerance·|λ| it is within
  // tolerance/(1 − 0.16) of the limit; that limit is within one product's rounding (one iteration's) of 10.
  auto power_tolerance = [](double stop) { return stop / (1 - 0.16) + ritz_tolerance(1 + 1, 5); };
  EXPECT_LT(std::abs(r.eigenvalue - 10.0) / 10.0, power_tolerance(o.tolerance));
  // Warm-started from the answer, it converges immediately.
  EigenOptions warm;
  warm.iterations = 500;
  warm.tolerance = 1e-12;
  warm.start = r.eigenvector;
  auto again = power_iteration(matrix_operator(q.A), q.w.detach(), warm);
  EXPECT_LE(again.iterations, 3);
  EXPECT_NEAR(again.eigenvalue, 10.0, power_tolerance(warm.tolerance) * 10.0);
}

TEST(Curvature, HvpEqualsDenseHessianTimesVector) {
  TinyMlp m;
  auto H = testing::dense_hessian(m.params(), m.closure());
  auto v = torch::randn({H.size(0)}, torch::kFloat64);
  auto hv = flatten(hvp(m.params(), m.closure(), unflatten(v, m.params())));
  // Two computations of Hv, each entry to the forward, backward and second backward's roundings; the dense
  // side adds its symmetrisation and the P-term product (P + 2). On the magnitudes |H||v| (absolute: an
  // entry of Hv may cancel).
  const double p = static_cast<double>(H.size(0)), roundings = 2 * 3 * m.pass_roundings() + p + 2;
  auto tolerance = [&](const torch::Tensor& x) {
    return tolerance_for(torch::kFloat64, roundings) * H.abs().mv(x.abs()).max().item<double>();
  };
  EXPECT_TRUE(torch::allclose(hv, H.mv(v), 0.0, tolerance(v)));
  // Through the operator too, several products on one forward pass.
  HessianOperator op(m.params(), m.closure());
  for (int k = 0; k < 3; ++k) {
    auto w = torch::randn({H.size(0)}, torch::kFloat64);
    EXPECT_TRUE(torch::allclose(op(w), H.mv(w), 0.0, tolerance(w)));
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
  // A truncation bound, not a rounding one: central differences err by h²·D⁴f[v,v,v,·]/6 ≈ 10⁻¹⁰ relative for
  // derivatives of one order of magnitude; their rounding, 2·pass·ε·‖g‖/(2h) ≈ 10⁻⁹·‖g‖/‖Hv‖, is below 10⁻⁷ too.
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
  // Lanczos over the whole space is exact but for rounding: ritz_tolerance with a product by double backward
  // and the two scalings by P^{-1/2} (3·pass + 2), relative to ‖S‖₂ = max|λ(S)|; eigh's own rounding is
  // within the same form with a dense product.
  const double norm = std::get<0>(torch::linalg_eigh(dense, "L")).abs().max().item<double>();
  const double tolerance =
      ritz_tolerance(o.iterations, n, 3 * m.pass_roundings() + 2) + ritz_tolerance(o.iterations, n);
  EXPECT_NEAR(r.eigenvalue, expected, tolerance * norm);
  EXPECT_THROW(precondition(op.as_operator(), -p), InvalidOption);
}

TEST(Curvature, HutchinsonIsExactOnDiagonalAndUnbiasedOtherwise) {
  auto d = torch::tensor({1.0, -2.0, 5.0, 0.5}, torch::kFloat64);
  // zᵀDz with z_i = ±1 is exact per term; 4-term sums and a 3-sample mean on Σ|d_i| = 8.5.
  EXPECT_NEAR(hutchinson_trace(matrix_operator(torch::diag(d)), d, 3), 4.5,
              tolerance_for(torch::kFloat64, 4 + 3 + 1) * 8.5);
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
  // ⟨u, v⟩ exact, ‖u‖ = √2 and ‖v‖ = 1 (2), the product and the quotient (2), √0.5 (1).
  EXPECT_NEAR(alignment(torch::tensor({1.0, 1.0, 0.0}, torch::kFloat64), v), std::sqrt(0.5),
              tolerance_for(torch::kFloat64, 5) * std::sqrt(0.5));
  EXPECT_EQ(alignment(torch::zeros({3}, torch::kFloat64), v), 0.0);
}

}  // namespace
}  // namespace cdat
