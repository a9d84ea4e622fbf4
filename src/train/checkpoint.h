// Checkpoints: model (parameters and buffers), the whole optimizer state (direction + tuner + step
// counter) and the run's bookkeeping, written atomically (temporary file, fsync, rename).
#pragma once

#include <cdat/optimizer.h>
#include <torch/nn/module.h>

#include <string>

namespace cdat::train {

struct CheckpointMeta {
  int64_t step = 0;            // steps completed
  double initial_loss = 0.0;   // training loss at step 0 (divergence threshold, final/initial ratio)
  double best_loss = 0.0;
  double wall_time_s = 0.0;    // training time before this checkpoint
};

void save_checkpoint(const std::string& path, const torch::nn::Module& model, const TunedOptimizer& optimizer,
                     const CheckpointMeta& meta);
// Restores model and optimizer in place; throws std::runtime_error naming the file if it is unreadable.
CheckpointMeta load_checkpoint(const std::string& path, torch::nn::Module& model, TunedOptimizer& optimizer);

}  // namespace cdat::train
