// Floating-point tolerances of the tests, derived from the dtype's machine epsilon and the length of the
// computation, never fitted to what one machine printed.
//
// The model (Higham, Accuracy and Stability of Numerical Algorithms, 2nd ed., §2–§4): each basic operation
// in a dtype rounds with a relative error of at most u = ε/2 (ε = machine epsilon: float64 2.22e-16,
// float32 1.19e-7). A sum or dot product of n terms computed in ANY order, blocked or not, with or without
// FMA — whichever BLAS kernel, vectorised reduction or thread split computes it — has an absolute error
// of at most γ_n·Σ|terms|, γ_n = n·u/(1 − n·u); a chain of such computations adds its lengths to first
// order. So
//     tolerance_for(dtype, n) = n·ε = 2·n·u
// bounds the relative error of a result that took n roundings along its longest dependency path, measured
// against the magnitudes it added up; the factor 2 covers the second-order terms and libm's
// transcendental functions (≤ 1 ulp instead of ½). Where the result is small against those magnitudes
// (cancellation), the caller multiplies by the condition number κ = Σ|terms| / |Σ terms|. Two
// computations of the same exact quantity (two kernels, float32 against float64, C++ against Python)
// each stay within their own bound of it, so they agree within the sum of the two bounds — whichever
// correct kernels ran them. These are worst-case bounds: typical errors are ~√n·u, far below them.
#pragma once

#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

namespace cdat::testing {

// Machine epsilon (the gap between 1 and the next representable number) of a floating-point dtype.
constexpr double epsilon(torch::Dtype dtype) {
  switch (dtype) {
    case torch::kFloat64:
      return std::numeric_limits<double>::epsilon();  // 2⁻⁵² = 2.22e-16
    case torch::kFloat32:
      return std::numeric_limits<float>::epsilon();  // 2⁻²³ = 1.19e-7
    default:
      throw std::invalid_argument("epsilon: not a float32/float64 dtype");
  }
}

// The relative error bound of a computation with `operations` roundings on its longest path (see above).
constexpr double tolerance_for(torch::Dtype dtype, double operations) { return operations * epsilon(dtype); }

// The rounding (absolute) of a least-squares slope b = Σ(x − x̄)(y − ȳ) / Σ(x − x̄)² over n points, computed
// with centred sums: the means (n roundings each), the centred values (1, on |x| + |x̄| and |y| + |ȳ|), the
// two sums and the quotient (2n + 2): ≤ 3n + 3 on Σ(|x| + |x̄|)(|y| + |ȳ| + |b|(|x| + |x̄|)) / Σ(x − x̄)². The
// inputs themselves may carry `input` roundings each (a log: 1 ulp, 2), which move b by as much again
// with `input` in place of 3n + 3.
inline double slope_tolerance(const std::vector<double>& x, const std::vector<double>& y, double input) {
  const double n = static_cast<double>(x.size());
  double mx = 0, my = 0;
  for (size_t i = 0; i < x.size(); ++i) mx += x[i] / n, my += y[i] / n;
  double sxx = 0, sxy = 0;
  for (size_t i = 0; i < x.size(); ++i) sxx += (x[i] - mx) * (x[i] - mx), sxy += (x[i] - mx) * (y[i] - my);
  const double slope = std::abs(sxy / sxx);
  double magnitude = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double ax = std::abs(x[i]) + std::abs(mx), ay = std::abs(y[i]) + std::abs(my);
    magnitude += ax * (ay + slope * ax);
  }
  return tolerance_for(torch::kFloat64, 3 * n + 3 + input) * magnitude / sxx;
}

// metrics.csv and the other CSV files write numbers as {:.10g}: a cell differs from the double it was
// written from by at most half a unit in the 10th significant digit, i.e. a relative 5·10⁻¹⁰.
constexpr double kCsvCellRelative = 5e-10;

}  // namespace cdat::testing
