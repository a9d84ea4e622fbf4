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
#include <optional>
#include <utility>

#include "data/cifar10.h"
#include "data/idx.h"
#include "data/text.h"
#include "models/loss.h"
#include "models/model.h"
#include "train/blowup.h"
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

}  // namespace

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
  m.dropout = c.dropout;
  m.nanolm_layers = c.layers;
  m.nanolm_heads = c.heads;
  if (c.width > 0) m.nanolm_width = c.width;
  m.nanolm_context = c.context;
  return m;
}

namespace {

std::unique_ptr<TunedOptimizer> make_optimizer(const RunConfig& c, const TensorList& params, const TensorList& buffers,
                                               DataParallel data_parallel) {
  ParamGroup group{params};
  group.weight_decay = c.weight_decay;
  TunedOptimizerOptions options = optimizer_options(c);
  options.buffers = buffers;  // BatchNorm's running statistics move once per step, not once per trial forward
  options.data_parallel = std::move(data_parallel);
  return std::make_unique<TunedOptimizer>(std::vector<ParamGroup>{group},
                                          make_direction(c.optimizer, direction_options(c)),
                                          make_tuner(c.tuner, tuner_options(c)), options);
}

// Rank r of `world` takes the r-th contiguous part of a batch of n examples: [n·r/W, n·(r+1)/W).
torch::Tensor rank_part(const torch::Tensor& batch, int rank, int world) {
  const int64_t n = batch.size(0);
  return batch.narrow(0, n * rank / world, n * (rank + 1) / world - n * rank / world);
}

// This rank's share of a batch of n examples (collective.h): its part's size over n.
DataParallel share_of(const std::shared_ptr<Collective>& collective, int64_t n) {
  DataParallel dp;
  if (!collective) return dp;
  dp.collective = collective;
  const int64_t rank = collective->rank(), world = collective->world_size();
  dp.shard_weight = static_cast<double>(n * (rank + 1) / world - n * rank / world) / static_cast<double>(n);
  return dp;
}

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

// With dropout, evaluations and the sharpness see the network in eval mode (no dropout; batch norm, if any,
// then uses its running statistics); the training steps see it in training mode. Networks without dropout
// are evaluated in training mode, as they always were (batch norm on the evaluated batch).
class EvaluationMode {
 public:
  EvaluationMode(models::Model& model, double dropout) : model_(model), switched_(dropout > 0.0 && model.is_training()) {
    if (switched_) model_.eval();
  }
  EvaluationMode(const EvaluationMode&) = delete;
  EvaluationMode& operator=(const EvaluationMode&) = delete;
  ~EvaluationMode() {
    if (switched_) model_.train();
  }

 private:
  models::Model& model_;
  bool switched_;
};

Evaluation evaluate(models::Model& model, models::LossKind kind, const data::Dataset& d, double dropout) {
  const EvaluationMode mode(model, dropout);
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

// The blow-up rule (train/blowup.h) on the run's metrics.csv as written: the numbers the experiments judge.
bool run_blew_up(const fs::path& metrics_csv, const RunSummary& s) {
  if (s.diverged || s.interrupted || !std::isfinite(s.final_train_loss)) return true;
  const MetricsColumns columns = read_metrics_csv(metrics_csv.string());
  const auto loss = columns.find("train_loss");
  return blew_up(peak_over_initial(loss == columns.end() ? std::vector<double>{} : loss->second, s.final_train_loss, true));
}

void write_summary(const fs::path& path, const RunConfig& c, const Direction& direction, const RunSummary& s) {
  nlohmann::json j;
  j["label"] = s.label;
  if (c.nproc > 1) j["bytes_reduced_per_rank"] = s.bytes_reduced;  // payload rank 0 sent into all-reduces
  j["optimizer"] = c.optimizer;
  j["tuner"] = c.tuner;
  j["sharpness_kind"] = direction.sharpness_is_preconditioned() ? "preconditioned" : "hessian";
  j["initial_train_loss"] = number_or_null(s.initial_train_loss);
  j["final_train_loss"] = number_or_null(s.final_train_loss);
  j["final_over_initial"] = number_or_null(s.final_train_loss / s.initial_train_loss);
  j["best_train_loss"] = number_or_null(s.best_train_loss);
  j["final_train_acc"] = number_or_null(s.final_train_acc);
  j["final_test_loss"] = number_or_null(s.final_test_loss);
  j["final_test_acc"] = number_or_null(s.final_test_acc);
  j["diverged"] = s.diverged;
  j["diverged_reason"] = s.diverged_reason;
  j["blew_up"] = run_blew_up(path.parent_path() / "metrics.csv", s);
  j["interrupted"] = s.interrupted;
  j["warnings"] = s.warnings;
  j["curvature_fallbacks"] = s.curvature_fallbacks;
  if (!s.last_tuner_values.empty()) {  // a tuner that logs values of its own (Tuner::logged_names())
    nlohmann::json values = nlohmann::json::object();
    for (const auto& [name, value] : s.last_tuner_values) values[name] = number_or_null(value);
    j["last_tuner_values"] = values;
  }
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

namespace {

// λ_max at w_t on the whole training subset (PAPER §3), with what the alignment needs.
struct Sharpness {
  double value = kEmpty;
  torch::Tensor eigenvector;        // undefined when not measured
  torch::Tensor precondition_sqrt;  // P^{1/2}, defined when the sharpness is the preconditioned one
};

// One run, from its folder's start (or checkpoint) to its summary. run() reads top to bottom: sharpness,
// step, metrics row, divergence, checkpoint, progress; each piece is one member function.
class Training {
 public:
  // With a collective, this process is one rank of a data-parallel run: it evaluates its part of each
  // batch, the optimizer reduces over ranks, and rank 0 alone writes config, metrics, checkpoints, summary.
  Training(const RunConfig& config, bool resume, std::shared_ptr<Collective> collective);
  RunSummary run(const ProgressFn& progress, const std::function<bool()>& stop_requested);

 private:
  Sharpness measure_sharpness(int64_t step);
  // The step on its batch; false when it threw NonFiniteError (the parameters are then unchanged).
  bool take_step(int64_t step, MetricsRow& row);
  void record_step(int64_t step, const Sharpness& sharpness, MetricsRow& row);
  void write_previous_row(double loss_now);
  void write_previous_row_at_checkpoint(int64_t steps_done);
  struct Batch {
    torch::Tensor inputs, labels;
  };
  Batch step_batch(int64_t step) const;
  double loss_on(const Batch& batch) const;
  bool full_batch() const { return c_.batch_size <= 0; }
  bool loss_exploded(int64_t step, double loss);
  void checkpoint(int64_t steps_done);
  void finish(int64_t steps_done);
  double elapsed() const { return meta_.wall_time_s + seconds_since(start_); }
  bool writes_files() const { return rank_ == 0; }
  bool stop_requested_anywhere(const std::function<bool()>& stop_requested) const;

  const RunConfig& c_;
  const fs::path out_;
  const fs::path checkpoint_path_;
  const torch::Device device_;
  const std::shared_ptr<Collective> collective_;  // null: a single process
  const int rank_, world_;
  DataParallel batch_share_;  // this rank's share of each step's batch
  torch::Tensor last_closure_outputs_;  // the outputs of the last closure call (full batch: at the next w_t)
  Prepared data_;
  std::shared_ptr<models::Model> model_;
  models::LossKind loss_kind_;
  std::unique_ptr<TunedOptimizer> optimizer_;
  RunSummary summary_;
  CheckpointMeta meta_;
  std::unique_ptr<MetricsLog> log_;
  // The last step's row, written once the next step's loss (or a forward at a checkpoint) gives its
  // actual_change = f(w_{t+1}) − f(w_t); every rank keeps it (the forward is all-reduced).
  // (A pointer, not a std::optional: GCC 12 at -O2 takes the optional's vector member for uninitialised,
  // -Wmaybe-uninitialized, a false positive that -Werror turns into a failed CI build.)
  std::unique_ptr<MetricsRow> previous_row_;
  Clock::time_point start_;
};

torch::Device run_device(const RunConfig& c) {
  if (c.device == "cuda" && !torch::cuda::is_available()) {
    throw InvalidOption("device: cuda was requested but LibTorch finds no CUDA device");
  }
  return torch::Device(c.device == "cuda" ? torch::kCUDA : torch::kCPU);
}

Training::Training(const RunConfig& c, bool resume, std::shared_ptr<Collective> collective)
    : c_(c),
      out_(c.out),
      checkpoint_path_(out_ / "checkpoint.pt"),
      device_(run_device(c)),
      collective_(std::move(collective)),
      rank_(collective_ ? collective_->rank() : 0),
      world_(collective_ ? collective_->world_size() : 1) {
  if (c.threads > 0) at::set_num_threads(static_cast<int>(c.threads));
  if (resume && !fs::exists(checkpoint_path_)) throw InvalidOption("resume: no checkpoint.pt in " + c.out);
  const torch::Dtype dtype = c.dtype == "float64" ? torch::kFloat64 : torch::kFloat32;
  data_ = prepare_data(c, device_, dtype);
  torch::manual_seed(static_cast<uint64_t>(c.seed));
  model_ = models::make_model(model_config(c, data_.train));
  model_->to(device_, dtype);
  loss_kind_ = models::parse_loss(c.loss);
  batch_share_ = share_of(collective_, c.batch_size > 0 ? c.batch_size : data_.train.size());
  optimizer_ = make_optimizer(c, model_->parameters(), model_->buffers(), batch_share_);

  summary_.label = run_label(c);
  fs::create_directories(out_);
  if (resume) {
    meta_ = load_checkpoint(checkpoint_path_.string(), *model_, *optimizer_);
    if ((meta_.data_seed >= 0 && meta_.data_seed != c.seed) || (meta_.batch_size >= 0 && meta_.batch_size != c.batch_size)) {
      throw InvalidOption(fmt::format("resume: {} was written with seed {} and batch-size {}, but config.toml now says "
                                      "seed {} and batch-size {}; the batches would differ",
                                      checkpoint_path_.string(), meta_.data_seed, meta_.batch_size, c.seed, c.batch_size));
    }
  } else {
    if (writes_files()) write_text_atomically(out_ / "config.toml", to_toml(c));
    meta_.initial_loss = evaluate(*model_, loss_kind_, data_.train, c_.dropout).loss;
    meta_.best_loss = meta_.initial_loss;
  }
  meta_.data_seed = c.seed;
  meta_.batch_size = c.batch_size;
  summary_.initial_train_loss = meta_.initial_loss;
  summary_.best_train_loss = meta_.best_loss;
  if (writes_files()) {
    log_ = std::make_unique<MetricsLog>((out_ / "metrics.csv").string(), resume ? meta_.step : -1,
                                        optimizer_->tuner().logged_names());
  }
  start_ = Clock::now();
}

RunSummary Training::run(const ProgressFn& progress, const std::function<bool()>& stop_requested) {
  int64_t step = meta_.step;
  for (; step < c_.steps; ++step) {
    if (stop_requested_anywhere(stop_requested)) {
      summary_.interrupted = true;
      break;
    }
    MetricsRow row;
    row.step = step;
    const Sharpness sharpness = measure_sharpness(step);  // at w_t, before the step
    if (!take_step(step, row)) break;
    record_step(step, sharpness, row);
    const StepStats& s = optimizer_->last_stats();
    if (loss_exploded(step, s.loss)) {
      ++step;
      break;
    }
    if (c_.checkpoint_every > 0 && (step + 1) % c_.checkpoint_every == 0) checkpoint(step + 1);
    if (progress) progress({step + 1, c_.steps, s.loss, s.lr, elapsed(), s.warning});
  }
  finish(step);
  return summary_;
}

// Every rank must leave the loop at the same step (a signal reaches the ranks at different times).
bool Training::stop_requested_anywhere(const std::function<bool()>& stop_requested) const {
  const double here = stop_requested && stop_requested() ? 1.0 : 0.0;
  if (!collective_) return here > 0.0;
  DataParallel count{collective_, 1.0};
  return count.weighted_sum(here) > 0.0;
}

bool is_sharpness_step(const RunConfig& c, int64_t step) {
  if (c.sharpness_every <= 0) return false;
  const int64_t phase = step % c.sharpness_every;
  return phase == 0 || (c.sharpness_pairs && phase == 1);  // pairs: t and t + 1 (period-2 dynamics)
}

Sharpness Training::measure_sharpness(int64_t step) {
  Sharpness sharpness;
  if (!is_sharpness_step(c_, step)) return sharpness;
  const EvaluationMode mode(*model_, c_.dropout);
  // Each rank's part of the training set; the Hessian-vector products are all-reduced, and every rank
  // starts Lanczos from the same seed, so every rank computes the same λ_max.
  const torch::Tensor inputs = rank_part(data_.train.inputs, rank_, world_);
  const torch::Tensor labels = rank_part(data_.train.labels, rank_, world_);
  auto full_train_loss = [&] { return models::compute_loss(loss_kind_, model_->forward(inputs), labels); };
  HessianOperator hessian(model_->parameters(), full_train_loss, share_of(collective_, data_.train.size()));
  LinearOperator op = hessian.as_operator();
  const Direction& direction = optimizer_->direction();
  const auto preconditioner = direction.preconditioner();
  if (direction.sharpness_is_preconditioned()) {
    if (!preconditioner) return sharpness;  // no statistics before the first step
    const auto p = flatten(*preconditioner);
    op = precondition(op, p);
    sharpness.precondition_sqrt = p.sqrt();
  }
  EigenOptions e;
  e.iterations = static_cast<int>(c_.lanczos_iters);
  e.seed = static_cast<uint64_t>(c_.seed * 7919 + step);
  const auto result = lanczos(op, flatten(model_->parameters()).detach(), e);
  sharpness.value = result.eigenvalue;
  sharpness.eigenvector = result.eigenvector;
  return sharpness;
}

// This rank's part of the batch of `step`.
Training::Batch Training::step_batch(int64_t step) const {
  if (c_.batch_size > 0) {
    // The single-process batch of this step, of which this rank takes its part.
    const auto idx = rank_part(batch_indices(step, data_.train.size(), c_.batch_size, c_.seed, device_), rank_, world_);
    return {data_.train.inputs.index_select(0, idx), data_.train.labels.index_select(0, idx)};
  }
  if (collective_) return {rank_part(data_.train.inputs, rank_, world_), rank_part(data_.train.labels, rank_, world_)};
  return {data_.train.inputs, data_.train.labels};
}

// f(w) on a batch, reduced over ranks as the optimizer reduces a step's loss.
double Training::loss_on(const Batch& batch) const {
  torch::NoGradGuard no_grad;
  return batch_share_.weighted_sum(models::compute_loss(loss_kind_, model_->forward(batch.inputs), batch.labels).item<double>());
}

bool Training::take_step(int64_t step, MetricsRow& row) {
  const Batch batch = step_batch(step);
  const torch::Tensor &batch_x = batch.inputs, &batch_y = batch.labels;
  torch::Tensor first_outputs;  // outputs of the step's first closure call
  const torch::Tensor previous_last_outputs = std::exchange(last_closure_outputs_, torch::Tensor());
  auto closure = [&] {
    auto outputs = model_->forward(batch_x);
    if (!first_outputs.defined()) first_outputs = outputs.detach();
    last_closure_outputs_ = outputs.detach();
    return models::compute_loss(loss_kind_, outputs, batch_y);
  };
  try {
    optimizer_->step(closure);
  } catch (const NonFiniteError& e) {
    summary_.diverged = true;
    summary_.diverged_reason = fmt::format("step {}: {}", step, e.what());
    return false;
  }
  // The outputs at w_t: the step's own forward, which is the first call, or, when the step reused the last
  // step's accepted trial (full batch), that step's last call.
  const torch::Tensor& own_outputs = optimizer_->last_stats().reused_forward ? previous_last_outputs : first_outputs;
  row.train_acc = batch_share_.weighted_sum(models::accuracy(own_outputs, batch_y));
  return true;
}

void Training::record_step(int64_t step, const Sharpness& sharpness, MetricsRow& row) {
  const StepStats& s = optimizer_->last_stats();
  row.train_loss = s.loss;
  row.lr = s.lr;
  row.grad_norm = s.grad_norm;
  row.curvature = s.curvature;
  row.numerator = -s.slope;
  if (s.tuner.trials > 0) row.trials = s.tuner.trials;  // tuners that evaluate trial steps
  summary_.last_tuner_values.clear();
  for (const auto& name : optimizer_->tuner().logged_names()) {
    row.tuner_values.push_back(s.tuner.get(name));
    summary_.last_tuner_values.emplace_back(name, s.tuner.get(name));
  }
  row.stability_threshold = optimizer_->direction().stability_threshold(s.lr);
  if (sharpness.eigenvector.defined()) {
    row.sharpness = sharpness.value;
    row.lr_x_sharpness = s.lr * sharpness.value;
    // In the preconditioned coordinates z = P^{1/2} w the update is P^{1/2} u.
    auto u = flatten(optimizer_->last_direction());
    if (sharpness.precondition_sqrt.defined()) u = u * sharpness.precondition_sqrt;
    row.alignment = alignment(u, sharpness.eigenvector);
  }
  if (c_.eval_every > 0 && data_.test.size() > 0 && (step + 1) % c_.eval_every == 0) {
    const auto e = evaluate(*model_, loss_kind_, data_.test, c_.dropout);
    row.test_loss = e.loss;
    row.test_acc = e.accuracy;
  }
  summary_.best_train_loss = std::min(summary_.best_train_loss, s.loss);
  if (!s.warning.empty()) summary_.warnings.push_back(fmt::format("step {}: {}", step, s.warning));
  if (s.curvature_fallback) ++summary_.curvature_fallbacks;
  row.wall_time_s = elapsed();
  row.predicted_change = quadratic_model_change(s.lr, s.slope, s.curvature);
  if (std::isfinite(s.tuner.actual_change)) set_actual_change(row, s.tuner.actual_change);
  write_previous_row(s.loss);
  previous_row_ = std::make_unique<MetricsRow>(row);
}

// Writes the previous step's row. In full batch this step's loss f(w_t) is f(w_{t−1} + η u) on the previous
// step's batch, so it completes an actual_change the tuner did not measure; in mini batch that stays empty.
void Training::write_previous_row(double loss_now) {
  if (!previous_row_) return;
  if (full_batch() && !std::isfinite(previous_row_->actual_change)) {
    set_actual_change(*previous_row_, loss_now - previous_row_->train_loss);
  }
  if (log_) log_->append(*previous_row_);
  previous_row_.reset();
}

// A checkpoint (and the end of a run) writes every row before it: the last one costs a forward in full batch.
void Training::write_previous_row_at_checkpoint(int64_t steps_done) {
  const bool needs_loss = previous_row_ && full_batch() && !std::isfinite(previous_row_->actual_change);
  write_previous_row(needs_loss ? loss_on(step_batch(steps_done - 1)) : kEmpty);
}

bool Training::loss_exploded(int64_t step, double loss) {
  if (!(loss > c_.divergence_factor * meta_.initial_loss)) return false;
  summary_.diverged = true;
  summary_.diverged_reason = fmt::format("step {}: loss {:.4g} exceeds {} × the initial loss {:.4g}", step, loss,
                                         c_.divergence_factor, meta_.initial_loss);
  return true;
}

void Training::checkpoint(int64_t steps_done) {
  write_previous_row_at_checkpoint(steps_done);  // on every rank: the forward is all-reduced
  if (!writes_files()) return;
  log_->flush();
  CheckpointMeta m = meta_;
  m.step = steps_done;
  m.best_loss = summary_.best_train_loss;
  m.wall_time_s = elapsed();
  save_checkpoint(checkpoint_path_.string(), *model_, *optimizer_, m);
}

// The last finite state is checkpointed (a diverged step never changed the parameters), then evaluated.
void Training::finish(int64_t steps_done) {
  summary_.steps = steps_done;
  checkpoint(steps_done);
  if (!writes_files()) return;
  summary_.bytes_reduced = collective_ ? collective_->bytes_reduced() : 0;
  const auto final_train = evaluate(*model_, loss_kind_, data_.train, c_.dropout);
  summary_.final_train_loss = final_train.loss;
  summary_.final_train_acc = final_train.accuracy;
  if (std::isfinite(final_train.loss)) summary_.best_train_loss = std::min(summary_.best_train_loss, final_train.loss);
  summary_.final_test_loss = summary_.final_test_acc = kEmpty;
  if (data_.test.size() > 0) {
    const auto e = evaluate(*model_, loss_kind_, data_.test, c_.dropout);
    summary_.final_test_loss = e.loss;
    summary_.final_test_acc = e.accuracy;
  }
  summary_.wall_time_s = elapsed();
  write_summary(out_ / "summary.json", c_, optimizer_->direction(), summary_);
}

}  // namespace

RunSummary run_training(const RunConfig& c, const ProgressFn& progress, bool resume,
                        const std::function<bool()>& stop_requested, std::shared_ptr<Collective> collective) {
  validate(c);
  if (collective && collective->world_size() != c.nproc) {
    throw InvalidOption(fmt::format("nproc: the run is configured for {} processes but {} ranks joined", c.nproc,
                                    collective->world_size()));
  }
  Training training(c, resume, std::move(collective));
  return training.run(progress, stop_requested);
}

}  // namespace cdat::train
