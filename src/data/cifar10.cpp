#include "data/cifar10.h"

#include "data/gz_file.h"

#include <vector>

namespace cdat::data {

Dataset read_cifar10_batch(const std::string& path) {
  detail::GzFile f(path);
  std::vector<uint8_t> bytes = f.read_all();
  const auto total = static_cast<int64_t>(bytes.size());
  if (total == 0) f.fail("empty file, expected CIFAR-10 records of " + std::to_string(kCifar10RecordBytes) + " bytes");
  if (total % kCifar10RecordBytes != 0) {
    f.fail("size " + std::to_string(total) + " bytes is not a whole number of CIFAR-10 records of " +
           std::to_string(kCifar10RecordBytes) + " bytes (truncated or partial last record: " +
           std::to_string(total % kCifar10RecordBytes) + " bytes after " + std::to_string(total / kCifar10RecordBytes) +
           " records)");
  }
  const int64_t n = total / kCifar10RecordBytes;
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t label = bytes[static_cast<size_t>(i * kCifar10RecordBytes)];
    if (label >= 10) {
      f.fail("label " + std::to_string(label) + " of record " + std::to_string(i) + " out of range [0, 10)");
    }
  }
  torch::Tensor records = torch::from_blob(bytes.data(), {n, kCifar10RecordBytes}, torch::kUInt8);
  Dataset d;
  d.labels = records.select(1, 0).to(torch::kInt64);
  d.inputs = records.slice(1, 1).to(torch::kFloat32).div_(255.0).reshape({n, 3, 32, 32});
  d.num_classes = 10;
  d.name = "cifar10";
  return d;
}

Dataset load_cifar10(const std::string& dir, Split split) {
  if (dir.empty()) throw std::invalid_argument("cdat data: load_cifar10 needs the folder holding the CIFAR-10 files");
  std::string base = dir.back() == '/' ? dir : dir + "/";
  const std::string probe = split == Split::Train ? "data_batch_1.bin" : "test_batch.bin";
  if (!detail::file_exists(base + probe) && detail::file_exists(base + "cifar-10-batches-bin/" + probe)) {
    base += "cifar-10-batches-bin/";
  }
  std::vector<std::string> files;
  if (split == Split::Train) {
    for (int i = 1; i <= 5; ++i) files.push_back(base + "data_batch_" + std::to_string(i) + ".bin");
  } else {
    files.push_back(base + "test_batch.bin");
  }
  std::vector<torch::Tensor> inputs, labels;
  for (const auto& file : files) {
    if (!detail::file_exists(file)) {
      throw DataError("cdat data: CIFAR-10 not found: " + file +
                      " does not exist. Download the binary version (cifar-10-binary.tar.gz) from "
                      "https://www.cs.toronto.edu/~kriz/cifar.html and unpack it into " +
                      dir);
    }
    Dataset part = read_cifar10_batch(file);
    inputs.push_back(part.inputs);
    labels.push_back(part.labels);
  }
  Dataset d;
  d.inputs = inputs.size() == 1 ? inputs[0] : torch::cat(inputs, 0);
  d.labels = labels.size() == 1 ? labels[0] : torch::cat(labels, 0);
  d.num_classes = 10;
  d.name = "cifar10/" + to_string(split);
  return d;
}

}  // namespace cdat::data
