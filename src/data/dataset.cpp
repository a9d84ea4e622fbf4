#include "data/dataset.h"

#include <algorithm>
#include <numeric>
#include <random>
#include <vector>

namespace cdat::data {
namespace {

// Deterministic on every platform: std::mt19937_64 is fully specified by the standard, the
// distributions and std::shuffle are not, so bounded draws and shuffles are written here.
class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}
  // Uniform in [0, bound), bound ≥ 1, by rejection (no modulo bias).
  uint64_t below(uint64_t bound) {
    const uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
    uint64_t r = 0;
    do {
      r = engine_();
    } while (r >= limit);
    return r % bound;
  }
  // The first k of a uniformly random permutation of v (partial Fisher–Yates).
  template <class T>
  void partial_shuffle(std::vector<T>& v, size_t k) {
    for (size_t i = 0; i < k && i + 1 < v.size(); ++i) {
      const size_t j = i + static_cast<size_t>(below(v.size() - i));
      std::swap(v[i], v[j]);
    }
  }

 private:
  std::mt19937_64 engine_;
};

}  // namespace

Split parse_split(const std::string& name) {
  if (name == "train") return Split::Train;
  if (name == "test") return Split::Test;
  throw std::invalid_argument("cdat data: unknown split '" + name + "' (valid: train, test)");
}

std::string to_string(Split split) { return split == Split::Train ? "train" : "test"; }

Dataset select(const Dataset& data, const torch::Tensor& indices) {
  Dataset out;
  out.inputs = data.inputs.index_select(0, indices);
  out.labels = data.labels.index_select(0, indices);
  out.num_classes = data.num_classes;
  out.name = data.name;
  return out;
}

torch::Tensor balanced_subset_indices(const Dataset& data, int64_t n, uint64_t seed) {
  const int64_t size = data.size();
  if (n < 1 || n > size) {
    throw std::invalid_argument("cdat data: subset size " + std::to_string(n) + " of " + data.name +
                                " must be in [1, " + std::to_string(size) + "]");
  }
  Rng rng(seed);
  std::vector<int64_t> chosen;
  chosen.reserve(static_cast<size_t>(n));
  if (data.is_sequence() || data.num_classes < 1) {
    std::vector<int64_t> all(static_cast<size_t>(size));
    std::iota(all.begin(), all.end(), int64_t{0});
    rng.partial_shuffle(all, static_cast<size_t>(n));
    chosen.assign(all.begin(), all.begin() + n);
  } else {
    const int64_t classes = data.num_classes;
    torch::Tensor labels = data.labels.to(torch::kCPU, torch::kInt64).contiguous();
    const int64_t* lab = labels.data_ptr<int64_t>();
    std::vector<std::vector<int64_t>> members(static_cast<size_t>(classes));
    for (int64_t i = 0; i < size; ++i) {
      if (lab[i] < 0 || lab[i] >= classes) {
        throw std::invalid_argument("cdat data: label " + std::to_string(lab[i]) + " of example " +
                                    std::to_string(i) + " of " + data.name + " is outside [0, " +
                                    std::to_string(classes) + ")");
      }
      members[static_cast<size_t>(lab[i])].push_back(i);
    }
    // Quotas by water-filling: equal shares, remainder to the lowest-numbered classes with room,
    // repeated while some class ran out of examples.
    std::vector<int64_t> quota(static_cast<size_t>(classes), 0);
    int64_t remaining = n;
    while (remaining > 0) {
      std::vector<size_t> open;
      for (size_t k = 0; k < quota.size(); ++k) {
        if (quota[k] < static_cast<int64_t>(members[k].size())) open.push_back(k);
      }
      const auto m = static_cast<int64_t>(open.size());  // ≥ 1 since n ≤ size
      const int64_t share = remaining / m;
      const int64_t extra = remaining % m;
      for (int64_t j = 0; j < m; ++j) {
        const size_t k = open[static_cast<size_t>(j)];
        const int64_t want = share + (j < extra ? 1 : 0);
        const int64_t give = std::min(want, static_cast<int64_t>(members[k].size()) - quota[k]);
        quota[k] += give;
        remaining -= give;
      }
    }
    for (size_t k = 0; k < members.size(); ++k) {
      rng.partial_shuffle(members[k], static_cast<size_t>(quota[k]));
      chosen.insert(chosen.end(), members[k].begin(), members[k].begin() + quota[k]);
    }
  }
  std::sort(chosen.begin(), chosen.end());
  return torch::tensor(chosen, torch::kInt64);
}

Dataset balanced_subset(const Dataset& data, int64_t n, uint64_t seed) {
  return select(data, balanced_subset_indices(data, n, seed));
}

Standardizer Standardizer::fit(const torch::Tensor& x, double min_std) {
  if (!x.defined() || x.dim() < 1 || x.size(0) < 1) {
    throw std::invalid_argument("cdat data: Standardizer::fit needs at least one example");
  }
  if (!x.is_floating_point()) throw std::invalid_argument("cdat data: Standardizer::fit needs floating-point inputs");
  if (!(min_std > 0)) throw std::invalid_argument("cdat data: Standardizer min_std must be > 0");
  Standardizer s;
  s.min_std = min_std;
  torch::Tensor xd = x.to(torch::kFloat64);
  s.mean = xd.mean(0, /*keepdim=*/true);
  s.std = (xd - s.mean).pow(2).mean(0, /*keepdim=*/true).sqrt().clamp_min(min_std);
  s.mean = s.mean.to(x.scalar_type());
  s.std = s.std.to(x.scalar_type());
  return s;
}

torch::Tensor Standardizer::apply(const torch::Tensor& x) const {
  if (!fitted()) throw std::logic_error("cdat data: Standardizer::apply before fit");
  if (x.dim() != mean.dim() || x.sizes().slice(1) != mean.sizes().slice(1)) {
    throw std::invalid_argument("cdat data: Standardizer fitted on features of shape " +
                                c10::str(mean.sizes().slice(1)) + " applied to inputs of shape " + c10::str(x.sizes()));
  }
  return ((x - mean.to(x.options())) / std.to(x.options()));
}

torch::Tensor one_hot(const torch::Tensor& labels, int64_t num_classes, torch::Dtype dtype) {
  if (num_classes < 1) throw std::invalid_argument("cdat data: one_hot needs num_classes ≥ 1");
  torch::Tensor lab = labels.to(torch::kInt64);
  if (lab.numel() > 0) {
    const int64_t lo = lab.min().item<int64_t>();
    const int64_t hi = lab.max().item<int64_t>();
    if (lo < 0 || hi >= num_classes) {
      throw std::invalid_argument("cdat data: one_hot label " + std::to_string(lo < 0 ? lo : hi) + " outside [0, " +
                                  std::to_string(num_classes) + ")");
    }
  }
  std::vector<int64_t> shape(lab.sizes().begin(), lab.sizes().end());
  shape.push_back(num_classes);
  torch::Tensor out = torch::zeros(shape, labels.options().dtype(dtype));
  out.scatter_(-1, lab.unsqueeze(-1), 1.0);
  return out;
}

}  // namespace cdat::data
