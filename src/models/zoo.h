// Internal to the models module: one builder per model (each in its own file), and shared helpers.
// The config passed here has its defaults already filled in by make_model().
#pragma once

#include "models/model.h"

namespace cdat::models::detail {

enum class Activation { Tanh, Relu, Gelu };

Activation parse_activation(const std::string& name);
std::string to_string(Activation a);
torch::Tensor activate(Activation a, const torch::Tensor& x);

// ", dropout=P" for describe() when P > 0, else "".
std::string dropout_text(double p);

// [C, H, W] (or [H, W] → [1, H, W]) from config.input_shape; std::invalid_argument otherwise.
std::vector<int64_t> image_shape(const ModelConfig& config);

std::shared_ptr<Model> make_mlp(const ModelConfig& config);
std::shared_ptr<Model> make_cnn(const ModelConfig& config);
std::shared_ptr<Model> make_resnet(const ModelConfig& config);
std::shared_ptr<Model> make_mixer(const ModelConfig& config);
std::shared_ptr<Model> make_nanolm(const ModelConfig& config);

}  // namespace cdat::models::detail
