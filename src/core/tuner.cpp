#include <cdat/errors.h>
#include <cdat/tuner.h>

#include "option_checks.h"

#include <torch/torch.h>

#include <charconv>
#include <cmath>
#include <limits>

namespace cdat {
namespace {

using detail::require;
using detail::str;

constexpr double kPi = 3.14159265358979323846;

void write_scalar(torch::serialize::OutputArchive& archive, const std::string& key, double value) {
  archive.write(key, torch::tensor(value, torch::kFloat64));
}

double read_scalar(torch::serialize::InputArchive& archive, const std::string& key) {
  torch::Tensor t;
  archive.read(key, t);
  return t.item<double>();
}


const detail::NameTable<ScheduleOptions::Decay>& decay_table() {
  static const detail::NameTable<ScheduleOptions::Decay> table = {{ScheduleOptions::Decay::kCosine, "cosine"},
                                                                  {ScheduleOptions::Decay::kConstant, "constant"}};
  return table;
}

const detail::NameTable<CdatOptions::EmaMode>& ema_mode_table() {
  static const detail::NameTable<CdatOptions::EmaMode> table = {{CdatOptions::EmaMode::kSeparate, "separate"},
                                                                {CdatOptions::EmaMode::kRatio, "ratio"}};
  return table;
}

const detail::NameTable<CdatOptions::TrustCheck>& trust_check_table() {
  static const detail::NameTable<CdatOptions::TrustCheck> table = {{CdatOptions::TrustCheck::kOff, "off"},
                                                                   {CdatOptions::TrustCheck::kFirstStep, "first"},
                                                                   {CdatOptions::TrustCheck::kEveryStep, "every"}};
  return table;
}

}  // namespace

ScheduleOptions::Decay parse_decay(const std::string& name) { return detail::parse_name(decay_table(), "decay", name); }
std::string to_string(ScheduleOptions::Decay decay) { return detail::name_of(decay_table(), decay); }
const std::vector<std::string>& decay_names() {
  static const std::vector<std::string> names = detail::names_of(decay_table());
  return names;
}

CdatOptions::EmaMode parse_ema_mode(const std::string& name) {
  return detail::parse_name(ema_mode_table(), "ema-mode", name);
}
std::string to_string(CdatOptions::EmaMode mode) { return detail::name_of(ema_mode_table(), mode); }
const std::vector<std::string>& ema_mode_names() {
  static const std::vector<std::string> names = detail::names_of(ema_mode_table());
  return names;
}

CdatOptions::TrustCheck parse_trust_check(const std::string& name) {
  return detail::parse_name(trust_check_table(), "trust-check", name);
}
std::string to_string(CdatOptions::TrustCheck when) { return detail::name_of(trust_check_table(), when); }
const std::vector<std::string>& trust_check_names() {
  static const std::vector<std::string> names = detail::names_of(trust_check_table());
  return names;
}

void TunerReport::set(const std::string& name, double value) {
  for (auto& [declared, v] : values_) {
    if (declared == name) {
      v = value;
      return;
    }
  }
  throw InvalidOption("cdat: the tuner reports '" + name + "', which its report_names() does not declare");
}

double TunerReport::get(const std::string& name) const {
  for (const auto& [declared, v] : values_) {
    if (declared == name) return v;
  }
  std::vector<std::string> names;
  for (const auto& value : values_) names.push_back(value.first);
  throw InvalidOption("cdat: the tuner reports no value '" + name + "' (its values: " +
                      (names.empty() ? std::string("none") : detail::join(names)) + ")");
}

double Tuner::learning_rate(StepContext& context) {
  TunerReport report;
  for (auto& name : report_names()) report.values_.emplace_back(std::move(name), kNotMeasured);
  const double lr = compute(context, report);
  if (!std::isfinite(lr)) {
    throw NonFiniteError("cdat: tuner '" + name() + "' produced a non-finite learning rate at step " +
                         std::to_string(context.step()));
  }
  if (lr < 0.0) {
    throw NonFiniteError("cdat: tuner '" + name() + "' produced a negative learning rate at step " +
                         std::to_string(context.step()));
  }
  report.lr = lr;
  report_ = report;
  return lr;
}

namespace {

// A learning rate given as an option (the constant's, the schedule's peak, TunerOptions::lr): finite and ≥ 0;
// 0 is a step that does not move, as a tuner's η_t may be (a learning rate is never negative).
void require_lr(double lr, const std::string& name) {
  require(std::isfinite(lr) && lr >= 0.0, name + " must be finite and >= 0, got " + str(lr));
}

}  // namespace

void validate(const TunerOptions& o) { require_lr(o.lr, "lr"); }

ConstantTuner::ConstantTuner(double lr) : lr_(lr) { require_lr(lr, "lr"); }

double ConstantTuner::compute(StepContext&, TunerReport&) { return lr_; }

void validate(const ScheduleOptions& o) {
  require_lr(o.peak_lr, "lr (schedule peak)");
  require(o.warmup_steps >= 0, "warmup must be >= 0, got " + std::to_string(o.warmup_steps));
  require(o.total_steps >= 1, "steps (the schedule's total) must be >= 1, got " + std::to_string(o.total_steps));
  require(o.final_fraction >= 0.0 && o.final_fraction <= 1.0,
          "the schedule's final fraction must be in [0, 1], got " + str(o.final_fraction));
}

ScheduleTuner::ScheduleTuner(ScheduleOptions options) : options_(options) { validate(options_); }

double ScheduleTuner::at(int64_t step) const {
  const double peak = options_.peak_lr;
  if (step < options_.warmup_steps) {
    return peak * static_cast<double>(step + 1) / static_cast<double>(options_.warmup_steps);
  }
  if (options_.decay == ScheduleOptions::Decay::kConstant) return peak;
  const int64_t decay_steps = std::max<int64_t>(1, options_.total_steps - options_.warmup_steps);
  const double progress =
      std::min(1.0, static_cast<double>(step - options_.warmup_steps) / static_cast<double>(decay_steps));
  const double floor = options_.final_fraction * peak;
  return floor + (peak - floor) * 0.5 * (1.0 + std::cos(kPi * progress));
}

double ScheduleTuner::compute(StepContext& context, TunerReport&) { return at(context.step()); }

LinesearchTuner::LinesearchTuner(LinesearchOptions options) : search_(options) {}

double LinesearchTuner::compute(StepContext& context, TunerReport& report) {
  const double slope = context.slope();
  const auto result = search_.search([&](double eta) { return context.value_at(eta); },
                                     context.loss(), slope);
  report.trials = result.trials;
  report.search_failed = result.failed;
  report.non_descent = result.non_descent;
  return result.eta;
}

void LinesearchTuner::save(torch::serialize::OutputArchive& archive) const {
  write_scalar(archive, "previous_eta", search_.previous_eta());
}

void LinesearchTuner::load(torch::serialize::InputArchive& archive) {
  search_.set_previous_eta(read_scalar(archive, "previous_eta"));
}

namespace {

// A number as the CLI writes it (format_double in run_config.cpp): the shortest text that reads back as x,
// ".0" after an integer; inf and nan as "inf", "-inf", "nan".
std::string number_text(double x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  char buffer[64];
  std::string s(buffer, std::to_chars(buffer, buffer + sizeof buffer, x).ptr);
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}

CdatSafeguard number_safeguard(std::string key, std::string field, std::string summary, std::string range,
                               std::string paper_rule, std::string first_default, double CdatOptions::*member,
                               std::function<bool(double)> in_range) {
  const std::string k = key;
  return {std::move(key), std::move(field), std::move(summary), std::move(range), std::move(paper_rule),
          std::move(first_default),
          [member](const CdatOptions& o) { return number_text(o.*member); },
          [member, k](CdatOptions& o, const std::string& text) { o.*member = parse_number(k, text); },
          [member, in_range](const CdatOptions& o) { return in_range(o.*member); }};
}

}  // namespace

double parse_number(const std::string& key, const std::string& text) {
  size_t used = 0;
  double value = 0.0;
  try {
    value = std::stod(text, &used);
  } catch (...) {
    used = 0;
  }
  if (used == 0 || used != text.size()) throw InvalidOption(key + ": expected a number, got '" + text + "'");
  return value;
}

const std::vector<CdatSafeguard>& cdat_safeguards() {
  static const std::vector<CdatSafeguard> table = {
      number_safeguard("loss-floor", "loss_floor",
                       "a lower bound of the loss, d ≥ n²/(2(f − floor)) (0 is one for losses ≥ 0)",
                       "a number or -inf (off)", "-inf", "0", &CdatOptions::loss_floor,
                       [](double x) { return !std::isnan(x) && x < std::numeric_limits<double>::infinity(); }),
      number_safeguard("max-growth", "max_growth", "η_t ≤ max-growth · η of the last step that moved",
                       ">= 1 (0 = off)", "0.0", "2", &CdatOptions::max_growth,
                       [](double x) { return x == 0.0 || (x >= 1.0 && std::isfinite(x)); }),
      {"trust-check", "trust_check",
       "evaluate f(w + ηu) and halve η while the loss rises too far above the quadratic model: off, first (until a "
       "step is accepted) or every",
       "off, first or every", "off", "every",
       [](const CdatOptions& o) { return to_string(o.trust_check); },
       [](CdatOptions& o, const std::string& text) { o.trust_check = parse_trust_check(text); },
       [](const CdatOptions&) { return true; }},  // an enum: parse_trust_check refuses other names
      number_safeguard("trust-ratio", "trust_ratio", "the trust check's tolerated rise above the model, in units of η·n",
                       "finite and >= 0", "", "0.25", &CdatOptions::trust_ratio,
                       [](double x) { return x >= 0.0 && std::isfinite(x); }),
  };
  return table;
}

const CdatSafeguard& cdat_safeguard(const std::string& key) {
  for (const auto& s : cdat_safeguards()) {
    if (s.key == key) return s;
  }
  std::vector<std::string> keys;
  for (const auto& s : cdat_safeguards()) keys.push_back(s.key);
  throw InvalidOption("no CDAT safeguard '" + key + "' (valid: " + detail::join(keys) + ")");
}

void validate(const CdatOptions& o) {
  require(std::isfinite(o.sigma) && o.sigma > 0.0, "sigma must be > 0 and finite, got " + str(o.sigma));
  require(o.eps >= 0.0 && std::isfinite(o.eps), "cdat eps (the curvature floor) must be finite and >= 0, got " + str(o.eps));
  require(o.ema_beta >= 0.0 && o.ema_beta < 1.0, "ema must be in [0, 1), got " + str(o.ema_beta));
  require(o.max_lr >= 0.0 && std::isfinite(o.max_lr), "max-lr must be finite and >= 0 (0 = no cap), got " + str(o.max_lr));
  for (const auto& s : cdat_safeguards()) {
    require(s.in_range(o), s.key + " must be " + s.range + ", got " + s.get(o));
  }
  require(o.trust_max_trials >= 1, "trust-max-trials must be >= 1, got " + std::to_string(o.trust_max_trials));
}

CdatOptions CdatOptions::paper_rule(double sigma, double ema_beta) {
  CdatOptions o;
  o.sigma = sigma;
  o.ema_beta = ema_beta;
  for (const auto& s : cdat_safeguards()) {
    if (!s.paper_rule.empty()) s.set(o, s.paper_rule);
  }
  return o;
}

CdatTuner::CdatTuner(CdatOptions options) : options_(options) { validate(options_); }

double CdatTuner::ema(double average, double value) const {
  return options_.ema_beta * average + (1.0 - options_.ema_beta) * value;
}

std::vector<std::string> CdatTuner::report_names() const {
  return {"numerator", "denominator", "curvature_floored", "growth_capped"};
}

double CdatTuner::compute(StepContext& context, TunerReport& report) {
  // PAPER §2: n = max(−gᵀu, 0); d = |uᵀHu| + ε; η = σ n̄ / d̄. The ε floor is taken relative to ‖u‖²
  // so that it is a curvature (units of H) and does not depend on the scale of u.
  const double slope = context.slope();
  const double numerator = std::max(-slope, 0.0);
  report.set("numerator", numerator);
  report.set("curvature_floored", 0.0);
  report.set("growth_capped", 0.0);
  report.non_descent = numerator == 0.0;
  // Non-descent direction: η = 0 without averaging; with averaging, n = 0 enters the averages as it is.
  if (report.non_descent && options_.ema_beta == 0.0) return 0.0;
  const double curvature = context.curvature();
  if (!std::isfinite(curvature)) {
    throw NonFiniteError("cdat: curvature uᵀHu is not finite at step " + std::to_string(context.step()));
  }
  double denominator = std::abs(curvature) + options_.eps * context.direction_sq_norm();
  denominator = floored_denominator(context, numerator, denominator, report);
  report.set("denominator", denominator);
  // u = 0, or zero curvature with eps = 0: no quadratic step exists; η = 0 and the averages stay. The
  // same at the loss floor (d = ∞): no decrease is possible.
  if (!(denominator > 0.0) || std::isinf(denominator)) return 0.0;

  double eta = averaged_rate(numerator, denominator);
  if (options_.max_lr > 0.0) eta = std::min(eta, options_.max_lr);
  eta = bounded_growth(eta, report);
  if (checks_trust() && eta > 0.0 && numerator > 0.0) eta = trusted(context, eta, numerator, denominator, report);
  if (eta > 0.0) last_eta_ = eta;
  return eta;
}

double CdatTuner::averaged_rate(double numerator, double denominator) {
  ++updates_;
  if (options_.ema_mode == CdatOptions::EmaMode::kSeparate) {
    // The (1 − βᵗ) bias factors of both averages cancel in the ratio.
    numerator_avg_ = ema(numerator_avg_, numerator);
    denominator_avg_ = ema(denominator_avg_, denominator);
    return options_.sigma * numerator_avg_ / denominator_avg_;
  }
  ratio_avg_ = ema(ratio_avg_, numerator / denominator);
  const double bias = 1.0 - std::pow(options_.ema_beta, static_cast<double>(updates_));
  return options_.sigma * ratio_avg_ / bias;
}

// The quadratic model along u, f − η n + η² d / 2, reaches its minimum f − n² / (2d) at η = n/d. With a
// lower bound f_low of the loss, d ≥ n² / (2 (f − f_low)) keeps that minimum above f_low: where the
// curvature along u vanishes (a saturated or near-uniform softmax), the step is bounded by the loss left
// to lose instead of growing without limit. At f = f_low no decrease is possible: d = ∞, η = 0. A loss
// below f_low means f_low is no lower bound of this loss: an error, not a silent stall.
double CdatTuner::floored_denominator(StepContext& context, double numerator, double denominator,
                                      TunerReport& report) const {
  if (!std::isfinite(options_.loss_floor) || numerator == 0.0) return denominator;
  const double room = context.loss() - options_.loss_floor;
  if (room < 0.0) {
    throw InvalidOption("cdat: the loss " + str(context.loss()) + " at step " + std::to_string(context.step()) +
                        " is below loss-floor " + str(options_.loss_floor) +
                        "; set loss-floor to a lower bound of this loss, or -inf to switch the safeguard off");
  }
  const double floor = room > 0.0 ? numerator * numerator / (2.0 * room) : std::numeric_limits<double>::infinity();
  if (!(floor > denominator)) return denominator;
  report.set("curvature_floored", 1.0);
  return floor;
}

double CdatTuner::bounded_growth(double eta, TunerReport& report) const {
  if (options_.max_growth == 0.0 || last_eta_ == 0.0 || eta <= options_.max_growth * last_eta_) return eta;
  report.set("growth_capped", 1.0);
  return options_.max_growth * last_eta_;
}

bool CdatTuner::checks_trust() const {
  switch (options_.trust_check) {
    case CdatOptions::TrustCheck::kOff: return false;
    case CdatOptions::TrustCheck::kFirstStep: return last_eta_ == 0.0;
    case CdatOptions::TrustCheck::kEveryStep: return true;
  }
  return false;
}

// Halves η until f(w + ηu) − f(w) ≤ −η n + η² d / 2 + ρ η n: the actual change may exceed the quadratic
// model's prediction by at most ρ times the first-order decrease η n. A non-finite value fails a trial.
double CdatTuner::trusted(StepContext& context, double eta, double numerator, double denominator,
                          TunerReport& report) const {
  const double f0 = context.loss();
  for (int trial = 1; trial <= options_.trust_max_trials; ++trial, eta *= 0.5) {
    report.trials = trial;
    const double change = context.value_at(eta) - f0;
    const double predicted = -eta * numerator + 0.5 * eta * eta * denominator;
    if (std::isfinite(change) && change <= predicted + options_.trust_ratio * eta * numerator) {
      report.actual_change = change;
      return eta;
    }
  }
  report.search_failed = true;
  return 0.0;
}

void CdatTuner::save(torch::serialize::OutputArchive& archive) const {
  write_scalar(archive, "numerator_avg", numerator_avg_);
  write_scalar(archive, "denominator_avg", denominator_avg_);
  write_scalar(archive, "ratio_avg", ratio_avg_);
  archive.write("updates", torch::tensor(updates_, torch::kInt64));
  write_scalar(archive, "last_eta", last_eta_);
}

void CdatTuner::load(torch::serialize::InputArchive& archive) {
  numerator_avg_ = read_scalar(archive, "numerator_avg");
  denominator_avg_ = read_scalar(archive, "denominator_avg");
  ratio_avg_ = read_scalar(archive, "ratio_avg");
  torch::Tensor updates;
  archive.read("updates", updates);
  updates_ = updates.item<int64_t>();
  // Checkpoints written before the safeguards have no last_eta: the growth bound then starts afresh.
  torch::Tensor last_eta;
  last_eta_ = archive.try_read("last_eta", last_eta) ? last_eta.item<double>() : 0.0;
}

GreedyTuner::GreedyTuner() : CdatTuner(CdatOptions::paper_rule(/*sigma=*/1.0)) {}

}  // namespace cdat
