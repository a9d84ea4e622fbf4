// libFuzzer target: the CIFAR-10 binary batch reader (raw or gzip). Any input either loads into
// well-formed tensors or throws DataError.
#include <torch/torch.h>

#include "data/cifar10.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = cdat::fuzz::as_file(data, size);
  try {
    const auto batch = cdat::data::read_cifar10_batch(path);
    const int64_t n = batch.inputs.size(0);
    CDAT_FUZZ_CHECK(n > 0 && batch.inputs.sizes() == torch::IntArrayRef({n, 3, 32, 32}));
    CDAT_FUZZ_CHECK(batch.labels.dim() == 1 && batch.labels.size(0) == n);
    CDAT_FUZZ_CHECK(batch.labels.min().item<int64_t>() >= 0 && batch.labels.max().item<int64_t>() < 10);
    CDAT_FUZZ_CHECK(batch.inputs.min().item<float>() >= 0.0f && batch.inputs.max().item<float>() <= 1.0f);
  } catch (const cdat::data::DataError&) {
  }
  return 0;
}
