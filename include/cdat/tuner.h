// Learning-rate tuners (PAPER §2): given what a step offers (loss, slope gᵀu, curvature uᵀHu, trial
// values f(w + ηu)), choose the scalar η_t. A tuner asks only for what it needs, so a constant-LR step
// never builds the double-backward graph.
#pragma once

#include <cdat/armijo.h>
#include <torch/serialize/archive.h>

#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace cdat {

// What one step offers a tuner; every quantity is computed lazily and at most once.
class StepContext {
 public:
  virtual ~StepContext() = default;
  virtual int64_t step() const = 0;        // 0-based index of the step being taken
  virtual double loss() = 0;               // f(w_t)
  virtual double slope() = 0;              // g_tᵀ u_t (negative for a descent direction)
  virtual double direction_sq_norm() = 0;  // ‖u_t‖²
  virtual double curvature() = 0;          // u_tᵀ H_t u_t, on the same batch as the gradient
  virtual double value_at(double eta) = 0; // f(w_t + η u_t), one forward pass
};

constexpr double kNotMeasured = std::numeric_limits<double>::quiet_NaN();

// What a tuner computed on its last step: the fields every tuner shares, and the tuner's own values by
// name (Tuner::report_names(); e.g. CDAT's numerator and denominator). torchcdat's last_stats has every
// one; metrics.csv and summary.json those of Tuner::logged_names().
class TunerReport {
 public:
  double lr = 0.0;
  int trials = 0;                // forward passes f(w + ηu) tried (line search, CDAT's trust check)
  bool search_failed = false;    // no trial was accepted → η = 0
  bool non_descent = false;      // gᵀu ≥ 0: no descent along u → η = 0
  // f(w + ηu) − f(w) on the step's batch at the η returned, when the tuner evaluated it (CDAT's trust
  // check); NaN otherwise.
  double actual_change = kNotMeasured;

  // Sets one of the tuner's own values; throws InvalidOption for a name the tuner does not declare in
  // report_names(). A flag is 1 or 0.
  void set(const std::string& name, double value);
  // The value of that name this step (NaN where the tuner did not set it); throws InvalidOption for a
  // name the tuner does not declare.
  double get(const std::string& name) const;
  // Every declared value, in report_names() order (NaN where not set this step).
  const std::vector<std::pair<std::string, double>>& values() const { return values_; }

 private:
  friend class Tuner;
  std::vector<std::pair<std::string, double>> values_;
};

class Tuner {
 public:
  virtual ~Tuner() = default;
  virtual std::string name() const = 0;
  // Whether learning_rate() will ask the context for curvature (the optimizer then keeps the graph).
  virtual bool needs_curvature() const { return false; }
  // The names of the tuner's own values in its report (TunerReport::set), in order; declared here once,
  // so that torchcdat's last_stats and the CLI's files list them without a list of their own.
  virtual std::vector<std::string> report_names() const { return {}; }
  // Those of report_names() that `cdat train` logs: a metrics.csv column each, after the built-in columns,
  // and the last step's values in summary.json's "last_tuner_values". By default all of them.
  virtual std::vector<std::string> logged_names() const { return report_names(); }

  // η_t for this step. Always finite and ≥ 0; throws NonFiniteError naming the culprit otherwise.
  double learning_rate(StepContext& context);
  const TunerReport& report() const { return report_; }

  virtual void save(torch::serialize::OutputArchive& archive) const {}
  virtual void load(torch::serialize::InputArchive& archive) {}

 protected:
  virtual double compute(StepContext& context, TunerReport& report) = 0;

 private:
  TunerReport report_;
};

// η_t = lr.
class ConstantTuner final : public Tuner {
 public:
  explicit ConstantTuner(double lr);
  std::string name() const override { return "constant"; }

 private:
  double compute(StepContext& context, TunerReport& report) override;
  double lr_;
};

struct ScheduleOptions {
  enum class Decay { kCosine, kConstant };
  double peak_lr = 1e-3;
  int64_t warmup_steps = 0;     // linear warm-up from peak/warmup to peak
  int64_t total_steps = 1000;   // the cosine reaches final_fraction·peak here
  Decay decay = Decay::kCosine;
  double final_fraction = 0.0;  // floor of the cosine, as a fraction of the peak
};

// Throws InvalidOption naming the option (as the CLI's key) when one is out of range; ScheduleTuner's
// constructor and the CLI both call it.
void validate(const ScheduleOptions& options);

// cosine, constant (the CLI's --decay).
ScheduleOptions::Decay parse_decay(const std::string& name);
std::string to_string(ScheduleOptions::Decay decay);
const std::vector<std::string>& decay_names();

// Linear warm-up, then cosine decay (or constant).
class ScheduleTuner final : public Tuner {
 public:
  explicit ScheduleTuner(ScheduleOptions options);
  std::string name() const override { return "schedule"; }
  // The schedule's value at step t (0-based); a pure function.
  double at(int64_t step) const;

 private:
  double compute(StepContext& context, TunerReport& report) override;
  ScheduleOptions options_;
};


// Armijo backtracking (PAPER §2): start at min(κ_up·η_{t−1}, η_max), shrink by κ_down until
// f(w + ηu) ≤ f(w) + c·η·gᵀu. A non-finite trial fails; if all fail, η = 0 and search_failed is set.
class LinesearchTuner final : public Tuner {
 public:
  explicit LinesearchTuner(LinesearchOptions options = {});
  std::string name() const override { return "linesearch"; }
  void save(torch::serialize::OutputArchive& archive) const override;
  void load(torch::serialize::InputArchive& archive) override;

 private:
  double compute(StepContext& context, TunerReport& report) override;
  ArmijoBacktracking search_;
};

struct CdatOptions {
  enum class EmaMode { kSeparate, kRatio };
  // When the trust check evaluates f(w + ηu): never, until a first η has been accepted, or every step.
  enum class TrustCheck { kOff, kFirstStep, kEveryStep };
  double sigma = 2.0;   // scaling: 1 = greedy, 2 = on the edge
  double eps = 1e-12;   // curvature floor: d = |uᵀHu| + eps·‖u‖²
  double ema_beta = 0.0;  // 0 in full batch; 0.9–0.99 in mini batch
  EmaMode ema_mode = EmaMode::kSeparate;  // EMA of n and d separately, or of the ratio n/d
  double max_lr = 0.0;  // optional cap on η; 0 = no cap

  // Safeguards: ours, not the paper's (docs/method.md). `paper_rule()` switches them all off.
  // A lower bound of the loss (0 for cross-entropy and squared losses). The quadratic model along u may
  // not promise a decrease below it: d ≥ n² / (2 (f − loss_floor)). −∞ = off, the default here, since
  // the core cannot know the loss's bound; the CLI, whose losses are all ≥ 0, sets 0.
  double loss_floor = -std::numeric_limits<double>::infinity();
  // η_t ≤ max_growth · η of the last step that moved; 0 = off.
  double max_growth = 2.0;
  // The trust check evaluates f(w + ηu) (one forward pass a trial) and halves η while the loss rises
  // more than trust_ratio · η·n above the quadratic model's prediction −η n + η² d / 2; after
  // trust_max_trials rejected trials, η = 0 for the step.
  TrustCheck trust_check = TrustCheck::kEveryStep;
  double trust_ratio = 0.25;
  int trust_max_trials = 20;

  // The paper's rule (PAPER §2) with these σ, β: no safeguard.
  static CdatOptions paper_rule(double sigma = 2.0, double ema_beta = 0.0);
};

// Throws InvalidOption naming the option (as the CLI's key) when one is out of range; CdatTuner's
// constructor and the CLI both call it.
void validate(const CdatOptions& options);

// CDAT's safeguards, one row each: the one table that CdatOptions::paper_rule(), validate(CdatOptions), the
// CLI's keys (src/train/run_config.cpp), the run store's names (src/experiments/run_store.cpp) and torchcdat
// (its CdatTuner docstring) read. Values are written as the CLI's keys take them ("-inf", "2", "every").
struct CdatSafeguard {
  std::string key;          // the CLI/TOML key, and the option's name in messages: loss-floor
  std::string field;        // the CdatOptions field, torchcdat's option: loss_floor
  std::string summary;      // what it does, one line
  std::string range;        // the values it takes, as messages say: "must be " + range
  // The value CdatOptions::paper_rule() gives it (switches it off); empty: paper_rule() leaves the
  // default (trust-ratio acts only through the trust check).
  std::string paper_rule;
  // The default when the key was introduced. The run store names a run on which the key has no effect
  // with this value, fixed here for good so that a later change of the default renames only the runs it
  // acts on (run_store.cpp); it is not the current default.
  std::string first_default;
  std::function<std::string(const CdatOptions&)> get;           // the field as the key writes it
  std::function<void(CdatOptions&, const std::string&)> set;    // parses as the key takes it (InvalidOption)
  std::function<bool(const CdatOptions&)> in_range;             // whether the field is in `range`
  // CdatOptions{}'s value, as the key writes it.
  std::string default_value() const { return get(CdatOptions{}); }
};
// loss-floor, max-growth, trust-check, trust-ratio (the trust check's trust_max_trials is no key of the CLI:
// an option of CdatOptions only).
const std::vector<CdatSafeguard>& cdat_safeguards();
// The row of that key; throws InvalidOption listing the keys otherwise.
const CdatSafeguard& cdat_safeguard(const std::string& key);
// A number as an option's key takes it ("2", "0.25", "-inf"): the whole text, or InvalidOption naming the key
// ("KEY: expected a number, got 'TEXT'"). The safeguards' `set` and the CLI's keys parse with it.
double parse_number(const std::string& key, const std::string& text);

// separate, ratio (the CLI's --ema-mode).
CdatOptions::EmaMode parse_ema_mode(const std::string& name);
std::string to_string(CdatOptions::EmaMode mode);
const std::vector<std::string>& ema_mode_names();

// off, first, every (the CLI's --trust-check).
CdatOptions::TrustCheck parse_trust_check(const std::string& name);
std::string to_string(CdatOptions::TrustCheck when);
const std::vector<std::string>& trust_check_names();

// CDAT (PAPER §2): η = σ · n̄ / d̄ with n = max(−gᵀu, 0), d = |uᵀHu| + ε‖u‖², then the safeguards of
// CdatOptions (curvature floor from the loss, bounded growth, trust check) unless switched off.
class CdatTuner : public Tuner {
 public:
  explicit CdatTuner(CdatOptions options = {});
  std::string name() const override { return "cdat"; }
  bool needs_curvature() const override { return true; }
  // numerator n_t = max(−gᵀu, 0); denominator d_t = |uᵀHu| + ε‖u‖² after the loss floor; curvature_floored
  // (the loss floor raised d) and growth_capped (η was cut to max_growth · η_{t−1}): flags, 1 or 0.
  std::vector<std::string> report_names() const override;
  // None: metrics.csv and summary.json keep the columns and keys they had before tuners named their values
  // (the run store's finished runs stay as they are); metrics.csv's `numerator` is the runner's −gᵀu.
  std::vector<std::string> logged_names() const override { return {}; }
  const CdatOptions& options() const { return options_; }
  void save(torch::serialize::OutputArchive& archive) const override;
  void load(torch::serialize::InputArchive& archive) override;

 private:
  double compute(StepContext& context, TunerReport& report) override;
  double ema(double average, double value) const;
  double averaged_rate(double numerator, double denominator);
  double floored_denominator(StepContext& context, double numerator, double denominator, TunerReport& report) const;
  double bounded_growth(double eta, TunerReport& report) const;
  double trusted(StepContext& context, double eta, double numerator, double denominator, TunerReport& report) const;
  bool checks_trust() const;
  CdatOptions options_;
  double numerator_avg_ = 0.0, denominator_avg_ = 0.0, ratio_avg_ = 0.0;
  int64_t updates_ = 0;
  double last_eta_ = 0.0;  // η of the last step that moved (η > 0); 0 before the first
};

// Quadratically greedy rule η = −gᵀu / uᵀHu, the minimiser of the quadratic model along u (PAPER §2),
// as the paper defines it: CDAT's rule with σ = 1, no averaging and none of CdatOptions' safeguards.
class GreedyTuner final : public CdatTuner {
 public:
  GreedyTuner();
  std::string name() const override { return "greedy"; }
};

// Options of every tuner, so a tuner can be made by name.
struct TunerOptions {
  double lr = 1e-2;  // constant lr; schedule peak
  ScheduleOptions schedule;
  LinesearchOptions linesearch;
  CdatOptions cdat;
  // Options of tuners registered outside the library (cdat/registry.h), by name: the CLI's
  // --tuner-options "name=value,...". Each name must be one the tuner's entry lists.
  std::map<std::string, double> extra;
};

// Throws InvalidOption when the option every tuner shares, lr, is out of range (finite and >= 0); make_tuner
// calls it whatever the tuner, so the CLI's --lr is checked once, here. Each part is checked by its tuner.
void validate(const TunerOptions& options);

// Builds a tuner by name from the registry (cdat/registry.h): constant, schedule, linesearch, greedy,
// cdat, and any registered one. Throws InvalidOption for an unknown name (listing the valid ones), an
// `extra` option the tuner does not take, or an option out of range (the message names the option).
std::unique_ptr<Tuner> make_tuner(const std::string& name, const TunerOptions& options);
// The names make_tuner accepts, built-in ones first.
std::vector<std::string> tuner_names();

}  // namespace cdat
