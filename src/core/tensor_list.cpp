#include <cdat/tensor_list.h>

#include <torch/torch.h>

namespace cdat {

double dot(const TensorList& a, const TensorList& b) {
  TORCH_CHECK(a.size() == b.size(), "cdat::dot: lists of different lengths");
  if (a.empty()) return 0.0;
  torch::NoGradGuard no_grad;  // a number, not a graph: the gradient may carry one (create_graph)
  std::vector<torch::Tensor> parts;
  parts.reserve(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    parts.push_back(torch::dot(a[i].reshape(-1), b[i].reshape(-1)).to(torch::kFloat64));
  }
  return torch::stack(parts).sum().item<double>();
}

double norm(const TensorList& a) { return std::sqrt(dot(a, a)); }

bool all_finite(const TensorList& a) {
  if (a.empty()) return true;
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> flags;
  flags.reserve(a.size());
  for (const auto& t : a) flags.push_back(torch::isfinite(t).all());
  return torch::stack(flags).all().item<bool>();
}

TensorList clone_detached(const TensorList& a) {
  TensorList out;
  out.reserve(a.size());
  for (const auto& t : a) out.push_back(t.detach().clone());
  return out;
}

TensorList zeros_like(const TensorList& like) {
  TensorList out;
  out.reserve(like.size());
  for (const auto& t : like) out.push_back(torch::zeros_like(t, torch::MemoryFormat::Preserve).detach());
  return out;
}

void add_scaled_(TensorList& y, const TensorList& x, double alpha) {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < y.size(); ++i) y[i].add_(x[i], alpha);
}

void copy_(TensorList& dst, const TensorList& src) {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < dst.size(); ++i) dst[i].copy_(src[i]);
}

torch::Tensor flatten(const TensorList& a) {
  std::vector<torch::Tensor> views;
  views.reserve(a.size());
  for (const auto& t : a) views.push_back(t.reshape(-1));
  return torch::cat(views);
}

TensorList unflatten(const torch::Tensor& flat, const TensorList& like) {
  TensorList out;
  out.reserve(like.size());
  int64_t offset = 0;
  for (const auto& t : like) {
    const int64_t n = t.numel();
    out.push_back(flat.narrow(0, offset, n).view_as(t));
    offset += n;
  }
  TORCH_CHECK(offset == flat.numel(), "cdat::unflatten: size mismatch");
  return out;
}

int64_t numel(const TensorList& a) {
  int64_t n = 0;
  for (const auto& t : a) n += t.numel();
  return n;
}

}  // namespace cdat
