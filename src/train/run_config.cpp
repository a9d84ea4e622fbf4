#include "train/run_config.h"

#include <cdat/direction.h>
#include <cdat/errors.h>
#include <cdat/optimizer.h>
#include <cdat/registry.h>
#include <cdat/transform.h>
#include <cdat/tuner.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <sstream>
#include <toml++/toml.h>
#include <variant>

namespace cdat::train {
namespace {

using Member = std::variant<std::string RunConfig::*, int64_t RunConfig::*, double RunConfig::*, bool RunConfig::*>;

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

struct Field {
  KeyInfo info;
  Member member;
};

// The headings of `cdat train --help`, in the order they first appear in the table below.
namespace G {
const char* const kData = "Data";
const char* const kModel = "Model";
const char* const kOptimizer = "Optimizer";
const char* const kTuner = "Tuner";
const char* const kSafeguards = "CDAT safeguards";
const char* const kRun = "Run";
const char* const kDiagnostics = "Diagnostics";
const char* const kCurvature = "Curvature";
const char* const kDistributed = "Distributed";
const char* const kOutput = "Output";
}  // namespace G

// A CDAT safeguard's key: its name, meaning and range from the core's table (cdat_safeguards()).
Field safeguard_field(const std::string& key, Member member) {
  const CdatSafeguard& s = cdat_safeguard(key);
  const KeyType type = std::holds_alternative<std::string RunConfig::*>(member) ? KeyType::kString : KeyType::kDouble;
  return {{s.key, type, G::kSafeguards, "CDAT safeguard: " + s.summary + "; " + s.range}, member};
}

const std::vector<Field>& fields() {
  using K = KeyType;
  static const std::vector<Field> table = {
      {{"dataset", K::kString, G::kData, "fashion-mnist, mnist, cifar10 or text"}, &RunConfig::dataset},
      {{"data-dir", K::kString, G::kData, "dataset folder (default: the dataset's standard location)"}, &RunConfig::data_dir},
      {{"text-file", K::kString, G::kData, "text file for --dataset text"}, &RunConfig::text_file},
      {{"train-size", K::kInt, G::kData, "class-balanced training subset size (0 = all)"}, &RunConfig::train_size},
      {{"test-size", K::kInt, G::kData, "test examples to evaluate (0 = none)"}, &RunConfig::test_size},
      {{"eval-every", K::kInt, G::kData, "evaluate the test subset every N steps (0 = never)"}, &RunConfig::eval_every},
      {{"model", K::kString, G::kModel, "mlp, cnn, resnet, mixer or nanolm"}, &RunConfig::model},
      {{"width", K::kInt, G::kModel, "hidden width: mlp units, cnn/resnet/mixer channels, nanolm embedding (0 = model default)"}, &RunConfig::width},
      {{"depth", K::kInt, G::kModel, "hidden layers / blocks (-1 = model default)"}, &RunConfig::depth},
      {{"activation", K::kString, G::kModel, "tanh, relu or gelu"}, &RunConfig::activation},
      {{"batch-norm", K::kBool, G::kModel, "batch normalisation in cnn/resnet"}, &RunConfig::batch_norm},
      {{"dropout", K::kDouble, G::kModel, "dropout probability in [0, 1) in mlp/cnn (evaluations without it)"}, &RunConfig::dropout},
      {{"context", K::kInt, G::kModel, "nanolm context length (characters)"}, &RunConfig::context},
      {{"layers", K::kInt, G::kModel, "nanolm transformer layers"}, &RunConfig::layers},
      {{"heads", K::kInt, G::kModel, "nanolm attention heads"}, &RunConfig::heads},
      {{"loss", K::kString, G::kModel, "ce (cross-entropy) or mse (½‖f−onehot‖², mean over examples)"}, &RunConfig::loss},
      {{"optimizer", K::kString, G::kOptimizer, "base direction: " + join(direction_names())}, &RunConfig::optimizer},
      {{"beta1", K::kDouble, G::kOptimizer, "momentum / Adam β1, in [0, 1)"}, &RunConfig::beta1},
      {{"beta2", K::kDouble, G::kOptimizer, "RMSProp / Adam β2, in [0, 1)"}, &RunConfig::beta2},
      {{"eps", K::kDouble, G::kOptimizer, "RMSProp / Adam ε, >= 0"}, &RunConfig::eps},
      {{"weight-decay", K::kDouble, G::kOptimizer, "decoupled weight decay, >= 0"}, &RunConfig::weight_decay},
      {{"tuner", K::kString, G::kTuner, "learning-rate tuner: " + join(tuner_names())}, &RunConfig::tuner},
      {{"lr", K::kDouble, G::kTuner, "learning rate (constant), peak (schedule), first guess (linesearch)"}, &RunConfig::lr},
      {{"warmup", K::kInt, G::kTuner, "schedule: linear warm-up steps"}, &RunConfig::warmup},
      {{"decay", K::kString, G::kTuner, "schedule after warm-up: cosine or constant"}, &RunConfig::decay},
      {{"sigma", K::kDouble, G::kTuner, "CDAT scaling σ > 0 (1 = greedy, 2 = edge)"}, &RunConfig::sigma},
      {{"ema", K::kDouble, G::kTuner, "CDAT EMA β in [0, 1) (0 in full batch)"}, &RunConfig::ema},
      {{"ema-mode", K::kString, G::kTuner, "CDAT averaging: separate (n and d) or ratio (n/d)"}, &RunConfig::ema_mode},
      {{"max-lr", K::kDouble, G::kTuner, "CDAT cap on η (0 = none)"}, &RunConfig::max_lr},
      {{"safeguards", K::kBool, G::kSafeguards, "CDAT safeguards (docs/tuning.md); false = the paper's exact rule"}, &RunConfig::safeguards},
      safeguard_field("loss-floor", &RunConfig::loss_floor),
      safeguard_field("max-growth", &RunConfig::max_growth),
      safeguard_field("trust-check", &RunConfig::trust_check),
      safeguard_field("trust-ratio", &RunConfig::trust_ratio),
      {{"tuner-options", K::kString, G::kTuner, "options of a registered tuner, \"name=value,...\" (docs/extending.md)"},
       &RunConfig::tuner_options},
      {{"ls-c", K::kDouble, G::kTuner, "linesearch sufficient-decrease constant in (0, 1)"}, &RunConfig::ls_c},
      {{"ls-kappa-down", K::kDouble, G::kTuner, "linesearch backtracking factor in (0, 1)"}, &RunConfig::ls_kappa_down},
      {{"ls-kappa-up", K::kDouble, G::kTuner, "linesearch growth of the first guess, >= 1"}, &RunConfig::ls_kappa_up},
      {{"ls-eta-max", K::kDouble, G::kTuner, "linesearch cap on the first guess, > 0"}, &RunConfig::ls_eta_max},
      {{"ls-max-trials", K::kInt, G::kTuner, "linesearch trials per step, >= 1"}, &RunConfig::ls_max_trials},
      {{"batch-size", K::kInt, G::kRun, "mini-batch size, or 'full'"}, &RunConfig::batch_size},
      {{"steps", K::kInt, G::kRun, "optimizer steps"}, &RunConfig::steps},
      {{"seed", K::kInt, G::kRun, "random seed (subset, initialisation, batch order)"}, &RunConfig::seed},
      {{"sharpness-every", K::kInt, G::kDiagnostics, "measure λ_max every K steps (0 = never)"}, &RunConfig::sharpness_every},
      {{"sharpness-pairs", K::kBool, G::kDiagnostics, "also measure λ_max at the step after each sharpness step (t, t+1), for period-2 dynamics; needs sharpness-every >= 2"},
       &RunConfig::sharpness_pairs},
      {{"lanczos-iters", K::kInt, G::kDiagnostics, "Lanczos iterations for the sharpness"}, &RunConfig::lanczos_iters},
      {{"measure-curvature", K::kBool, G::kCurvature, "log uᵀHu every step even if the tuner does not need it (false: where the tuner computes it and on sharpness steps)"},
       &RunConfig::measure_curvature},
      {{"curvature-mode", K::kString, G::kCurvature, "how uᵀHu is computed, a curvature estimator of the registry (docs/library.md): " + join(curvature_estimator_names())},
       &RunConfig::curvature_mode},
      {{"curvature-every", K::kInt, G::kCurvature, "measure the directional curvature uᵀHu/‖u‖² every K steps and reuse it in between (1 = every step)"},
       &RunConfig::curvature_every},
      {{"device", K::kString, G::kRun, "cpu or cuda"}, &RunConfig::device},
      {{"dtype", K::kString, G::kRun, "float32 or float64"}, &RunConfig::dtype},
      {{"threads", K::kInt, G::kRun, "torch intra-op threads (0 = default)"}, &RunConfig::threads},
      {{"nproc", K::kInt, G::kDistributed, "data-parallel processes: N local ranks, or one rank of the torchrun environment (docs/distributed.md)"},
       &RunConfig::nproc},
      {{"dist-timeout", K::kDouble, G::kDistributed, "seconds a rank waits for the others (rendezvous, each all-reduce) before failing"},
       &RunConfig::dist_timeout},
      {{"out", K::kString, G::kOutput, "output folder"}, &RunConfig::out},
      {{"checkpoint-every", K::kInt, G::kOutput, "checkpoint every N steps (0 = only at the end)"}, &RunConfig::checkpoint_every},
      {{"divergence-factor", K::kDouble, G::kRun, "diverged when loss > factor × initial loss"}, &RunConfig::divergence_factor},
  };
  return table;
}

const Field& field(const std::string& key) {
  const auto& table = fields();
  auto it = std::find_if(table.begin(), table.end(), [&](const Field& f) { return f.info.name == key; });
  if (it == table.end()) throw InvalidOption("unknown configuration key '" + key + "'");
  return *it;
}

std::string format_double(double x) {
  std::string s = fmt::format("{}", x);  // shortest round-trip representation
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}

int64_t parse_int(const std::string& key, const std::string& text) {
  size_t used = 0;
  int64_t value = 0;
  try {
    value = std::stoll(text, &used);
  } catch (...) {
    used = 0;
  }
  if (used == 0 || used != text.size()) throw InvalidOption(key + ": expected an integer, got '" + text + "'");
  return value;
}

double parse_double(const std::string& key, const std::string& text) { return parse_number(key, text); }

bool parse_bool(const std::string& key, const std::string& text) {
  if (text == "true" || text == "1" || text == "yes" || text == "on") return true;
  if (text == "false" || text == "0" || text == "no" || text == "off") return false;
  throw InvalidOption(key + ": expected true or false, got '" + text + "'");
}

void require_one_of(const std::string& key, const std::string& value, const std::vector<std::string>& valid) {
  if (std::find(valid.begin(), valid.end(), value) == valid.end()) {
    throw InvalidOption(key + ": unknown value '" + value + "' (valid: " + join(valid) + ")");
  }
}

void require(bool ok, const std::string& key, const std::string& allowed, const std::string& got) {
  if (!ok) throw InvalidOption(key + " must be " + allowed + ", got " + got);
}

// With safeguards = false (the paper's rule) a safeguard key set away from its default would be ignored
// silently; say so instead.
void require_safeguard_keys_default_when_off(const RunConfig& c) {
  if (c.safeguards) return;
  const RunConfig defaults;
  for (const auto& s : cdat_safeguards()) {
    if (get_key(c, s.key) != get_key(defaults, s.key)) {
      throw InvalidOption(s.key + " has no effect with safeguards = false (the paper's rule); drop one of them");
    }
  }
}

}  // namespace

const std::vector<KeyInfo>& config_keys() {
  static const std::vector<KeyInfo> keys = [] {
    std::vector<KeyInfo> out;
    for (const auto& f : fields()) out.push_back(f.info);
    return out;
  }();
  return keys;
}

void set_key(RunConfig& config, const std::string& key, const std::string& value) {
  const Field& f = field(key);
  if (key == "batch-size" && value == "full") {
    config.batch_size = 0;
    return;
  }
  std::visit(
      [&](auto member) {
        using T = std::decay_t<decltype(config.*member)>;
        if constexpr (std::is_same_v<T, std::string>) config.*member = value;
        if constexpr (std::is_same_v<T, int64_t>) config.*member = parse_int(key, value);
        if constexpr (std::is_same_v<T, double>) config.*member = parse_double(key, value);
        if constexpr (std::is_same_v<T, bool>) config.*member = parse_bool(key, value);
      },
      f.member);
}

std::string get_key(const RunConfig& config, const std::string& key) {
  const Field& f = field(key);
  if (key == "batch-size" && config.batch_size == 0) return "full";
  return std::visit(
      [&](auto member) -> std::string {
        const auto& value = config.*member;
        using T = std::decay_t<decltype(value)>;
        if constexpr (std::is_same_v<T, std::string>) return value;
        if constexpr (std::is_same_v<T, int64_t>) return std::to_string(value);
        if constexpr (std::is_same_v<T, double>) return format_double(value);
        if constexpr (std::is_same_v<T, bool>) return value ? "true" : "false";
      },
      f.member);
}

void load_toml(RunConfig& config, const std::string& path) {
  toml::table table;
  try {
    table = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    throw InvalidOption(fmt::format("{}: invalid TOML at line {}: {}", path, e.source().begin.line, e.description()));
  }
  for (const auto& [name, node] : table) {
    const std::string key(name.str());
    const Field* f = nullptr;
    try {
      f = &field(key);
    } catch (const InvalidOption&) {
      throw InvalidOption(path + ": unknown key '" + key + "'");
    }
    std::string text;
    bool type_ok = false;
    switch (f->info.type) {
      case KeyType::kString:
        type_ok = node.is_string();
        if (type_ok) text = *node.value<std::string>();
        break;
      case KeyType::kInt:
        type_ok = node.is_integer() || (key == "batch-size" && node.is_string());
        if (node.is_integer()) text = std::to_string(*node.value<int64_t>());
        if (node.is_string()) text = *node.value<std::string>();
        break;
      case KeyType::kDouble:
        type_ok = node.is_floating_point() || node.is_integer();
        if (type_ok) text = format_double(*node.value<double>());
        break;
      case KeyType::kBool:
        type_ok = node.is_boolean();
        if (type_ok) text = *node.value<bool>() ? "true" : "false";
        break;
    }
    if (!type_ok) throw InvalidOption(path + ": key '" + key + "' has the wrong type");
    try {
      set_key(config, key, text);
    } catch (const InvalidOption& e) {
      throw InvalidOption(path + ": " + e.what());
    }
  }
}

std::string to_toml(const RunConfig& config) {
  std::ostringstream out;
  out << "# cdat run configuration (resolved): `cdat train --config THIS_FILE` repeats the run\n";
  for (const auto& f : fields()) {
    const std::string value = get_key(config, f.info.name);
    const bool quoted = f.info.type == KeyType::kString || (f.info.name == "batch-size" && value == "full");
    out << f.info.name << " = ";
    if (quoted) {
      out << toml::value<std::string>(value);  // quoted and escaped
    } else {
      out << value;
    }
    out << "\n";
  }
  return out.str();
}

void validate(const RunConfig& c) {
  require_one_of("dataset", c.dataset, {"fashion-mnist", "mnist", "cifar10", "text"});
  if (c.dataset == "text" && c.text_file.empty()) throw InvalidOption("text-file is required with --dataset text");
  require(c.train_size >= 0, "train-size", ">= 0 (0 = all)", std::to_string(c.train_size));
  require(c.test_size >= 0, "test-size", ">= 0", std::to_string(c.test_size));
  require(c.eval_every >= 0, "eval-every", ">= 0", std::to_string(c.eval_every));
  require_one_of("model", c.model, {"mlp", "cnn", "resnet", "mixer", "nanolm"});
  if ((c.model == "nanolm") != (c.dataset == "text")) {
    throw InvalidOption("model: nanolm goes with --dataset text and only with it (got model " + c.model +
                        ", dataset " + c.dataset + ")");
  }
  require(c.width >= 0, "width", ">= 1 (0 = the model's default)", std::to_string(c.width));
  require(c.depth >= -1, "depth", ">= 0 (-1 = the model's default)", std::to_string(c.depth));
  require_one_of("activation", c.activation, {"tanh", "relu", "gelu"});
  require(c.dropout >= 0.0 && c.dropout < 1.0, "dropout", "in [0, 1)", fmt::format("{}", c.dropout));
  require(c.dropout == 0.0 || c.model == "mlp" || c.model == "cnn", "dropout", "0 unless model is mlp or cnn",
          fmt::format("{} with model {}", c.dropout, c.model));
  require(c.context >= 1, "context", ">= 1", std::to_string(c.context));
  require(c.layers >= 1, "layers", ">= 1", std::to_string(c.layers));
  require(c.heads >= 1 && (c.width == 0 || c.width % c.heads == 0), "heads", ">= 1 and divide width",
          std::to_string(c.heads));
  require_one_of("loss", c.loss, {"ce", "mse"});
  // ls-max-trials is an int of the core: a value beyond int's range would wrap (its range is the core's).
  require(c.ls_max_trials >= std::numeric_limits<int>::min() && c.ls_max_trials <= std::numeric_limits<int>::max(),
          "ls-max-trials", "an int", std::to_string(c.ls_max_trials));
  // The ranges of the core's options are checked in the core, once, with its messages: the direction's, the
  // tuner's (lr among them), the weight decay's and the curvature options', by building or validating them;
  // unknown names and enum values fail in the parsers with the valid ones listed.
  require_safeguard_keys_default_when_off(c);
  make_direction(c.optimizer, direction_options(c));
  make_tuner(c.tuner, tuner_options(c));
  AddDecayedWeights(std::vector<double>{c.weight_decay});
  validate(static_cast<const CurvatureOptions&>(optimizer_options(c)));
  require(c.batch_size >= 0, "batch-size", "a positive integer or 'full'", std::to_string(c.batch_size));
  if (c.train_size > 0 && c.batch_size > c.train_size) {
    throw InvalidOption(fmt::format("batch-size ({}) is larger than train-size ({})", c.batch_size, c.train_size));
  }
  require(c.steps >= 1, "steps", ">= 1", std::to_string(c.steps));
  require(c.seed >= 0, "seed", ">= 0", std::to_string(c.seed));
  require(c.sharpness_every >= 0, "sharpness-every", ">= 0 (0 = never)", std::to_string(c.sharpness_every));
  require(!c.sharpness_pairs || c.sharpness_every >= 2, "sharpness-pairs", "false unless sharpness-every >= 2",
          "true with sharpness-every " + std::to_string(c.sharpness_every));
  require(c.lanczos_iters >= 1, "lanczos-iters", ">= 1", std::to_string(c.lanczos_iters));
  require_one_of("device", c.device, {"cpu", "cuda"});
  require_one_of("dtype", c.dtype, {"float32", "float64"});
  require(c.threads >= 0, "threads", ">= 0 (0 = default)", std::to_string(c.threads));
  require(c.nproc >= 1, "nproc", ">= 1", std::to_string(c.nproc));
  require(c.batch_size == 0 || c.batch_size >= c.nproc, "nproc", "<= batch-size (every rank needs examples)",
          std::to_string(c.nproc));
  require(c.dist_timeout > 0, "dist-timeout", "> 0 seconds", format_double(c.dist_timeout));
  require(!c.out.empty(), "out", "a folder path", "''");
  require(c.checkpoint_every >= 0, "checkpoint-every", ">= 0", std::to_string(c.checkpoint_every));
  require(c.divergence_factor > 1, "divergence-factor", "> 1", format_double(c.divergence_factor));
}

namespace {

// "fstar=0.5, cap = 10" → {fstar: 0.5, cap: 10}; the tuner's registry entry judges the names.
std::map<std::string, double> parse_tuner_options(const std::string& text) {
  std::map<std::string, double> options;
  std::stringstream in(text);
  std::string item;
  auto trim = [](std::string s) {
    const auto first = s.find_first_not_of(" \t"), last = s.find_last_not_of(" \t");
    return first == std::string::npos ? std::string() : s.substr(first, last - first + 1);
  };
  while (std::getline(in, item, ',')) {
    if (trim(item).empty()) continue;
    const auto eq = item.find('=');
    const std::string name = trim(item.substr(0, eq));
    if (eq == std::string::npos || name.empty()) {
      throw InvalidOption("tuner-options: expected name=value, got '" + trim(item) + "'");
    }
    if (!options.emplace(name, parse_double("tuner-options: " + name, trim(item.substr(eq + 1)))).second) {
      throw InvalidOption("tuner-options: '" + name + "' is given twice");
    }
  }
  return options;
}

}  // namespace

DirectionOptions direction_options(const RunConfig& c) {
  DirectionOptions d;
  d.beta1 = c.beta1;
  d.beta2 = c.beta2;
  d.eps = c.eps;
  return d;
}

TunerOptions tuner_options(const RunConfig& c) {
  TunerOptions t;
  t.lr = c.lr;
  t.schedule.warmup_steps = c.warmup;
  t.schedule.total_steps = c.steps;
  t.schedule.decay = parse_decay(c.decay);
  t.linesearch.c = c.ls_c;
  t.linesearch.kappa_down = c.ls_kappa_down;
  t.linesearch.kappa_up = c.ls_kappa_up;
  t.linesearch.eta_max = c.ls_eta_max;
  t.linesearch.eta_init = std::min(c.lr, c.ls_eta_max);
  t.linesearch.max_trials = static_cast<int>(c.ls_max_trials);
  t.cdat.sigma = c.sigma;
  t.cdat.ema_beta = c.ema;
  t.cdat.ema_mode = parse_ema_mode(c.ema_mode);
  t.cdat.max_lr = c.max_lr;
  // Each safeguard from its key (the text round-trips exactly), or, without safeguards, as the paper's rule.
  const CdatOptions paper = CdatOptions::paper_rule();
  for (const auto& s : cdat_safeguards()) s.set(t.cdat, c.safeguards ? get_key(c, s.key) : s.get(paper));
  t.extra = parse_tuner_options(c.tuner_options);
  return t;
}

TunedOptimizerOptions optimizer_options(const RunConfig& c) {
  TunedOptimizerOptions o;
  o.measure_curvature = c.measure_curvature;
  o.measure_curvature_every = c.sharpness_every;  // the sharpness steps' rows get the curvature too
  o.curvature_mode = c.curvature_mode;  // a registered estimator's name, checked by validate(CurvatureOptions)
  o.curvature_every = c.curvature_every;
  // Full batch: each step's closure is the whole (shard of the) training set, without augmentation, so an
  // accepted trust-check or line-search trial serves as the next step's forward (the same results).
  o.full_batch = c.batch_size == 0;
  return o;
}

std::string run_label(const RunConfig& c) {
  std::string label = c.optimizer + "+" + c.tuner;
  if (c.tuner == "cdat") label += fmt::format(" σ={}", c.sigma) + (c.ema > 0 ? fmt::format(" β={}", c.ema) : "");
  if (c.tuner == "constant" || c.tuner == "schedule") label += fmt::format(" lr={}", c.lr);
  if (c.batch_size > 0) label += fmt::format(" bs={}", c.batch_size);
  return label;
}

}  // namespace cdat::train
