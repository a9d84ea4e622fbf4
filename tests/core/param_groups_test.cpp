// Parameter groups, frozen parameters, gradients in p.grad() and the gradient/update transforms of
// TunedOptimizer, each against torch::optim or a closed form.
#include <cdat/cdat.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "problems.h"
#include "tolerance.h"

namespace cdat {
namespace {

using testing::TinyMlp;

double max_difference(const TensorList& a, const TensorList& b) {
  double worst = 0.0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, (a[i] - b[i]).abs().max().item<double>());
  return worst;
}

// Two groups with their own weight decay and lr multiplier against torch::optim::AdamW with two param
// groups whose lr are η·scale: AdamW's w ← w(1 − lr·λ) − lr·adam equals ours w + η·scale·(adam − λw).
// Both take the same gradients at the same w; a step rounds the update (the moments, the bias corrections,
// √, +ε, ÷, the decay: ≤ 14 roundings on a step ≤ 3·lr ≪ 1) and w (2, on |w| ≤ 2: the initialisation's
// U(±1/√3) plus 25 steps of ≤ 3·lr). The two trajectories drift apart by ≤ their sum a step, added over
// 25 steps (at lr = 10⁻² the gradients' feedback of that drift is far smaller).
TEST(ParamGroups, WeightDecayAndScalePerGroupMatchAdamWParamGroups) {
  TinyMlp ours(3, 8, 2, 16, /*seed=*/3, torch::kFloat64), theirs(3, 8, 2, 16, /*seed=*/3, torch::kFloat64);
  const double lr = 1e-2;
  auto split = [](const TensorList& p) { return std::make_pair(TensorList{p[0], p[1]}, TensorList{p[2], p[3]}); };
  auto [ours_first, ours_last] = split(ours.params());
  auto [theirs_first, theirs_last] = split(theirs.params());
  ParamGroup first{ours_first, /*weight_decay=*/0.1, /*scale=*/1.0}, last{ours_last, /*weight_decay=*/0.0, /*scale=*/0.5};
  TunedOptimizer optimizer({first, last}, std::make_unique<Adam>(), std::make_unique<ConstantTuner>(lr));
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(theirs_first, std::make_unique<torch::optim::AdamWOptions>(
                                        torch::optim::AdamWOptions(lr).weight_decay(0.1)));
  groups.emplace_back(theirs_last, std::make_unique<torch::optim::AdamWOptions>(
                                       torch::optim::AdamWOptions(lr * 0.5).weight_decay(0.0)));
  torch::optim::AdamW reference(groups, torch::optim::AdamWOptions(lr));
  for (int t = 0; t < 25; ++t) {
    optimizer.step(ours.closure());
    reference.zero_grad();
    theirs.loss().backward();
    reference.step();
  }
  EXPECT_LT(max_difference(ours.params(), theirs.params()),
            testing::tolerance_for(torch::kFloat64, 2 * 25 * (2 + 14)) * 2.0);
  EXPECT_EQ(optimizer.param_groups().size(), 2u);
}

// A frozen layer is skipped: it never moves, and the trained layers follow exactly the run of an
// optimizer that was given only the trainable parameters.
TEST(ParamGroups, FrozenParametersAreSkippedNotAnError) {
  TinyMlp frozen(3, 8, 2, 16, /*seed=*/5), reference(3, 8, 2, 16, /*seed=*/5);
  frozen.params()[0].requires_grad_(false);
  frozen.params()[1].requires_grad_(false);
  reference.params()[0].requires_grad_(false);
  reference.params()[1].requires_grad_(false);
  const auto frozen_before = clone_detached({frozen.params()[0], frozen.params()[1]});
  TunedOptimizer a(frozen.params(), std::make_unique<GradientDescent>(), std::make_unique<CdatTuner>());
  TunedOptimizer b({reference.params()[2], reference.params()[3]}, std::make_unique<GradientDescent>(),
                   std::make_unique<CdatTuner>());
  EXPECT_EQ(a.params().size(), 2u);
  for (int t = 0; t < 10; ++t) {
    a.step(frozen.closure());
    b.step(reference.closure());
    EXPECT_EQ(a.last_stats().lr, b.last_stats().lr) << "step " << t;
  }
  EXPECT_TRUE(torch::equal(frozen.params()[0], frozen_before[0]));
  EXPECT_TRUE(torch::equal(frozen.params()[1], frozen_before[1]));
  EXPECT_EQ(max_difference(frozen.params(), reference.params()), 0.0);
  EXPECT_FALSE(frozen.params()[0].grad().defined());  // a frozen parameter gets no gradient written
}

TEST(ParamGroups, AllFrozenOrListedTwiceIsAnInvalidOption) {
  TinyMlp m;
  for (auto& p : m.params()) p.requires_grad_(false);
  EXPECT_THROW(TunedOptimizer(m.params(), std::make_unique<GradientDescent>(), std::make_unique<CdatTuner>()),
               InvalidOption);
  TinyMlp n;
  const auto p = n.params();
  EXPECT_THROW(TunedOptimizer({ParamGroup{{p[0], p[1]}}, ParamGroup{{p[1], p[2]}}}, std::make_unique<GradientDescent>(),
                              std::make_unique<CdatTuner>()),
               InvalidOption);
  ParamGroup negative{p};
  negative.weight_decay = -1.0;
  EXPECT_THROW(TunedOptimizer({negative}, std::make_unique<GradientDescent>(), std::make_unique<CdatTuner>()),
               InvalidOption);
}

// After a step, p.grad() holds ∇f(w_t) at the parameters *before* the update, as autograd computes it.
TEST(ParamGroups, GradientIsWrittenToDotGradAndCanBeSwitchedOff) {
  TinyMlp m;
  const auto expected = testing::flat_gradient(m.params(), m.closure());
  TunedOptimizer optimizer(m.params(), std::make_unique<GradientDescent>(), std::make_unique<CdatTuner>());
  optimizer.step(m.closure());
  TensorList grads;
  for (const auto& p : m.params()) {
    ASSERT_TRUE(p.grad().defined());
    grads.push_back(p.grad());
  }
  EXPECT_TRUE(torch::equal(flatten(grads), expected));
  EXPECT_FALSE(flatten(grads).requires_grad());

  TinyMlp quiet;
  TunedOptimizerOptions o;
  o.write_grad = false;
  TunedOptimizer silent(quiet.params(), std::make_unique<GradientDescent>(), std::make_unique<CdatTuner>(), o);
  silent.step(quiet.closure());
  for (const auto& p : quiet.params()) EXPECT_FALSE(p.grad().defined());
}

// GD with a constant lr and clip_norm matches torch::optim::SGD on the gradient scaled by min(1, c/‖g‖)
// (optax.clip_by_global_norm; torch::nn::utils::clip_grad_norm_ divides by ‖g‖ + 1e-6 instead, which
// differs by ~1e-7 here), and the tuner's slope still uses the true gradient: gᵀu = −(c/‖g‖)·‖g‖² = −c‖g‖.
// Rounding: ‖g‖² takes the forward, the backward and a P-term dot (2·pass + P), c/‖g‖ and the products 4.
// Each step rounds w (2, on |w| ≤ 2) and the clipped step (‖g‖ again and the scalings, P + 4, on
// lr·|g| ≤ |w|), in both implementations; the drift adds up over the 15 steps.
TEST(ParamGroups, ClipByGlobalNormMatchesClipGradNormAndKeepsTheTrueSlope) {
  TinyMlp ours(3, 8, 2, 16, /*seed=*/9), theirs(3, 8, 2, 16, /*seed=*/9);
  const double g_norm = testing::flat_gradient(ours.params(), ours.closure()).norm().item<double>();
  const double max_norm = 0.25 * g_norm;  // clips the first step for certain
  TunedOptimizerOptions o;
  o.clip_norm = max_norm;
  TunedOptimizer optimizer(ours.params(), std::make_unique<GradientDescent>(), std::make_unique<ConstantTuner>(0.1), o);
  torch::optim::SGD reference(theirs.params(), torch::optim::SGDOptions(0.1));
  for (int t = 0; t < 15; ++t) {
    optimizer.step(ours.closure());
    if (t == 0) {
      const double n = 2 * ours.pass_roundings() + static_cast<double>(numel(ours.params()));
      EXPECT_NEAR(optimizer.last_stats().slope, -max_norm * g_norm,
                  testing::tolerance_for(torch::kFloat64, 2 * n + 4) * max_norm * g_norm);
    }
    reference.zero_grad();
    theirs.loss().backward();
    double total = 0.0;
    for (const auto& p : theirs.params()) total += p.grad().pow(2).sum().item<double>();
    total = std::sqrt(total);
    if (total > max_norm) {
      for (auto& p : theirs.params()) p.mutable_grad().mul_(max_norm / total);
    }
    reference.step();
  }
  const double step_roundings = 2 + static_cast<double>(numel(ours.params())) + 4;
  EXPECT_LT(max_difference(ours.params(), theirs.params()),
            testing::tolerance_for(torch::kFloat64, 2 * 15 * step_roundings) * 2.0);
  EXPECT_THROW(ClipByGlobalNorm(0.0), InvalidOption);
}

// User transforms run in the order added, after the groups' own, and their state is saved and loaded.
class CountingScale final : public Transform {
 public:
  std::string name() const override { return "counting_scale"; }
  void apply(const TensorList&, TensorList& values) override {
    ++calls;
    for (auto& v : values) v = v * 0.5;
  }
  void save(torch::serialize::OutputArchive& archive) const override {
    archive.write("calls", torch::tensor(calls, torch::kInt64));
  }
  void load(torch::serialize::InputArchive& archive) override {
    torch::Tensor t;
    archive.read("calls", t);
    calls = t.item<int64_t>();
  }
  int64_t calls = 0;
};

TEST(ParamGroups, UserUpdateTransformHalvesTheStepAndRoundTripsItsState) {
  TinyMlp a, b;
  TunedOptimizer halved(a.params(), std::make_unique<GradientDescent>(), std::make_unique<ConstantTuner>(0.2));
  auto transform = std::make_unique<CountingScale>();
  CountingScale* counter = transform.get();
  halved.add_update_transform(std::move(transform));
  TunedOptimizer plain(b.params(), std::make_unique<GradientDescent>(), std::make_unique<ConstantTuner>(0.1));
  for (int t = 0; t < 5; ++t) {
    halved.step(a.closure());
    plain.step(b.closure());
  }
  // GD at 0.2 along u/2 is GD at 0.1 along u, bit for bit: halving and doubling are exact in binary.
  EXPECT_EQ(max_difference(a.params(), b.params()), 0.0);
  EXPECT_EQ(counter->calls, 5);

  std::ostringstream stream;
  {
    torch::serialize::OutputArchive archive;
    halved.save(archive);
    archive.save_to(stream);
  }
  TunedOptimizer restored(a.params(), std::make_unique<GradientDescent>(), std::make_unique<ConstantTuner>(0.2));
  auto fresh = std::make_unique<CountingScale>();
  CountingScale* fresh_counter = fresh.get();
  restored.add_update_transform(std::move(fresh));
  std::istringstream in(stream.str());
  torch::serialize::InputArchive archive;
  archive.load_from(in);
  restored.load(archive);
  EXPECT_EQ(fresh_counter->calls, 5);
}

}  // namespace
}  // namespace cdat
