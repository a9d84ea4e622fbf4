// A user direction, registered by name: sign descent, u = −sign(g) (signSGD; the core of Lion without
// its momentum). Stateless. It keeps Direction's facts for the diagnostics: the edge 2/η on λ_max(H)
// (override stability_threshold() and sharpness_is_preconditioned() when a direction has others).
#include <cdat/cdat.h>

#include <torch/torch.h>

namespace {

class SignDescent final : public cdat::Direction {
 public:
  explicit SignDescent(cdat::DirectionOptions options) : Direction(options) {}
  std::string name() const override { return "sign"; }

 private:
  cdat::TensorList raw_direction(const cdat::TensorList& grad) override {
    cdat::TensorList u;
    for (const auto& g : grad) u.push_back(-torch::sign(g.detach()));
    return u;
  }
};

const bool registered = cdat::register_direction(
    {"sign", "sign descent u = −sign(g) (examples/extending)",
     [](const cdat::DirectionOptions& options) { return std::make_unique<SignDescent>(options); }});

}  // namespace
