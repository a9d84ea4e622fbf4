// Vector algebra on lists of parameter-shaped tensors (a model's parameters, its gradient, a direction).
#pragma once

#include <torch/types.h>

#include <vector>

namespace cdat {

using TensorList = std::vector<torch::Tensor>;

// Σ_i <a_i, b_i>, accumulated in float64 and returned as a host double (one device sync).
double dot(const TensorList& a, const TensorList& b);
// ‖a‖₂.
double norm(const TensorList& a);
// True when every element of every tensor is finite.
bool all_finite(const TensorList& a);
// Detached copies (clones) of the tensors.
TensorList clone_detached(const TensorList& a);
// Zero tensors shaped like `like`.
TensorList zeros_like(const TensorList& like);
// In place: y ← y + alpha·x (no autograd).
void add_scaled_(TensorList& y, const TensorList& x, double alpha);
// In place: dst ← src (no autograd).
void copy_(TensorList& dst, const TensorList& src);
// All tensors concatenated into one 1-D tensor, and back.
torch::Tensor flatten(const TensorList& a);
TensorList unflatten(const torch::Tensor& flat, const TensorList& like);
// Total number of elements.
int64_t numel(const TensorList& a);

}  // namespace cdat
