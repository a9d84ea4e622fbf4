// Shared test helpers for run folders written by cdat::train::run_training or `cdat train`:
// metrics.csv rows, checkpoint contents, and whether the default dataset is installed.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "data/idx.h"
#include "external_data.h"

namespace cdat::testing {

inline bool fashion_mnist_installed() {
  return std::filesystem::exists(data::default_fashion_mnist_dir() + "/train-labels-idx1-ubyte.gz");
}

// Skips (developer clone) or fails (CI) a test that trains on the default Fashion-MNIST.
#define CDAT_REQUIRE_FASHION_MNIST()                                                           \
  CDAT_REQUIRE_EXTERNAL_DATA(::cdat::testing::fashion_mnist_installed(),                       \
                             "Fashion-MNIST is not installed in " << ::cdat::data::default_fashion_mnist_dir() \
                                                                  << " (apt-get install dataset-fashion-mnist)")

inline std::vector<std::string> lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// metrics.csv rows without the wall_time_s column (the last one), which differs between runs.
inline std::vector<std::string> metrics_without_time(const std::string& dir) {
  auto rows = lines(dir + "/metrics.csv");
  for (auto& r : rows) r = r.substr(0, r.rfind(','));
  return rows;
}

// Every tensor of an archive, sub-module archives included, flattened in key order.
inline void collect_tensors(torch::serialize::InputArchive& archive, std::vector<torch::Tensor>& out) {
  for (const auto& key : archive.keys()) {
    torch::Tensor t;
    torch::serialize::InputArchive child;
    if (archive.try_read(key, t)) {
      out.push_back(t.reshape(-1).to(torch::kFloat64));
    } else if (archive.try_read(key, child)) {
      collect_tensors(child, out);
    }
  }
}

struct Checkpoint {
  int64_t step = -1;
  torch::Tensor parameters;  // every tensor of the model archive, flattened
};

inline Checkpoint read_checkpoint(const std::string& dir) {
  torch::serialize::InputArchive archive, model;
  archive.load_from(dir + "/checkpoint.pt");
  archive.read("model", model);
  std::vector<torch::Tensor> flat;
  collect_tensors(model, flat);
  torch::Tensor step;
  archive.read("meta.step", step);
  return {step.item<int64_t>(), torch::cat(flat)};
}

}  // namespace cdat::testing
