#include <cdat/tensor_list.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

namespace cdat {
namespace {

TEST(TensorList, DotAndNormMatchFlatVectors) {
  TensorList a = {torch::tensor({1.0, 2.0}), torch::tensor({{3.0}, {4.0}})};
  TensorList b = {torch::tensor({-1.0, 0.5}), torch::tensor({{2.0}, {-1.0}})};
  EXPECT_DOUBLE_EQ(dot(a, b), -1.0 + 1.0 + 6.0 - 4.0);
  EXPECT_DOUBLE_EQ(norm(a), std::sqrt(30.0));
}

TEST(TensorList, FlattenUnflattenRoundTrip) {
  TensorList a = {torch::randn({2, 3}), torch::randn({4}), torch::randn({1, 1, 2})};
  auto flat = flatten(a);
  ASSERT_EQ(flat.numel(), numel(a));
  auto back = unflatten(flat, a);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], back[i]));
}

TEST(TensorList, AddScaledCopyAndFiniteness) {
  TensorList y = {torch::ones({3})};
  add_scaled_(y, {torch::full({3}, 2.0)}, -0.5);
  EXPECT_TRUE(torch::allclose(y[0], torch::zeros({3})));
  copy_(y, {torch::full({3}, 7.0)});
  EXPECT_TRUE(torch::allclose(y[0], torch::full({3}, 7.0)));
  EXPECT_TRUE(all_finite(y));
  y[0][1] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_FALSE(all_finite(y));
  y[0][1] = std::numeric_limits<float>::infinity();
  EXPECT_FALSE(all_finite(y));
}

}  // namespace
}  // namespace cdat
