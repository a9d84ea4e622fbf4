// One optimizer step on the reference workload: MLP 784-512-512-10, cross-entropy, 4096 Fashion-MNIST
// training images in one batch. Prints CDAT step / GD step and HVP / gradient from the same run.
#include <benchmark/benchmark.h>
#include <cdat/cdat.h>
#include <torch/torch.h>

#include <iostream>

#include "data/idx.h"
#include "ratio_reporter.h"

namespace {

struct Workload {
  torch::nn::Sequential model{torch::nn::Linear(784, 512), torch::nn::ReLU(), torch::nn::Linear(512, 512),
                              torch::nn::ReLU(), torch::nn::Linear(512, 10)};
  torch::Tensor x, y;

  Workload() {
    torch::manual_seed(0);
    auto data = cdat::data::load_fashion_mnist(cdat::data::default_fashion_mnist_dir(), cdat::data::Split::Train);
    x = data.inputs.narrow(0, 0, 4096).reshape({4096, 784});
    x = (x - x.mean(0)) / (x.std(0) + 1e-2);
    y = data.labels.narrow(0, 0, 4096);
  }
  torch::Tensor loss() { return torch::nn::functional::cross_entropy(model->forward(x), y); }
  cdat::LossClosure closure() {
    return [this] { return loss(); };
  }
};

Workload& workload() {
  static Workload w;
  return w;
}

void BM_Gradient(benchmark::State& state) {
  auto& w = workload();
  auto params = w.model->parameters();
  for (auto _ : state) {
    auto grads = torch::autograd::grad({w.loss()}, params);
    benchmark::DoNotOptimize(grads.front().data_ptr());
  }
}

void BM_HessianVectorProduct(benchmark::State& state) {
  auto& w = workload();
  auto params = w.model->parameters();
  auto v = cdat::zeros_like(params);
  for (auto& t : v) t.normal_();
  for (auto _ : state) {
    // One forward, the gradient with its graph, and the product: what a CDAT step adds to a gradient.
    auto hv = cdat::hvp(params, w.closure(), v);
    benchmark::DoNotOptimize(hv.front().data_ptr());
  }
}

void run_steps(benchmark::State& state, std::unique_ptr<cdat::Tuner> tuner) {
  auto& w = workload();
  // A copy of the model, so that steps do not drift the shared workload.
  auto params = w.model->parameters();
  auto saved = cdat::clone_detached(params);
  cdat::TunedOptimizer optimizer(params, std::make_unique<cdat::GradientDescent>(), std::move(tuner));
  for (auto _ : state) optimizer.step(w.closure());
  cdat::copy_(params, saved);
}

void BM_GdStep(benchmark::State& state) { run_steps(state, std::make_unique<cdat::ConstantTuner>(0.05)); }
void BM_CdatStep(benchmark::State& state) { run_steps(state, std::make_unique<cdat::CdatTuner>()); }

BENCHMARK(BM_Gradient)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(BM_GdStep)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(BM_CdatStep)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(BM_HessianVectorProduct)->Unit(benchmark::kMillisecond)->MinTime(2.0);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  std::cout << "torch intra-op threads: " << at::get_num_threads() << "\n";
  workload();  // load the data before timing
  cdat::bench::RatioReporter reporter({{"CDAT step / GD step", "BM_CdatStep", "BM_GdStep"},
                                       {"HVP / gradient", "BM_HessianVectorProduct",
                                        "BM_Gradient"},
                                       {"GD step / gradient", "BM_GdStep", "BM_Gradient"}});
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
