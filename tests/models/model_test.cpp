#include "models/model.h"

#include "models/loss.h"
#include "models_test_util.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>

namespace cdat::models {
namespace {

ModelConfig image_config(const std::string& name, std::vector<int64_t> shape) {
  ModelConfig c;
  c.name = name;
  c.input_shape = std::move(shape);
  c.num_outputs = 10;
  return c;
}

TEST(ModelShapeTest, ImageModelsAtDefaultSize) {
  torch::manual_seed(0);
  for (const std::string name : {"mlp", "cnn", "resnet", "mixer"}) {
    for (const std::vector<int64_t>& shape : {std::vector<int64_t>{1, 28, 28}, std::vector<int64_t>{3, 32, 32}}) {
      auto model = make_model(image_config(name, shape));
      std::vector<int64_t> batch{5};
      batch.insert(batch.end(), shape.begin(), shape.end());
      torch::Tensor out = model->forward(torch::rand(batch));
      EXPECT_EQ(out.sizes(), (std::vector<int64_t>{5, 10})) << model->describe();
      EXPECT_TRUE(torch::isfinite(out).all().item<bool>()) << model->describe();
      EXPECT_GT(count_parameters(*model), 0);
    }
  }
}

TEST(ModelShapeTest, VariantsAndOptions) {
  torch::manual_seed(0);
  ModelConfig c = image_config("resnet", {3, 32, 32});
  c.batch_norm = true;
  c.width = 8;
  c.depth = 2;
  auto resnet = make_model(c);
  EXPECT_EQ(resnet->forward(torch::rand({4, 3, 32, 32})).sizes(), (std::vector<int64_t>{4, 10}));
  EXPECT_EQ(resnet->describe(), "resnet(width=8, depth=2, activation=relu, batch_norm=on)");
  ModelConfig m = image_config("mlp", {1, 28, 28});
  m.width = 16;
  m.depth = 3;
  m.activation = "tanh";
  m.num_outputs = 3;
  auto mlp = make_model(m);
  EXPECT_EQ(mlp->forward(torch::rand({2, 28, 28})).sizes(), (std::vector<int64_t>{2, 3}));  // [N, H, W] works too
  EXPECT_EQ(count_parameters(*mlp), 784 * 16 + 16 + 2 * (16 * 16 + 16) + 16 * 3 + 3);
  ModelConfig z = image_config("mlp", {4});
  z.depth = 0;  // linear model
  EXPECT_EQ(count_parameters(*make_model(z)), 4 * 10 + 10);
  ModelConfig mixer = image_config("mixer", {1, 28, 28});
  mixer.patch_size = 7;
  EXPECT_EQ(make_model(mixer)->forward(torch::rand({2, 1, 28, 28})).sizes(), (std::vector<int64_t>{2, 10}));
  mixer.patch_size = 5;
  EXPECT_THROW(make_model(mixer), std::invalid_argument);
}

// Dropout (mlp, cnn): in training mode it zeroes hidden units (outputs change from one call to the next); in eval
// mode the network is the one without dropout, with the same weights (dropout draws no random numbers at
// construction, so the same seed gives the same weights).
TEST(ModelShapeTest, DropoutActsInTrainingModeOnly) {
  for (const std::string name : {"mlp", "cnn"}) {
    ModelConfig plain = image_config(name, {1, 28, 28});
    plain.width = 8;
    ModelConfig dropped = plain;
    dropped.dropout = 0.5;
    torch::manual_seed(0);
    auto without = make_model(plain);
    torch::manual_seed(0);
    auto with = make_model(dropped);
    EXPECT_NE(with->describe().find("dropout=0.5"), std::string::npos) << with->describe();
    const torch::Tensor x = torch::rand({4, 1, 28, 28});
    torch::NoGradGuard no_grad;
    EXPECT_FALSE(torch::equal(with->forward(x), with->forward(x))) << name;  // new masks each call
    with->eval();
    without->eval();
    EXPECT_TRUE(torch::equal(with->forward(x), without->forward(x))) << name;
  }
  ModelConfig c = image_config("mlp", {1, 28, 28});
  c.dropout = 1.0;  // [0, 1)
  EXPECT_THROW(make_model(c), std::invalid_argument);
  c.dropout = -0.1;
  EXPECT_THROW(make_model(c), std::invalid_argument);
  c = image_config("resnet", {1, 28, 28});
  c.dropout = 0.25;  // an option of mlp and cnn only
  EXPECT_THROW(make_model(c), std::invalid_argument);
}

TEST(ModelShapeTest, NanoLmLogitsPerToken) {
  torch::manual_seed(0);
  ModelConfig c;
  c.name = "nanolm";
  c.num_outputs = 65;
  auto lm = make_model(c);  // default: 2 layers, 4 heads, width 64, context 64
  torch::Tensor tokens = torch::randint(65, {3, 64}, torch::kInt64);
  EXPECT_EQ(lm->forward(tokens).sizes(), (std::vector<int64_t>{3, 64, 65}));
  EXPECT_EQ(lm->forward(tokens.slice(1, 0, 10)).sizes(), (std::vector<int64_t>{3, 10, 65}));
  EXPECT_THROW(lm->forward(torch::randint(65, {1, 65}, torch::kInt64)), std::invalid_argument);
  EXPECT_THROW(lm->forward(torch::rand({1, 4})), std::invalid_argument);
  c.nanolm_heads = 5;
  EXPECT_THROW(make_model(c), std::invalid_argument);
}

TEST(ModelShapeTest, NanoLmIsCausal) {
  torch::manual_seed(1);
  ModelConfig c;
  c.name = "nanolm";
  c.num_outputs = 11;
  c.nanolm_width = 16;
  c.nanolm_heads = 2;
  c.nanolm_context = 8;
  auto lm = make_model(c);
  torch::Tensor a = torch::randint(11, {1, 8}, torch::kInt64);
  torch::Tensor b = a.clone();
  b[0][5] = (a[0][5].item<int64_t>() + 1) % 11;
  torch::Tensor ya = lm->forward(a), yb = lm->forward(b);
  EXPECT_TRUE(torch::allclose(ya.slice(1, 0, 5), yb.slice(1, 0, 5)));  // the past ignores the future
  EXPECT_FALSE(torch::allclose(ya.slice(1, 5), yb.slice(1, 5)));
}

TEST(ModelShapeTest, UnknownNamesListTheValidOnes) {
  ModelConfig c;
  c.name = "transformer";
  try {
    make_model(c);
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("transformer"), std::string::npos) << msg;
    for (const auto& n : model_names()) EXPECT_NE(msg.find(n), std::string::npos) << msg;
  }
  c.name = "mlp";
  c.activation = "sigmoid";
  EXPECT_THROW(make_model(c), std::invalid_argument);
  c = image_config("cnn", {784});
  EXPECT_THROW(make_model(c), std::invalid_argument);
}

TEST(ModelShapeTest, ConvertsToFloat64) {
  ModelConfig c;
  c.name = "nanolm";
  c.num_outputs = 5;
  c.nanolm_width = 8;
  c.nanolm_heads = 2;
  c.nanolm_context = 4;
  auto lm = make_model(c);
  lm->to(torch::kFloat64);
  EXPECT_EQ(lm->forward(torch::zeros({2, 4}, torch::kInt64)).scalar_type(), torch::kFloat64);
}

// Rough timings at default sizes (not run by default):
//   ./models_tests --gtest_also_run_disabled_tests --gtest_filter='*Timing*'
TEST(ModelTimingTest, DISABLED_ForwardBackwardAtDefaultSize) {
  torch::manual_seed(0);
  struct Case {
    std::string label;
    ModelConfig config;
    torch::Tensor x, y;
  };
  std::vector<Case> cases;
  for (const std::string name : {"mlp", "cnn", "resnet", "mixer"}) {
    cases.push_back({name + " [128,3,32,32]", image_config(name, {3, 32, 32}), torch::rand({128, 3, 32, 32}),
                     torch::randint(10, {128}, torch::kInt64)});
  }
  ModelConfig lm;
  lm.name = "nanolm";
  lm.num_outputs = 65;
  cases.push_back({"nanolm default [32,64]", lm, torch::randint(65, {32, 64}, torch::kInt64),
                   torch::randint(65, {32, 64}, torch::kInt64)});
  ModelConfig big = lm;
  big.nanolm_layers = 6;
  big.nanolm_heads = 8;
  big.nanolm_width = 256;
  cases.push_back({"nanolm PAPER size [32,64]", big, torch::randint(65, {32, 64}, torch::kInt64),
                   torch::randint(65, {32, 64}, torch::kInt64)});
  for (auto& k : cases) {
    auto model = make_model(k.config);
    auto params = model->parameters();
    auto loss = [&] { return cross_entropy(model->forward(k.x), k.y); };
    auto time_ms = [&](const std::function<void()>& f) {
      f();  // warm-up
      const int reps = 3;
      auto t0 = std::chrono::steady_clock::now();
      for (int r = 0; r < reps; ++r) f();
      return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / reps;
    };
    const double fb = time_ms([&] { testing::grad_or_zeros(loss(), params, false); });
    auto v = testing::random_like(params);
    const double hv = time_ms([&] { testing::hvp(loss, params, v); });
    std::printf("%-28s %9lld params  forward+backward %8.1f ms  forward+grad+HVP %8.1f ms  [%s]\n", k.label.c_str(),
                static_cast<long long>(count_parameters(*model)), fb, hv, model->describe().c_str());
  }
}

}  // namespace
}  // namespace cdat::models
