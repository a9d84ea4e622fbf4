// Per-step cost of every tuner and curvature mode relative to one plain gradient, on three workloads:
//   mlp:    MLP 784-512-512-10 (relu, cross-entropy) × 4096 Fashion-MNIST images, full batch;
//   cnn:    the small CNN × 1024 Fashion-MNIST images;
//   nanolm: the small NanoLM × 32 sequences of 64 characters of Tiny Shakespeare.
//   plus, on MSE, GD / exact CDAT / forward-over-reverse CDAT (cross-entropy has no forward-AD support);
//   the parabola modes (one or two forwards) and amortised curvature (every 4 steps);
//   plus, on mlp, a whole constant-LR training run (cdat::train::run_training) per step.
// Ratios are printed from the same run (bench/ratio_reporter.h). `--benchmark_filter=mlp` runs one workload.
#include <benchmark/benchmark.h>
#include <cdat/cdat.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>

#include "data/idx.h"
#include "data/text.h"
#include "models/loss.h"
#include "models/model.h"
#include "ratio_reporter.h"
#include "train/run_config.h"
#include "train/runner.h"

namespace {

using cdat::models::LossKind;

struct Workload {
  std::shared_ptr<cdat::models::Model> model;
  torch::Tensor x, y;
  torch::Tensor loss(LossKind kind = LossKind::CrossEntropy) {
    return cdat::models::compute_loss(kind, model->forward(x), y);
  }
  cdat::LossClosure closure(LossKind kind = LossKind::CrossEntropy) {
    return [this, kind] { return loss(kind); };
  }
};

std::string tiny_shakespeare_path() {
  for (const char* p : {"../shared/data/tinyshakespeare.txt", "../../shared/data/tinyshakespeare.txt",
                        CDAT_SOURCE_DIR "/../shared/data/tinyshakespeare.txt"}) {
    if (std::filesystem::exists(p)) return p;
  }
  throw std::runtime_error("bench: tinyshakespeare.txt not found beside the repository (../shared/data/)");
}

Workload make_workload(const std::string& name) {
  torch::manual_seed(0);
  Workload w;
  cdat::models::ModelConfig config;
  if (name == "nanolm") {
    auto text = cdat::data::load_text(tiny_shakespeare_path(), cdat::data::Split::Train).data;
    w.x = text.inputs.narrow(0, 0, 32);
    w.y = text.labels.narrow(0, 0, 32);
    config.name = "nanolm";
    config.num_outputs = text.num_classes;
  } else {
    const int64_t n = name == "mlp" ? 4096 : 1024;
    auto data = cdat::data::load_fashion_mnist(cdat::data::default_fashion_mnist_dir(), cdat::data::Split::Train);
    w.x = data.inputs.narrow(0, 0, n);
    w.x = (w.x - w.x.mean(0)) / (w.x.std(0) + 1e-2);
    w.y = data.labels.narrow(0, 0, n);
    config.name = name;
    if (name == "mlp") {
      config.width = 512;
      config.depth = 2;
      config.activation = "relu";
    }
  }
  w.model = cdat::models::make_model(config);
  return w;
}

Workload& workload(const std::string& name) {
  static std::map<std::string, Workload> cache;
  auto it = cache.find(name);
  if (it == cache.end()) it = cache.emplace(name, make_workload(name)).first;
  return it->second;
}

void BM_Gradient(benchmark::State& state, std::string name) {
  auto& w = workload(name);
  auto params = w.model->parameters();
  for (auto _ : state) {
    auto grads = torch::autograd::grad({w.loss()}, params);
    benchmark::DoNotOptimize(grads.front().data_ptr());
  }
}

void BM_HessianVectorProduct(benchmark::State& state, std::string name) {
  auto& w = workload(name);
  auto params = w.model->parameters();
  auto v = cdat::zeros_like(params);
  for (auto& t : v) t.normal_();
  for (auto _ : state) {
    auto hv = cdat::hvp(params, w.closure(), v);  // forward + gradient with graph + product
    benchmark::DoNotOptimize(hv.front().data_ptr());
  }
}

// One Hv on a gradient graph that is already built: the cost of each Lanczos iteration.
void BM_HvpOnKeptGraph(benchmark::State& state, std::string name) {
  auto& w = workload(name);
  auto params = w.model->parameters();
  cdat::HessianOperator hessian(params, w.closure());
  auto v = torch::randn({hessian.dim()}, params.front().options());
  for (auto _ : state) {
    auto hv = hessian(v);
    benchmark::DoNotOptimize(hv.data_ptr());
  }
}

void BM_Lanczos20(benchmark::State& state, std::string name) {
  auto& w = workload(name);
  auto params = w.model->parameters();
  for (auto _ : state) {
    cdat::HessianOperator hessian(params, w.closure());
    cdat::EigenOptions options;
    options.iterations = 20;
    auto result = cdat::lanczos(hessian.as_operator(), cdat::flatten(params).detach(), options);
    benchmark::DoNotOptimize(result.eigenvalue);
  }
}

// Steps of GD + `tuner`; the parameters are restored afterwards so that runs do not drift the workload.
using TunerFactory = std::function<std::unique_ptr<cdat::Tuner>()>;

cdat::TunedOptimizerOptions with_mode(const std::string& mode) {
  cdat::TunedOptimizerOptions options;
  options.curvature_mode = mode;
  return options;
}

// A fresh GD + tuner optimizer that has taken one untimed step (the secant mode's first step is exact).
std::unique_ptr<cdat::TunedOptimizer> started_optimizer(Workload& w, const TunerFactory& make_tuner,
                                                        const cdat::TunedOptimizerOptions& options, LossKind loss) {
  auto optimizer = std::make_unique<cdat::TunedOptimizer>(w.model->parameters(),
                                                          std::make_unique<cdat::GradientDescent>(), make_tuner(), options);
  optimizer->step(w.closure(loss));
  return optimizer;
}

// A row's workload parameters, put back when the row ends so that rows do not drift the workload.
struct ParametersRestoredAtEnd {
  std::vector<torch::Tensor> params, saved;
  explicit ParametersRestoredAtEnd(std::vector<torch::Tensor> p) : params(std::move(p)), saved(cdat::clone_detached(params)) {}
  ParametersRestoredAtEnd(const ParametersRestoredAtEnd&) = delete;
  ParametersRestoredAtEnd& operator=(const ParametersRestoredAtEnd&) = delete;
  ~ParametersRestoredAtEnd() { restore(); }
  void restore() { cdat::copy_(params, saved); }
};

// Steps of GD + a tuner (exact curvature unless `options` says otherwise: the rows below name their mode); the
// parameters are restored afterwards so that runs do not drift the workload.
// A run that diverges (NonFiniteError: the lagged secant with σ = 1 does on NanoLM) restarts from the
// saved parameters with a fresh optimizer, untimed; the counter `restarts` says how often. A label names
// a forward-AD fallback (forward-over-reverse then measured exact double backward); the counter
// `fallbacks` the share of parabola steps that measured exactly instead.
void run_steps(benchmark::State& state, const std::string& name, const TunerFactory& make_tuner,
               const cdat::TunedOptimizerOptions& options = with_mode("exact"), LossKind loss = LossKind::CrossEntropy) {
  auto& w = workload(name);
  ParametersRestoredAtEnd params(w.model->parameters());
  auto optimizer = started_optimizer(w, make_tuner, options, loss);
  double trials = 0, restarts = 0, fallbacks = 0;
  std::string warning = optimizer->last_stats().warning;  // e.g. forward AD unsupported, from the first step on
  for (auto _ : state) {
    try {
      optimizer->step(w.closure(loss));
      trials += optimizer->last_stats().tuner.trials;
      fallbacks += optimizer->last_stats().curvature_fallback ? 1 : 0;
      if (warning.empty()) warning = optimizer->last_stats().warning;
    } catch (const cdat::NonFiniteError&) {
      state.PauseTiming();
      ++restarts;
      params.restore();
      optimizer = started_optimizer(w, make_tuner, options, loss);
      state.ResumeTiming();
    }
  }
  state.counters["trials"] = benchmark::Counter(trials, benchmark::Counter::kAvgIterations);
  state.counters["restarts"] = restarts;
  state.counters["fallbacks"] = benchmark::Counter(fallbacks, benchmark::Counter::kAvgIterations);
  if (!warning.empty()) state.SetLabel("FELL BACK: " + warning);
}

// The curvature rows time the curvature estimate: CDAT with its trust check on the first step only (that
// step is untimed), so no row pays the default's extra forward pass a step; BM_CdatTrustEveryStep times it.
cdat::CdatOptions cdat_options(double sigma) {
  cdat::CdatOptions o;
  o.sigma = sigma;
  o.trust_check = cdat::CdatOptions::TrustCheck::kFirstStep;
  return o;
}

std::unique_ptr<cdat::Tuner> curvature_rows_tuner() { return std::make_unique<cdat::CdatTuner>(cdat_options(2.0)); }

// What a user gets without flags: `cdat train --tuner cdat` (the CLI's RunConfig defaults, which are the
// library's), in full batch (TunedOptimizerOptions::full_batch: an accepted trust-check trial is the next
// step's forward) or on mini batches of 256 (each step another batch, no reuse), without the CLI's
// diagnostics (sharpness_every = 0). `change` edits the configuration (the split into parts).
cdat::train::RunConfig default_cdat_run(int64_t batch_size) {
  cdat::train::RunConfig c;
  c.tuner = "cdat";
  c.batch_size = batch_size;
  c.sharpness_every = 0;
  return c;
}

constexpr int64_t kMiniBatch = 256;

// The batch of step k: the whole workload (full batch) or its k-th slice of batch_size examples, cycling.
struct Batches {
  Workload& w;
  int64_t batch_size;  // 0: full batch
  torch::Tensor loss(int64_t step, LossKind kind) const {
    if (batch_size == 0) return w.loss(kind);
    const int64_t start = (step * batch_size) % w.x.size(0);
    return cdat::models::compute_loss(kind, w.model->forward(w.x.narrow(0, start, batch_size)),
                                      w.y.narrow(0, start, batch_size));
  }
};

// Steps with the options of `config`; the parts of a step are counters: the step's own forward and the trial
// forwards (trust check, parabola, line search), in ms a step, the trial forwards a step, and the share of steps
// whose own forward was the last step's accepted trial (full batch). The rest of a step (backward, curvature,
// direction, bookkeeping) is its time less these.
void run_config_steps(benchmark::State& state, const std::string& name, const cdat::train::RunConfig& config,
                      bool reuse = true) {
  auto& w = workload(name);
  ParametersRestoredAtEnd params(w.model->parameters());
  // NanoLM's workload has 32 sequences: its mini batches are a quarter of it.
  const Batches batches{w, std::min(config.batch_size, w.x.size(0) / 4)};
  cdat::TunedOptimizerOptions options = cdat::train::optimizer_options(config);
  options.full_batch = options.full_batch && reuse;
  cdat::TunedOptimizer optimizer(params.params, cdat::make_direction(config.optimizer, cdat::train::direction_options(config)),
                                 cdat::make_tuner(config.tuner, cdat::train::tuner_options(config)), options);
  int64_t step = 0;
  std::vector<double> call_seconds;
  auto closure = [&] {
    const auto start = std::chrono::steady_clock::now();
    torch::Tensor loss = batches.loss(step, LossKind::CrossEntropy);
    call_seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    return loss;
  };
  optimizer.step(closure);  // untimed: the first step (no η_{t−1}, nothing kept)
  ++step;
  double own = 0, trial = 0, trial_calls = 0, reused = 0;
  for (auto _ : state) {
    call_seconds.clear();
    optimizer.step(closure);
    ++step;
    const bool reused_forward = optimizer.last_stats().reused_forward;
    for (size_t i = 0; i < call_seconds.size(); ++i) {
      const bool own_forward = i == 0 && !reused_forward;
      (own_forward ? own : trial) += call_seconds[i];
      trial_calls += own_forward ? 0 : 1;
    }
    reused += reused_forward ? 1 : 0;
  }
  const auto per_step = benchmark::Counter::kAvgIterations;
  state.counters["own_fwd_ms"] = benchmark::Counter(1e3 * own, per_step);
  state.counters["trial_fwd_ms"] = benchmark::Counter(1e3 * trial, per_step);
  state.counters["trial_fwds"] = benchmark::Counter(trial_calls, per_step);
  state.counters["reused"] = benchmark::Counter(reused, per_step);
}

cdat::train::RunConfig with(cdat::train::RunConfig c, const std::function<void(cdat::train::RunConfig&)>& change) {
  change(c);
  return c;
}

void BM_CdatDefaultStep(benchmark::State& s, std::string n) { run_config_steps(s, n, default_cdat_run(0)); }
// Its parts, by difference: without reuse (torchcdat without full_batch=True), without the trust check; and
// the same with the cheaper curvatures that issue 25's rule did not adopt, the central and the one-sided
// parabola. The default before issue 25 (no reuse) is BM_CdatTrustEveryStep.
void BM_CdatDefaultNoReuseStep(benchmark::State& s, std::string n) {
  run_config_steps(s, n, default_cdat_run(0), /*reuse=*/false);
}
void BM_CdatDefaultNoTrustStep(benchmark::State& s, std::string n) {
  run_config_steps(s, n, with(default_cdat_run(0), [](auto& c) { c.trust_check = "off"; }));
}
void BM_CdatDefaultCentralStep(benchmark::State& s, std::string n) {
  run_config_steps(s, n, with(default_cdat_run(0), [](auto& c) { c.curvature_mode = "parabola-central"; }));
}
void BM_CdatDefaultOneSidedStep(benchmark::State& s, std::string n) {
  run_config_steps(s, n, with(default_cdat_run(0), [](auto& c) { c.curvature_mode = "parabola"; }));
}
// Mini batches of kMiniBatch examples: GD and the defaults, each step on the next batch.
void BM_GdMiniBatchStep(benchmark::State& s, std::string n) {
  run_config_steps(s, n, with(default_cdat_run(kMiniBatch), [](auto& c) { c.tuner = "constant"; }));
}
void BM_CdatDefaultMiniBatchStep(benchmark::State& s, std::string n) {
  run_config_steps(s, n, default_cdat_run(kMiniBatch));
}

void BM_GdStep(benchmark::State& s, std::string n) {
  run_steps(s, n, [] { return std::make_unique<cdat::ConstantTuner>(0.01); });
}
void BM_CdatStep(benchmark::State& s, std::string n) {
  run_steps(s, n, [] { return curvature_rows_tuner(); });
}
void BM_CdatTrustEveryStep(benchmark::State& s, std::string n) {
  run_steps(s, n, [] { return std::make_unique<cdat::CdatTuner>(); });  // the default options
}
void BM_CdatSecantStep(benchmark::State& s, std::string n) {
  // σ = 1: with the lagged secant estimate σ = 2 diverges on these workloads (see docs/performance.md).
  run_steps(s, n, [] { return std::make_unique<cdat::CdatTuner>(cdat_options(1.0)); },
            with_mode("secant"));
}
void BM_CdatFiniteDifferenceStep(benchmark::State& s, std::string n) {
  run_steps(s, n, [] { return curvature_rows_tuner(); }, with_mode("fd"));
}
void BM_CdatParabolaStep(benchmark::State& s, std::string n) {
  run_steps(s, n, [] { return curvature_rows_tuner(); }, with_mode("parabola"));
}
void BM_CdatParabolaCentralStep(benchmark::State& s, std::string n) {
  auto options = with_mode("parabola");
  options.parabola_central = true;
  run_steps(s, n, [] { return curvature_rows_tuner(); }, options);
}
void BM_CdatAmortised4Step(benchmark::State& s, std::string n) {
  auto options = with_mode("exact");
  options.curvature_every = 4;
  run_steps(s, n, [] { return curvature_rows_tuner(); }, options);
}
void BM_CdatParabolaAmortised4Step(benchmark::State& s, std::string n) {
  auto options = with_mode("parabola");
  options.curvature_every = 4;
  run_steps(s, n, [] { return curvature_rows_tuner(); }, options);
}

// Forward-over-reverse on the MSE loss: LibTorch 1.13 has no forward derivative for log_softmax's backward,
// so on cross-entropy it would fall back to (and measure) the exact mode. Compared with GD and exact on MSE.
void BM_GdStepMse(benchmark::State& s, std::string n) {
  run_steps(s, n, [] { return std::make_unique<cdat::ConstantTuner>(0.01); }, {}, LossKind::MSE);
}
void BM_CdatStepMse(benchmark::State& s, std::string n) {
  run_steps(s, n, [] { return curvature_rows_tuner(); }, with_mode("exact"), LossKind::MSE);
}
void BM_CdatForwardStepMse(benchmark::State& s, std::string n) {
  run_steps(s, n, [] { return curvature_rows_tuner(); },
            with_mode("forward"), LossKind::MSE);
}
void BM_GreedyStep(benchmark::State& s, std::string n) {
  run_steps(s, n, [] { return std::make_unique<cdat::GreedyTuner>(); });
}
void BM_LinesearchStep(benchmark::State& s, std::string n) {
  run_steps(s, n, [] { return std::make_unique<cdat::LinesearchTuner>(); });
}

// A constant-LR training run (cdat::train::run_training, the CLI's loop) on the mlp workload's model and data
// sizes, timed per step: two run lengths, and the difference divided by the extra steps, so that data
// loading, the initial and final evaluations, the checkpoint and summary.json cancel. The runs are 25 and 125
// steps: with a Lanczos sharpness every 25 steps (the default) the long run has exactly 4 more (at steps 25,
// 50, 75 and 100), the steady-state rate. The images are the class-balanced subset of the CLI, not the first
// 4096 as above; the cost is the same.
constexpr int64_t kShortRun = 25, kLongRun = 125;

cdat::train::RunConfig constant_lr_run(const std::string& name, int64_t sharpness_every) {
  if (name != "mlp") throw std::invalid_argument("ConstantLrRun: only the mlp workload");
  cdat::train::RunConfig c;
  c.train_size = 4096;
  c.model = "mlp";
  c.width = 512;
  c.depth = 2;
  c.activation = "relu";
  c.loss = "ce";
  c.optimizer = "gd";
  c.tuner = "constant";
  c.lr = 0.01;
  c.sharpness_every = sharpness_every;
  c.out = (std::filesystem::temp_directory_path() / "step_bench_constant_lr_run").string();
  return c;
}

double seconds_of_run(cdat::train::RunConfig config, int64_t steps) {
  config.steps = steps;
  const auto start = std::chrono::steady_clock::now();
  const auto summary = cdat::train::run_training(config, {});
  const std::chrono::duration<double> seconds = std::chrono::steady_clock::now() - start;
  if (summary.diverged || summary.steps != steps) throw std::runtime_error("ConstantLrRun: the run did not finish");
  return seconds.count();
}

void constant_lr_run_per_step(benchmark::State& state, const std::string& name, int64_t sharpness_every) {
  const auto config = constant_lr_run(name, sharpness_every);
  for (auto _ : state) {
    const double short_run = seconds_of_run(config, kShortRun), long_run = seconds_of_run(config, kLongRun);
    state.SetIterationTime((long_run - short_run) / static_cast<double>(kLongRun - kShortRun));
  }
  std::filesystem::remove_all(config.out);
}

void BM_ConstantLrRun(benchmark::State& s, std::string n) { constant_lr_run_per_step(s, n, 25); }
void BM_ConstantLrRunNoSharpness(benchmark::State& s, std::string n) { constant_lr_run_per_step(s, n, 0); }

const std::vector<std::string> kWorkloads = {"mlp", "cnn", "nanolm"};
const std::vector<std::pair<std::string, void (*)(benchmark::State&, std::string)>> kBenchmarks = {
    {"Gradient", BM_Gradient},
    {"GdStep", BM_GdStep},
    {"CdatStep", BM_CdatStep},
    {"CdatTrustEveryStep", BM_CdatTrustEveryStep},
    {"CdatDefaultStep", BM_CdatDefaultStep},
    {"CdatDefaultNoReuseStep", BM_CdatDefaultNoReuseStep},
    {"CdatDefaultNoTrustStep", BM_CdatDefaultNoTrustStep},
    {"CdatDefaultCentralStep", BM_CdatDefaultCentralStep},
    {"CdatDefaultOneSidedStep", BM_CdatDefaultOneSidedStep},
    {"GdMiniBatchStep", BM_GdMiniBatchStep},
    {"CdatDefaultMiniBatchStep", BM_CdatDefaultMiniBatchStep},
    {"CdatSecantStep", BM_CdatSecantStep},
    {"CdatFiniteDifferenceStep", BM_CdatFiniteDifferenceStep},
    {"CdatParabolaStep", BM_CdatParabolaStep},
    {"CdatParabolaCentralStep", BM_CdatParabolaCentralStep},
    {"CdatAmortised4Step", BM_CdatAmortised4Step},
    {"CdatParabolaAmortised4Step", BM_CdatParabolaAmortised4Step},
    {"GreedyStep", BM_GreedyStep},
    {"LinesearchStep", BM_LinesearchStep},
    {"GdStepMse", BM_GdStepMse},
    {"CdatStepMse", BM_CdatStepMse},
    {"CdatForwardStepMse", BM_CdatForwardStepMse},
    {"HessianVectorProduct", BM_HessianVectorProduct},
    {"HvpOnKeptGraph", BM_HvpOnKeptGraph},
    {"Lanczos20", BM_Lanczos20},
};

}  // namespace

int main(int argc, char** argv) {
  std::vector<cdat::bench::RatioReporter::Ratio> ratios;
  for (const auto& w : kWorkloads) {
    for (const auto& [name, fn] : kBenchmarks) {
      benchmark::RegisterBenchmark((name + "/" + w).c_str(), fn, w)->Unit(benchmark::kMillisecond)->MinTime(1.0);
    }
    if (w == "mlp") {  // one timed pair of runs each: 150 steps, about 20–40 s
      for (const auto& [name, fn] : {std::pair{"ConstantLrRun", BM_ConstantLrRun},
                                     std::pair{"ConstantLrRunNoSharpness", BM_ConstantLrRunNoSharpness}}) {
        benchmark::RegisterBenchmark((std::string(name) + "/" + w).c_str(), fn, w)
            ->Unit(benchmark::kMillisecond)->UseManualTime()->Iterations(1);
      }
    }
    for (const auto& [label, num, den] : std::vector<std::tuple<std::string, std::string, std::string>>{
             {"CDAT step / GD step", "CdatStep", "GdStep"},
             {"CDAT exact, trust check every step, no reuse (the default before issue 25) / GD step", "CdatTrustEveryStep", "GdStep"},
             {"CDAT, default options (cdat train --tuner cdat, full batch) / GD step", "CdatDefaultStep", "GdStep"},
             {"  the same without reuse of the accepted trial / GD step", "CdatDefaultNoReuseStep", "GdStep"},
             {"  the same without the trust check / GD step", "CdatDefaultNoTrustStep", "GdStep"},
             {"  the same with the central parabola / GD step", "CdatDefaultCentralStep", "GdStep"},
             {"  the same with the one-sided parabola / GD step", "CdatDefaultOneSidedStep", "GdStep"},
             {"CDAT, default options, mini batch 256 / GD step, mini batch 256", "CdatDefaultMiniBatchStep", "GdMiniBatchStep"},
             {"CDAT secant step / GD step", "CdatSecantStep", "GdStep"},
             {"CDAT finite-difference step / GD step", "CdatFiniteDifferenceStep", "GdStep"},
             {"CDAT parabola step / GD step", "CdatParabolaStep", "GdStep"},
             {"CDAT central parabola step / GD step", "CdatParabolaCentralStep", "GdStep"},
             {"CDAT exact, curvature every 4 / GD step", "CdatAmortised4Step", "GdStep"},
             {"CDAT parabola, curvature every 4 / GD step", "CdatParabolaAmortised4Step", "GdStep"},
             {"greedy step / GD step", "GreedyStep", "GdStep"},
             {"linesearch step / GD step", "LinesearchStep", "GdStep"},
             {"constant-LR run (default flags) / GD step", "ConstantLrRun", "GdStep"},
             {"constant-LR run (no sharpness) / GD step", "ConstantLrRunNoSharpness", "GdStep"},
             {"MSE: CDAT step / GD step", "CdatStepMse", "GdStepMse"},
             {"MSE: CDAT forward-over-reverse step / GD step", "CdatForwardStepMse", "GdStepMse"},
             {"GD step / gradient", "GdStep", "Gradient"},
             {"HVP / gradient", "HessianVectorProduct", "Gradient"},
             {"HVP on a kept graph / gradient", "HvpOnKeptGraph", "Gradient"},
             {"Lanczos(20) / gradient", "Lanczos20", "Gradient"}}) {
      ratios.push_back({w + ": " + label, num + "/" + w, den + "/" + w});
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  std::cout << "torch intra-op threads: " << at::get_num_threads() << "\n";
  cdat::bench::RatioReporter reporter(ratios);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
