// TunedOptimizerOptions::full_batch: a step's accepted trial (trust check, line search) is the next step's
// forward. The runs must be those without it, bit for bit (parameters, buffers, losses, η), with one closure
// call a step fewer where a trial was accepted; nothing is reused after a change between steps, with dropout,
// or after a checkpoint is loaded.
#include <cdat/cdat.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <functional>
#include <limits>
#include <stdexcept>
#include <sstream>
#include <string>
#include <vector>

namespace cdat {
namespace {

// A float32 classifier on a fixed batch: Linear → [BatchNorm1d] → tanh → [dropout] → Linear, cross-entropy.
struct Net {
  torch::nn::Sequential net;
  torch::Tensor x, y;
  int64_t calls = 0;  // closure calls

  explicit Net(bool batch_norm = false, bool dropout = false) {
    torch::manual_seed(7);
    net = torch::nn::Sequential(torch::nn::Linear(12, 16));
    if (batch_norm) net->push_back(torch::nn::BatchNorm1d(16));
    net->push_back(torch::nn::Tanh());
    if (dropout) net->push_back(torch::nn::Dropout(0.2));
    net->push_back(torch::nn::Linear(16, 5));
    x = torch::randn({64, 12});
    y = torch::randint(0, 5, {64});
  }
  LossClosure closure() {
    return [this] {
      ++calls;
      return torch::cross_entropy_loss(net->forward(x), y);
    };
  }
};

struct Options {
  std::string curvature_mode = "exact";
  bool linesearch = false;
  bool batch_norm = false;
  bool dropout = false;
};

std::unique_ptr<TunedOptimizer> make_optimizer(Net& model, const Options& o, bool full_batch) {
  TunedOptimizerOptions options;
  options.full_batch = full_batch;
  options.curvature_mode = o.curvature_mode;
  options.buffers = model.net->buffers();
  std::unique_ptr<Tuner> tuner;
  if (o.linesearch) {
    LinesearchOptions ls;
    ls.eta_init = ls.eta_max = 50.0;  // long: the search backtracks, several trials on early steps
    tuner = std::make_unique<LinesearchTuner>(ls);
  } else {
    tuner = std::make_unique<CdatTuner>();  // the defaults: trust check on every step
  }
  return std::make_unique<TunedOptimizer>(model.net->parameters(), std::make_unique<GradientDescent>(), std::move(tuner),
                                          options);
}

struct Trace {
  std::vector<double> losses, lrs;
  std::vector<int> trials;
  int reused = 0;
  int64_t calls = 0;
  TensorList params, buffers;
};

Trace train(const Options& o, bool full_batch, int steps) {
  Net model(o.batch_norm, o.dropout);
  auto optimizer = make_optimizer(model, o, full_batch);
  torch::manual_seed(11);  // the dropout masks
  Trace trace;
  for (int t = 0; t < steps; ++t) {
    optimizer->step(model.closure());
    const StepStats& s = optimizer->last_stats();
    trace.losses.push_back(s.loss);
    trace.lrs.push_back(s.lr);
    trace.trials.push_back(s.tuner.trials);
    trace.reused += s.reused_forward ? 1 : 0;
  }
  trace.calls = model.calls;
  trace.params = clone_detached(model.net->parameters());
  trace.buffers = clone_detached(model.net->buffers());
  return trace;
}

void expect_identical(const Trace& a, const Trace& b) {
  EXPECT_EQ(a.losses, b.losses);  // exact: bit-identical doubles
  EXPECT_EQ(a.lrs, b.lrs);
  EXPECT_EQ(a.trials, b.trials);
  ASSERT_EQ(a.params.size(), b.params.size());
  for (size_t i = 0; i < a.params.size(); ++i) EXPECT_TRUE(torch::equal(a.params[i], b.params[i])) << "param " << i;
  ASSERT_EQ(a.buffers.size(), b.buffers.size());
  for (size_t i = 0; i < a.buffers.size(); ++i) EXPECT_TRUE(torch::equal(a.buffers[i], b.buffers[i])) << "buffer " << i;
}

// Steps whose tuner accepted a trial (η > 0 after at least one trial): each saves the next step's forward.
int accepted_trials(const Trace& t) {
  int n = 0;
  for (size_t i = 0; i + 1 < t.lrs.size(); ++i) n += (t.trials[i] > 0 && t.lrs[i] > 0.0) ? 1 : 0;
  return n;
}

constexpr int kSteps = 12;

void expect_reuse_changes_nothing(const Options& o) {
  const Trace plain = train(o, false, kSteps), reusing = train(o, true, kSteps);
  expect_identical(plain, reusing);
  EXPECT_EQ(plain.reused, 0);
  ASSERT_GT(accepted_trials(plain), kSteps / 2) << "too few accepted trials for the test to mean anything";
  EXPECT_EQ(reusing.reused, accepted_trials(plain));
  EXPECT_EQ(reusing.calls, plain.calls - reusing.reused);
}

TEST(FullBatch, ExactCdatWithTheTrustCheckIsBitIdenticalWithAForwardFewer) { expect_reuse_changes_nothing({}); }

TEST(FullBatch, ParabolaCdatIsBitIdentical) { expect_reuse_changes_nothing({"parabola"}); }

TEST(FullBatch, LineSearchIsBitIdentical) { expect_reuse_changes_nothing({"exact", /*linesearch=*/true}); }

TEST(FullBatch, BatchNormStatisticsAreThoseOfARunWithoutReuse) {
  expect_reuse_changes_nothing({"exact", false, /*batch_norm=*/true});
  expect_reuse_changes_nothing({"parabola", false, /*batch_norm=*/true});
}

TEST(FullBatch, AForwardThatDrawsRandomNumbersIsNotReused) {
  const Options o{"exact", false, false, /*dropout=*/true};
  const Trace plain = train(o, false, kSteps), reusing = train(o, true, kSteps);
  EXPECT_EQ(reusing.reused, 0);
  expect_identical(plain, reusing);
}

// A change of the parameters between steps (in place, as load_state_dict or a user's projection does) drops
// the kept forward: the step evaluates the closure at the changed parameters.
TEST(FullBatch, AChangeBetweenStepsDropsTheKeptForward) {
  Net model;
  auto optimizer = make_optimizer(model, {}, true);
  optimizer->step(model.closure());
  ASSERT_GT(optimizer->last_stats().tuner.trials, 0);
  optimizer->step(model.closure());
  ASSERT_TRUE(optimizer->last_stats().reused_forward);
  {
    torch::NoGradGuard no_grad;
    model.net->parameters().front().mul_(0.5);
  }
  double expected = 0.0;
  {
    torch::NoGradGuard no_grad;
    expected = torch::cross_entropy_loss(model.net->forward(model.x), model.y).item<double>();
  }
  optimizer->step(model.closure());
  EXPECT_FALSE(optimizer->last_stats().reused_forward);
  EXPECT_EQ(optimizer->last_stats().loss, expected);
}

// A run resumed from a checkpoint continues exactly as the uninterrupted one: the kept forward is not part of
// the state, the resumed step evaluates the closure at the same parameters.
TEST(FullBatch, AResumedRunContinuesExactly) {
  const Options o{"parabola", false, /*batch_norm=*/true};
  const Trace whole = train(o, true, kSteps);

  Net model(o.batch_norm);
  auto optimizer = make_optimizer(model, o, true);
  torch::manual_seed(11);
  for (int t = 0; t < kSteps / 2; ++t) optimizer->step(model.closure());
  std::stringstream saved;
  {
    torch::serialize::OutputArchive archive;
    optimizer->save(archive);
    archive.save_to(saved);
  }
  auto resumed = make_optimizer(model, o, true);
  torch::serialize::InputArchive archive;
  archive.load_from(saved);
  resumed->load(archive);
  std::vector<double> losses;
  for (int t = kSteps / 2; t < kSteps; ++t) {
    resumed->step(model.closure());
    losses.push_back(resumed->last_stats().loss);
    if (t == kSteps / 2) {
      EXPECT_FALSE(resumed->last_stats().reused_forward);
    }
  }
  EXPECT_EQ(losses, std::vector<double>(whole.losses.begin() + kSteps / 2, whole.losses.end()));
  for (size_t i = 0; i < whole.params.size(); ++i) {
    EXPECT_TRUE(torch::equal(model.net->parameters()[i], whole.params[i])) << "param " << i;
  }
}

// A closure that throws in a trial (the kept forward is this step's own: the first call is the trust check's
// trial at w + ηu) leaves the parameters where the step found them, and the next step evaluates afresh.
TEST(FullBatch, AStepThatThrowsInATrialLeavesTheParametersUntouched) {
  Net model;
  auto optimizer = make_optimizer(model, {}, true);
  optimizer->step(model.closure());
  ASSERT_GT(optimizer->last_stats().tuner.trials, 0);
  const TensorList before = clone_detached(model.net->parameters());
  int64_t calls = 0;
  auto throwing = [&]() -> torch::Tensor {
    ++calls;
    throw std::runtime_error("a trial that fails");
  };
  EXPECT_THROW(optimizer->step(throwing), std::runtime_error);
  EXPECT_EQ(calls, 1);  // the own forward was the kept one
  for (size_t i = 0; i < before.size(); ++i) EXPECT_TRUE(torch::equal(model.net->parameters()[i], before[i]));
  optimizer->step(model.closure());
  EXPECT_FALSE(optimizer->last_stats().reused_forward);
  EXPECT_EQ(optimizer->steps(), 2);
}

}  // namespace
}  // namespace cdat
