// A user curvature estimator, registered by name: one-sided differences of the gradient along u,
// uᵀ(g(w + hu) − g(w))/h = uᵀHu + O(h) with h‖u‖ = fd_step·max(‖w‖, 1) (CurvatureOptions::fd_step, 1e-3): one
// extra gradient a step, where the built-in `fd` takes two for an O(h²) error.
// cdat-extended train --tuner cdat --curvature-mode fd-forward
#include <cdat/cdat.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>

namespace {

class OneSidedCurvature final : public cdat::CurvatureEstimator {
 public:
  explicit OneSidedCurvature(double relative_step) : relative_step_(relative_step) {}
  std::string name() const override { return "fd-forward"; }
  // Differences of gradients: the step's forward pass needs no double-backward graph.
  bool needs_gradient_graph(int64_t) const override { return false; }

  cdat::CurvatureEstimate estimate(const cdat::CurvatureQuery& query) override {
    const double u_norm = std::sqrt(query.direction_sq_norm);
    if (u_norm == 0.0) return 0.0;
    cdat::Objective& f = query.objective;
    const cdat::TensorList& u = query.direction;
    const double h = relative_step_ * std::max(cdat::norm(f.params()), 1.0) / u_norm;
    return (cdat::dot(f.gradient_at(u, h), u) - cdat::dot(f.gradient(), u)) / h;
  }

 private:
  double relative_step_;
};

const bool registered = cdat::register_curvature_estimator(
    {"fd-forward", "one-sided differences of the gradient along u: one extra gradient (examples/extending)",
     [](const cdat::CurvatureOptions& options) { return std::make_unique<OneSidedCurvature>(options.fd_step); }});

}  // namespace
