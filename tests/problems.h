// Shared test problems with known answers: quadratics with a chosen spectrum and a tiny MLP whose
// dense Hessian is computed by autograd.
#pragma once

#include <cdat/objective.h>
#include <cdat/tensor_list.h>
#include <torch/torch.h>

#include <vector>

namespace cdat::testing {

// f(w) = ½ wᵀAw − bᵀw with A = Q diag(spectrum) Qᵀ for a random orthogonal Q (seeded), in float64.
struct Quadratic {
  torch::Tensor A, b, w;  // w: the parameter (requires grad)
  std::vector<double> spectrum;

  Quadratic(std::vector<double> eigenvalues, uint64_t seed = 0, torch::Dtype dtype = torch::kFloat64)
      : spectrum(std::move(eigenvalues)) {
    torch::manual_seed(seed);
    const int64_t n = static_cast<int64_t>(spectrum.size());
    auto opts = torch::TensorOptions().dtype(torch::kFloat64);
    auto q = std::get<0>(torch::linalg_qr(torch::randn({n, n}, opts)));
    A = (q.mm(torch::diag(torch::tensor(spectrum, opts))).mm(q.t())).to(dtype);
    A = 0.5 * (A + A.t());
    b = torch::randn({n}, opts).to(dtype);
    w = torch::randn({n}, opts).to(dtype).requires_grad_(true);
  }
  torch::Tensor loss() const { return 0.5 * torch::dot(w, A.mv(w)) - torch::dot(b, w); }
  LossClosure closure() const {
    return [this] { return loss(); };
  }
  TensorList params() const { return {w}; }
  // Exact values for checking.
  torch::Tensor gradient_at(const torch::Tensor& x) const { return A.mv(x) - b; }
  double value_at(const torch::Tensor& x) const { return (0.5 * torch::dot(x, A.mv(x)) - torch::dot(b, x)).item<double>(); }
  double min_value() const {
    auto x = torch::linalg_solve(A, b);
    return value_at(x);
  }
  double lambda_max() const { return *std::max_element(spectrum.begin(), spectrum.end()); }
};

// A tiny tanh MLP d_in → hidden → d_out with a fixed batch and MSE loss (float64 by default).
struct TinyMlp {
  mutable torch::nn::Sequential net;
  torch::Tensor x, y;

  TinyMlp(int64_t d_in = 3, int64_t hidden = 4, int64_t d_out = 2, int64_t batch = 5, uint64_t seed = 0,
          torch::Dtype dtype = torch::kFloat64) {
    torch::manual_seed(seed);
    net = torch::nn::Sequential(torch::nn::Linear(d_in, hidden), torch::nn::Tanh(), torch::nn::Linear(hidden, d_out));
    net->to(dtype);
    x = torch::randn({batch, d_in}, torch::TensorOptions().dtype(dtype));
    y = torch::randn({batch, d_out}, torch::TensorOptions().dtype(dtype));
  }
  TensorList params() const { return net->parameters(); }
  torch::Tensor loss() const { return 0.5 * (net->forward(x) - y).pow(2).sum(1).mean(); }
  LossClosure closure() const {
    return [this] { return loss(); };
  }
};

// The dense Hessian of closure() w.r.t. params, by differentiating each gradient entry (tiny problems only).
inline torch::Tensor dense_hessian(const TensorList& params, const LossClosure& closure) {
  auto loss = closure();
  auto grads = torch::autograd::grad({loss}, params, {}, /*retain_graph=*/true, /*create_graph=*/true);
  auto g = flatten(grads);
  const int64_t n = g.numel();
  auto H = torch::zeros({n, n}, g.options().requires_grad(false));
  for (int64_t i = 0; i < n; ++i) {
    auto row = torch::autograd::grad({g[i]}, params, {}, /*retain_graph=*/true, /*create_graph=*/false,
                                     /*allow_unused=*/true);
    for (size_t j = 0; j < row.size(); ++j) {
      if (!row[j].defined()) row[j] = torch::zeros_like(params[j]);
    }
    H[i] = flatten(row).detach();
  }
  return 0.5 * (H + H.t());
}

// The gradient of closure() at the current params, detached and flattened.
inline torch::Tensor flat_gradient(const TensorList& params, const LossClosure& closure) {
  auto loss = closure();
  return flatten(torch::autograd::grad({loss}, params)).detach();
}

}  // namespace cdat::testing
