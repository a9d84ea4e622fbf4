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
//  - buffers (TunedOptimizerOptions::buffers, e.g. BatchNorm's running statistics): each trial starts from
//    their values after the own forward, and they are put back to those values when the step ends (a kept
//    trial's updates are handed to the next step, keep_last_trial: full batch);
//  - a closure that calls backward() (torch.optim's closure habit) is refused with a message that says what
//    to change: the step's own forward must leave every p.grad() undefined, and p.grad() is restored.
#pragma once

#include <cdat/objective.h>

#include <vector>

namespace cdat::detail {

class StepClosure {
 public:
  StepClosure(const LossClosure& closure, const TensorList& params, const TensorList& buffers, bool same_randomness);
  // Leaves the generators and the buffers as the step's own forward left them (also when the step throws).
  ~StepClosure();
  StepClosure(const StepClosure&) = delete;
  StepClosure& operator=(const StepClosure&) = delete;

  // The closure to evaluate the objective with; valid while this object lives.
  LossClosure closure();
  // The step's own forward was done before this step (the last step's kept trial): the closure's first call
  // is a trial. The generators' state now is the state before and after that forward.
  void adopt_own_forward();
  // Whether the own forward drew random numbers from the default generators (dropout). True when
  // randomness is not forked (same_randomness false): it cannot be told then.
  bool own_forward_drew_random_numbers();
  // The last trial's forward becomes the next step's own forward, and its updates of the buffers are the
  // ones that forward would make: returned (handles to the moved storage), for the next step to put back
  // (set_data), while the buffers get back their values after this step's own forward. Both swaps go through
  // set_data, not an in-place copy: the trial's graph saved the buffers (BatchNorm's running statistics), and
  // a copy would move their version counters and invalidate it.
  TensorList keep_last_trial();

 private:
  torch::Tensor own_forward();
  torch::Tensor trial();
  void take_state_after_own_forward();
  void restore_buffers();
  void set_generator_states(const std::vector<torch::Tensor>& states);
  std::vector<torch::Tensor> generator_states();

  const LossClosure& closure_;
  const TensorList& params_;
  const TensorList& buffers_;
  std::vector<at::Generator> generators_;  // empty: randomness is not forked
  std::vector<torch::Tensor> before_own_forward_, after_own_forward_;  // generator states
  TensorList buffers_after_own_forward_;
  bool took_state_after_own_forward_ = false;
  bool buffers_moved_ = false;  // a trial has moved the buffers since they were last restored
  int64_t calls_ = 0;
};

}  // namespace cdat::detail
