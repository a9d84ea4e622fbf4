// Datasets as tensors, and the preprocessing every workload shares (PAPER §6): class-balanced
// subsets for the full-batch regime, per-feature standardisation, one-hot targets.
// This module knows nothing of tuners, models or the core library.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace cdat::data {

// A dataset file that is missing, unreadable or malformed. The message names the file and the problem.
class DataError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class Split { Train, Test };

// "train" → Train, "test" → Test; anything else → std::invalid_argument.
Split parse_split(const std::string& name);
std::string to_string(Split split);

// A whole dataset in memory.
// - classification: inputs float [N, ...] (images [N, C, H, W] in [0, 1]), labels int64 [N] in
//   [0, num_classes);
// - character-level text: inputs int64 tokens [N, T], labels int64 next-token targets [N, T] (inputs
//   shifted by one), num_classes = vocabulary size.
struct Dataset {
  torch::Tensor inputs;
  torch::Tensor labels;
  int64_t num_classes = 0;
  std::string name;

  int64_t size() const { return inputs.defined() ? inputs.size(0) : 0; }
  // True for next-token datasets (labels [N, T]); false for classification (labels [N]).
  bool is_sequence() const { return labels.defined() && labels.dim() == 2; }
};

// The examples at `indices` (int64 [K]), same num_classes, name suffixed with nothing.
Dataset select(const Dataset& data, const torch::Tensor& indices);

// A deterministic subset of n examples, seeded.
// - classification: class-balanced. Each class gets n / num_classes examples and the remainder
//   n % num_classes goes one each to the lowest-numbered classes; a class with too few examples gives
//   all it has and its shortfall is spread over the others the same way. Within a class the examples
//   are drawn uniformly without replacement (seeded).
// - text (is_sequence()): n sequences drawn uniformly without replacement.
// The result keeps the original order of the examples (sorted indices). The same (data, n, seed) gives
// the same subset on every platform and LibTorch version (own PRNG, not torch's).
// Throws std::invalid_argument if n < 1 or n > data.size().
Dataset balanced_subset(const Dataset& data, int64_t n, uint64_t seed);

// The indices balanced_subset() selects (int64 [n], ascending).
torch::Tensor balanced_subset_indices(const Dataset& data, int64_t n, uint64_t seed);

// Per-feature (per input element) standardisation fitted on a training set:
// x ↦ (x − mean) / max(std, min_std), mean and std over the examples (dim 0), population std.
// The floor min_std keeps features that are (nearly) constant on the training set — the blank borders
// of MNIST digits — from dividing by zero or blowing up test inputs; such features are just centred
// (up to 1/min_std).
struct Standardizer {
  torch::Tensor mean;  // [1, ...] feature shape
  torch::Tensor std;   // [1, ...] feature shape, already floored
  double min_std = 1e-2;

  // Fits on x [N, ...] (N ≥ 1, floating point). Throws std::invalid_argument otherwise.
  static Standardizer fit(const torch::Tensor& x, double min_std = 1e-2);
  // Applies to x [M, ...] of the fitted feature shape; the result has x's dtype.
  torch::Tensor apply(const torch::Tensor& x) const;
  bool fitted() const { return mean.defined(); }
};

// One-hot encoding: labels int64 [...] in [0, num_classes) → [..., num_classes] of `dtype`.
// Throws std::invalid_argument for a label out of range or num_classes < 1.
torch::Tensor one_hot(const torch::Tensor& labels, int64_t num_classes, torch::Dtype dtype = torch::kFloat32);

}  // namespace cdat::data
