// The model the SIGKILL-during-checkpoint test writes: large enough (~34 MB) that writing a checkpoint
// takes a while, so that most kills land in the middle of a write.
#pragma once

#include <cdat/cdat.h>
#include <torch/torch.h>

#include <memory>

namespace cdat::reliability {

struct KillModel {
  torch::nn::Sequential net{torch::nn::Linear(2048, 2048), torch::nn::Linear(2048, 2048)};
  std::unique_ptr<TunedOptimizer> optimizer = std::make_unique<TunedOptimizer>(
      net->parameters(), std::make_unique<Momentum>(), std::make_unique<ConstantTuner>(0.1));

  // Every parameter element = `value` (exact in float32 for the small integers used).
  void fill(double value) {
    torch::NoGradGuard no_grad;
    for (auto& p : net->parameters()) p.fill_(value);
  }
};

}  // namespace cdat::reliability
