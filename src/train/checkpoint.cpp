#include "train/checkpoint.h"

#include <fcntl.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cstdio>
#include <mutex>
#include <stdexcept>

namespace cdat::train {
namespace {

// fsync(2) of a file or directory; false if it could not be opened or synced.
bool fsync_path(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return false;
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
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
  archive.write("meta.data_seed", torch::tensor(meta.data_seed, torch::kInt64));
  archive.write("meta.batch_size", torch::tensor(meta.batch_size, torch::kInt64));
  {
    // Nothing in training draws from it today (batches and Lanczos use their own seeded generators);
    // saved so that anything that does later (dropout, augmentation) resumes exactly too.
    auto generator = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(generator.mutex());
    archive.write("rng.cpu", generator.get_state());
  }
  // The previous checkpoint stays loadable until the new one is complete on disk: write a temporary
  // file, flush it to disk, then rename it over the old one (atomic on POSIX) and sync the directory.
  const std::string tmp = path + ".tmp";
  try {
    archive.save_to(tmp);
  } catch (const c10::Error& e) {
    std::remove(tmp.c_str());
    throw std::runtime_error("cannot write checkpoint " + tmp + ": " + e.what_without_backtrace());
  }
  if (!fsync_path(tmp)) {
    std::remove(tmp.c_str());
    throw std::runtime_error("cannot flush checkpoint " + tmp + " to disk");
  }
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
    // Optional keys (older checkpoints lack them). Each read needs a fresh tensor: reading into a defined
    // one set_()s it in place, which fails for another dtype or size.
    torch::Tensor data_seed, batch_size, rng;
    if (archive.try_read("meta.data_seed", data_seed)) meta.data_seed = data_seed.item<int64_t>();
    if (archive.try_read("meta.batch_size", batch_size)) meta.batch_size = batch_size.item<int64_t>();
    if (archive.try_read("rng.cpu", rng)) {
      auto generator = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(generator.mutex());
      generator.set_state(rng);
    }
  } catch (const c10::Error& e) {
    throw std::runtime_error("cannot load checkpoint " + path + ": " + e.what_without_backtrace());
  }
  return meta;
}

}  // namespace cdat::train
