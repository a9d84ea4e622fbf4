#include "data/idx.h"

#include "data_test_util.h"
#include "external_data.h"

namespace cdat::data {
namespace {

using testing::Bytes;
using testing::expect_data_error;
using testing::TempDir;

TEST(IdxTest, ReadsRawImagesScaledWithChannelDim) {
  TempDir dir;
  const std::string path = dir.file("imgs-idx3-ubyte");
  testing::write_raw(path, testing::idx_images(5, 4, 3));
  torch::Tensor x = read_idx_images(path);
  ASSERT_EQ(x.sizes(), (std::vector<int64_t>{5, 1, 4, 3}));
  EXPECT_EQ(x.scalar_type(), torch::kFloat32);
  EXPECT_FLOAT_EQ(x[2][0][1][2].item<float>(), (2 * 7 + 1 * 3 + 2) / 255.0f);
  EXPECT_GE(x.min().item<float>(), 0.0f);
  EXPECT_LE(x.max().item<float>(), 1.0f);
}

TEST(IdxTest, ReadsGzipAndRawIdentically) {
  TempDir dir;
  const Bytes images = testing::idx_images(300, 28, 28);  // all 256 byte values occur
  testing::write_raw(dir.file("a"), images);
  testing::write_gz(dir.file("a.gz"), images);
  torch::Tensor raw = read_idx_images(dir.file("a"));
  torch::Tensor gz = read_idx_images(dir.file("a.gz"));
  EXPECT_TRUE(torch::equal(raw, gz));
  EXPECT_FLOAT_EQ(raw.max().item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(raw.min().item<float>(), 0.0f);
}

TEST(IdxTest, ReadsLabels) {
  TempDir dir;
  testing::write_gz(dir.file("l.gz"), testing::idx_labels(23));
  torch::Tensor y = read_idx_labels(dir.file("l.gz"));
  ASSERT_EQ(y.sizes(), (std::vector<int64_t>{23}));
  EXPECT_EQ(y.scalar_type(), torch::kInt64);
  EXPECT_EQ(y[13].item<int64_t>(), 3);
}

TEST(IdxTest, MissingFileNamesIt) {
  TempDir dir;
  expect_data_error([&] { read_idx_images(dir.file("nope.gz")); }, {dir.file("nope.gz"), "cannot open"});
}

TEST(IdxTest, WrongMagicNumbers) {
  TempDir dir;
  testing::write_raw(dir.file("img"), testing::idx_images(2, 2, 2, 0x00000801));
  testing::write_raw(dir.file("lab"), testing::idx_labels(2, 0x00000803));
  testing::write_gz(dir.file("junk.gz"), Bytes{'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o'});
  expect_data_error([&] { read_idx_images(dir.file("img")); }, {dir.file("img"), "magic", "0x00000801"});
  expect_data_error([&] { read_idx_labels(dir.file("lab")); }, {dir.file("lab"), "magic", "0x00000803"});
  expect_data_error([&] { read_idx_labels(dir.file("junk.gz")); }, {dir.file("junk.gz"), "magic"});
}

TEST(IdxTest, TruncatedFiles) {
  TempDir dir;
  Bytes images = testing::idx_images(10, 5, 5);
  images.resize(images.size() - 7);
  testing::write_raw(dir.file("img"), images);
  testing::write_gz(dir.file("img.gz"), images);
  expect_data_error([&] { read_idx_images(dir.file("img")); }, {dir.file("img"), "truncated"});
  expect_data_error([&] { read_idx_images(dir.file("img.gz")); }, {dir.file("img.gz"), "truncated"});
  // Header cut short.
  testing::write_raw(dir.file("head"), Bytes{0, 0, 8, 3, 0, 0});
  expect_data_error([&] { read_idx_images(dir.file("head")); }, {dir.file("head"), "truncated"});
  Bytes labels = testing::idx_labels(10);
  labels.pop_back();
  testing::write_raw(dir.file("lab"), labels);
  expect_data_error([&] { read_idx_labels(dir.file("lab")); }, {dir.file("lab"), "truncated"});
  // The gzip stream itself cut short.
  testing::write_gz(dir.file("full.gz"), testing::idx_images(50, 28, 28));
  std::filesystem::resize_file(dir.file("full.gz"), std::filesystem::file_size(dir.file("full.gz")) / 2);
  expect_data_error([&] { read_idx_images(dir.file("full.gz")); }, {dir.file("full.gz")});
}

TEST(IdxTest, TrailingBytesAndZeroDims) {
  TempDir dir;
  Bytes labels = testing::idx_labels(4);
  labels.push_back(1);
  testing::write_raw(dir.file("lab"), labels);
  expect_data_error([&] { read_idx_labels(dir.file("lab")); }, {dir.file("lab"), "trailing"});
  testing::write_raw(dir.file("img"), testing::idx_images(3, 0, 2));
  expect_data_error([&] { read_idx_images(dir.file("img")); }, {dir.file("img"), "zero dimension"});
  // A header announcing an absurd size fails cleanly instead of allocating.
  Bytes huge;
  testing::put_be32(huge, 0x803);
  for (int i = 0; i < 3; ++i) testing::put_be32(huge, 0xFFFFFFFFu);
  testing::write_raw(dir.file("huge"), huge);
  expect_data_error([&] { read_idx_images(dir.file("huge")); }, {dir.file("huge"), "implausible"});
  Bytes big;
  testing::put_be32(big, 0x803);
  testing::put_be32(big, 100000);
  testing::put_be32(big, 28);
  testing::put_be32(big, 28);
  testing::write_raw(dir.file("big"), big);
  expect_data_error([&] { read_idx_images(dir.file("big")); }, {dir.file("big"), "truncated"});
}

TEST(IdxTest, LabelOutOfRange) {
  TempDir dir;
  testing::write_gz(dir.file("lab.gz"), testing::idx_labels(3, 0x801, Bytes{1, 10, 2}));
  expect_data_error([&] { read_idx_labels(dir.file("lab.gz")); }, {dir.file("lab.gz"), "label 10", "example 1"});
}

TEST(IdxTest, CountMismatchNamesBothFiles) {
  TempDir dir;
  testing::write_gz(dir.file("i.gz"), testing::idx_images(6, 28, 28));
  testing::write_gz(dir.file("l.gz"), testing::idx_labels(5));
  expect_data_error([&] { load_idx(dir.file("i.gz"), dir.file("l.gz"), "x"); },
                    {dir.file("i.gz"), dir.file("l.gz"), "6 images", "5 labels"});
}

TEST(IdxTest, LoadsStandardFileNamesGzOrRaw) {
  TempDir dir;
  testing::write_gz(dir.file("train-images-idx3-ubyte.gz"), testing::idx_images(12, 28, 28));
  testing::write_gz(dir.file("train-labels-idx1-ubyte.gz"), testing::idx_labels(12));
  testing::write_raw(dir.file("t10k-images-idx3-ubyte"), testing::idx_images(4, 28, 28));
  testing::write_raw(dir.file("t10k-labels-idx1-ubyte"), testing::idx_labels(4));
  Dataset train = load_mnist(dir.path(), Split::Train);
  Dataset test = load_fashion_mnist(dir.path(), Split::Test);
  EXPECT_EQ(train.size(), 12);
  EXPECT_EQ(train.inputs.sizes(), (std::vector<int64_t>{12, 1, 28, 28}));
  EXPECT_EQ(train.num_classes, 10);
  EXPECT_EQ(test.size(), 4);
  EXPECT_EQ(test.name, "fashion-mnist/test");
}

TEST(IdxTest, MissingDatasetSaysHowToInstall) {
  TempDir dir;
  expect_data_error([&] { load_fashion_mnist(dir.path(), Split::Train); },
                    {dir.file("train-images-idx3-ubyte"), "apt-get install dataset-fashion-mnist"});
}

TEST(IdxTest, RealFashionMnistIfInstalled) {
  const std::string dir = default_fashion_mnist_dir();
  CDAT_REQUIRE_EXTERNAL_DATA(std::filesystem::exists(dir + "/train-images-idx3-ubyte.gz") ||
                                 std::filesystem::exists(dir + "/train-images-idx3-ubyte"),
                             "Fashion-MNIST not installed in " << dir << " (apt-get install dataset-fashion-mnist)");
  Dataset train = load_fashion_mnist("", Split::Train);
  EXPECT_EQ(train.inputs.sizes(), (std::vector<int64_t>{60000, 1, 28, 28}));
  EXPECT_EQ(train.labels.sizes(), (std::vector<int64_t>{60000}));
  EXPECT_EQ(torch::bincount(train.labels).min().item<int64_t>(), 6000);  // 6000 per class
  Dataset test = load_fashion_mnist("", Split::Test);
  EXPECT_EQ(test.size(), 10000);
}

}  // namespace
}  // namespace cdat::data
