#include "experiments/workloads.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace cdat::experiments {
namespace {

int64_t scaled_width(int64_t width, double scale) {
  return scale > 1.0 ? static_cast<int64_t>(std::llround(static_cast<double>(width) * std::sqrt(scale))) : width;
}

// Diagnostics common to all workloads: sharpness (Lanczos, 10 iterations: enough for λ_max to three digits
// here) 40 times a run plus at step 0, no test set: every verdict window (10 % of the run) then holds at least
// 4 measurements, above the kMinWindowPoints = 3 the verdicts require (issue 13).
void set_run_length(train::RunConfig& c, int64_t steps) {
  c.steps = steps;
  c.sharpness_every = std::max<int64_t>(1, steps / 40);
  c.lanczos_iters = 10;
  c.batch_size = 0;
  c.checkpoint_every = std::max<int64_t>(10, steps / 10);  // an interrupted reproduction resumes from here
}

}  // namespace

std::string describe(const train::RunConfig& c) {
  std::string model = c.model == "mlp" && c.depth == 0 ? std::string("linear model")
                      : c.model == "mlp"   ? fmt::format("{} MLP {}×{}", c.activation, c.depth, c.width)
                      : c.model == "cnn" ? fmt::format("CNN, {} conv layers × {} channels", c.depth, c.width)
                      : c.model == "nanolm"
                          ? fmt::format("NanoLM, {} layers × {} heads, width {}, context {}", c.layers, c.heads, c.width, c.context)
                          : c.model;
  const std::string data = c.dataset == "text" ? fmt::format("{} Tiny Shakespeare sequences", c.train_size)
                                               : fmt::format("{} {} images", c.train_size, c.dataset == "fashion-mnist" ? "Fashion-MNIST" : c.dataset);
  const std::string batch = c.batch_size == 0 ? "full batch" : fmt::format("batch {}", c.batch_size);
  return fmt::format("{}, {}, {}, {}, {} steps{}", model, data, c.loss == "mse" ? "MSE" : "cross-entropy", batch, c.steps,
                     c.weight_decay > 0 ? fmt::format(", weight decay {:g}", c.weight_decay) : "");
}

int64_t scaled(int64_t base, double scale, int64_t minimum) {
  return std::max(minimum, static_cast<int64_t>(std::llround(static_cast<double>(base) * scale)));
}

namespace {

// The experiments judge the paper, which measures uᵀHu exactly (PAPER §2), whatever the library's default
// curvature (exact today; for a few hours of issue 25 a parabola). Pinned here, the run names of the store stay
// what they were.
const char* const kPaperCurvature = "exact";

// A Fashion-MNIST workload: `width` and the sizes at scale 1, scaled; depth 2, tanh, full batch.
Workload fashion_mnist(const std::string& name, const std::string& model, const std::string& loss, int64_t width,
                       int64_t train_size, int64_t steps, double scale) {
  Workload w{name, {}};
  auto& c = w.base;
  c.curvature_mode = kPaperCurvature;
  c.dataset = "fashion-mnist";
  c.model = model;
  c.width = scaled_width(width, scale);
  c.depth = 2;
  c.activation = "tanh";
  c.loss = loss;
  c.train_size = std::min<int64_t>(60000, scaled(train_size, scale, std::min<int64_t>(64, train_size / 8)));
  set_run_length(c, scaled(steps, scale, 4));
  return w;
}

// A linear model: an MLP without hidden layers, the read-out alone (the width is unused). Linesearch's first
// guess is capped at 1e4 instead of 1: PAPER §2 caps it at 1 for adaptive bases and "larger for GD", and
// softmax regression's curvature falls far below 2 (its tuned constant LR is above 1).
Workload linear_model(const std::string& name, const std::string& loss, double scale) {
  Workload w = fashion_mnist(name, "mlp", loss, 128, 8192, 1000, scale);
  w.base.depth = 0;
  w.base.ls_eta_max = 1e4;
  return w;
}

}  // namespace

Workload mlp_mse(double scale) {
  return fashion_mnist("mlp-mse", "mlp", "mse", 128, 2048, 1000, scale);
}

Workload mlp_ce(double scale) {
  return fashion_mnist("mlp-ce", "mlp", "ce", 128, 8192, 300, scale);
}

Workload cnn_ce(double scale) {
  return fashion_mnist("cnn-ce", "cnn", "ce", 8, 256, 150, scale);
}

Workload linear_mse(double scale) { return linear_model("linear-mse", "mse", scale); }

Workload linear_ce(double scale) { return linear_model("linear-ce", "ce", scale); }

Workload mlp_mse_long(double scale) {
  return fashion_mnist("mlp-mse-long", "mlp", "mse", 128, 512, 20000, scale);
}

Workload nanolm_ce(double scale, const std::string& text_file) {
  Workload w{"nanolm-ce", {}};
  auto& c = w.base;
  c.curvature_mode = kPaperCurvature;
  c.dataset = "text";
  c.text_file = text_file;
  c.model = "nanolm";
  c.width = scaled_width(64, scale);
  c.layers = 2;
  c.heads = 4;
  c.context = 64;
  c.loss = "ce";
  c.train_size = scaled(32, scale, 4);
  set_run_length(c, scaled(150, scale, 4));
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
  if (tuner == "cdat") {
    c.sigma = value;
    c.safeguards = false;  // the reproductions judge the paper's rule (PAPER §2) as it is written
  }
  return c;
}

train::RunConfig with_default_tuner(const train::RunConfig& base, const std::string& optimizer) {
  static const std::vector<std::string> groups = {"Tuner", "CDAT safeguards", "Curvature"};
  train::RunConfig c = base;
  c.optimizer = optimizer;
  const train::RunConfig defaults;
  std::vector<bool> found(groups.size(), false);
  for (const auto& key : train::config_keys()) {
    const auto group = std::find(groups.begin(), groups.end(), key.group);
    if (group == groups.end()) continue;
    found[static_cast<size_t>(group - groups.begin())] = true;
    train::set_key(c, key.name, train::get_key(defaults, key.name));
  }
  if (std::find(found.begin(), found.end(), false) != found.end()) {
    throw std::logic_error("with_default_tuner: a key group of RunConfig was renamed (Tuner, CDAT safeguards, Curvature)");
  }
  c.tuner = "cdat";
  return c;
}

std::vector<double> lr_grid(const Workload& workload, const std::string& optimizer) {
  const bool adaptive = optimizer == "rmsprop" || optimizer == "adam";
  double low = adaptive ? 2.5e-4 : 0.0125;  // mlp-mse: GD's initial edge 2/λ₀ is about 0.1
  if (!adaptive && workload.name == "cnn-ce") low = 0.025;
  if (!adaptive && workload.name == "nanolm-ce") low = 0.05;
  if (!adaptive && workload.name == "linear-mse") low = 0.0015625;  // λ_max ≈ 180 (pixels' covariance): edge ≈ 0.011
  if (!adaptive && workload.name == "linear-ce") low = 0.05;        // λ₀ ≈ 20: the initial edge 2/λ₀ ≈ 0.1
  std::vector<double> grid;
  for (int i = 0; i < 5; ++i) grid.push_back(low * std::pow(kLrGridFactor, i));
  return grid;
}

}  // namespace cdat::experiments
