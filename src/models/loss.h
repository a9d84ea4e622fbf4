// Losses and accuracy of the workloads (PAPER §6), written with operations that support double
// backward (log_softmax + gather, elementwise squares) so curvature can be taken through them.
// Outputs are [N, C] with labels int64 [N], or [N, T, C] with labels [N, T] (nanolm: every token is
// an example, the mean is over all N·T tokens).
#pragma once

#include <torch/torch.h>

#include <string>

namespace cdat::models {

enum class LossKind { CrossEntropy, MSE };

// "ce" / "cross_entropy" / "xent" → CrossEntropy; "mse" / "squared" → MSE; else std::invalid_argument.
LossKind parse_loss(const std::string& name);
std::string to_string(LossKind kind);  // "ce" or "mse"

// Mean over examples of −log softmax(f(x))_y.
torch::Tensor cross_entropy(const torch::Tensor& outputs, const torch::Tensor& labels);

// The edge-of-stability convention: ½ ‖f(x) − onehot(y)‖² summed over the C outputs, averaged over
// examples (so its Hessian w.r.t. the outputs is the identity / N).
torch::Tensor mse(const torch::Tensor& outputs, const torch::Tensor& labels);

torch::Tensor compute_loss(LossKind kind, const torch::Tensor& outputs, const torch::Tensor& labels);

// Fraction of examples (tokens) whose largest output is the label; no graph.
double accuracy(const torch::Tensor& outputs, const torch::Tensor& labels);

}  // namespace cdat::models
