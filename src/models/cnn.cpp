#include "models/zoo.h"

namespace cdat::models::detail {
namespace {

// depth × [3×3 conv (width channels, padding 1) → (batch norm) → activation → 2×2 average pooling while
// the image is at least 2×2 → (dropout)], then a linear read-out of the flattened features. Average (not max)
// pooling keeps the loss smooth for curvature measurements.
class Cnn : public Model {
 public:
  explicit Cnn(const ModelConfig& c) : act_(parse_activation(c.activation)), config_(c) {
    std::vector<int64_t> s = image_shape(c);
    int64_t channels = s[0], h = s[1], w = s[2];
    for (int64_t i = 0; i < c.depth; ++i) {
      const std::string id = std::to_string(i);
      convs_.push_back(register_module(
          "conv" + id, torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, c.width, 3).padding(1).bias(!c.batch_norm))));
      if (c.batch_norm) norms_.push_back(register_module("bn" + id, torch::nn::BatchNorm2d(c.width)));
      channels = c.width;
      const bool pool = h >= 2 && w >= 2;
      pool_.push_back(pool);
      if (pool) h /= 2, w /= 2;
    }
    out_ = register_module("out", torch::nn::Linear(channels * h * w, c.num_outputs));
  }

  torch::Tensor forward(const torch::Tensor& x) override {
    torch::Tensor h = x.dim() == 3 ? x.unsqueeze(1) : x;
    for (size_t i = 0; i < convs_.size(); ++i) {
      h = convs_[i]->forward(h);
      if (!norms_.empty()) h = norms_[i]->forward(h);
      h = activate(act_, h);
      if (pool_[i]) h = torch::avg_pool2d(h, 2);
      if (config_.dropout > 0.0) h = torch::dropout(h, config_.dropout, is_training());
    }
    return out_->forward(h.reshape({h.size(0), -1}));
  }

  std::string describe() const override {
    return "cnn(width=" + std::to_string(config_.width) + ", depth=" + std::to_string(config_.depth) +
           ", activation=" + to_string(act_) + ", batch_norm=" + (config_.batch_norm ? "on" : "off") +
           dropout_text(config_.dropout) + ")";
  }

 private:
  Activation act_;
  ModelConfig config_;
  std::vector<torch::nn::Conv2d> convs_;
  std::vector<torch::nn::BatchNorm2d> norms_;
  std::vector<bool> pool_;
  torch::nn::Linear out_{nullptr};
};

}  // namespace

std::shared_ptr<Model> make_cnn(const ModelConfig& config) { return std::make_shared<Cnn>(config); }

}  // namespace cdat::models::detail
