#include "data/text.h"

#include "data/gz_file.h"

#include <cmath>
#include <vector>

namespace cdat::data {

CharVocab::CharVocab(const std::string& text) {
  bool seen[256] = {};
  for (char c : text) seen[static_cast<unsigned char>(c)] = true;
  index_.fill(-1);
  for (int b = 0; b < 256; ++b) {
    if (seen[b]) {
      index_[static_cast<size_t>(b)] = static_cast<int64_t>(chars_.size());
      chars_.push_back(static_cast<char>(b));
    }
  }
}

torch::Tensor CharVocab::encode(const std::string& text) const {
  torch::Tensor out = torch::empty({static_cast<int64_t>(text.size())}, torch::kInt64);
  int64_t* p = out.data_ptr<int64_t>();
  for (size_t i = 0; i < text.size(); ++i) {
    const int64_t t = index_[static_cast<unsigned char>(text[i])];
    if (t < 0) {
      throw std::invalid_argument("cdat data: character code " + std::to_string(static_cast<unsigned char>(text[i])) +
                                  " at position " + std::to_string(i) + " is not in the vocabulary");
    }
    p[i] = t;
  }
  return out;
}

std::string CharVocab::decode(const torch::Tensor& tokens) const {
  torch::Tensor t = tokens.to(torch::kCPU, torch::kInt64).contiguous().reshape({-1});
  const int64_t* p = t.data_ptr<int64_t>();
  std::string out;
  out.reserve(static_cast<size_t>(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i) {
    if (p[i] < 0 || p[i] >= size()) {
      throw std::invalid_argument("cdat data: token " + std::to_string(p[i]) + " outside the vocabulary of " +
                                  std::to_string(size()));
    }
    out.push_back(chars_[static_cast<size_t>(p[i])]);
  }
  return out;
}

Dataset make_sequences(const torch::Tensor& tokens, int64_t vocab_size, int64_t context, int64_t stride,
                       const std::string& what) {
  if (context < 1) throw std::invalid_argument("cdat data: text context must be ≥ 1");
  if (stride < 0) throw std::invalid_argument("cdat data: text stride must be ≥ 0");
  if (stride == 0) stride = context;
  const int64_t len = tokens.numel();
  if (len < context + 1) {
    throw DataError("cdat data: " + what + " has " + std::to_string(len) + " characters, fewer than context + 1 = " +
                    std::to_string(context + 1));
  }
  const int64_t n = (len - context - 1) / stride + 1;
  torch::Tensor flat = tokens.reshape({-1}).to(torch::kInt64);
  Dataset d;
  // Windows of the stream (unfold views), copied to their own contiguous storage.
  d.inputs = flat.slice(0, 0, len - 1).unfold(0, context, stride).clone(torch::MemoryFormat::Contiguous);
  d.labels = flat.slice(0, 1, len).unfold(0, context, stride).clone(torch::MemoryFormat::Contiguous);
  TORCH_INTERNAL_ASSERT(d.inputs.size(0) == n && d.labels.size(0) == n);
  d.num_classes = vocab_size;
  d.name = what;
  return d;
}

TextDataset load_text(const std::string& path, Split split, const TextOptions& options) {
  if (options.context < 1) throw std::invalid_argument("cdat data: text context must be ≥ 1");
  if (options.stride < 0) throw std::invalid_argument("cdat data: text stride must be ≥ 0");
  if (!(options.test_fraction >= 0.0 && options.test_fraction < 1.0)) {
    throw std::invalid_argument("cdat data: text test_fraction must be in [0, 1)");
  }
  if (!detail::file_exists(path)) {
    throw DataError(detail::file_error(path, "text file not found (Tiny Shakespeare: download "
                                             "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/"
                                             "tinyshakespeare/input.txt)"));
  }
  detail::GzFile f(path);
  std::vector<uint8_t> bytes = f.read_all();
  if (bytes.empty()) throw DataError(detail::file_error(path, "empty text file"));
  const std::string text(bytes.begin(), bytes.end());
  TextDataset out;
  out.vocab = CharVocab(text);
  const auto total = static_cast<int64_t>(text.size());
  const auto cut = static_cast<int64_t>(std::floor(static_cast<double>(total) * (1.0 - options.test_fraction)));
  const std::string part = split == Split::Train ? text.substr(0, static_cast<size_t>(cut))
                                                 : text.substr(static_cast<size_t>(cut));
  out.data = make_sequences(out.vocab.encode(part), out.vocab.size(), options.context, options.stride,
                            path + " (" + to_string(split) + " split)");
  return out;
}

}  // namespace cdat::data
