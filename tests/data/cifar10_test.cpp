#include "data/cifar10.h"

#include "data_test_util.h"

namespace cdat::data {
namespace {

using testing::Bytes;
using testing::expect_data_error;
using testing::TempDir;

TEST(Cifar10Test, ReadsRecordsCHW) {
  TempDir dir;
  testing::write_raw(dir.file("b.bin"), testing::cifar_records(Bytes{3, 0, 9}));
  Dataset d = read_cifar10_batch(dir.file("b.bin"));
  ASSERT_EQ(d.inputs.sizes(), (std::vector<int64_t>{3, 3, 32, 32}));
  EXPECT_EQ(d.inputs.scalar_type(), torch::kFloat32);
  EXPECT_TRUE(torch::equal(d.labels, torch::tensor({3, 0, 9}, torch::kInt64)));
  // Record 1, channel 2 (blue), row 5, column 7 = byte 2·1024 + 5·32 + 7 of its pixels.
  const int j = 2 * 1024 + 5 * 32 + 7;
  EXPECT_FLOAT_EQ(d.inputs[1][2][5][7].item<float>(), static_cast<float>((1 + j) % 256) / 255.0f);
  EXPECT_EQ(d.num_classes, 10);
}

TEST(Cifar10Test, LoadsSplitsFromSubfolder) {
  TempDir dir;
  std::filesystem::create_directories(dir.file("cifar-10-batches-bin"));
  for (int i = 1; i <= 5; ++i) {
    testing::write_raw(dir.file("cifar-10-batches-bin/data_batch_" + std::to_string(i) + ".bin"),
                       testing::cifar_records(Bytes{static_cast<uint8_t>(i), 7}));
  }
  testing::write_raw(dir.file("cifar-10-batches-bin/test_batch.bin"), testing::cifar_records(Bytes{4}));
  Dataset train = load_cifar10(dir.path(), Split::Train);
  Dataset test = load_cifar10(dir.path(), Split::Test);
  EXPECT_EQ(train.size(), 10);
  EXPECT_TRUE(torch::equal(train.labels, torch::tensor({1, 7, 2, 7, 3, 7, 4, 7, 5, 7}, torch::kInt64)));
  EXPECT_EQ(test.size(), 1);
  EXPECT_EQ(train.name, "cifar10/train");
}

TEST(Cifar10Test, TruncatedAndPartialRecords) {
  TempDir dir;
  Bytes b = testing::cifar_records(Bytes{1, 2});
  b.resize(b.size() - 100);
  testing::write_raw(dir.file("cut.bin"), b);
  expect_data_error([&] { read_cifar10_batch(dir.file("cut.bin")); }, {dir.file("cut.bin"), "not a whole number"});
  testing::write_raw(dir.file("small.bin"), Bytes(3000, 1));
  expect_data_error([&] { read_cifar10_batch(dir.file("small.bin")); }, {dir.file("small.bin"), "3000"});
  testing::write_raw(dir.file("empty.bin"), Bytes{});
  expect_data_error([&] { read_cifar10_batch(dir.file("empty.bin")); }, {dir.file("empty.bin"), "empty"});
}

TEST(Cifar10Test, LabelOutOfRange) {
  TempDir dir;
  testing::write_raw(dir.file("b.bin"), testing::cifar_records(Bytes{0, 1, 200}));
  expect_data_error([&] { read_cifar10_batch(dir.file("b.bin")); }, {dir.file("b.bin"), "label 200", "record 2"});
}

TEST(Cifar10Test, MissingFileSaysWhere) {
  TempDir dir;
  testing::write_raw(dir.file("data_batch_1.bin"), testing::cifar_records(Bytes{1}));
  expect_data_error([&] { load_cifar10(dir.path(), Split::Train); }, {"data_batch_2.bin", "cifar-10-binary"});
}

}  // namespace
}  // namespace cdat::data
