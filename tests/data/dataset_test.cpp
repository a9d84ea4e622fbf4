#include "data/dataset.h"

#include "data_test_util.h"
#include "tolerance.h"

namespace cdat::data {
namespace {

// 35 examples with unbalanced classes: class k has 5 + 2k examples for k < 4, and class 4 has 3.
Dataset toy_classification() {
  std::vector<int64_t> labels;
  for (int64_t k = 0; k < 4; ++k)
    for (int64_t i = 0; i < 5 + 2 * k; ++i) labels.push_back(k);
  for (int i = 0; i < 3; ++i) labels.push_back(4);
  std::vector<int64_t> perm(labels.size());
  for (size_t i = 0; i < perm.size(); ++i) perm[i] = static_cast<int64_t>((i * 8) % labels.size());
  std::vector<int64_t> shuffled;
  for (auto p : perm) shuffled.push_back(labels[static_cast<size_t>(p)]);
  Dataset d;
  d.labels = torch::tensor(shuffled, torch::kInt64);
  d.inputs = torch::arange(static_cast<int64_t>(shuffled.size()), torch::kFloat32).reshape({-1, 1});
  d.num_classes = 5;
  d.name = "toy";
  return d;
}

torch::Tensor class_counts(const Dataset& d) { return torch::bincount(d.labels, {}, d.num_classes); }

TEST(DataSubsetTest, ExactPerClassCounts) {
  Dataset d = toy_classification();  // class sizes 5, 7, 9, 11, 3
  Dataset s = balanced_subset(d, 13, 1);
  EXPECT_TRUE(torch::equal(class_counts(s), torch::tensor({3, 3, 3, 2, 2}, torch::kInt64)));
  // Class 4 runs out at 3 (and class 0 at 5); the shortfall goes to the lowest classes with room.
  Dataset t = balanced_subset(d, 24, 1);
  EXPECT_TRUE(torch::equal(class_counts(t), torch::tensor({5, 6, 5, 5, 3}, torch::kInt64)));
  EXPECT_TRUE(torch::equal(class_counts(balanced_subset(d, 34, 2)), torch::tensor({5, 7, 9, 10, 3}, torch::kInt64)));
}

TEST(DataSubsetTest, FullSizeAndBounds) {
  Dataset d = toy_classification();
  const int64_t n = d.size();
  Dataset all = balanced_subset(d, n, 3);
  EXPECT_TRUE(torch::equal(all.inputs, d.inputs));
  EXPECT_THROW(balanced_subset(d, n + 1, 3), std::invalid_argument);
  EXPECT_THROW(balanced_subset(d, 0, 3), std::invalid_argument);
}

TEST(DataSubsetTest, DeterministicPerSeedAndSeedsDiffer) {
  Dataset d = toy_classification();
  Dataset a = balanced_subset(d, 15, 42);
  Dataset b = balanced_subset(d, 15, 42);
  Dataset c = balanced_subset(d, 15, 43);
  EXPECT_TRUE(torch::equal(a.inputs, b.inputs));
  EXPECT_TRUE(torch::equal(a.labels, b.labels));
  EXPECT_FALSE(torch::equal(a.inputs, c.inputs));
  EXPECT_TRUE(torch::equal(class_counts(a), class_counts(c)));
  // The inputs travel with their labels.
  EXPECT_TRUE(torch::equal(a.labels, d.labels.index_select(0, a.inputs.reshape({-1}).to(torch::kInt64))));
}

TEST(DataSubsetTest, SequencesGetARandomSubset) {
  Dataset d;
  d.inputs = torch::arange(40, torch::kInt64).reshape({10, 4});
  d.labels = d.inputs + 1;
  d.num_classes = 41;
  Dataset s = balanced_subset(d, 4, 7);
  EXPECT_EQ(s.inputs.sizes(), (std::vector<int64_t>{4, 4}));
  EXPECT_TRUE(torch::equal(s.labels, s.inputs + 1));
  EXPECT_TRUE(torch::equal(s.inputs, balanced_subset(d, 4, 7).inputs));
  EXPECT_EQ(std::get<0>(torch::_unique(s.inputs.select(1, 0))).numel(), 4);
}

TEST(DataStandardizerTest, ZeroMeanUnitStdOnTrain) {
  torch::manual_seed(0);
  torch::Tensor train = torch::rand({200, 2, 3}) * torch::arange(1, 7).reshape({1, 2, 3}) + 5.0;
  train.select(1, 1).select(1, 2).fill_(0.25);  // a constant feature
  Standardizer s = Standardizer::fit(train);
  torch::Tensor z = s.apply(train);
  EXPECT_EQ(z.sizes(), train.sizes());
  // float32 rounding (tolerance.h): the float64 mean and std cast to float32 (ε/2 each: the mean shifts z
  // by ε·|mean|/std), x − mean and ÷ std (2, on (|x| + |mean|)/std), and the 200-term mean of z here (201,
  // on max|z|). The sd: its 200-term mean of squares and √ (203), z's shift and scaling moving it by no more.
  using cdat::testing::tolerance_for;
  const double spread = ((train.abs().amax(0) + s.mean.abs()) / s.std.clamp_min(s.min_std)).max().item<double>();
  const double z_max = z.abs().max().item<double>();
  EXPECT_LT(z.mean(0).abs().max().item<double>(),
            tolerance_for(torch::kFloat32, 201) * z_max + tolerance_for(torch::kFloat32, 1 + 2) * spread);
  torch::Tensor sd = (z - z.mean(0)).pow(2).mean(0).sqrt();
  const double sd_tolerance = tolerance_for(torch::kFloat32, 203 + 1) + tolerance_for(torch::kFloat32, 1 + 2) * spread;
  EXPECT_NEAR(sd[0][0].item<double>(), 1.0, sd_tolerance);
  EXPECT_NEAR(sd[1][1].item<double>(), 1.0, sd_tolerance);
  EXPECT_EQ(sd[1][2].item<double>(), 0.0);  // constant: centred, not divided by zero
  EXPECT_TRUE(torch::isfinite(z).all().item<bool>());
  torch::Tensor test = torch::rand({7, 2, 3});
  torch::Tensor zt = s.apply(test);
  // The same two float32 operations on both sides, on (|x| + |mean|)/std.
  const double test_spread = ((test.abs().amax(0) + s.mean.abs()) / s.std.clamp_min(s.min_std)).max().item<double>();
  EXPECT_TRUE(torch::allclose(zt, (test - s.mean) / s.std, 0.0, tolerance_for(torch::kFloat32, 2 * 2) * test_spread));
  EXPECT_THROW(s.apply(torch::rand({7, 6})), std::invalid_argument);
}

TEST(DataOneHotTest, EncodesAndChecksRange) {
  torch::Tensor y = torch::tensor({2, 0, 1}, torch::kInt64);
  torch::Tensor oh = data::one_hot(y, 4);
  EXPECT_TRUE(torch::equal(oh, torch::tensor({0.f, 0.f, 1.f, 0.f, 1.f, 0.f, 0.f, 0.f, 0.f, 1.f, 0.f, 0.f}).reshape({3, 4})));
  EXPECT_EQ(data::one_hot(y.reshape({3, 1}), 3, torch::kFloat64).sizes(), (std::vector<int64_t>{3, 1, 3}));
  EXPECT_THROW(data::one_hot(y, 2), std::invalid_argument);
}

}  // namespace
}  // namespace cdat::data
