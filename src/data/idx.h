// The IDX format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/): a big-endian header
// (magic 0x00000803 for images [N, H, W], 0x00000801 for labels [N], unsigned bytes), then the data.
// Files may be gzip-compressed (.gz) or raw; both are read through zlib.
#pragma once

#include "data/dataset.h"

#include <string>

namespace cdat::data {

// Images of an IDX file as float [N, 1, H, W] in [0, 1] (bytes / 255).
// Throws DataError naming the file for: unreadable file, wrong magic number, zero dimensions, a file
// shorter than its header says (truncated) or longer (trailing bytes).
torch::Tensor read_idx_images(const std::string& path);

// Labels of an IDX file as int64 [N]. Throws DataError naming the file as above, and for a label
// ≥ num_classes.
torch::Tensor read_idx_labels(const std::string& path, int64_t num_classes = 10);

// An images file and a labels file as one Dataset (num_classes 10). Throws DataError if the counts differ.
Dataset load_idx(const std::string& images_path, const std::string& labels_path, const std::string& name,
                 int64_t num_classes = 10);

// Where Debian's dataset-fashion-mnist package installs the files.
std::string default_fashion_mnist_dir();  // "/usr/share/datasets/fashion-mnist"

// The standard files in `dir`: {train,t10k}-{images-idx3,labels-idx1}-ubyte, each with or without
// ".gz" (the .gz is preferred when both exist). An empty `dir` means default_fashion_mnist_dir().
// A missing file → DataError naming the path tried and how to get the data.
Dataset load_fashion_mnist(const std::string& dir, Split split);
Dataset load_mnist(const std::string& dir, Split split);

}  // namespace cdat::data
