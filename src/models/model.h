// The model zoo of the workloads (PAPER §6): an MLP, a small CNN, a small ResNet, a small MLP-Mixer and
// NanoLM, a character-level decoder-only Transformer. Every model is built from operations that support
// double backward, so Hessian-vector products (curvature) can be taken through it.
// This module knows nothing of tuners, datasets or the core library.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace cdat::models {

// What make_model() builds. width 0, depth −1 and an empty activation mean "the model's default"
// (in brackets below).
struct ModelConfig {
  // mlp | cnn | resnet | mixer | nanolm
  std::string name = "mlp";
  // One example without the batch dimension: [C, H, W] for images ([H, W] means C = 1); any shape
  // for mlp (flattened). Ignored by nanolm (which takes int64 tokens [N, T], T ≤ nanolm_context).
  std::vector<int64_t> input_shape{1, 28, 28};
  // Classes (or the vocabulary size for nanolm).
  int64_t num_outputs = 10;
  // mlp: units of each hidden layer [128]; cnn: channels of each conv layer [32]; resnet: channels of
  // the first stage, doubled at each later stage [16]; mixer: hidden (channel) dimension [64].
  int64_t width = 0;
  // mlp: hidden layers [2]; cnn: conv layers [2]; resnet: stages of one residual block each [3];
  // mixer: mixer blocks [2]. Zero is allowed (mlp: a linear model).
  int64_t depth = -1;
  // tanh | relu | gelu ["" = relu, except gelu for mixer and nanolm].
  std::string activation;
  // Batch normalisation after each convolution (cnn, resnet). Off by default.
  bool batch_norm = false;
  // mlp: dropout with this probability after each hidden activation; cnn: after each conv block (in training
  // mode only: eval() switches it off). [0: none]
  double dropout = 0.0;
  // mixer: side of the square patches (must divide H and W).
  int64_t patch_size = 4;
  // nanolm (defaults train on a 2-core CPU; PAPER reference: 6 layers, 8 heads, width 256, context 64).
  int64_t nanolm_layers = 2;
  int64_t nanolm_heads = 4;
  int64_t nanolm_width = 64;  // model (embedding) dimension; head size = width / heads
  int64_t nanolm_context = 64;
};

// A network mapping a batch to outputs: images float [N, ...] → logits [N, num_outputs];
// nanolm: tokens int64 [N, T] → logits [N, T, vocab]. Parameters are registered the usual way
// (parameters(), to(dtype), train()/eval()).
class Model : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
  // e.g. "mlp(width=128, depth=2, activation=relu)".
  virtual std::string describe() const = 0;
};

// The valid names, in the order listed above.
std::vector<std::string> model_names();

// Builds the model by name with LibTorch's default initialisation (seed with torch::manual_seed).
// Throws std::invalid_argument for an unknown name (listing the valid ones), an unknown activation, or
// sizes that do not fit (non-positive sizes, a patch size not dividing the image, width not divisible
// by heads...).
std::shared_ptr<Model> make_model(const ModelConfig& config);

// Number of scalar parameters.
int64_t count_parameters(const torch::nn::Module& module);

}  // namespace cdat::models
