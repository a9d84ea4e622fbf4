#include "data/text.h"

#include "data_test_util.h"
#include "external_data.h"

namespace cdat::data {
namespace {

using testing::Bytes;
using testing::expect_data_error;
using testing::TempDir;

TEST(TextTest, VocabularyIsSortedUniqueBytes) {
  CharVocab v("hello world");
  EXPECT_EQ(v.chars(), " dehlorw");
  EXPECT_EQ(v.size(), 8);
  torch::Tensor t = v.encode("hello");
  EXPECT_TRUE(torch::equal(t, torch::tensor({3, 2, 4, 4, 5}, torch::kInt64)));
  EXPECT_EQ(v.decode(t), "hello");
  EXPECT_THROW(v.encode("z"), std::invalid_argument);
  EXPECT_THROW(v.decode(torch::tensor({8})), std::invalid_argument);
}

TEST(TextTest, SequencesAreShiftedByOne) {
  torch::Tensor tokens = torch::arange(10, torch::kInt64);
  Dataset d = make_sequences(tokens, 10, 3, 0, "t");  // non-overlapping: starts 0, 3, 6
  ASSERT_EQ(d.inputs.sizes(), (std::vector<int64_t>{3, 3}));
  EXPECT_TRUE(torch::equal(d.inputs, torch::tensor({0, 1, 2, 3, 4, 5, 6, 7, 8}, torch::kInt64).reshape({3, 3})));
  EXPECT_TRUE(torch::equal(d.labels, d.inputs + 1));
  EXPECT_TRUE(d.is_sequence());
  Dataset s = make_sequences(tokens, 10, 4, 2, "t");  // strided: starts 0, 2, 4
  ASSERT_EQ(s.inputs.sizes(), (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(s.inputs[2][0].item<int64_t>(), 4);
  EXPECT_EQ(s.labels[2][3].item<int64_t>(), 8);
  Dataset v = make_sequences(tokens.slice(0, 2), 10, 3, 0, "t");  // a view with an offset
  EXPECT_TRUE(torch::equal(v.inputs, torch::tensor({2, 3, 4, 5, 6, 7}, torch::kInt64).reshape({2, 3})));
  EXPECT_TRUE(torch::equal(v.labels, v.inputs + 1));
  EXPECT_NO_THROW(make_sequences(tokens, 10, 9, 0, "t"));
  EXPECT_THROW(make_sequences(tokens, 10, 10, 0, "t"), DataError);
}

TEST(TextTest, LoadsSplitsOfAFile) {
  TempDir dir;
  const std::string text = "abcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcxyz!";
  testing::write_raw(dir.file("t.txt"), Bytes(text.begin(), text.end()));
  TextOptions opt;
  opt.context = 4;
  opt.test_fraction = 0.25;
  TextDataset train = load_text(dir.file("t.txt"), Split::Train, opt);
  TextDataset test = load_text(dir.file("t.txt"), Split::Test, opt);
  EXPECT_EQ(train.vocab.chars(), "!abcxyz");  // from the whole file
  EXPECT_EQ(train.data.num_classes, 7);
  EXPECT_EQ(test.data.num_classes, 7);
  const int64_t cut = static_cast<int64_t>(text.size() * 3 / 4);
  EXPECT_EQ(train.data.size(), (cut - 5) / 4 + 1);
  EXPECT_EQ(train.vocab.decode(train.data.inputs[0]), "abca");
  EXPECT_EQ(train.vocab.decode(train.data.labels[0]), "bcab");
  EXPECT_EQ(test.vocab.decode(test.data.inputs[0]), text.substr(static_cast<size_t>(cut), 4));
}

TEST(TextTest, EmptyOrShortFilesAndMissing) {
  TempDir dir;
  testing::write_raw(dir.file("empty.txt"), Bytes{});
  testing::write_raw(dir.file("short.txt"), Bytes{'a', 'b', 'c'});
  TextOptions opt;
  opt.context = 3;
  opt.test_fraction = 0.0;
  expect_data_error([&] { load_text(dir.file("empty.txt"), Split::Train, opt); }, {dir.file("empty.txt"), "empty"});
  expect_data_error([&] { load_text(dir.file("short.txt"), Split::Train, opt); }, {dir.file("short.txt"), "context"});
  expect_data_error([&] { load_text(dir.file("none.txt"), Split::Train, opt); }, {dir.file("none.txt"), "not found"});
  opt.context = 0;
  EXPECT_THROW(load_text(dir.file("short.txt"), Split::Train, opt), std::invalid_argument);
}

TEST(TextTest, TinyShakespeareHasVocab65) {
  const std::string path = std::string(CDAT_SOURCE_DIR) + "/../shared/data/tinyshakespeare.txt";
  CDAT_REQUIRE_EXTERNAL_DATA(std::filesystem::exists(path),
                             "Tiny Shakespeare not found at " << path
                                                              << " (the repository's sibling ../shared/data; real users "
                                                                 "download karpathy/char-rnn's tinyshakespeare/input.txt)");
  TextDataset train = load_text(path, Split::Train);
  EXPECT_EQ(train.vocab.size(), 65);
  EXPECT_EQ(train.data.num_classes, 65);
  EXPECT_EQ(train.data.inputs.size(1), 64);
  EXPECT_GT(train.data.size(), 10000);
  EXPECT_TRUE(torch::equal(train.data.inputs.slice(1, 1), train.data.labels.slice(1, 0, 63)));
}

}  // namespace
}  // namespace cdat::data
