// The user's closure as one optimizer step calls it (private to the core).
//
// A step calls the closure once for its own forward (loss and gradient at w_t) and may call it again for
// trials: the trust check's and the line search's f(w + ηu), the parabola's forward, finite differences,
// forward-over-reverse, exact curvature after an unreliable parabola. A trial must evaluate the *same*
// function as the step's own forward and leave the model as that forward left it, or the tuner compares
// two different functions (dropout: another mask) and the model's state moves once per trial (BatchNorm's
// running statistics). StepClosure makes that so:
//  - randomness: before each trial the default generators (the CPU one and that of each CUDA device the
//    parameters live on) are reset to their state before the step's own forward; when the step ends they
//    are left where the own forward left them, so the run draws the random numbers of a step without trials;
//  - buffers (TunedOptimizerOptions::buffers, e.g. BatchNorm's running statistics): restored after each
//    trial to their values after the own forward;
//  - a closure that calls backward() (torch.optim's closure habit) is refused with a message that says what
//    to change: the step's own forward must leave every p.grad() undefined, and p.grad() is restored.
#pragma once

#include <cdat/objective.h>

#include <vector>

namespace cdat::detail {

class StepClosure {
 public:
  StepClosure(const LossClosure& closure, const TensorList& params, const TensorList& buffers, bool same_randomness);
  // Leaves the generators as the step's own forward left them (also when the step throws).
  ~StepClosure();
  StepClosure(const StepClosure&) = delete;
  StepClosure& operator=(const StepClosure&) = delete;

  // The closure to evaluate the objective with; valid while this object lives.
  LossClosure closure();

 private:
  torch::Tensor own_forward();
  torch::Tensor trial();
  void set_generator_states(const std::vector<torch::Tensor>& states);
  std::vector<torch::Tensor> generator_states();

  const LossClosure& closure_;
  const TensorList& params_;
  const TensorList& buffers_;
  std::vector<at::Generator> generators_;  // empty: randomness is not forked
  std::vector<torch::Tensor> before_own_forward_, after_own_forward_;  // generator states
  TensorList buffers_after_own_forward_;
  bool took_state_after_own_forward_ = false;
  int64_t calls_ = 0;
};

}  // namespace cdat::detail
