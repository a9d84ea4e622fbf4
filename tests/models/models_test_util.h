// Helpers for the models tests: gradients and Hessian-vector products of a loss w.r.t. parameters.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <vector>

namespace cdat::models::testing {

using Tensors = std::vector<torch::Tensor>;

inline Tensors grad_or_zeros(const torch::Tensor& out, const Tensors& inputs, bool create_graph) {
  Tensors g = torch::autograd::grad({out}, inputs, {}, /*retain_graph=*/true, create_graph, /*allow_unused=*/true);
  for (size_t i = 0; i < g.size(); ++i)
    if (!g[i].defined()) g[i] = torch::zeros_like(inputs[i]);
  return g;
}

inline torch::Tensor dot(const Tensors& a, const Tensors& b) {
  torch::Tensor s = torch::zeros({}, a.at(0).options());
  for (size_t i = 0; i < a.size(); ++i) s = s + (a[i] * b[i]).sum();
  return s;
}

inline double norm(const Tensors& a) {
  double s = 0;
  for (const auto& t : a) s += t.pow(2).sum().item<double>();
  return std::sqrt(s);
}

// Hv by double backward: grad (with graph) then the gradient of gᵀv.
inline Tensors hvp(const std::function<torch::Tensor()>& loss, const Tensors& params, const Tensors& v) {
  Tensors g = grad_or_zeros(loss(), params, /*create_graph=*/true);
  return grad_or_zeros(dot(g, v), params, /*create_graph=*/false);
}

// (∇f(w + εv) − ∇f(w − εv)) / 2ε, parameters restored afterwards.
inline Tensors hvp_finite_difference(const std::function<torch::Tensor()>& loss, const Tensors& params,
                                     const Tensors& v, double eps) {
  auto shift = [&](double s) {
    torch::NoGradGuard ng;
    for (size_t i = 0; i < params.size(); ++i) params[i].add_(v[i], s);
  };
  shift(eps);
  Tensors gp = grad_or_zeros(loss(), params, false);
  shift(-2 * eps);
  Tensors gm = grad_or_zeros(loss(), params, false);
  shift(eps);
  Tensors out;
  for (size_t i = 0; i < gp.size(); ++i) out.push_back((gp[i] - gm[i]) / (2 * eps));
  return out;
}

inline Tensors random_like(const Tensors& params) {
  Tensors v;
  for (const auto& p : params) v.push_back(torch::randn_like(p));
  return v;
}

}  // namespace cdat::models::testing
