#include "data/idx.h"

#include "data/gz_file.h"

#include <cstdio>
#include <cstring>
#include <vector>

namespace cdat::data {
namespace {

constexpr uint32_t kImagesMagic = 0x00000803;  // unsigned bytes, 3 dimensions
constexpr uint32_t kLabelsMagic = 0x00000801;  // unsigned bytes, 1 dimension
// A bound on the data an IDX header may announce (far above MNIST's 47 MB), against corrupt headers.
constexpr int64_t kMaxBytes = int64_t{1} << 34;

uint32_t read_be32(detail::GzFile& f, const std::string& what) {
  uint8_t b[4];
  f.read_exact(b, 4, what);
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | uint32_t{b[3]};
}

std::string hex(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08X", v);
  return buf;
}

void check_magic(detail::GzFile& f, uint32_t expected, const char* kind) {
  const uint32_t magic = read_be32(f, "the IDX magic number");
  if (magic != expected) {
    f.fail(std::string("wrong magic number ") + hex(magic) + ", expected " + hex(expected) + " (IDX " + kind +
           " file)" + (magic == (expected ^ 0x2u) ? "; images and labels files swapped?" : ""));
  }
}

std::string find_file(const std::string& dir, const std::string& base, const std::string& dataset,
                      const std::string& how) {
  const std::string stem = dir.empty() || dir.back() == '/' ? dir + base : dir + "/" + base;
  if (detail::file_exists(stem + ".gz")) return stem + ".gz";
  if (detail::file_exists(stem)) return stem;
  throw DataError("cdat data: " + dataset + " not found: neither " + stem + ".gz nor " + stem + " exists. " + how);
}

Dataset load_standard(const std::string& dir, Split split, const std::string& dataset, const std::string& how) {
  const std::string prefix = split == Split::Train ? "train" : "t10k";
  const std::string images = find_file(dir, prefix + "-images-idx3-ubyte", dataset, how);
  const std::string labels = find_file(dir, prefix + "-labels-idx1-ubyte", dataset, how);
  return load_idx(images, labels, dataset + "/" + to_string(split));
}

}  // namespace

torch::Tensor read_idx_images(const std::string& path) {
  detail::GzFile f(path);
  check_magic(f, kImagesMagic, "images");
  int64_t dims[3];
  for (auto& d : dims) d = read_be32(f, "the IDX dimensions");
  if (dims[0] == 0 || dims[1] == 0 || dims[2] == 0) {
    f.fail("zero dimension in IDX header (" + std::to_string(dims[0]) + " × " + std::to_string(dims[1]) + " × " +
           std::to_string(dims[2]) + ")");
  }
  if (dims[1] > kMaxBytes / dims[2] || dims[0] > kMaxBytes / (dims[1] * dims[2])) {
    f.fail("implausible IDX dimensions " + std::to_string(dims[0]) + " × " + std::to_string(dims[1]) + " × " +
           std::to_string(dims[2]));
  }
  const int64_t pixels = dims[1] * dims[2];
  std::vector<uint8_t> bytes = f.read_vector(dims[0] * pixels, std::to_string(dims[0]) + " images");
  f.expect_end();
  torch::Tensor raw = torch::from_blob(bytes.data(), {dims[0], 1, dims[1], dims[2]}, torch::kUInt8);
  return raw.to(torch::kFloat32).div_(255.0);
}

torch::Tensor read_idx_labels(const std::string& path, int64_t num_classes) {
  detail::GzFile f(path);
  check_magic(f, kLabelsMagic, "labels");
  const int64_t n = read_be32(f, "the IDX dimensions");
  if (n == 0) f.fail("zero labels in IDX header");
  std::vector<uint8_t> bytes = f.read_vector(n, std::to_string(n) + " labels");
  f.expect_end();
  for (int64_t i = 0; i < n; ++i) {
    if (bytes[static_cast<size_t>(i)] >= num_classes) {
      f.fail("label " + std::to_string(bytes[static_cast<size_t>(i)]) + " of example " + std::to_string(i) +
             " out of range [0, " + std::to_string(num_classes) + ")");
    }
  }
  return torch::from_blob(bytes.data(), {n}, torch::kUInt8).to(torch::kInt64);
}

Dataset load_idx(const std::string& images_path, const std::string& labels_path, const std::string& name,
                 int64_t num_classes) {
  Dataset d;
  d.inputs = read_idx_images(images_path);
  d.labels = read_idx_labels(labels_path, num_classes);
  if (d.inputs.size(0) != d.labels.size(0)) {
    throw DataError("cdat data: " + images_path + " holds " + std::to_string(d.inputs.size(0)) + " images but " +
                    labels_path + " holds " + std::to_string(d.labels.size(0)) + " labels");
  }
  d.num_classes = num_classes;
  d.name = name;
  return d;
}

std::string default_fashion_mnist_dir() { return "/usr/share/datasets/fashion-mnist"; }

Dataset load_fashion_mnist(const std::string& dir, Split split) {
  return load_standard(dir.empty() ? default_fashion_mnist_dir() : dir, split, "fashion-mnist",
                       "Install it with `apt-get install dataset-fashion-mnist` (Debian/Ubuntu), or download the "
                       "files from https://github.com/zalandoresearch/fashion-mnist into that folder.");
}

Dataset load_mnist(const std::string& dir, Split split) {
  if (dir.empty()) throw std::invalid_argument("cdat data: load_mnist needs the folder holding the MNIST files");
  return load_standard(dir, split, "mnist",
                       "Download the four files from http://yann.lecun.com/exdb/mnist/ into that folder.");
}

}  // namespace cdat::data
