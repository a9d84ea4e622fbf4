// Checkpoints: model (parameters and buffers), the whole optimizer state (direction + tuner + step
// counter), LibTorch's default CPU generator and the run's bookkeeping, written atomically (temporary
// file, fsync, rename). The data order needs no state of its own: the batch of step t is a pure function
// of (seed, t, batch size) (see batch_indices in runner.cpp), so `step` and the seed and batch size
// recorded here fix it.
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
  // The data order: the seed and batch size (0 = full batch) the batches were drawn with; -1 when the
  // checkpoint predates these fields. A resume with other values would silently see other batches.
  int64_t data_seed = -1;
  int64_t batch_size = -1;
};

void save_checkpoint(const std::string& path, const torch::nn::Module& model, const TunedOptimizer& optimizer,
                     const CheckpointMeta& meta);
// Throws std::runtime_error naming the file if it cannot be written completely; the previous checkpoint
// at `path` then stays as it was (also if the process is killed while writing).
// Restores model, optimizer and the default CPU generator in place; throws std::runtime_error naming the file if it is unreadable.
CheckpointMeta load_checkpoint(const std::string& path, torch::nn::Module& model, TunedOptimizer& optimizer);

}  // namespace cdat::train
