#include "experiments/workloads.h"

#include <algorithm>
#include <cmath>

namespace cdat::experiments {
namespace {

int64_t scaled_width(int64_t width, double scale) {
  return scale > 1.0 ? static_cast<int64_t>(std::llround(static_cast<double>(width) * std::sqrt(scale))) : width;
}

// Diagnostics common to all workloads: sharpness about 20 times a run (Lanczos), test set off.
void set_run_length(train::RunConfig& c, int64_t steps, int64_t lanczos_iters) {
  c.steps = steps;
  c.sharpness_every = std::max<int64_t>(1, steps / (lanczos_iters >= 20 ? 20 : 10));
  c.lanczos_iters = lanczos_iters;
  c.batch_size = 0;
  c.checkpoint_every = 0;
}

}  // namespace

int64_t scaled(int64_t base, double scale, int64_t minimum) {
  return std::max(minimum, static_cast<int64_t>(std::llround(static_cast<double>(base) * scale)));
}

Workload mlp_mse(double scale) {
  Workload w{"mlp-mse", "", {}};
  auto& c = w.base;
  c.dataset = "fashion-mnist";
  c.model = "mlp";
  c.width = scaled_width(128, scale);
  c.depth = 2;
  c.activation = "tanh";
  c.loss = "mse";
  c.train_size = std::min<int64_t>(60000, scaled(2048, scale, 64));
  set_run_length(c, scaled(1000, scale, 4), 20);
  w.description = "tanh MLP 2×" + std::to_string(c.width) + ", " + std::to_string(c.train_size) +
                  " Fashion-MNIST images, MSE, full batch, " + std::to_string(c.steps) + " steps";
  return w;
}

Workload cnn_ce(double scale) {
  Workload w{"cnn-ce", "", {}};
  auto& c = w.base;
  c.dataset = "fashion-mnist";
  c.model = "cnn";
  c.width = scaled_width(8, scale);
  c.depth = 2;
  c.activation = "tanh";
  c.loss = "ce";
  c.train_size = std::min<int64_t>(60000, scaled(256, scale, 32));
  set_run_length(c, scaled(150, scale, 4), 10);
  w.description = "CNN 2 conv layers × " + std::to_string(c.width) + " channels, " + std::to_string(c.train_size) +
                  " Fashion-MNIST images, cross-entropy, full batch, " + std::to_string(c.steps) + " steps";
  return w;
}

Workload nanolm_ce(double scale, const std::string& text_file) {
  Workload w{"nanolm-ce", "", {}};
  auto& c = w.base;
  c.dataset = "text";
  c.text_file = text_file;
  c.model = "nanolm";
  c.width = scaled_width(64, scale);
  c.layers = 2;
  c.heads = 4;
  c.context = 64;
  c.loss = "ce";
  c.train_size = scaled(32, scale, 4);
  set_run_length(c, scaled(150, scale, 4), 10);
  w.description = "NanoLM 2 layers × 4 heads, width " + std::to_string(c.width) + ", context 64, " +
                  std::to_string(c.train_size) + " Tiny Shakespeare sequences, cross-entropy, full batch, " +
                  std::to_string(c.steps) + " steps";
  return w;
}

train::RunConfig with_tuner(const train::RunConfig& base, const std::string& optimizer, const std::string& tuner,
                            double value) {
  train::RunConfig c = base;
  c.optimizer = optimizer;
  c.tuner = tuner;
  c.measure_curvature = tuner == "cdat";  // the curvature is logged only where the tuner computes it anyway
  if (tuner == "constant") c.lr = value;
  if (tuner == "schedule") {
    c.lr = value;
    c.warmup = std::max<int64_t>(1, c.steps / 10);
    c.decay = "cosine";
  }
  if (tuner == "cdat") c.sigma = value;
  return c;
}

std::vector<double> lr_grid(const Workload& workload, const std::string& optimizer) {
  const bool adaptive = optimizer == "rmsprop" || optimizer == "adam";
  double low = adaptive ? 2.5e-4 : 0.0125;  // mlp-mse: GD's initial edge 2/λ₀ is about 0.1
  if (!adaptive && workload.name == "cnn-ce") low = 0.025;
  if (!adaptive && workload.name == "nanolm-ce") low = 0.05;
  std::vector<double> grid;
  for (int i = 0; i < 5; ++i) grid.push_back(low * std::pow(kLrGridFactor, i));
  return grid;
}

}  // namespace cdat::experiments
