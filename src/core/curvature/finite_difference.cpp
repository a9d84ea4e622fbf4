#include <cdat/curvature_estimator.h>

#include <algorithm>
#include <cmath>

namespace cdat {

FiniteDifferenceCurvature::FiniteDifferenceCurvature(double fd_step) : fd_step_(fd_step) {}

// uᵀ(g(w + hu) − g(w − hu)) / 2h = uᵀHu + O(h²), with h‖u‖ = fd_step·max(‖w‖, 1).
CurvatureEstimate FiniteDifferenceCurvature::estimate(const CurvatureQuery& query) {
  const double u_norm = std::sqrt(query.direction_sq_norm);
  if (u_norm == 0.0) return {0.0};
  Objective& objective = query.objective;
  const TensorList& u = query.direction;
  const double h = fd_step_ * std::max(norm(objective.params()), 1.0) / u_norm;
  return {(dot(objective.gradient_at(u, h), u) - dot(objective.gradient_at(u, -h), u)) / (2.0 * h)};
}

}  // namespace cdat
