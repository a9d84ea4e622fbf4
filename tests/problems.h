// Shared test problems with known answers: quadratics with a chosen spectrum and a tiny MLP whose
// dense Hessian is computed by autograd.
#pragma once

#include <cdat/objective.h>
#include <cdat/tensor_list.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
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
  double lambda_min() const { return *std::min_element(spectrum.begin(), spectrum.end()); }
  // The magnitudes f(x) adds up, ½|x|ᵀ|A||x| + |bᵀ||x|: its rounding is relative to this (tolerance.h),
  // not to |f(x)|, which cancels near the minimum.
  double value_magnitude_at(const torch::Tensor& x) const {
    return (0.5 * torch::dot(x.abs(), A.abs().mv(x.abs())) + torch::dot(b.abs(), x.abs())).item<double>();
  }
  // For a positive definite A, the condition number of uᵀAu computed as the dot of u with A·u, for any u:
  // |u|ᵀ|A||u| / uᵀAu ≤ ‖|A|‖₂ / λ_min ≤ √n·λ_max/λ_min (‖|A|‖₂ ≤ √n‖A‖₂): the rounding of the product and
  // of the dot, relative to |u|ᵀ|A||u|, is at most this times larger relative to uᵀAu.
  double form_condition() const {
    return std::sqrt(static_cast<double>(spectrum.size())) * lambda_max() / lambda_min();
  }
  // Relative rounding bounds, in units of ε (tolerance.h), of quantities of the GD direction u = −g(w),
  // whichever way (autograd or by hand) and by whichever kernel they are computed; k = the dimension.
  // g = Aw − b takes k + 3 roundings (the k-term product, −b, autograd's ½(Aw + Aᵀw)) on m = |A||w| + |b|.
  //   ‖g‖² (n = −gᵀu for GD): a k-term dot without cancellation, k; g's error moves it by 2|Δg|ᵀ|g|.
  double gradient_sq_norm_roundings(const torch::Tensor& x) const {
    const double k = static_cast<double>(spectrum.size());
    const torch::Tensor g = gradient_at(x), m = A.abs().mv(x.abs()) + b.abs();
    return k + 2 * (k + 3) * m.dot(g.abs()).item<double>() / g.dot(g).item<double>();
  }
  //   uᵀAu: the product and the dot, 2k + 2 roundings on |u|ᵀ|A||u|; g's error moves it by 2|Δg|ᵀ|Au|.
  double curvature_roundings(const torch::Tensor& x) const {
    const double k = static_cast<double>(spectrum.size());
    const torch::Tensor u = -gradient_at(x), m = A.abs().mv(x.abs()) + b.abs();
    const double uau = std::abs(u.dot(A.mv(u)).item<double>());
    return ((2 * k + 2) * u.abs().dot(A.abs().mv(u.abs())).item<double>() +
            2 * (k + 3) * m.dot(A.mv(u).abs()).item<double>()) /
           uau;
  }
};

// A tiny tanh MLP d_in → hidden → d_out with a fixed batch and MSE loss (float64 by default).
struct TinyMlp {
  mutable torch::nn::Sequential net;
  torch::Tensor x, y;
  int64_t sizes_sum = 0;  // batch + d_in + hidden + d_out

  TinyMlp(int64_t d_in = 3, int64_t hidden = 4, int64_t d_out = 2, int64_t batch = 5, uint64_t seed = 0,
          torch::Dtype dtype = torch::kFloat64)
      : sizes_sum(batch + d_in + hidden + d_out) {
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
  // Rounding bounds in units of ε (tolerance.h), whichever kernels compute them. A pass (the forward, the
  // backward, or a Hessian-vector product's second backward) reduces over the batch and the widths, plus
  // ≤ 7 elementwise operations (bias, tanh, −y, square, ½, the mean's division, the chain rule's product),
  // on its longest path.
  double pass_roundings() const { return static_cast<double>(sizes_sum) + 7; }
  // uᵀHu: the forward, the backward, the second backward and a P-term dot, times `condition`, that dot's
  // κ = Σ|u_i (Hu)_i| / |uᵀHu| or a bound of it (H is indefinite); plus `direction` roundings of u itself,
  // which move uᵀHu by 2|Δu|ᵀ|Hu|, also within κ.
  double curvature_roundings(double condition, double direction = 0.0) const {
    return (3 * pass_roundings() + static_cast<double>(numel(params())) + 2 * direction) * condition;
  }
};

// κ of uᵀHu computed as the dot of u with Hu, bounded without forming that dot's terms:
// Σ|u_i (Hu)_i| ≤ ‖u‖·‖Hu‖ ≤ ‖H‖_F·‖u‖², so κ ≤ ‖H‖_F·‖u‖² / |uᵀHu|.
inline double curvature_condition_bound(const torch::Tensor& hessian, double u_sq_norm, double uhu) {
  return hessian.norm().item<double>() * u_sq_norm / std::abs(uhu);
}

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
