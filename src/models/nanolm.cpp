#include "models/zoo.h"

#include <cmath>
#include <limits>

namespace cdat::models::detail {
namespace {

// Causal multi-head self-attention written with matmul, masked_fill and softmax (no fused
// scaled-dot-product kernel, which lacks double backward in some LibTorch versions).
class CausalSelfAttention : public torch::nn::Module {
 public:
  CausalSelfAttention(int64_t width, int64_t heads) : heads_(heads) {
    qkv_ = register_module("qkv", torch::nn::Linear(width, 3 * width));
    proj_ = register_module("proj", torch::nn::Linear(width, width));
  }

  torch::Tensor forward(const torch::Tensor& x) {  // [N, T, D]
    const int64_t n = x.size(0), t = x.size(1), d = x.size(2), hd = d / heads_;
    std::vector<torch::Tensor> qkv = qkv_->forward(x).chunk(3, -1);
    auto split = [&](const torch::Tensor& z) { return z.reshape({n, t, heads_, hd}).transpose(1, 2); };  // [N, H, T, hd]
    torch::Tensor q = split(qkv[0]), k = split(qkv[1]), v = split(qkv[2]);
    torch::Tensor att = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(hd));
    // Position i attends to j ≤ i. Built here rather than kept as a buffer: Module::to(dtype) would
    // turn a boolean buffer into floats.
    torch::Tensor future = torch::ones({t, t}, x.options().dtype(torch::kBool)).triu(1);
    att = att.masked_fill(future, -std::numeric_limits<double>::infinity());
    att = torch::softmax(att, -1);
    torch::Tensor y = torch::matmul(att, v).transpose(1, 2).reshape({n, t, d});
    return proj_->forward(y);
  }

 private:
  int64_t heads_;
  torch::nn::Linear qkv_{nullptr}, proj_{nullptr};
};

// Pre-LayerNorm Transformer block: x + attn(ln1(x)), then x + mlp(ln2(x)) with a 4·width hidden layer.
class Block : public torch::nn::Module {
 public:
  Block(int64_t width, int64_t heads, Activation act) : act_(act) {
    ln1_ = register_module("ln1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({width})));
    ln2_ = register_module("ln2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({width})));
    attn_ = register_module("attn", std::make_shared<CausalSelfAttention>(width, heads));
    fc1_ = register_module("fc1", torch::nn::Linear(width, 4 * width));
    fc2_ = register_module("fc2", torch::nn::Linear(4 * width, width));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor h = x + attn_->forward(ln1_->forward(x));
    return h + fc2_->forward(activate(act_, fc1_->forward(ln2_->forward(h))));
  }

 private:
  Activation act_;
  torch::nn::LayerNorm ln1_{nullptr}, ln2_{nullptr};
  std::shared_ptr<CausalSelfAttention> attn_;
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr};
};

// NanoLM: a decoder-only character Transformer (PAPER §6). Token + learned position embeddings →
// nanolm_layers pre-LN blocks → final LayerNorm → linear head to vocabulary logits [N, T, vocab].
// No dropout (the paper's curvature measurements need a deterministic loss).
class NanoLM : public Model {
 public:
  explicit NanoLM(const ModelConfig& c) : act_(parse_activation(c.activation)), config_(c) {
    if (c.nanolm_layers < 1 || c.nanolm_heads < 1 || c.nanolm_width < 1 || c.nanolm_context < 1) {
      throw std::invalid_argument("cdat models: nanolm layers, heads, width and context must be ≥ 1");
    }
    if (c.nanolm_width % c.nanolm_heads != 0) {
      throw std::invalid_argument("cdat models: nanolm width " + std::to_string(c.nanolm_width) +
                                  " is not divisible by its " + std::to_string(c.nanolm_heads) + " heads");
    }
    const int64_t d = c.nanolm_width;
    tok_ = register_module("tok_emb", torch::nn::Embedding(c.num_outputs, d));
    pos_ = register_module("pos_emb", torch::nn::Embedding(c.nanolm_context, d));
    for (int64_t i = 0; i < c.nanolm_layers; ++i) {
      blocks_.push_back(register_module("block" + std::to_string(i),
                                        std::make_shared<Block>(d, c.nanolm_heads, act_)));
    }
    ln_ = register_module("ln_f", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
    head_ = register_module("head", torch::nn::Linear(d, c.num_outputs));
  }

  torch::Tensor forward(const torch::Tensor& x) override {
    if (x.dim() != 2 || x.is_floating_point()) {
      throw std::invalid_argument("cdat models: nanolm takes integer tokens [N, T], got " + c10::str(x.sizes()) + " " +
                                  std::string(c10::toString(x.scalar_type())));
    }
    const int64_t t = x.size(1);
    if (t > config_.nanolm_context) {
      throw std::invalid_argument("cdat models: nanolm sequence length " + std::to_string(t) + " exceeds its context " +
                                  std::to_string(config_.nanolm_context));
    }
    torch::Tensor tokens = x.to(torch::kInt64);
    torch::Tensor positions = torch::arange(t, tokens.options());
    torch::Tensor h = tok_->forward(tokens) + pos_->forward(positions).unsqueeze(0);
    for (auto& b : blocks_) h = b->forward(h);
    return head_->forward(ln_->forward(h));
  }

  std::string describe() const override {
    return "nanolm(layers=" + std::to_string(config_.nanolm_layers) + ", heads=" + std::to_string(config_.nanolm_heads) +
           ", width=" + std::to_string(config_.nanolm_width) + ", context=" + std::to_string(config_.nanolm_context) +
           ", vocab=" + std::to_string(config_.num_outputs) + ", activation=" + to_string(act_) + ")";
  }

 private:
  Activation act_;
  ModelConfig config_;
  torch::nn::Embedding tok_{nullptr}, pos_{nullptr};
  std::vector<std::shared_ptr<Block>> blocks_;
  torch::nn::LayerNorm ln_{nullptr};
  torch::nn::Linear head_{nullptr};
};

}  // namespace

std::shared_ptr<Model> make_nanolm(const ModelConfig& config) { return std::make_shared<NanoLM>(config); }

}  // namespace cdat::models::detail
