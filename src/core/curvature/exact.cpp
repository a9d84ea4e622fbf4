#include <cdat/curvature_estimator.h>

namespace cdat {

double exact_curvature(Objective& objective, const TensorList& u) {
  if (!objective.has_graph()) objective.evaluate(/*keep_graph_for_curvature=*/true);
  return objective.curvature(u, /*keep_graph=*/false);
}

CurvatureEstimate ExactCurvature::estimate(const CurvatureQuery& query) {
  return {exact_curvature(query.objective, query.direction)};
}

}  // namespace cdat
