// Character-level text (Tiny Shakespeare for NanoLM, PAPER §6): a byte vocabulary and next-token
// sequences.
#pragma once

#include "data/dataset.h"

#include <array>
#include <string>

namespace cdat::data {

// The sorted unique bytes of a text; token i is the i-th of them.
class CharVocab {
 public:
  CharVocab() = default;
  explicit CharVocab(const std::string& text);

  int64_t size() const { return static_cast<int64_t>(chars_.size()); }
  const std::string& chars() const { return chars_; }
  bool contains(char c) const { return index_[static_cast<unsigned char>(c)] >= 0; }
  // int64 [len]. Throws std::invalid_argument for a character outside the vocabulary.
  torch::Tensor encode(const std::string& text) const;
  // Tokens (any integer tensor) back to text. Throws std::invalid_argument for a token out of range.
  std::string decode(const torch::Tensor& tokens) const;

 private:
  std::string chars_;
  std::array<int64_t, 256> index_{};
};

struct TextOptions {
  int64_t context = 64;  // T, tokens per sequence
  // Offset between the starts of consecutive sequences. 0 = context: contiguous, non-overlapping
  // sequences (the default). A smaller stride gives overlapping sequences.
  int64_t stride = 0;
  // The last test_fraction of the characters is the test split (the first 1 − test_fraction the train
  // split), as in nanoGPT's Shakespeare setup. The vocabulary is always built from the whole file.
  double test_fraction = 0.1;
};

struct TextDataset {
  Dataset data;     // inputs [N, T], labels [N, T] (inputs shifted by one), num_classes = vocab size
  CharVocab vocab;  // of the whole file
};

// Sequences of a token stream: sequence i covers tokens[i·stride, i·stride + T) and its targets
// tokens[i·stride + 1, i·stride + T + 1); N = (len − T − 1) / stride + 1. `what` names the source in
// errors. Throws DataError if len < T + 1.
Dataset make_sequences(const torch::Tensor& tokens, int64_t vocab_size, int64_t context, int64_t stride,
                       const std::string& what);

// Reads a text file and returns the split as sequences. Throws DataError naming the file if it is
// missing, empty, or its split is shorter than context + 1 characters; std::invalid_argument for bad
// options (context < 1, stride < 0, test_fraction outside [0, 1)).
TextDataset load_text(const std::string& path, Split split, const TextOptions& options = {});

}  // namespace cdat::data
