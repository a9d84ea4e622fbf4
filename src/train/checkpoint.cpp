#include "train/checkpoint.h"

#include <fcntl.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cstdio>
#include <stdexcept>

namespace cdat::train {
namespace {

void fsync_path(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

std::string parent_dir(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

}  // namespace

void save_checkpoint(const std::string& path, const torch::nn::Module& model, const TunedOptimizer& optimizer,
                     const CheckpointMeta& meta) {
  torch::serialize::OutputArchive archive, model_archive, optimizer_archive;
  model.save(model_archive);
  optimizer.save(optimizer_archive);
  archive.write("model", model_archive);
  archive.write("optimizer", optimizer_archive);
  archive.write("meta.step", torch::tensor(meta.step, torch::kInt64));
  archive.write("meta.initial_loss", torch::tensor(meta.initial_loss, torch::kFloat64));
  archive.write("meta.best_loss", torch::tensor(meta.best_loss, torch::kFloat64));
  archive.write("meta.wall_time_s", torch::tensor(meta.wall_time_s, torch::kFloat64));
  // The previous checkpoint stays loadable until the new one is complete on disk.
  const std::string tmp = path + ".tmp";
  archive.save_to(tmp);
  fsync_path(tmp);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw std::runtime_error("cannot write checkpoint " + path);
  fsync_path(parent_dir(path));
}

CheckpointMeta load_checkpoint(const std::string& path, torch::nn::Module& model, TunedOptimizer& optimizer) {
  torch::serialize::InputArchive archive, model_archive, optimizer_archive;
  CheckpointMeta meta;
  try {
    archive.load_from(path);
    archive.read("model", model_archive);
    archive.read("optimizer", optimizer_archive);
    model.load(model_archive);
    optimizer.load(optimizer_archive);
    auto scalar = [&](const char* key) {
      torch::Tensor t;
      archive.read(key, t);
      return t;
    };
    meta.step = scalar("meta.step").item<int64_t>();
    meta.initial_loss = scalar("meta.initial_loss").item<double>();
    meta.best_loss = scalar("meta.best_loss").item<double>();
    meta.wall_time_s = scalar("meta.wall_time_s").item<double>();
  } catch (const c10::Error& e) {
    throw std::runtime_error("cannot load checkpoint " + path + ": " + e.what_without_backtrace());
  }
  return meta;
}

}  // namespace cdat::train
