#include "step_closure.h"

#include <cdat/errors.h>

#include <ATen/Context.h>
#include <torch/torch.h>

#include <algorithm>
#include <mutex>

namespace cdat::detail {
namespace {

// The default CPU generator and the default generator of each CUDA device a parameter lives on.
std::vector<at::Generator> default_generators(const TensorList& params) {
  std::vector<at::Generator> generators = {at::globalContext().defaultGenerator(torch::kCPU)};
  std::vector<torch::Device> cuda_devices;
  for (const auto& p : params) {
    const torch::Device device = p.device();
    if (device.is_cuda() && std::find(cuda_devices.begin(), cuda_devices.end(), device) == cuda_devices.end()) {
      cuda_devices.push_back(device);
      generators.push_back(at::globalContext().defaultGenerator(device));
    }
  }
  return generators;
}

// Each parameter's gradient as it was, and every p.grad() left undefined.
TensorList take_gradients(const TensorList& params) {
  TensorList taken;
  taken.reserve(params.size());
  for (const auto& p : params) {
    taken.push_back(p.grad());
    p.mutable_grad() = torch::Tensor();
  }
  return taken;
}

bool any_gradient_defined(const TensorList& params) {
  return std::any_of(params.begin(), params.end(), [](const torch::Tensor& p) { return p.grad().defined(); });
}

void put_gradients_back(const TensorList& params, const TensorList& gradients) {
  for (size_t i = 0; i < params.size(); ++i) params[i].mutable_grad() = gradients[i];
}

}  // namespace

StepClosure::StepClosure(const LossClosure& closure, const TensorList& params, const TensorList& buffers,
                         bool same_randomness)
    : closure_(closure), params_(params), buffers_(buffers) {
  if (same_randomness) generators_ = default_generators(params);
}

StepClosure::~StepClosure() {
  try {
    restore_buffers();
    if (!after_own_forward_.empty()) set_generator_states(after_own_forward_);
  } catch (...) {  // a destructor must not throw; a state or copy taken from the same objects cannot fail
  }
}

void StepClosure::adopt_own_forward() {
  before_own_forward_ = generator_states();
  calls_ = 1;
}

bool StepClosure::own_forward_drew_random_numbers() {
  if (generators_.empty()) return true;
  // The generators' states alone: the buffers are copied at the first trial, if the step has one.
  const std::vector<torch::Tensor> after = generator_states();
  for (size_t i = 0; i < generators_.size(); ++i) {
    if (!torch::equal(before_own_forward_[i], after[i])) return true;
  }
  return false;
}

LossClosure StepClosure::closure() {
  return [this] { return calls_++ == 0 ? own_forward() : trial(); };
}

torch::Tensor StepClosure::own_forward() {
  before_own_forward_ = generator_states();
  const TensorList gradients = take_gradients(params_);
  torch::Tensor loss;
  try {
    loss = closure_();
  } catch (...) {
    put_gradients_back(params_, gradients);
    throw;
  }
  const bool called_backward = any_gradient_defined(params_);
  put_gradients_back(params_, gradients);
  if (called_backward) {
    throw InvalidOption(
        "cdat: the closure called backward() (a parameter's gradient was set during it): return the loss "
        "without calling loss.backward(). The optimizer differentiates the loss itself, with the graph it needs "
        "for the curvature uᵀHu; zero_grad() in the closure is harmless");
  }
  return loss;
}

// Taken at the first trial (or question), not after every own forward: nothing in between draws random
// numbers or moves a buffer, and a step without trials then copies nothing.
void StepClosure::take_state_after_own_forward() {
  if (took_state_after_own_forward_) return;
  after_own_forward_ = generator_states();
  buffers_after_own_forward_ = clone_detached(buffers_);
  took_state_after_own_forward_ = true;
}

// Restored before the next trial or at the end of the step rather than right after a trial: a kept trial's
// graph saved the buffers as that forward left them (BatchNorm's running statistics), and a copy would
// invalidate it.
void StepClosure::restore_buffers() {
  if (!buffers_moved_ || buffers_.empty()) return;
  TensorList buffers = buffers_;  // handles to the same tensors
  copy_(buffers, buffers_after_own_forward_);
  buffers_moved_ = false;
}

TensorList StepClosure::keep_last_trial() {
  TensorList moved;
  if (!buffers_moved_ || buffers_.empty()) return moved;
  for (size_t i = 0; i < buffers_.size(); ++i) {
    moved.push_back(buffers_[i].detach());  // the same storage and version counter
    buffers_[i].set_data(buffers_after_own_forward_[i]);
  }
  buffers_moved_ = false;
  return moved;
}

torch::Tensor StepClosure::trial() {
  take_state_after_own_forward();
  restore_buffers();
  set_generator_states(before_own_forward_);
  buffers_moved_ = true;
  return closure_();
}

std::vector<torch::Tensor> StepClosure::generator_states() {
  std::vector<torch::Tensor> states;
  states.reserve(generators_.size());
  for (auto& generator : generators_) {
    std::lock_guard<std::mutex> lock(generator.mutex());
    states.push_back(generator.get_state());
  }
  return states;
}

void StepClosure::set_generator_states(const std::vector<torch::Tensor>& states) {
  for (size_t i = 0; i < states.size(); ++i) {
    std::lock_guard<std::mutex> lock(generators_[i].mutex());
    generators_[i].set_state(states[i]);
  }
}

}  // namespace cdat::detail
