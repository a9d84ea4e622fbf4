// The resolved configuration of one training run. One table of keys drives the CLI flags (--key), the
// TOML config file (the same key names), validation and the config.toml written next to the results.
#pragma once

#include <cdat/direction.h>
#include <cdat/optimizer.h>
#include <cdat/tuner.h>

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

namespace cdat::train {

struct RunConfig {
  // data
  std::string dataset = "fashion-mnist";  // fashion-mnist, mnist, cifar10, text
  std::string data_dir;                   // empty: the dataset's default location
  std::string text_file;                  // for dataset = text
  int64_t train_size = 2048;              // class-balanced subset; 0 = the whole training set
  int64_t test_size = 0;                  // test examples evaluated every eval-every steps; 0 = none
  int64_t eval_every = 0;
  // model and loss
  std::string model = "mlp";              // mlp, cnn, resnet, mixer, nanolm
  int64_t width = 0;                      // 0 = the model's default (mlp 128, cnn 32, resnet 16, mixer/nanolm 64)
  int64_t depth = -1;                     // -1 = the model's default (mlp 2, cnn 2, resnet 3, mixer 2)
  std::string activation = "tanh";
  bool batch_norm = false;
  double dropout = 0.0;                   // mlp, cnn: dropout probability (training steps; evaluations without it)
  int64_t context = 64;                   // nanolm/text context length
  int64_t layers = 2;                     // nanolm
  int64_t heads = 4;                      // nanolm
  std::string loss = "mse";               // ce, mse
  // base optimizer (direction)
  std::string optimizer = "gd";           // gd, momentum, nesterov, rmsprop, adam
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  // learning-rate tuner
  std::string tuner = "cdat";             // constant, schedule, linesearch, greedy, cdat
  double lr = 0.05;                       // constant lr, schedule peak, linesearch initial guess
  int64_t warmup = 0;                     // schedule warm-up steps
  std::string decay = "cosine";           // schedule decay after warm-up: cosine, constant
  double sigma = 2.0;
  double ema = 0.0;
  std::string ema_mode = "separate";      // separate (EMA of n and d), ratio (EMA of n/d)
  double max_lr = 0.0;                    // cdat cap; 0 = none
  bool safeguards = true;                 // cdat: false = the paper's rule (the four keys below are then ignored)
  // The CDAT safeguards (cdat::cdat_safeguards(): key, meaning, range), defaults CdatOptions{}'s. loss_floor:
  // -inf = off, the default: the safeguards experiment's ablation found it earns no place beside the trust
  // check (docs/tuning.md)
  double loss_floor = CdatOptions{}.loss_floor;
  double max_growth = CdatOptions{}.max_growth;
  std::string trust_check = to_string(CdatOptions{}.trust_check);
  double trust_ratio = CdatOptions{}.trust_ratio;
  std::string tuner_options;              // options of a registered tuner: "name=value,..." (TunerOptions::extra)
  double ls_c = 1e-4, ls_kappa_down = 0.8, ls_kappa_up = 1.5, ls_eta_max = 1.0;
  int64_t ls_max_trials = 30;
  // run
  int64_t batch_size = 0;                 // 0 = full batch
  int64_t steps = 500;
  int64_t seed = 0;
  int64_t sharpness_every = 25;           // 0 = never
  // also measure λ_max at the step after each sharpness step, pairs (t, t+1): period-2 dynamics (greedy's
  // zigzag) are then seen on both phases; off for every run that does not ask (run_name ignores it then)
  bool sharpness_pairs = false;
  int64_t lanczos_iters = 20;
  // log uᵀHu on every step even when the tuner does not need it; false: only where the tuner computes it
  // and on the sharpness steps (baselines pay nothing for the column)
  bool measure_curvature = false;
  // exact (double backward, the library's default), parabola-central (two forwards), parabola (one forward),
  // forward (forward-over-reverse), secant (lagged, free), fd
  std::string curvature_mode = CurvatureOptions{}.curvature_mode;
  int64_t curvature_every = 1;            // measure uᵀHu/‖u‖² every K steps, κ̄·‖u‖² in between
  std::string device = "cpu";             // cpu, cuda
  std::string dtype = "float32";          // float32, float64
  int64_t threads = 0;                    // torch intra-op threads; 0 = the library default
  int64_t nproc = 1;                      // data-parallel processes (ranks); docs/distributed.md
  double dist_timeout = 60.0;             // seconds a rank waits for the others before failing
  std::string out = "runs/latest";
  int64_t checkpoint_every = 0;           // 0 = only at the end
  double divergence_factor = 1e3;         // loss above this × initial loss = diverged
};

enum class KeyType { kString, kInt, kDouble, kBool };

struct KeyInfo {
  std::string name;   // as flag (--name) and TOML key
  KeyType type;
  std::string group;  // the heading it is listed under in `cdat train --help`, e.g. "Tuner"
  std::string help;
};

// Every key, in the order they are written to config.toml.
const std::vector<KeyInfo>& config_keys();

// Sets one key from text ("full" is accepted for batch-size). Throws cdat::InvalidOption naming the key
// for an unknown key or a value of the wrong type.
void set_key(RunConfig& config, const std::string& key, const std::string& value);
// The value of a key as text (as it would be written to TOML, without quotes).
std::string get_key(const RunConfig& config, const std::string& key);

// Reads a TOML file of keys into `config` (unknown keys, wrong types → InvalidOption naming the key and file).
void load_toml(RunConfig& config, const std::string& path);
// The resolved configuration as TOML.
std::string to_toml(const RunConfig& config);

// The core's options for this run. They carry no check of their own: the core's constructors check
// them, and validate() builds the direction and tuner to do so before any work.
DirectionOptions direction_options(const RunConfig& config);
TunerOptions tuner_options(const RunConfig& config);
TunedOptimizerOptions optimizer_options(const RunConfig& config);

// Checks ranges and consistency before any work; throws InvalidOption naming the key and allowed range.
void validate(const RunConfig& config);

// A short label for plots and tables, e.g. "gd+cdat σ=2" or "adam+constant lr=0.01".
std::string run_label(const RunConfig& config);

}  // namespace cdat::train
