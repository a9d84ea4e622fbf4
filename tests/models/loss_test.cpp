#include "models/loss.h"

#include "models_test_util.h"

#include <gtest/gtest.h>

#include <cmath>

namespace cdat::models {
namespace {

torch::Tensor toy_outputs() { return torch::tensor({1.0, 2.0, 3.0, 0.5, 0.0, 0.2}, torch::kFloat64).reshape({2, 3}); }
torch::Tensor toy_labels() { return torch::tensor({2, 1}, torch::kInt64); }

TEST(LossTest, CrossEntropyByHand) {
  const double row0 = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0)) - 3.0;
  const double row1 = std::log(std::exp(0.5) + std::exp(0.0) + std::exp(0.2)) - 0.0;
  EXPECT_NEAR(cross_entropy(toy_outputs(), toy_labels()).item<double>(), (row0 + row1) / 2, 1e-12);
}

// Closed forms that need no log-sum-exp: equal logits over K classes give ln K; logits (0, ln 2, ln 5) give
// ln(1 + 2 + 5) − 0 = 3 ln 2 for label 0 and ln 8 − ln 5 = ln 1.6 for label 2.
TEST(LossTest, CrossEntropyClosedForms) {
  const auto uniform = torch::full({1, 4}, 0.7, torch::kFloat64);
  EXPECT_NEAR(cross_entropy(uniform, torch::tensor({3}, torch::kInt64)).item<double>(), 2 * std::log(2.0), 1e-15);
  const auto logits = torch::tensor({0.0, std::log(2.0), std::log(5.0)}, torch::kFloat64).reshape({1, 3});
  EXPECT_NEAR(cross_entropy(logits, torch::tensor({0}, torch::kInt64)).item<double>(), 3 * std::log(2.0), 1e-15);
  EXPECT_NEAR(cross_entropy(logits, torch::tensor({2}, torch::kInt64)).item<double>(), std::log(1.6), 1e-15);
}

TEST(LossTest, MseIsHalfSquaredDistanceToOneHotSummedOverOutputsMeanOverExamples) {
  // row 0: ½(1² + 2² + (3−1)²) = 4.5; row 1: ½(0.5² + (0−1)² + 0.2²) = 0.645.
  EXPECT_NEAR(mse(toy_outputs(), toy_labels()).item<double>(), (4.5 + 0.645) / 2, 1e-12);
  EXPECT_NEAR(compute_loss(LossKind::MSE, toy_outputs(), toy_labels()).item<double>(), 2.5725, 1e-12);
}

TEST(LossTest, Accuracy) {
  EXPECT_DOUBLE_EQ(accuracy(toy_outputs(), toy_labels()), 0.5);  // row 0 right (2), row 1 wrong (0 ≠ 1)
}

TEST(LossTest, SequencesAverageOverAllTokens) {
  torch::manual_seed(0);
  torch::Tensor out = torch::randn({2, 3, 5}, torch::kFloat64);
  torch::Tensor lab = torch::randint(5, {2, 3}, torch::kInt64);
  for (LossKind k : {LossKind::CrossEntropy, LossKind::MSE}) {
    EXPECT_NEAR(compute_loss(k, out, lab).item<double>(),
                compute_loss(k, out.reshape({6, 5}), lab.reshape({6})).item<double>(), 1e-12);
  }
  EXPECT_NEAR(cross_entropy(out, lab).item<double>(),
              torch::nll_loss(torch::log_softmax(out.reshape({6, 5}), 1), lab.reshape({6})).item<double>(), 1e-12);
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
    EXPECT_TRUE(torch::allclose(hv, expected, 1e-10, 1e-12)) << to_string(k);
    torch::Tensor third = torch::autograd::grad({(hv * v).sum()}, {z}, {}, true, false, true)[0];
    if (k == LossKind::CrossEntropy) {
      ASSERT_TRUE(third.defined());
      EXPECT_GT(third.abs().max().item<double>(), 0.0);
    }
  }
}

}  // namespace
}  // namespace cdat::models
