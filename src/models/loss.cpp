#include "models/loss.h"

namespace cdat::models {
namespace {

// outputs [..., C] → [M, C] and labels [...] → [M], checking that they match.
std::pair<torch::Tensor, torch::Tensor> flatten(const torch::Tensor& outputs, const torch::Tensor& labels,
                                                const char* what) {
  if (outputs.dim() < 2 || labels.dim() != outputs.dim() - 1 ||
      outputs.sizes().slice(0, outputs.dim() - 1) != labels.sizes()) {
    throw std::invalid_argument(std::string("cdat models: ") + what + " needs outputs [N, C] with labels [N] or [N, T, C] with [N, T], got " +
                                c10::str(outputs.sizes()) + " and " + c10::str(labels.sizes()));
  }
  if (labels.is_floating_point()) throw std::invalid_argument(std::string("cdat models: ") + what + " needs integer labels");
  const int64_t c = outputs.size(-1);
  return {outputs.reshape({-1, c}), labels.reshape({-1}).to(torch::kInt64)};
}

}  // namespace

LossKind parse_loss(const std::string& name) {
  if (name == "ce" || name == "cross_entropy" || name == "xent") return LossKind::CrossEntropy;
  if (name == "mse" || name == "squared") return LossKind::MSE;
  throw std::invalid_argument("cdat models: unknown loss '" + name + "' (valid: ce, mse)");
}

std::string to_string(LossKind kind) { return kind == LossKind::CrossEntropy ? "ce" : "mse"; }

torch::Tensor cross_entropy(const torch::Tensor& outputs, const torch::Tensor& labels) {
  auto [out, lab] = flatten(outputs, labels, "cross_entropy");
  return -torch::log_softmax(out, 1).gather(1, lab.unsqueeze(1)).mean();
}

torch::Tensor mse(const torch::Tensor& outputs, const torch::Tensor& labels) {
  auto [out, lab] = flatten(outputs, labels, "mse");
  torch::Tensor target = torch::zeros_like(out).scatter_(1, lab.unsqueeze(1), 1.0);
  return 0.5 * (out - target).pow(2).sum(1).mean();
}

torch::Tensor compute_loss(LossKind kind, const torch::Tensor& outputs, const torch::Tensor& labels) {
  return kind == LossKind::CrossEntropy ? cross_entropy(outputs, labels) : mse(outputs, labels);
}

double accuracy(const torch::Tensor& outputs, const torch::Tensor& labels) {
  torch::NoGradGuard no_grad;
  auto [out, lab] = flatten(outputs, labels, "accuracy");
  if (lab.numel() == 0) return 0.0;
  return out.argmax(1).eq(lab.to(out.device())).to(torch::kFloat64).mean().item<double>();
}

}  // namespace cdat::models
