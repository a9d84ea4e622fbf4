#include "models/zoo.h"

namespace cdat::models::detail {
namespace {

torch::nn::Conv2d conv(int64_t in, int64_t out, int64_t k, int64_t stride, bool bias) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, k).stride(stride).padding(k / 2).bias(bias));
}

// The basic residual block of He et al.: act(n2(conv2(act(n1(conv1(x))))) + shortcut(x)), where n are
// batch norms (or identities) and the shortcut is a strided 1×1 convolution when the shape changes.
class Block : public torch::nn::Module {
 public:
  Block(int64_t in, int64_t out, int64_t stride, bool bn, Activation act) : act_(act) {
    conv1_ = register_module("conv1", conv(in, out, 3, stride, !bn));
    conv2_ = register_module("conv2", conv(out, out, 3, 1, !bn));
    if (bn) {
      bn1_ = register_module("bn1", torch::nn::BatchNorm2d(out));
      bn2_ = register_module("bn2", torch::nn::BatchNorm2d(out));
    }
    if (stride != 1 || in != out) {
      proj_ = register_module("proj", conv(in, out, 1, stride, !bn));
      if (bn) proj_bn_ = register_module("proj_bn", torch::nn::BatchNorm2d(out));
    }
  }

  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor h = conv1_->forward(x);
    if (bn1_) h = bn1_->forward(h);
    h = activate(act_, h);
    h = conv2_->forward(h);
    if (bn2_) h = bn2_->forward(h);
    torch::Tensor s = x;
    if (proj_) {
      s = proj_->forward(x);
      if (proj_bn_) s = proj_bn_->forward(s);
    }
    return activate(act_, h + s);
  }

 private:
  Activation act_;
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, proj_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr}, proj_bn_{nullptr};
};

// A small CIFAR-style ResNet: 3×3 stem conv (width channels) → depth stages of one basic block each,
// channels width·2^i, stride 2 from the second stage on → global average pooling → linear read-out.
// Defaults (width 16, depth 3): 16-32-64 channels, 8 conv layers (a "ResNet-8"), ~78k parameters.
class ResNet : public Model {
 public:
  explicit ResNet(const ModelConfig& c) : act_(parse_activation(c.activation)), config_(c) {
    const std::vector<int64_t> s = image_shape(c);
    stem_ = register_module("stem", conv(s[0], c.width, 3, 1, !c.batch_norm));
    if (c.batch_norm) stem_bn_ = register_module("stem_bn", torch::nn::BatchNorm2d(c.width));
    int64_t channels = c.width;
    for (int64_t i = 0; i < c.depth; ++i) {
      const int64_t out = c.width << i;
      blocks_.push_back(register_module("block" + std::to_string(i),
                                        std::make_shared<Block>(channels, out, i == 0 ? 1 : 2, c.batch_norm, act_)));
      channels = out;
    }
    out_ = register_module("out", torch::nn::Linear(channels, c.num_outputs));
  }

  torch::Tensor forward(const torch::Tensor& x) override {
    torch::Tensor h = stem_->forward(x.dim() == 3 ? x.unsqueeze(1) : x);
    if (stem_bn_) h = stem_bn_->forward(h);
    h = activate(act_, h);
    for (auto& b : blocks_) h = b->forward(h);
    return out_->forward(h.mean({2, 3}));
  }

  std::string describe() const override {
    return "resnet(width=" + std::to_string(config_.width) + ", depth=" + std::to_string(config_.depth) +
           ", activation=" + to_string(act_) + ", batch_norm=" + (config_.batch_norm ? "on" : "off") + ")";
  }

 private:
  Activation act_;
  ModelConfig config_;
  torch::nn::Conv2d stem_{nullptr};
  torch::nn::BatchNorm2d stem_bn_{nullptr};
  std::vector<std::shared_ptr<Block>> blocks_;
  torch::nn::Linear out_{nullptr};
};

}  // namespace

std::shared_ptr<Model> make_resnet(const ModelConfig& config) { return std::make_shared<ResNet>(config); }

}  // namespace cdat::models::detail
