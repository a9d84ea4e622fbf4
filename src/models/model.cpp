#include "models/model.h"

#include "models/zoo.h"

#include <sstream>

namespace cdat::models {
namespace detail {

Activation parse_activation(const std::string& name) {
  if (name == "tanh") return Activation::Tanh;
  if (name == "relu") return Activation::Relu;
  if (name == "gelu") return Activation::Gelu;
  throw std::invalid_argument("cdat models: unknown activation '" + name + "' (valid: tanh, relu, gelu)");
}

std::string to_string(Activation a) {
  switch (a) {
    case Activation::Tanh:
      return "tanh";
    case Activation::Relu:
      return "relu";
    case Activation::Gelu:
      return "gelu";
  }
  return "?";
}

// All three have double-backward formulas in LibTorch (relu's second derivative is zero).
torch::Tensor activate(Activation a, const torch::Tensor& x) {
  switch (a) {
    case Activation::Tanh:
      return torch::tanh(x);
    case Activation::Relu:
      return torch::relu(x);
    case Activation::Gelu:
      return torch::gelu(x);
  }
  return x;
}

std::string dropout_text(double p) {
  if (p <= 0.0) return "";
  std::ostringstream text;
  text << ", dropout=" << p;
  return text.str();
}

std::vector<int64_t> image_shape(const ModelConfig& config) {
  std::vector<int64_t> s = config.input_shape;
  if (s.size() == 2) s.insert(s.begin(), 1);
  if (s.size() != 3 || s[0] < 1 || s[1] < 1 || s[2] < 1) {
    throw std::invalid_argument("cdat models: " + config.name + " needs an image input shape [C, H, W], got " +
                                c10::str(c10::IntArrayRef(config.input_shape)));
  }
  return s;
}

}  // namespace detail

std::vector<std::string> model_names() { return {"mlp", "cnn", "resnet", "mixer", "nanolm"}; }

std::shared_ptr<Model> make_model(const ModelConfig& config) {
  ModelConfig c = config;
  struct Defaults {
    const char* name;
    int64_t width, depth;
    const char* activation;
    std::shared_ptr<Model> (*make)(const ModelConfig&);
  };
  static const Defaults table[] = {
      {"mlp", 128, 2, "relu", detail::make_mlp},         {"cnn", 32, 2, "relu", detail::make_cnn},
      {"resnet", 16, 3, "relu", detail::make_resnet},    {"mixer", 64, 2, "gelu", detail::make_mixer},
      {"nanolm", 0, 0, "gelu", detail::make_nanolm},
  };
  for (const auto& d : table) {
    if (c.name != d.name) continue;
    if (c.width == 0) c.width = d.width;
    if (c.depth < 0) c.depth = d.depth;
    if (c.activation.empty()) c.activation = d.activation;
    detail::parse_activation(c.activation);  // validates
    if (c.num_outputs < 1) throw std::invalid_argument("cdat models: num_outputs must be ≥ 1");
    if (c.name != "nanolm" && (c.width < 1 || c.depth < 0)) {
      throw std::invalid_argument("cdat models: " + c.name + " needs width ≥ 1 and depth ≥ 0");
    }
    if (!(c.dropout >= 0.0 && c.dropout < 1.0)) throw std::invalid_argument("cdat models: dropout must be in [0, 1)");
    if (c.dropout > 0.0 && c.name != "mlp" && c.name != "cnn") {
      throw std::invalid_argument("cdat models: dropout is an option of mlp and cnn, not " + c.name);
    }
    return d.make(c);
  }
  std::string valid;
  for (const auto& n : model_names()) valid += (valid.empty() ? "" : ", ") + n;
  throw std::invalid_argument("cdat models: unknown model '" + config.name + "' (valid: " + valid + ")");
}

int64_t count_parameters(const torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters()) n += p.numel();
  return n;
}

}  // namespace cdat::models
