// A LibTorch training loop that uses cdat::TunedOptimizer with Adam + CDAT (PAPER §2).
// Fits a small MLP to a synthetic regression problem in full batch and prints loss and learning rate.
#include <cdat/cdat.h>
#include <torch/torch.h>

#include <iostream>

int main() {
  torch::manual_seed(0);
  // Data: y = sin(x·a) for random inputs.
  const auto x = torch::randn({512, 8});
  const auto y = torch::sin(x.mv(torch::randn({8}))).unsqueeze(1);

  torch::nn::Sequential model(torch::nn::Linear(8, 64), torch::nn::Tanh(), torch::nn::Linear(64, 1));

  // Adam gives the direction; CDAT picks the learning rate on the edge of stability (σ = 2).
  cdat::CdatOptions tuning;
  tuning.sigma = 2.0;
  tuning.ema_beta = 0.0;  // full batch: no averaging needed
  cdat::TunedOptimizer optimizer(model->parameters(), std::make_unique<cdat::Adam>(),
                                 std::make_unique<cdat::CdatTuner>(tuning));

  // The closure returns the loss with its graph; it must not call backward().
  auto closure = [&] { return torch::mse_loss(model->forward(x), y); };

  for (int step = 0; step <= 200; ++step) {
    optimizer.step(closure);
    const auto& stats = optimizer.last_stats();
    if (step % 25 == 0) {
      std::cout << "step " << step << "  loss " << stats.loss << "  lr " << stats.lr
                << "  uᵀHu " << stats.curvature << "\n";
    }
  }
  torch::save(optimizer, "cdat_optimizer.pt");  // the whole optimizer state; torch::load restores it
  return 0;
}
