#include <cdat/collective.h>

#include <torch/torch.h>

namespace cdat {

void Collective::all_reduce_sum(torch::Tensor& flat) {
  TORCH_CHECK(flat.dim() == 1 && flat.is_contiguous(), "cdat::Collective::all_reduce_sum needs a flat contiguous tensor");
  bytes_reduced_ += flat.numel() * static_cast<int64_t>(flat.element_size());
  all_reduce_sum_impl(flat);
}

std::vector<double> DataParallel::weighted_sum(std::vector<double> values) const {
  if (!active()) return values;
  torch::Tensor flat = torch::tensor(values, torch::kFloat64) * shard_weight;
  collective->all_reduce_sum(flat);
  const double* data = flat.data_ptr<double>();
  return std::vector<double>(data, data + values.size());
}

double DataParallel::weighted_sum(double value) const { return weighted_sum(std::vector<double>{value}).front(); }

TensorList DataParallel::weighted_sum(const TensorList& tensors) const {
  if (!active()) return tensors;
  torch::Tensor flat = flatten(tensors).detach().mul(shard_weight).contiguous();
  collective->all_reduce_sum(flat);
  return unflatten(flat, tensors);
}

}  // namespace cdat
