// The binary version of CIFAR-10 (https://www.cs.toronto.edu/~kriz/cifar.html): each record is one
// label byte followed by 3072 pixel bytes (32×32 red, then green, then blue, row-major: CHW).
// Train = data_batch_1.bin … data_batch_5.bin, test = test_batch.bin. Files may also be gzip-compressed.
#pragma once

#include "data/dataset.h"

#include <string>

namespace cdat::data {

inline constexpr int64_t kCifar10RecordBytes = 1 + 3 * 32 * 32;

// One batch file: images float [N, 3, 32, 32] in [0, 1], labels int64 [N].
// Throws DataError naming the file for: unreadable or empty file, a size that is not a whole number of
// records (truncated / partial record), a label ≥ 10.
Dataset read_cifar10_batch(const std::string& path);

// The split from `dir` (the files directly in it, or in its cifar-10-batches-bin/ subfolder).
// A missing file → DataError naming the path and where to get the data.
Dataset load_cifar10(const std::string& dir, Split split);

}  // namespace cdat::data
