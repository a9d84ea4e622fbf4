#include <cdat/curvature_estimator.h>

#include <c10/util/Exception.h>

#include <string>

namespace cdat {

// uᵀHu by forward AD; when an op has no forward derivative, exact from this step on, with one warning.
CurvatureEstimate ForwardOverReverseCurvature::estimate(const CurvatureQuery& query) {
  if (failure_.empty()) {
    try {
      return {query.objective.curvature_forward_over_reverse(query.direction)};
    } catch (const c10::Error& e) {
      std::string reason = e.what_without_backtrace();
      reason = reason.substr(0, reason.find('\n'));
      failure_ = reason.empty() ? "forward AD failed" : reason;
      CurvatureEstimate estimate{exact_curvature(query.objective, query.direction)};
      estimate.warning = "curvature mode forward-over-reverse unsupported (" + failure_ +
                         "); exact double backward from step " + std::to_string(query.step) + " on";
      return estimate;
    }
  }
  return {exact_curvature(query.objective, query.direction)};
}

}  // namespace cdat
