// libFuzzer target: the character-text reader, both splits. Any input either gives next-token
// sequences with tokens inside the vocabulary or throws DataError.
#include <torch/torch.h>

#include "data/text.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = cdat::fuzz::as_file(data, size);
  cdat::data::TextOptions options;
  options.context = 4;
  options.test_fraction = 0.25;
  for (const auto split : {cdat::data::Split::Train, cdat::data::Split::Test}) {
    try {
      const auto text = cdat::data::load_text(path, split, options);
      const auto& d = text.data;
      const int64_t n = d.inputs.size(0), vocab = text.vocab.size();
      CDAT_FUZZ_CHECK(n > 0 && d.inputs.sizes() == torch::IntArrayRef({n, 4}) && d.labels.sizes() == d.inputs.sizes());
      CDAT_FUZZ_CHECK(vocab > 0 && vocab <= 256 && d.num_classes == vocab);
      CDAT_FUZZ_CHECK(d.inputs.min().item<int64_t>() >= 0 && d.inputs.max().item<int64_t>() < vocab);
      CDAT_FUZZ_CHECK(d.labels.min().item<int64_t>() >= 0 && d.labels.max().item<int64_t>() < vocab);
      // Targets are the inputs shifted by one token.
      CDAT_FUZZ_CHECK(torch::equal(d.inputs.narrow(1, 1, 3), d.labels.narrow(1, 0, 3)));
    } catch (const cdat::data::DataError&) {
    }
  }
  return 0;
}
