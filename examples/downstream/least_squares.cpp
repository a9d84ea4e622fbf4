// Uses an installed cdat: a linear least-squares fit with gradient descent whose learning rate CDAT picks
// every step (PAPER §2).
#include "least_squares.h"

#include <cdat/cdat.h>
#include <torch/torch.h>

#include <memory>

FitResult fit_least_squares(int steps) {
  torch::manual_seed(0);
  const auto x = torch::randn({256, 16});
  const auto y = x.mv(torch::randn({16})) + 0.1 * torch::randn({256});
  auto w = torch::zeros({16}, torch::requires_grad());

  // σ = 1 (the greedy rule): on a quadratic it is the exact line minimiser, so every step lowers the loss;
  // σ = 2 would land on the far side of the same level set, loss unchanged.
  cdat::CdatOptions tuning;
  tuning.sigma = 1.0;
  cdat::TunedOptimizer optimizer({w}, std::make_unique<cdat::GradientDescent>(),
                                 std::make_unique<cdat::CdatTuner>(tuning));
  auto closure = [&] { return 0.5 * (x.mv(w) - y).pow(2).mean(); };  // no backward(): the optimizer does it

  const double initial = optimizer.step(closure).item<double>();
  for (int step = 1; step < steps; ++step) optimizer.step(closure);
  return {initial, closure().item<double>(), optimizer.last_stats().lr};
}
