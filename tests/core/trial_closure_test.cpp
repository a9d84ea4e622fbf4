// A step's trial forwards (trust check, line search, parabola) evaluate the same function as the step's own
// forward and leave the model as that forward left it (src/core/step_closure.h): the same dropout mask, the
// random-number stream of a step without trials, BatchNorm's running statistics moved once; and a closure that
// calls backward() is refused.
#include <cdat/cdat.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <vector>

namespace cdat {
namespace {

// Linear → BatchNorm1d → tanh → Linear, MSE on a fixed batch, float64.
struct BatchNormNet {
  torch::nn::Sequential net;
  torch::Tensor x, y;

  BatchNormNet() {
    torch::manual_seed(3);
    net = torch::nn::Sequential(torch::nn::Linear(4, 8), torch::nn::BatchNorm1d(8), torch::nn::Tanh(),
                                torch::nn::Linear(8, 1));
    net->to(torch::kFloat64);
    x = torch::randn({32, 4}, torch::kFloat64);
    y = torch::randn({32, 1}, torch::kFloat64);
  }
  LossClosure closure() {
    return [this] { return torch::mse_loss(net->forward(x), y); };
  }
};

// The buffers after one training-mode forward at the current parameters, on a copy of the network.
TensorList buffers_after_one_forward(const BatchNormNet& model) {
  auto copy = std::dynamic_pointer_cast<torch::nn::SequentialImpl>(model.net->clone());
  torch::NoGradGuard no_grad;
  copy->forward(model.x);
  return copy->buffers();
}

std::unique_ptr<Tuner> linesearch_with_trials() {
  LinesearchOptions o;
  o.eta_init = o.eta_max = 100.0;  // far too long: the search backtracks, several trial forwards
  return std::make_unique<LinesearchTuner>(o);
}

void expect_equal(const TensorList& a, const TensorList& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i])) << "buffer " << i;
}

TEST(TrialClosure, BatchNormStatisticsMoveOnceWithTheTrustCheck) {
  BatchNormNet model;
  const TensorList expected = buffers_after_one_forward(model);
  TunedOptimizerOptions options;
  options.buffers = model.net->buffers();
  TunedOptimizer optimizer(model.net->parameters(), std::make_unique<GradientDescent>(),
                           std::make_unique<CdatTuner>(), options);  // defaults: the trust check on every step
  optimizer.step(model.closure());
  ASSERT_FALSE(std::isnan(optimizer.last_stats().tuner.actual_change)) << "the trust check made no trial forward";
  expect_equal(model.net->buffers(), expected);
}

TEST(TrialClosure, BatchNormStatisticsMoveOnceWithALineSearch) {
  BatchNormNet model;
  const TensorList expected = buffers_after_one_forward(model);
  TunedOptimizerOptions options;
  options.buffers = model.net->buffers();
  TunedOptimizer optimizer(model.net->parameters(), std::make_unique<GradientDescent>(), linesearch_with_trials(),
                           options);
  optimizer.step(model.closure());
  ASSERT_GE(optimizer.last_stats().tuner.trials, 2);
  expect_equal(model.net->buffers(), expected);
}

TEST(TrialClosure, WithoutTheBuffersEachTrialMovesTheStatistics) {
  // The negative control of the two tests above: num_batches_tracked counts every forward.
  BatchNormNet model;
  TunedOptimizer optimizer(model.net->parameters(), std::make_unique<GradientDescent>(), linesearch_with_trials());
  optimizer.step(model.closure());
  const auto tracked = model.net->named_buffers()["1.num_batches_tracked"].item<int64_t>();
  EXPECT_EQ(tracked, 1 + optimizer.last_stats().tuner.trials);
}

// w·(x ⊙ mask) with a fresh dropout mask drawn from torch's default generator on every call; the masks seen,
// call after call, are recorded.
struct DropoutProblem {
  torch::Tensor w = torch::full({16}, 0.5, torch::dtype(torch::kFloat64).requires_grad(true));
  torch::Tensor x = torch::linspace(-1.0, 1.0, 16, torch::kFloat64);
  std::vector<torch::Tensor> masks;

  LossClosure closure() {
    return [this] {
      const torch::Tensor mask = torch::dropout(torch::ones({16}, torch::kFloat64), 0.5, /*train=*/true);
      masks.push_back(mask);
      return (torch::dot(w, x * mask) - 1.0).pow(2) + 0.1 * w.pow(4).sum();
    };
  }
};

TEST(TrialClosure, TrialsSeeTheOwnForwardsDropoutMask) {
  torch::manual_seed(11);
  DropoutProblem problem;
  TunedOptimizer optimizer({problem.w}, std::make_unique<GradientDescent>(), linesearch_with_trials());
  optimizer.step(problem.closure());
  ASSERT_GE(problem.masks.size(), 3u);
  for (size_t i = 1; i < problem.masks.size(); ++i) EXPECT_TRUE(torch::equal(problem.masks[i], problem.masks[0])) << i;
}

TEST(TrialClosure, WithoutForkedRandomnessTrialsDrawOtherMasks) {
  // The negative control: the option off, the trials draw masks of their own.
  torch::manual_seed(11);
  DropoutProblem problem;
  TunedOptimizerOptions options;
  options.same_randomness_in_trials = false;
  TunedOptimizer optimizer({problem.w}, std::make_unique<GradientDescent>(), linesearch_with_trials(), options);
  optimizer.step(problem.closure());
  bool some_differ = false;
  for (size_t i = 1; i < problem.masks.size(); ++i) some_differ |= !torch::equal(problem.masks[i], problem.masks[0]);
  EXPECT_TRUE(some_differ);
}

TEST(TrialClosure, TheRunDrawsTheRandomNumbersOfStepsWithoutTrials) {
  // Five CDAT steps with the trust check (trial forwards) against five constant-LR steps (one forward each):
  // the same masks on the steps' own forwards, and the same generator state afterwards.
  auto own_masks_and_next_draw = [](std::unique_ptr<Tuner> tuner) {
    torch::manual_seed(5);
    DropoutProblem problem;
    TunedOptimizer optimizer({problem.w}, std::make_unique<GradientDescent>(), std::move(tuner));
    std::vector<torch::Tensor> own;
    for (int t = 0; t < 5; ++t) {
      const size_t first = problem.masks.size();
      optimizer.step(problem.closure());
      own.push_back(problem.masks[first]);
    }
    return std::make_pair(own, torch::rand({4}, torch::kFloat64));
  };
  const auto [cdat_masks, cdat_next] = own_masks_and_next_draw(std::make_unique<CdatTuner>());
  const auto [constant_masks, constant_next] = own_masks_and_next_draw(std::make_unique<ConstantTuner>(0.01));
  for (size_t t = 0; t < cdat_masks.size(); ++t) EXPECT_TRUE(torch::equal(cdat_masks[t], constant_masks[t])) << t;
  EXPECT_TRUE(torch::equal(cdat_next, constant_next));
}

TEST(TrialClosure, AClosureThatCallsBackwardIsRefusedAndChangesNothing) {
  DropoutProblem problem;
  const torch::Tensor w0 = problem.w.detach().clone();
  const torch::Tensor grad_before = torch::full({16}, 7.0, torch::kFloat64);
  problem.w.mutable_grad() = grad_before;
  TunedOptimizer optimizer({problem.w}, std::make_unique<GradientDescent>(), std::make_unique<CdatTuner>());
  const LossClosure loss = problem.closure();
  const LossClosure with_backward = [&] {
    torch::Tensor value = loss();
    value.backward();
    return value;
  };
  try {
    optimizer.step(with_backward);
    FAIL() << "a closure that calls backward() was accepted";
  } catch (const InvalidOption& e) {
    EXPECT_NE(std::string(e.what()).find("without calling loss.backward()"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(torch::equal(problem.w.detach(), w0));
  EXPECT_TRUE(problem.w.grad().is_same(grad_before));
  EXPECT_EQ(optimizer.steps(), 0);
  optimizer.step(loss);  // the optimizer stays usable
  EXPECT_EQ(optimizer.steps(), 1);
}

// The parabola's unreliable estimate falls back to exact curvature, which evaluates again with the gradient
// graph (a trial forward that moves the running statistics) and differentiates that graph twice. Restoring the
// buffers right after that forward, in place, invalidated its graph ("modified by an inplace operation": every
// BatchNorm network with the parabola crashed at its first fallback); they are restored before the next trial
// or at the end of the step instead.
TEST(TrialClosure, TheParabolasExactFallbackWorksWithBatchNorm) {
  BatchNormNet model;
  model.net->to(torch::kFloat32);
  model.x = model.x.to(torch::kFloat32);
  model.y = model.y.to(torch::kFloat32);
  const TensorList expected = buffers_after_one_forward(model);
  TunedOptimizerOptions options;
  options.buffers = model.net->buffers();
  options.curvature_mode = "parabola";
  TunedOptimizer optimizer(model.net->parameters(), std::make_unique<GradientDescent>(), std::make_unique<CdatTuner>(),
                           options);
  // Shifted by 1e4, float32 loss values round at ~1e-3: the parabola's second-order term is below their noise.
  const LossClosure shifted = [&] { return torch::mse_loss(model.net->forward(model.x), model.y) + 1e4f; };
  optimizer.step(shifted);
  ASSERT_TRUE(optimizer.last_stats().curvature_fallback) << "the parabola did not fall back: the test tests nothing";
  EXPECT_TRUE(std::isfinite(optimizer.last_stats().curvature));
  expect_equal(model.net->buffers(), expected);
}

}  // namespace
}  // namespace cdat
