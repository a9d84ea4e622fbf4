// The full-batch GD + CDAT (σ = 2) loop with cdat::TunedOptimizer, the C++ side of bench/peer/cdat_loop.py:
// the same model, data, math and step count. Prints "ms_per_step <float>" and the final loss.
#include <cdat/cdat.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "data/idx.h"

int main(int argc, char** argv) {
  int64_t width = 128, samples = 1024, steps = 50, threads = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const int64_t value = std::atoll(argv[i + 1]);
    if (!std::strcmp(argv[i], "--width")) width = value;
    else if (!std::strcmp(argv[i], "--samples")) samples = value;
    else if (!std::strcmp(argv[i], "--steps")) steps = value;
    else if (!std::strcmp(argv[i], "--threads")) threads = value;
    else return std::fprintf(stderr, "usage: peer_loop --width W --samples N --steps S --threads T\n"), 2;
  }
  if (threads > 0) at::set_num_threads(static_cast<int>(threads));
  torch::manual_seed(0);
  auto data = cdat::data::load_fashion_mnist("", cdat::data::Split::Train);
  auto x = data.inputs.narrow(0, 0, samples).reshape({samples, 784});
  x = (x - x.mean(0)) / (x.std(0) + 1e-2);
  auto y = data.labels.narrow(0, 0, samples);
  torch::nn::Sequential model(torch::nn::Linear(784, width), torch::nn::ReLU(), torch::nn::Linear(width, width),
                              torch::nn::ReLU(), torch::nn::Linear(width, 10));
  cdat::TunedOptimizer optimizer(model->parameters(), std::make_unique<cdat::GradientDescent>(),
                                 std::make_unique<cdat::CdatTuner>());
  auto closure = [&] { return torch::nn::functional::cross_entropy(model->forward(x), y); };
  for (int i = 0; i < 3; ++i) optimizer.step(closure);  // warm-up
  const auto start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < steps; ++i) optimizer.step(closure);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::printf("ms_per_step %.3f\nfinal_loss %.6f\n", ms / steps, optimizer.last_stats().loss);
  return 0;
}
