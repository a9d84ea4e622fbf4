// Curvature diagnostics (PAPER §3): Hessian-vector products, sharpness λ_max by Lanczos or power
// iteration, preconditioned sharpness for RMSProp/Adam, alignment with the top eigenvector, and the
// Hessian trace by Hutchinson. The eigen-solvers work on any symmetric linear operator on flat vectors.
#pragma once

#include <cdat/objective.h>
#include <cdat/tensor_list.h>

#include <functional>
#include <optional>

namespace cdat {

// A symmetric linear map on flat 1-D vectors.
using LinearOperator = std::function<torch::Tensor(const torch::Tensor&)>;

// One-shot Hv at the closure's current parameters (one forward, two backwards).
TensorList hvp(const TensorList& params, const LossClosure& closure, const TensorList& v);

// The Hessian of the closure's loss at the current parameters as a LinearOperator on flat vectors.
// One forward pass is made on construction and shared by every product.
class HessianOperator {
 public:
  // With an active `data_parallel`, the Hessian of Σ_r (n_r/N)·f_r: every product is all-reduced.
  HessianOperator(TensorList params, LossClosure closure, DataParallel data_parallel = {});
  torch::Tensor operator()(const torch::Tensor& v_flat);
  int64_t dim() const { return dim_; }
  const TensorList& params() const { return objective_.params(); }
  double loss() const { return objective_.loss(); }
  // A LinearOperator view (keeps a reference to this object).
  LinearOperator as_operator();

 private:
  Objective objective_;
  int64_t dim_;
};

// v ↦ P^{-1/2} A P^{-1/2} v for a positive diagonal P given flat (PAPER §3, preconditioned sharpness).
LinearOperator precondition(LinearOperator op, torch::Tensor diag_flat);

struct EigenOptions {
  int iterations = 20;           // Lanczos steps / power iterations at most
  double tolerance = 0.0;        // power iteration: stop when |Δλ| ≤ tolerance·|λ| (0: run all)
  uint64_t seed = 0;             // random start vector
  std::optional<torch::Tensor> start;  // warm start (flat); otherwise random
};

struct EigenResult {
  double eigenvalue = 0.0;     // the top eigenvalue estimate
  torch::Tensor eigenvector;   // unit-norm flat vector
  int iterations = 0;
  std::vector<double> ritz_values;  // Lanczos: all Ritz values, ascending
};

// Largest algebraic eigenvalue by Lanczos with full reorthogonalisation (float64 recurrence scalars).
// `like` gives dtype/device/dimension of the flat vectors.
EigenResult lanczos(const LinearOperator& op, const torch::Tensor& like, const EigenOptions& options = {});

// Eigenvalue of largest magnitude by power iteration (warm-startable through options.start).
EigenResult power_iteration(const LinearOperator& op, const torch::Tensor& like, const EigenOptions& options = {});

// Hutchinson estimate of tr(A) with `samples` Rademacher probes.
double hutchinson_trace(const LinearOperator& op, const torch::Tensor& like, int samples, uint64_t seed = 0);

// |⟨u, v⟩| / (‖u‖‖v‖), the alignment of an update with an eigenvector (0 when u = 0).
double alignment(const torch::Tensor& u_flat, const torch::Tensor& v_flat);

}  // namespace cdat
