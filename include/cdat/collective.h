// Data-parallel reductions for CDAT, independent of any communication library (the core depends on
// LibTorch only; the c10d/Gloo implementation lives in src/distributed). Each rank evaluates the mean
// loss over its shard of n_r examples; the global objective is f = Σ_r (n_r/N)·f_r, so every value the
// tuner reads (loss, gradient, gᵀu, uᵀHu, line-search trials, Hessian-vector products) is the
// shard-weighted sum over ranks. Every rank gets the same bits, takes the same branches and makes the
// same number of closure calls (a line search cannot hang one rank).
#pragma once

#include <cdat/tensor_list.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace cdat {

// A group of processes that sum tensors element-wise. Implementations must give every rank bit-identical
// results and throw (never hang) when a peer is lost.
class Collective {
 public:
  virtual ~Collective() = default;
  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  // In place: `flat` (1-D, contiguous) becomes the element-wise sum over ranks.
  void all_reduce_sum(torch::Tensor& flat);
  // Bytes this rank has sent into reductions so far (payload only: numel × element size).
  int64_t bytes_reduced() const { return bytes_reduced_; }

 protected:
  virtual void all_reduce_sum_impl(torch::Tensor& flat) = 0;

 private:
  int64_t bytes_reduced_ = 0;
};

// What an Objective needs to be one rank of a data-parallel run. Inactive (single process) by default.
struct DataParallel {
  std::shared_ptr<Collective> collective;
  double shard_weight = 1.0;  // n_r / N: this rank's share of the global batch

  bool active() const { return collective != nullptr; }
  // Σ_r weight_r · values_r, element-wise, in one reduction (float64).
  std::vector<double> weighted_sum(std::vector<double> values) const;
  double weighted_sum(double value) const;
  // Σ_r weight_r · tensors_r: one flat bucket per call (the tensors share one dtype).
  TensorList weighted_sum(const TensorList& tensors) const;
};

}  // namespace cdat
