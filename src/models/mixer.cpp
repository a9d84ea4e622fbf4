#include "models/zoo.h"

namespace cdat::models::detail {
namespace {

// Two linear layers with the activation between them.
class MlpBlock : public torch::nn::Module {
 public:
  MlpBlock(int64_t dim, int64_t hidden, Activation act) : act_(act) {
    fc1_ = register_module("fc1", torch::nn::Linear(dim, hidden));
    fc2_ = register_module("fc2", torch::nn::Linear(hidden, dim));
  }
  torch::Tensor forward(const torch::Tensor& x) { return fc2_->forward(activate(act_, fc1_->forward(x))); }

 private:
  Activation act_;
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr};
};

// One Mixer layer (Tolstikhin et al. 2021), pre-LayerNorm: x + token-MLP over the patches, then
// x + channel-MLP over the features. Token hidden size width/2, channel hidden size 4·width, as Mixer-B.
class MixerLayer : public torch::nn::Module {
 public:
  MixerLayer(int64_t tokens, int64_t width, Activation act) {
    ln1_ = register_module("ln1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({width})));
    ln2_ = register_module("ln2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({width})));
    token_ = register_module("token_mlp", std::make_shared<MlpBlock>(tokens, std::max<int64_t>(1, width / 2), act));
    channel_ = register_module("channel_mlp", std::make_shared<MlpBlock>(width, 4 * width, act));
  }
  torch::Tensor forward(const torch::Tensor& x) {  // [N, S, D]
    torch::Tensor h = x + token_->forward(ln1_->forward(x).transpose(1, 2)).transpose(1, 2);
    return h + channel_->forward(ln2_->forward(h));
  }

 private:
  torch::nn::LayerNorm ln1_{nullptr}, ln2_{nullptr};
  std::shared_ptr<MlpBlock> token_, channel_;
};

// A small MLP-Mixer: non-overlapping p×p patches, linearly embedded to `width` → depth Mixer layers →
// LayerNorm → mean over patches → linear read-out.
class Mixer : public Model {
 public:
  explicit Mixer(const ModelConfig& c) : act_(parse_activation(c.activation)), config_(c) {
    const std::vector<int64_t> s = image_shape(c);
    p_ = c.patch_size;
    if (p_ < 1 || s[1] % p_ != 0 || s[2] % p_ != 0) {
      throw std::invalid_argument("cdat models: mixer patch size " + std::to_string(p_) + " must divide the image (" +
                                  std::to_string(s[1]) + "×" + std::to_string(s[2]) + ")");
    }
    const int64_t tokens = (s[1] / p_) * (s[2] / p_);
    embed_ = register_module("embed", torch::nn::Linear(s[0] * p_ * p_, c.width));
    for (int64_t i = 0; i < c.depth; ++i) {
      layers_.push_back(register_module("layer" + std::to_string(i), std::make_shared<MixerLayer>(tokens, c.width, act_)));
    }
    ln_ = register_module("ln", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.width})));
    out_ = register_module("out", torch::nn::Linear(c.width, c.num_outputs));
  }

  torch::Tensor forward(const torch::Tensor& x) override {
    torch::Tensor img = x.dim() == 3 ? x.unsqueeze(1) : x;
    const int64_t n = img.size(0), ch = img.size(1), gh = img.size(2) / p_, gw = img.size(3) / p_;
    // [N, C, H, W] → [N, gh·gw, C·p·p]
    torch::Tensor patches =
        img.reshape({n, ch, gh, p_, gw, p_}).permute({0, 2, 4, 1, 3, 5}).reshape({n, gh * gw, ch * p_ * p_});
    torch::Tensor h = embed_->forward(patches);
    for (auto& l : layers_) h = l->forward(h);
    return out_->forward(ln_->forward(h).mean(1));
  }

  std::string describe() const override {
    return "mixer(width=" + std::to_string(config_.width) + ", depth=" + std::to_string(config_.depth) +
           ", patch=" + std::to_string(p_) + ", activation=" + to_string(act_) + ")";
  }

 private:
  Activation act_;
  ModelConfig config_;
  int64_t p_ = 4;
  torch::nn::Linear embed_{nullptr}, out_{nullptr};
  std::vector<std::shared_ptr<MixerLayer>> layers_;
  torch::nn::LayerNorm ln_{nullptr};
};

}  // namespace

std::shared_ptr<Model> make_mixer(const ModelConfig& config) { return std::make_shared<Mixer>(config); }

}  // namespace cdat::models::detail
