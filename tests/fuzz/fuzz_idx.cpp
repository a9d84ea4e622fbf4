// libFuzzer target: the IDX reader (Fashion-MNIST / MNIST), images and labels, raw or gzip. Any input
// either loads into a well-formed tensor or throws DataError; anything else (a crash, another
// exception, a sanitizer report) is a finding.
#include <torch/torch.h>

#include "data/idx.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = cdat::fuzz::as_file(data, size);
  try {
    const auto images = cdat::data::read_idx_images(path);
    CDAT_FUZZ_CHECK(images.dim() == 4 && images.size(0) > 0 && images.size(1) == 1);
    CDAT_FUZZ_CHECK(images.min().item<float>() >= 0.0f && images.max().item<float>() <= 1.0f);
  } catch (const cdat::data::DataError&) {
  }
  try {
    const auto labels = cdat::data::read_idx_labels(path, 10);
    CDAT_FUZZ_CHECK(labels.dim() == 1 && labels.size(0) > 0 && labels.scalar_type() == torch::kInt64);
    CDAT_FUZZ_CHECK(labels.min().item<int64_t>() >= 0 && labels.max().item<int64_t>() < 10);
  } catch (const cdat::data::DataError&) {
  }
  return 0;
}
