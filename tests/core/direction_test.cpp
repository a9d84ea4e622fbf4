// Our base directions with a constant learning rate must reproduce LibTorch's own torch::optim steps.
#include <cdat/cdat.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "problems.h"
#include "tolerance.h"

namespace cdat {
namespace {

using testing::TinyMlp;

// Runs `steps` steps of torch::optim and of TunedOptimizer(direction, ConstantTuner(lr)) from the same
// start, and returns whether the largest absolute parameter difference is within float32 rounding.
// `weight_decay` is that of the one parameter group.
//
// Both implementations take the same gradients at the same parameters, so they differ by the rounding of
// their updates: w ← w + step rounds twice on |w|; the step (momentum buffers, moments, bias corrections,
// √, +ε, ÷, ×lr, decoupled decay: ≤ 17 roundings) is ≤ 10·lr ≤ 0.1 of |w| here (RMSProp/Adam's normalised
// steps ≤ lr/√(1 − β₂), the rest ≤ lr·|g|/(1 − β₁)), i.e. ≤ 2 more roundings of |w|; decoupled decay 2.
// So ≤ 6 roundings of max|w| a step on each side, adding up over the steps (with lr·‖H‖ ≪ 1 the gradients'
// feedback of the drift is far smaller).
::testing::AssertionResult agrees_after(
    int steps, double lr, std::unique_ptr<Direction> direction,
    const std::function<std::unique_ptr<torch::optim::Optimizer>(TensorList)>& make_reference,
    double weight_decay = 0.0) {
  TinyMlp ours(3, 8, 2, 16, /*seed=*/3, torch::kFloat32);
  TinyMlp theirs(3, 8, 2, 16, /*seed=*/3, torch::kFloat32);
  ParamGroup group{ours.params()};
  group.weight_decay = weight_decay;
  TunedOptimizer optimizer({group}, std::move(direction), std::make_unique<ConstantTuner>(lr));
  auto reference = make_reference(theirs.params());
  double magnitude = 0.0;
  auto largest = [&magnitude](const TensorList& p) {
    for (const auto& t : p) magnitude = std::max(magnitude, t.abs().max().item<double>());
  };
  largest(ours.params());
  for (int t = 0; t < steps; ++t) {
    optimizer.step(ours.closure());
    reference->zero_grad();
    theirs.loss().backward();
    reference->step();
    largest(ours.params());
  }
  double worst = 0.0;
  for (size_t i = 0; i < ours.params().size(); ++i) {
    worst = std::max(worst, (ours.params()[i] - theirs.params()[i]).abs().max().item<double>());
  }
  const double tolerance = testing::tolerance_for(torch::kFloat32, 2 * 6 * steps) * magnitude;
  if (worst < tolerance) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "max difference " << worst << " over " << steps << " steps, tolerance "
                                       << tolerance;
}

TEST(Direction, GradientDescentMatchesSgd) {
  auto agrees = agrees_after(20, 0.1, std::make_unique<GradientDescent>(), [](TensorList p) {
    return std::make_unique<torch::optim::SGD>(p, torch::optim::SGDOptions(0.1));
  });
  EXPECT_TRUE(agrees);
}

TEST(Direction, HeavyBallMatchesSgdMomentum) {
  DirectionOptions o;
  o.beta1 = 0.9;
  auto agrees = agrees_after(20, 0.05, std::make_unique<Momentum>(o, false), [](TensorList p) {
    return std::make_unique<torch::optim::SGD>(p, torch::optim::SGDOptions(0.05).momentum(0.9));
  });
  EXPECT_TRUE(agrees);
}

TEST(Direction, NesterovMatchesSgdNesterov) {
  DirectionOptions o;
  o.beta1 = 0.8;
  auto agrees = agrees_after(20, 0.05, std::make_unique<Momentum>(o, true), [](TensorList p) {
    return std::make_unique<torch::optim::SGD>(p, torch::optim::SGDOptions(0.05).momentum(0.8).nesterov(true));
  });
  EXPECT_TRUE(agrees);
}

TEST(Direction, RMSPropMatchesTorchRMSprop) {
  DirectionOptions o;
  o.beta2 = 0.99;
  o.eps = 1e-8;
  auto agrees = agrees_after(20, 1e-2, std::make_unique<RMSProp>(o), [](TensorList p) {
    return std::make_unique<torch::optim::RMSprop>(p, torch::optim::RMSpropOptions(1e-2).alpha(0.99).eps(1e-8));
  });
  EXPECT_TRUE(agrees);
}

TEST(Direction, AdamMatchesTorchAdam) {
  DirectionOptions o;
  o.beta1 = 0.9;
  o.beta2 = 0.999;
  auto agrees = agrees_after(25, 1e-2, std::make_unique<Adam>(o), [](TensorList p) {
    return std::make_unique<torch::optim::Adam>(p, torch::optim::AdamOptions(1e-2).betas({0.9, 0.999}).eps(1e-8));
  });
  EXPECT_TRUE(agrees);
}

TEST(Direction, DecoupledWeightDecayMatchesAdamW) {
  auto agrees = agrees_after(
      25, 1e-2, std::make_unique<Adam>(),
      [](TensorList p) {
        return std::make_unique<torch::optim::AdamW>(p, torch::optim::AdamWOptions(1e-2).weight_decay(0.1));
      },
      /*weight_decay=*/0.1);
  EXPECT_TRUE(agrees);
}

TEST(Direction, GradientDescentIsMinusGradientAndStateless) {
  GradientDescent gd;
  TensorList w = {torch::zeros({2})}, g = {torch::tensor({1.0, -2.0})};
  auto u = gd.compute(w, g);
  EXPECT_TRUE(torch::equal(u[0], torch::tensor({-1.0, 2.0})));
  EXPECT_FALSE(gd.preconditioner().has_value());
  EXPECT_EQ(gd.steps(), 1);
}

TEST(Direction, AdamPreconditionerIsBiasCorrectedRootSecondMoment) {
  DirectionOptions o;
  o.beta2 = 0.9;
  o.eps = 1e-3;
  Adam adam(o);
  TensorList w = {torch::zeros({2}, torch::kFloat64)}, g = {torch::tensor({3.0, -4.0}, torch::kFloat64)};
  EXPECT_FALSE(adam.preconditioner().has_value());
  adam.compute(w, g);
  auto p = adam.preconditioner();
  ASSERT_TRUE(p.has_value());
  // After one step v̂ = g², so P = |g| + ε. Rounding: v = (1 − β₂)g² (2) and v/(1 − β₂) (1), where the
  // decimal β₂ = 0.9's representation error, ε/2, is magnified ninefold by 1 − β₂ (twice: 9), √ and +ε (2),
  // and the decimal literals 3.001, 4.001 (1).
  const double rtol = testing::tolerance_for(torch::kFloat64, 3 + 9 + 2 + 1);
  EXPECT_TRUE(torch::allclose((*p)[0], torch::tensor({3.001, 4.001}, torch::kFloat64), rtol, 0.0)) << (*p)[0];
}

// RMSProp's preconditioner is √v + ε with the raw (not bias-corrected) second moment, the same P its
// direction divides by. β₂ = 0.9, g₁ = (3, −4), g₂ = (1, 2):
//   v = 0.9·(0.1·g₁²) + 0.1·g₂² = (0.81 + 0.1, 1.44 + 0.4) = (0.91, 1.84)
// (bias-corrected, v/(1 − 0.9²) = (4.789…, 9.684…), would be a different P).
TEST(Direction, RMSPropPreconditionerIsRootOfTheRawSecondMoment) {
  DirectionOptions o;
  o.beta2 = 0.9;
  o.eps = 1e-3;
  RMSProp rmsprop(o);
  TensorList w = {torch::zeros({2}, torch::kFloat64)};
  EXPECT_FALSE(rmsprop.preconditioner().has_value());
  rmsprop.compute(w, {torch::tensor({3.0, -4.0}, torch::kFloat64)});
  const auto g2 = torch::tensor({1.0, 2.0}, torch::kFloat64);
  const auto u = rmsprop.compute(w, {g2});
  const auto p = rmsprop.preconditioner();
  ASSERT_TRUE(p.has_value());
  const auto expected = torch::tensor({std::sqrt(0.91) + 1e-3, std::sqrt(1.84) + 1e-3}, torch::kFloat64);
  // Rounding: two updates of v (3 each) with 1 − β₂ magnifying the decimal β₂'s representation error
  // ninefold (9), √ and +ε (2); `expected`'s decimals, √ and + (4); u's division 1 more on each side.
  const double rtol = testing::tolerance_for(torch::kFloat64, 6 + 9 + 2 + 4);
  EXPECT_TRUE(torch::allclose((*p)[0], expected, rtol, 0.0)) << (*p)[0];
  EXPECT_TRUE(torch::allclose(u[0], -g2 / expected, rtol + testing::tolerance_for(torch::kFloat64, 2), 0.0))
      << u[0];  // u = −P⁻¹ g
}

TEST(Direction, RejectsOutOfRangeOptionsAndUnknownNames) {
  DirectionOptions bad;
  bad.beta1 = 1.0;
  EXPECT_THROW(Adam{bad}, InvalidOption);
  bad = {};
  bad.beta2 = -0.1;
  EXPECT_THROW(RMSProp{bad}, InvalidOption);
  try {
    make_direction("sgdd");
    FAIL() << "expected InvalidOption";
  } catch (const InvalidOption& e) {
    EXPECT_NE(std::string(e.what()).find("sgdd"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("rmsprop"), std::string::npos);
  }
  for (const auto& name : direction_names()) EXPECT_EQ(make_direction(name)->name(), name);
}

}  // namespace
}  // namespace cdat
