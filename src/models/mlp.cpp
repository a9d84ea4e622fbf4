#include "models/zoo.h"

namespace cdat::models::detail {
namespace {

// depth hidden layers of `width` units with the activation, then a linear read-out; flattens its input.
class Mlp : public Model {
 public:
  explicit Mlp(const ModelConfig& c) : act_(parse_activation(c.activation)), config_(c) {
    int64_t in = 1;
    for (int64_t s : c.input_shape) in *= s;
    if (in < 1) throw std::invalid_argument("cdat models: mlp needs a non-empty input shape");
    for (int64_t i = 0; i < c.depth; ++i) {
      layers_.push_back(register_module("fc" + std::to_string(i), torch::nn::Linear(in, c.width)));
      in = c.width;
    }
    layers_.push_back(register_module("out", torch::nn::Linear(in, c.num_outputs)));
  }

  torch::Tensor forward(const torch::Tensor& x) override {
    torch::Tensor h = x.reshape({x.size(0), -1});
    for (size_t i = 0; i + 1 < layers_.size(); ++i) {
      h = activate(act_, layers_[i]->forward(h));
      if (config_.dropout > 0.0) h = torch::dropout(h, config_.dropout, is_training());
    }
    return layers_.back()->forward(h);
  }

  std::string describe() const override {
    return "mlp(width=" + std::to_string(config_.width) + ", depth=" + std::to_string(config_.depth) +
           ", activation=" + to_string(act_) + dropout_text(config_.dropout) + ")";
  }

 private:
  Activation act_;
  ModelConfig config_;
  std::vector<torch::nn::Linear> layers_;
};

}  // namespace

std::shared_ptr<Model> make_mlp(const ModelConfig& config) { return std::make_shared<Mlp>(config); }

}  // namespace cdat::models::detail
