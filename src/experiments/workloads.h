// The training workloads of `cdat reproduce` (PAPER §6), sized to finish on a 2-core CPU at scale 1;
// `scale` multiplies steps and training-set size (and widths, by √scale, when scale > 1) toward the
// paper's sizes, and shrinks them below 1 (the CI smoke run uses a tiny scale).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "train/run_config.h"

namespace cdat::experiments {

std::string describe(const train::RunConfig& config);

struct Workload {
  std::string name;       // "mlp-mse", "cnn-ce", "nanolm-ce"
  train::RunConfig base;  // model, data, loss, steps, diagnostics; optimizer gd, tuner cdat σ=2
  std::string description() const { return describe(base); }
};

// For tables and the report, e.g. "tanh MLP 2×128, 2048 Fashion-MNIST images, MSE, full batch, 1000 steps".
std::string describe(const train::RunConfig& config);

// A count scaled by `scale`, at least `minimum`.
int64_t scaled(int64_t base, double scale, int64_t minimum);

// Tanh MLP 2×128 on 2048 Fashion-MNIST images, squared loss on one-hot targets, 1000 full-batch steps.
Workload mlp_mse(double scale);
// The same MLP with cross-entropy on 8192 images, 300 full-batch steps (enough data not to be memorised).
Workload mlp_ce(double scale);
// CNN (2 conv layers of 8 channels) on 256 Fashion-MNIST images, cross-entropy, 150 steps.
Workload cnn_ce(double scale);
// NanoLM (2 layers, 4 heads, width 64, context 64) on 32 Tiny Shakespeare sequences, cross-entropy, 150 steps.
Workload nanolm_ce(double scale, const std::string& text_file);
// A linear model (an MLP of depth 0: one linear layer from pixels to the 10 outputs) on 8192 Fashion-MNIST
// images (many more than the 785 weights per output, so neither loss can be driven to 0), full batch, 1000 steps: squared loss on one-hot targets (least squares, a quadratic whose Hessian
// never changes) or cross-entropy (softmax regression, convex). The paper's Figure 2 (`cdat reproduce linear`).
Workload linear_mse(double scale);
Workload linear_ce(double scale);
// A run long enough for the LR decay of the classical tuners (PAPER §4 finding 2, `cdat reproduce lr-decay`):
// mlp-mse's tanh MLP 2×128 (where undershoot sees the sharpening) on 512 images, MSE, full batch, 20 000 steps
// at scale 1 (10 000 at scale 0.5), made affordable by the small training set.
Workload mlp_mse_long(double scale);

// The base with `optimizer` and a tuner: "constant" / "schedule" (lr = peak), "cdat" (σ), "linesearch".
train::RunConfig with_tuner(const train::RunConfig& base, const std::string& optimizer, const std::string& tuner,
                            double value = 0.0);
// The base with `optimizer` and the CDAT a user gets without flags: every key of the groups Tuner, CDAT
// safeguards and Curvature at RunConfig{}'s value (the library's defaults), the workload's model, data, loss,
// steps and batch kept. Throws std::logic_error if those groups are not found (renamed).
train::RunConfig with_default_tuner(const train::RunConfig& base, const std::string& optimizer);
// Log-spaced learning-rate grid for an optimizer on a workload (factor between neighbours: lr_grid_factor).
std::vector<double> lr_grid(const Workload& workload, const std::string& optimizer);
constexpr double kLrGridFactor = 2.0;

}  // namespace cdat::experiments
