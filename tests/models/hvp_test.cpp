// Hessian-vector products through every model (double backward), against central finite differences of
// the gradient, on tiny float64 instances.
#include "models/loss.h"
#include "models/model.h"

#include "models_test_util.h"

#include <gtest/gtest.h>

namespace cdat::models {
namespace {

struct HvpCase {
  std::string label;
  ModelConfig config;
  std::vector<int64_t> batch_shape;  // inputs
  LossKind loss;
};

std::vector<HvpCase> cases() {
  std::vector<HvpCase> out;
  ModelConfig c;
  c.num_outputs = 3;
  c.width = 4;
  c.depth = 2;

  c.name = "mlp";
  c.input_shape = {1, 3, 3};
  c.activation = "tanh";
  out.push_back({"mlp_tanh_mse", c, {5, 1, 3, 3}, LossKind::MSE});
  c.activation = "gelu";
  out.push_back({"mlp_gelu_ce", c, {5, 1, 3, 3}, LossKind::CrossEntropy});

  c.name = "cnn";
  c.input_shape = {2, 4, 4};
  c.activation = "tanh";
  out.push_back({"cnn_ce", c, {3, 2, 4, 4}, LossKind::CrossEntropy});
  c.batch_norm = true;
  out.push_back({"cnn_bn_mse", c, {3, 2, 4, 4}, LossKind::MSE});

  c.name = "resnet";
  c.width = 3;
  c.batch_norm = false;
  out.push_back({"resnet_ce", c, {3, 2, 4, 4}, LossKind::CrossEntropy});
  c.batch_norm = true;
  out.push_back({"resnet_bn_ce", c, {3, 2, 4, 4}, LossKind::CrossEntropy});

  c.name = "mixer";
  c.width = 4;
  c.depth = 1;
  c.batch_norm = false;
  c.activation = "gelu";
  c.patch_size = 2;
  out.push_back({"mixer_ce", c, {3, 2, 4, 4}, LossKind::CrossEntropy});

  ModelConfig lm;
  lm.name = "nanolm";
  lm.num_outputs = 7;
  lm.nanolm_layers = 1;
  lm.nanolm_heads = 2;
  lm.nanolm_width = 4;
  lm.nanolm_context = 5;
  out.push_back({"nanolm_ce", lm, {2, 5}, LossKind::CrossEntropy});
  out.push_back({"nanolm_mse", lm, {2, 5}, LossKind::MSE});
  return out;
}

class ModelHvpTest : public ::testing::TestWithParam<HvpCase> {};

TEST_P(ModelHvpTest, DoubleBackwardMatchesFiniteDifferences) {
  const HvpCase& k = GetParam();
  torch::manual_seed(7);
  auto model = make_model(k.config);
  model->to(torch::kFloat64);
  torch::Tensor x, y;
  if (k.config.name == "nanolm") {
    x = torch::randint(k.config.num_outputs, k.batch_shape, torch::kInt64);
    y = torch::randint(k.config.num_outputs, k.batch_shape, torch::kInt64);
  } else {
    x = torch::randn(k.batch_shape, torch::kFloat64);
    y = torch::randint(k.config.num_outputs, {k.batch_shape[0]}, torch::kInt64);
  }
  auto loss = [&] { return compute_loss(k.loss, model->forward(x), y); };
  auto params = model->parameters();
  auto v = testing::random_like(params);
  auto hv = testing::hvp(loss, params, v);
  auto fd = testing::hvp_finite_difference(loss, params, v, 1e-5);
  std::vector<torch::Tensor> diff;
  for (size_t i = 0; i < hv.size(); ++i) diff.push_back(hv[i] - fd[i]);
  const double scale = testing::norm(fd);
  EXPECT_GT(scale, 1e-6) << k.label << ": Hv vanishes, the test would prove nothing";
  EXPECT_LT(testing::norm(diff), 1e-6 * scale) << k.label << " " << model->describe();
  // Curvature vᵀHv is the same either way.
  EXPECT_NEAR(testing::dot(hv, v).item<double>(), testing::dot(fd, v).item<double>(), 1e-6 * scale * testing::norm(v));
}

INSTANTIATE_TEST_SUITE_P(AllModels, ModelHvpTest, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<HvpCase>& info) { return info.param.label; });

// relu has a zero second derivative almost everywhere, so only check that double backward runs.
TEST(ModelHvpReluTest, DoubleBackwardRunsThroughRelu) {
  torch::manual_seed(3);
  for (const std::string name : {"mlp", "cnn", "resnet", "mixer"}) {
    ModelConfig c;
    c.name = name;
    c.input_shape = {1, 4, 4};
    c.width = 4;
    c.depth = 1;
    c.activation = "relu";
    c.patch_size = 2;
    auto model = make_model(c);
    torch::Tensor x = torch::randn({3, 1, 4, 4});
    torch::Tensor y = torch::randint(10, {3}, torch::kInt64);
    auto params = model->parameters();
    auto hv = testing::hvp([&] { return cross_entropy(model->forward(x), y); }, params, testing::random_like(params));
    EXPECT_TRUE(std::isfinite(testing::norm(hv))) << name;
  }
}

}  // namespace
}  // namespace cdat::models
