#include <cdat/curvature.h>
#include <cdat/errors.h>

#include <torch/torch.h>

#include <cmath>
#include <limits>

namespace cdat {
namespace {

torch::Tensor random_unit(const torch::Tensor& like, uint64_t seed) {
  auto generator = at::detail::createCPUGenerator(seed);
  torch::Tensor v = torch::randn({like.numel()}, generator, torch::TensorOptions().dtype(torch::kFloat64));
  v = v.to(like.options());
  return v / v.norm();
}

double flat_dot(const torch::Tensor& a, const torch::Tensor& b) {
  return torch::dot(a, b).item<double>();
}

}  // namespace

TensorList hvp(const TensorList& params, const LossClosure& closure, const TensorList& v) {
  Objective objective(params, closure);
  objective.evaluate(/*keep_graph_for_curvature=*/true);
  return objective.hvp(v, /*keep_graph=*/false);
}

HessianOperator::HessianOperator(TensorList params, LossClosure closure, DataParallel data_parallel)
    : objective_(std::move(params), std::move(closure), std::move(data_parallel)), dim_(numel(objective_.params())) {
  objective_.evaluate(/*keep_graph_for_curvature=*/true);
}

torch::Tensor HessianOperator::operator()(const torch::Tensor& v_flat) {
  const TensorList& params = objective_.params();
  return flatten(objective_.hvp(unflatten(v_flat.to(params.front().options()), params), /*keep_graph=*/true));
}

LinearOperator HessianOperator::as_operator() {
  return [this](const torch::Tensor& v) { return (*this)(v); };
}

LinearOperator precondition(LinearOperator op, torch::Tensor diag_flat) {
  if (!(diag_flat.min().item<double>() > 0.0)) {
    throw InvalidOption("cdat::precondition: the preconditioner must be positive");
  }
  torch::Tensor inv_sqrt = diag_flat.rsqrt();
  return [op = std::move(op), inv_sqrt](const torch::Tensor& v) { return inv_sqrt * op(inv_sqrt * v); };
}

EigenResult lanczos(const LinearOperator& op, const torch::Tensor& like, const EigenOptions& options) {
  const int64_t dim = like.numel();
  const int max_steps = static_cast<int>(std::min<int64_t>(options.iterations, dim));
  if (max_steps < 1) throw InvalidOption("lanczos: iterations must be >= 1");

  torch::Tensor q = options.start ? *options.start / options.start->norm() : random_unit(like, options.seed);
  // The Lanczos vectors are the rows of one preallocated matrix (no copy per iteration).
  torch::Tensor basis = torch::empty({max_steps, dim}, q.options());
  std::vector<double> alpha, beta;  // the tridiagonal T = tridiag(β, α, β)
  basis[0].copy_(q);
  for (int k = 0; k < max_steps; ++k) {
    torch::Tensor w = op(basis[k]);
    const double a = flat_dot(w, basis[k]);
    alpha.push_back(a);
    // Full reorthogonalisation against every previous vector, twice ("twice is enough").
    const torch::Tensor Q = basis.narrow(0, 0, k + 1);
    for (int pass = 0; pass < 2; ++pass) w = w - Q.t().mv(Q.mv(w));
    const double b = w.norm().item<double>();
    if (k + 1 == max_steps || b <= 1e-12 * std::abs(a) || b == 0.0) break;  // invariant subspace found
    beta.push_back(b);
    basis[k + 1].copy_(w / b);
  }
  const int64_t m = static_cast<int64_t>(alpha.size());
  torch::Tensor T = torch::zeros({m, m}, torch::kFloat64);
  for (int64_t i = 0; i < m; ++i) {
    T[i][i] = alpha[i];
    if (i + 1 < m) T[i][i + 1] = T[i + 1][i] = beta[i];
  }
  auto [evals, evecs] = torch::linalg_eigh(T, "L");  // ascending
  EigenResult result;
  result.iterations = static_cast<int>(m);
  result.eigenvalue = evals[m - 1].item<double>();
  torch::Tensor y = evecs.select(1, m - 1).to(basis.options());
  result.eigenvector = basis.narrow(0, 0, m).t().mv(y);
  result.eigenvector = result.eigenvector / result.eigenvector.norm();
  const auto values = evals.contiguous();
  result.ritz_values.assign(values.data_ptr<double>(), values.data_ptr<double>() + m);
  return result;
}

EigenResult power_iteration(const LinearOperator& op, const torch::Tensor& like, const EigenOptions& options) {
  if (options.iterations < 1) throw InvalidOption("power_iteration: iterations must be >= 1");
  torch::Tensor v = options.start ? *options.start / options.start->norm() : random_unit(like, options.seed);
  EigenResult result;
  double previous = std::numeric_limits<double>::quiet_NaN();
  for (int k = 1; k <= options.iterations; ++k) {
    torch::Tensor w = op(v);
    const double rayleigh = flat_dot(v, w);  // vᵀAv with ‖v‖ = 1
    const double w_norm = w.norm().item<double>();
    result.eigenvalue = rayleigh;
    result.iterations = k;
    if (w_norm == 0.0) break;
    v = w / w_norm;
    if (options.tolerance > 0.0 && std::abs(rayleigh - previous) <= options.tolerance * std::abs(rayleigh)) break;
    previous = rayleigh;
  }
  result.eigenvector = v;
  return result;
}

double hutchinson_trace(const LinearOperator& op, const torch::Tensor& like, int samples, uint64_t seed) {
  if (samples < 1) throw InvalidOption("hutchinson_trace: samples must be >= 1");
  auto generator = at::detail::createCPUGenerator(seed);
  double sum = 0.0;
  for (int s = 0; s < samples; ++s) {
    // Rademacher probe z ∈ {−1, +1}ⁿ: E[zᵀAz] = tr(A).
    torch::Tensor z = torch::randint(0, 2, {like.numel()}, generator, torch::TensorOptions().dtype(torch::kFloat64));
    z = (2 * z - 1).to(like.options());
    sum += flat_dot(z, op(z));
  }
  return sum / samples;
}

double alignment(const torch::Tensor& u_flat, const torch::Tensor& v_flat) {
  const double nu = u_flat.norm().item<double>(), nv = v_flat.norm().item<double>();
  if (nu == 0.0 || nv == 0.0) return 0.0;
  return std::abs(flat_dot(u_flat, v_flat.to(u_flat.options()))) / (nu * nv);
}

}  // namespace cdat
