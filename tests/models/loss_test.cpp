#include "models/loss.h"

#include <gtest/gtest.h>

#include <cmath>

#include "models_test_util.h"
#include "tolerance.h"

namespace cdat::models {
namespace {

using cdat::testing::tolerance_for;

// Rounding of a loss over a [rows, K] output (tolerance.h): per row, log-softmax's max, K exps, a K-term
// sum, a log and −z_y (or MSE's K squares and K-term sum, ½): ≤ 2K + 4; the mean over rows rows + 1. On the
// magnitudes per row, ≤ K·(max|z| + 1)², no cancellation between rows (each row's loss is ≥ 0).
double loss_roundings(int64_t rows, int64_t classes) { return 2.0 * classes + 4 + static_cast<double>(rows) + 1; }
double loss_magnitude(const torch::Tensor& outputs, int64_t classes) {
  const double z = outputs.abs().max().item<double>() + 1;
  return static_cast<double>(classes) * z * z;
}

torch::Tensor toy_outputs() { return torch::tensor({1.0, 2.0, 3.0, 0.5, 0.0, 0.2}, torch::kFloat64).reshape({2, 3}); }
torch::Tensor toy_labels() { return torch::tensor({2, 1}, torch::kInt64); }

TEST(LossTest, CrossEntropyByHand) {
  const double row0 = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0)) - 3.0;
  const double row1 = std::log(std::exp(0.5) + std::exp(0.0) + std::exp(0.2)) - 0.0;
  // Two computations of the same value (the library's and this by-hand formula of ~the same length).
  EXPECT_NEAR(cross_entropy(toy_outputs(), toy_labels()).item<double>(), (row0 + row1) / 2,
              tolerance_for(torch::kFloat64, 2 * loss_roundings(2, 3)) * loss_magnitude(toy_outputs(), 3));
}

// Closed forms that need no log-sum-exp: equal logits over K classes give ln K; logits (0, ln 2, ln 5) give
// ln(1 + 2 + 5) − 0 = 3 ln 2 for label 0 and ln 8 − ln 5 = ln 1.6 for label 2. Rounding: the uniform row's
// exps are exp(0) = 1 exactly, so only the log (≤ 1 ulp, 2 roundings' worth) and 2 ln 2 (2); the other
// row's: the logits themselves (ln 2, ln 5: 2 each), 3 exps, the sum and the log (2 each), −z_y, and the
// closed form's 2 logs: ≤ 20 on magnitudes ≤ ln 8.
TEST(LossTest, CrossEntropyClosedForms) {
  const auto uniform = torch::full({1, 4}, 0.7, torch::kFloat64);
  EXPECT_NEAR(cross_entropy(uniform, torch::tensor({3}, torch::kInt64)).item<double>(), 2 * std::log(2.0),
              tolerance_for(torch::kFloat64, 4) * std::log(4.0));
  const auto logits = torch::tensor({0.0, std::log(2.0), std::log(5.0)}, torch::kFloat64).reshape({1, 3});
  const double tolerance = tolerance_for(torch::kFloat64, 20) * std::log(8.0);
  EXPECT_NEAR(cross_entropy(logits, torch::tensor({0}, torch::kInt64)).item<double>(), 3 * std::log(2.0), tolerance);
  EXPECT_NEAR(cross_entropy(logits, torch::tensor({2}, torch::kInt64)).item<double>(), std::log(1.6), tolerance);
}

TEST(LossTest, MseIsHalfSquaredDistanceToOneHotSummedOverOutputsMeanOverExamples) {
  // row 0: ½(1² + 2² + (3−1)²) = 4.5; row 1: ½(0.5² + (0−1)² + 0.2²) = 0.645.
  // The decimal inputs (0.5, 0.2) and the literals round too: 2 more each side.
  const double tolerance =
      tolerance_for(torch::kFloat64, 2 * (loss_roundings(2, 3) + 2)) * loss_magnitude(toy_outputs(), 3);
  EXPECT_NEAR(mse(toy_outputs(), toy_labels()).item<double>(), (4.5 + 0.645) / 2, tolerance);
  EXPECT_NEAR(compute_loss(LossKind::MSE, toy_outputs(), toy_labels()).item<double>(), 2.5725, tolerance);
}

TEST(LossTest, Accuracy) {
  EXPECT_DOUBLE_EQ(accuracy(toy_outputs(), toy_labels()), 0.5);  // row 0 right (2), row 1 wrong (0 ≠ 1)
}

TEST(LossTest, SequencesAverageOverAllTokens) {
  torch::manual_seed(0);
  torch::Tensor out = torch::randn({2, 3, 5}, torch::kFloat64);
  torch::Tensor lab = torch::randint(5, {2, 3}, torch::kInt64);
  // Two computations over the same 6 rows of 5 classes, each within loss_roundings.
  const double tolerance = tolerance_for(torch::kFloat64, 2 * loss_roundings(6, 5)) * loss_magnitude(out, 5);
  for (LossKind k : {LossKind::CrossEntropy, LossKind::MSE}) {
    EXPECT_NEAR(compute_loss(k, out, lab).item<double>(),
                compute_loss(k, out.reshape({6, 5}), lab.reshape({6})).item<double>(), tolerance);
  }
  EXPECT_NEAR(cross_entropy(out, lab).item<double>(),
              torch::nll_loss(torch::log_softmax(out.reshape({6, 5}), 1), lab.reshape({6})).item<double>(), tolerance);
  EXPECT_THROW(mse(out, lab.reshape({6})), std::invalid_argument);
}

TEST(LossTest, ParseNames) {
  EXPECT_EQ(parse_loss("ce"), LossKind::CrossEntropy);
  EXPECT_EQ(parse_loss("cross_entropy"), LossKind::CrossEntropy);
  EXPECT_EQ(parse_loss("mse"), LossKind::MSE);
  EXPECT_EQ(to_string(LossKind::MSE), "mse");
  EXPECT_THROW(parse_loss("hinge"), std::invalid_argument);
}

// Hessians w.r.t. the outputs, by double backward, against their closed forms:
// MSE: I / N; cross-entropy: (diag(p) − ppᵀ) / N row by row. Then a third derivative (grad with
// create_graph twice) to be sure the graph of the second one is differentiable again.
TEST(LossTest, DoubleAndTripleBackward) {
  torch::manual_seed(0);
  torch::Tensor z = torch::randn({4, 3}, torch::kFloat64).requires_grad_(true);
  torch::Tensor y = torch::tensor({0, 2, 1, 2}, torch::kInt64);
  torch::Tensor v = torch::randn({4, 3}, torch::kFloat64);
  for (LossKind k : {LossKind::CrossEntropy, LossKind::MSE}) {
    torch::Tensor g = torch::autograd::grad({compute_loss(k, z, y)}, {z}, {}, true, true)[0];
    torch::Tensor hv = torch::autograd::grad({(g * v).sum()}, {z}, {}, true, true)[0];
    torch::Tensor expected;
    if (k == LossKind::MSE) {
      expected = v / 4;
    } else {
      torch::Tensor p = torch::softmax(z.detach(), 1);
      expected = (p * v - p * (p * v).sum(1, true)) / 4;
    }
    // Each entry: the softmax (an exp, a 3-term sum, ÷: 5), p·v, the 3-term Σ p·v, p·Σ, −, /4 (7), on
    // magnitudes ≤ 2·max|v|/4, twice (double backward, closed form); both rounds of loss_roundings before.
    const double roundings = 2 * (5 + 7 + loss_roundings(4, 3));
    EXPECT_TRUE(torch::allclose(hv, expected, 0.0,
                                tolerance_for(torch::kFloat64, roundings) * v.abs().max().item<double>() / 2))
        << to_string(k);
    torch::Tensor third = torch::autograd::grad({(hv * v).sum()}, {z}, {}, true, false, true)[0];
    if (k == LossKind::CrossEntropy) {
      ASSERT_TRUE(third.defined());
      EXPECT_GT(third.abs().max().item<double>(), 0.0);
    }
  }
}

}  // namespace
}  // namespace cdat::models
