#include "train/runner.h"

#include <cdat/cdat.h>
#include <fmt/format.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "data/cifar10.h"
#include "data/idx.h"
#include "data/text.h"
#include "models/loss.h"
#include "models/model.h"
#include "train/checkpoint.h"
#include "train/metrics_log.h"

namespace cdat::train {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

data::Dataset load_split(const RunConfig& c, data::Split split) {
  if (c.dataset == "fashion-mnist") {
    return data::load_fashion_mnist(c.data_dir.empty() ? data::default_fashion_mnist_dir() : c.data_dir, split);
  }
  if (c.dataset == "text") {
    data::TextOptions options;
    options.context = c.context;
    return data::load_text(c.text_file, split, options).data;
  }
  if (c.data_dir.empty()) throw InvalidOption("data-dir is required with --dataset " + c.dataset);
  if (c.dataset == "mnist") return data::load_mnist(c.data_dir, split);
  return data::load_cifar10(c.data_dir, split);
}

// The training and test subsets, standardised per feature with the training subset's statistics.
struct Prepared {
  data::Dataset train, test;
};

Prepared prepare_data(const RunConfig& c, torch::Device device, torch::Dtype dtype) {
  Prepared p;
  data::Dataset train = load_split(c, data::Split::Train);
  if (c.train_size > train.size()) {
    throw InvalidOption(fmt::format("train-size ({}) is larger than the training set ({})", c.train_size, train.size()));
  }
  p.train = c.train_size > 0 ? data::balanced_subset(train, c.train_size, static_cast<uint64_t>(c.seed)) : train;
  if (c.batch_size > p.train.size()) {
    throw InvalidOption(fmt::format("batch-size ({}) is larger than the training data ({})", c.batch_size, p.train.size()));
  }
  if (c.test_size > 0) {
    data::Dataset test = load_split(c, data::Split::Test);
    if (c.test_size > test.size()) {
      throw InvalidOption(fmt::format("test-size ({}) is larger than the test set ({})", c.test_size, test.size()));
    }
    p.test = data::balanced_subset(test, c.test_size, static_cast<uint64_t>(c.seed));
  }
  if (!p.train.is_sequence()) {  // token ids are not standardised
    const auto standardizer = data::Standardizer::fit(p.train.inputs);
    p.train.inputs = standardizer.apply(p.train.inputs).to(dtype);
    if (p.test.size() > 0) p.test.inputs = standardizer.apply(p.test.inputs).to(dtype);
  }
  p.train.inputs = p.train.inputs.to(device);
  p.train.labels = p.train.labels.to(device);
  if (p.test.size() > 0) {
    p.test.inputs = p.test.inputs.to(device);
    p.test.labels = p.test.labels.to(device);
  }
  return p;
}

models::ModelConfig model_config(const RunConfig& c, const data::Dataset& train) {
  models::ModelConfig m;
  m.name = c.model;
  m.input_shape.assign(train.inputs.sizes().begin() + 1, train.inputs.sizes().end());
  m.num_outputs = train.num_classes;
  m.width = c.width;
  m.depth = c.depth;
  m.activation = c.activation;
  m.batch_norm = c.batch_norm;
  m.nanolm_layers = c.layers;
  m.nanolm_heads = c.heads;
  if (c.width > 0) m.nanolm_width = c.width;
  m.nanolm_context = c.context;
  return m;
}

std::unique_ptr<TunedOptimizer> make_optimizer(const RunConfig& c, const TensorList& params) {
  DirectionOptions d;
  d.beta1 = c.beta1;
  d.beta2 = c.beta2;
  d.eps = c.eps;
  d.weight_decay = c.weight_decay;
  TunerOptions t;
  t.lr = c.lr;
  t.schedule.warmup_steps = c.warmup;
  t.schedule.total_steps = c.steps;
  t.schedule.decay = c.decay == "constant" ? ScheduleOptions::Decay::kConstant : ScheduleOptions::Decay::kCosine;
  t.linesearch.c = c.ls_c;
  t.linesearch.kappa_down = c.ls_kappa_down;
  t.linesearch.kappa_up = c.ls_kappa_up;
  t.linesearch.eta_max = c.ls_eta_max;
  t.linesearch.eta_init = std::min(c.lr, c.ls_eta_max);
  t.linesearch.max_trials = static_cast<int>(c.ls_max_trials);
  t.cdat.sigma = c.sigma;
  t.cdat.ema_beta = c.ema;
  t.cdat.ema_mode = c.ema_mode == "ratio" ? CdatOptions::EmaMode::kRatio : CdatOptions::EmaMode::kSeparate;
  t.cdat.max_lr = c.max_lr;
  TunedOptimizerOptions o;
  o.measure_curvature = c.measure_curvature;
  o.measure_curvature_every = c.sharpness_every;  // the sharpness steps' rows get the curvature too
  o.curvature_mode = c.curvature_mode == "secant"                                              ? CurvatureMode::kSecant
                     : c.curvature_mode == "fd"                                                ? CurvatureMode::kFiniteDifference
                     : c.curvature_mode == "forward"                                           ? CurvatureMode::kForwardOverReverse
                     : c.curvature_mode == "parabola" || c.curvature_mode == "parabola-central" ? CurvatureMode::kParabola
                                                                                               : CurvatureMode::kExact;
  o.parabola_central = c.curvature_mode == "parabola-central";
  o.curvature_every = c.curvature_every;
  return std::make_unique<TunedOptimizer>(params, make_direction(c.optimizer, d), make_tuner(c.tuner, t), o);
}

// The edge of stability for the base optimizer at learning rate η (PAPER §3): GD and RMSProp 2/η (RMSProp
// on the preconditioned sharpness); heavy ball (2 + 2β)/η; Nesterov (2 + 2β)/((1 + 2β)η); Adam with
// momentum (2 + 2β1)/((1 − β1)η) on the preconditioned sharpness.
double stability_threshold(const RunConfig& c, double lr) {
  if (!(lr > 0)) return kEmpty;
  const double b = c.beta1;
  if (c.optimizer == "momentum") return (2 + 2 * b) / lr;
  if (c.optimizer == "nesterov") return (2 + 2 * b) / ((1 + 2 * b) * lr);
  if (c.optimizer == "adam") return (2 + 2 * b) / ((1 - b) * lr);
  return 2 / lr;
}

bool uses_preconditioned_sharpness(const RunConfig& c) { return c.optimizer == "rmsprop" || c.optimizer == "adam"; }

// The i-th mini batch: epoch e = i / batches_per_epoch visits a permutation seeded by (seed, e), so the
// batch of any step is a pure function of (seed, step) and a resumed run sees the same batches.
torch::Tensor batch_indices(int64_t step, int64_t n, int64_t batch_size, int64_t seed, torch::Device device) {
  const int64_t per_epoch = n / batch_size;
  const int64_t epoch = step / per_epoch, index = step % per_epoch;
  auto generator = at::detail::createCPUGenerator(static_cast<uint64_t>(seed) * 1000003ULL + static_cast<uint64_t>(epoch));
  auto permutation = torch::randperm(n, generator, torch::TensorOptions().dtype(torch::kInt64));
  return permutation.narrow(0, index * batch_size, batch_size).to(device);
}

struct Evaluation {
  double loss = kEmpty, accuracy = kEmpty;
};

Evaluation evaluate(models::Model& model, models::LossKind kind, const data::Dataset& d) {
  torch::NoGradGuard no_grad;
  auto outputs = model.forward(d.inputs);
  return {models::compute_loss(kind, outputs, d.labels).item<double>(), models::accuracy(outputs, d.labels)};
}

nlohmann::json number_or_null(double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr); }

void write_text_atomically(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    if (!out.flush()) throw std::runtime_error("cannot write " + tmp.string());
  }
  fs::rename(tmp, path);
}

void write_summary(const fs::path& path, const RunConfig& c, const RunSummary& s) {
  nlohmann::json j;
  j["label"] = s.label;
  j["optimizer"] = c.optimizer;
  j["tuner"] = c.tuner;
  j["sharpness_kind"] = uses_preconditioned_sharpness(c) ? "preconditioned" : "hessian";
  j["initial_train_loss"] = number_or_null(s.initial_train_loss);
  j["final_train_loss"] = number_or_null(s.final_train_loss);
  j["final_over_initial"] = number_or_null(s.final_train_loss / s.initial_train_loss);
  j["best_train_loss"] = number_or_null(s.best_train_loss);
  j["final_train_acc"] = number_or_null(s.final_train_acc);
  j["final_test_loss"] = number_or_null(s.final_test_loss);
  j["final_test_acc"] = number_or_null(s.final_test_acc);
  j["diverged"] = s.diverged;
  j["diverged_reason"] = s.diverged_reason;
  j["interrupted"] = s.interrupted;
  j["warnings"] = s.warnings;
  j["curvature_fallbacks"] = s.curvature_fallbacks;
  j["steps"] = s.steps;
  j["wall_time_s"] = s.wall_time_s;
  write_text_atomically(path, j.dump(2) + "\n");
}

}  // namespace

RunConfig load_run_config(const std::string& run_dir) {
  const fs::path path = fs::path(run_dir) / "config.toml";
  if (!fs::exists(path)) throw InvalidOption("resume: no config.toml in " + run_dir);
  RunConfig config;
  load_toml(config, path.string());
  return config;
}

RunSummary run_training(const RunConfig& c, const ProgressFn& progress, bool resume,
                        const std::function<bool()>& stop_requested) {
  validate(c);
  if (c.device == "cuda" && !torch::cuda::is_available()) {
    throw InvalidOption("device: cuda was requested but LibTorch finds no CUDA device");
  }
  if (c.threads > 0) at::set_num_threads(static_cast<int>(c.threads));
  const torch::Device device(c.device == "cuda" ? torch::kCUDA : torch::kCPU);
  const torch::Dtype dtype = c.dtype == "float64" ? torch::kFloat64 : torch::kFloat32;
  const fs::path out(c.out);
  const fs::path checkpoint_path = out / "checkpoint.pt";
  if (resume && !fs::exists(checkpoint_path)) throw InvalidOption("resume: no checkpoint.pt in " + c.out);

  Prepared data = prepare_data(c, device, dtype);
  torch::manual_seed(static_cast<uint64_t>(c.seed));
  auto model = models::make_model(model_config(c, data.train));
  model->to(device, dtype);
  const auto loss_kind = models::parse_loss(c.loss);
  auto optimizer = make_optimizer(c, model->parameters());

  RunSummary summary;
  summary.label = run_label(c);
  CheckpointMeta meta;
  fs::create_directories(out);
  if (resume) {
    meta = load_checkpoint(checkpoint_path.string(), *model, *optimizer);
    if ((meta.data_seed >= 0 && meta.data_seed != c.seed) || (meta.batch_size >= 0 && meta.batch_size != c.batch_size)) {
      throw InvalidOption(fmt::format("resume: {} was written with seed {} and batch-size {}, but config.toml now says "
                                      "seed {} and batch-size {}; the batches would differ",
                                      checkpoint_path.string(), meta.data_seed, meta.batch_size, c.seed, c.batch_size));
    }
  } else {
    write_text_atomically(out / "config.toml", to_toml(c));
    meta.initial_loss = evaluate(*model, loss_kind, data.train).loss;
    meta.best_loss = meta.initial_loss;
  }
  meta.data_seed = c.seed;
  meta.batch_size = c.batch_size;
  summary.initial_train_loss = meta.initial_loss;
  summary.best_train_loss = meta.best_loss;
  MetricsLog log((out / "metrics.csv").string(), resume ? meta.step : -1);

  const bool full_batch = c.batch_size == 0;
  const auto start = Clock::now();
  auto elapsed = [&] { return meta.wall_time_s + seconds_since(start); };
  auto checkpoint = [&](int64_t steps_done) {
    log.flush();
    CheckpointMeta m = meta;
    m.step = steps_done;
    m.best_loss = summary.best_train_loss;
    m.wall_time_s = elapsed();
    save_checkpoint(checkpoint_path.string(), *model, *optimizer, m);
  };
  auto full_train_loss = [&] {
    return models::compute_loss(loss_kind, model->forward(data.train.inputs), data.train.labels);
  };

  int64_t step = meta.step;
  for (; step < c.steps; ++step) {
    if (stop_requested && stop_requested()) {
      summary.interrupted = true;
      break;
    }
    MetricsRow row;
    row.step = step;
    // Sharpness λ_max at w_t on the whole training subset (PAPER §3), before the step.
    torch::Tensor top_eigenvector, precondition_sqrt;
    if (c.sharpness_every > 0 && step % c.sharpness_every == 0) {
      HessianOperator hessian(model->parameters(), full_train_loss);
      LinearOperator op = hessian.as_operator();
      const auto preconditioner = optimizer->direction().preconditioner();
      if (uses_preconditioned_sharpness(c) && preconditioner) {
        const auto p = flatten(*preconditioner);
        op = precondition(op, p);
        precondition_sqrt = p.sqrt();
      }
      if (!uses_preconditioned_sharpness(c) || preconditioner) {
        EigenOptions e;
        e.iterations = static_cast<int>(c.lanczos_iters);
        e.seed = static_cast<uint64_t>(c.seed * 7919 + step);
        const auto result = lanczos(op, flatten(model->parameters()).detach(), e);
        row.sharpness = result.eigenvalue;
        top_eigenvector = result.eigenvector;
      }
    }

    torch::Tensor batch_x = data.train.inputs, batch_y = data.train.labels;
    if (!full_batch) {
      const auto idx = batch_indices(step, data.train.size(), c.batch_size, c.seed, device);
      batch_x = data.train.inputs.index_select(0, idx);
      batch_y = data.train.labels.index_select(0, idx);
    }
    torch::Tensor first_outputs;  // outputs of the step's own forward pass (not linesearch trials)
    auto closure = [&] {
      auto outputs = model->forward(batch_x);
      if (!first_outputs.defined()) first_outputs = outputs.detach();
      return models::compute_loss(loss_kind, outputs, batch_y);
    };
    try {
      optimizer->step(closure);
    } catch (const NonFiniteError& e) {
      summary.diverged = true;
      summary.diverged_reason = fmt::format("step {}: {}", step, e.what());
      break;
    }
    const StepStats& s = optimizer->last_stats();
    row.train_loss = s.loss;
    row.train_acc = models::accuracy(first_outputs, batch_y);
    row.lr = s.lr;
    row.grad_norm = s.grad_norm;
    row.curvature = s.curvature;
    row.numerator = -s.slope;
    if (c.tuner == "linesearch") row.trials = s.tuner.trials;
    row.stability_threshold = stability_threshold(c, s.lr);
    if (top_eigenvector.defined()) {
      row.lr_x_sharpness = s.lr * row.sharpness;
      // In the preconditioned coordinates z = P^{1/2} w the update is P^{1/2} u.
      auto u = flatten(optimizer->last_direction());
      if (precondition_sqrt.defined()) u = u * precondition_sqrt;
      row.alignment = alignment(u, top_eigenvector);
    }
    if (c.eval_every > 0 && data.test.size() > 0 && (step + 1) % c.eval_every == 0) {
      const auto e = evaluate(*model, loss_kind, data.test);
      row.test_loss = e.loss;
      row.test_acc = e.accuracy;
    }
    summary.best_train_loss = std::min(summary.best_train_loss, s.loss);
    if (!s.warning.empty()) summary.warnings.push_back(fmt::format("step {}: {}", step, s.warning));
    if (s.curvature_fallback) ++summary.curvature_fallbacks;
    row.wall_time_s = elapsed();
    log.append(row);
    if (s.loss > c.divergence_factor * meta.initial_loss) {
      summary.diverged = true;
      summary.diverged_reason =
          fmt::format("step {}: loss {:.4g} exceeds {} × the initial loss {:.4g}", step, s.loss, c.divergence_factor,
                      meta.initial_loss);
      ++step;
      break;
    }
    if (c.checkpoint_every > 0 && (step + 1) % c.checkpoint_every == 0) checkpoint(step + 1);
    if (progress) progress({step + 1, c.steps, s.loss, s.lr, elapsed(), s.warning});
  }
  summary.steps = step;
  checkpoint(step);  // the last finite state: a diverged step never changed the parameters

  const auto final_train = evaluate(*model, loss_kind, data.train);
  summary.final_train_loss = final_train.loss;
  summary.final_train_acc = final_train.accuracy;
  if (std::isfinite(final_train.loss)) summary.best_train_loss = std::min(summary.best_train_loss, final_train.loss);
  summary.final_test_loss = summary.final_test_acc = kEmpty;
  if (data.test.size() > 0) {
    const auto e = evaluate(*model, loss_kind, data.test);
    summary.final_test_loss = e.loss;
    summary.final_test_acc = e.accuracy;
  }
  summary.wall_time_s = elapsed();
  write_summary(out / "summary.json", c, summary);
  return summary;
}

}  // namespace cdat::train
