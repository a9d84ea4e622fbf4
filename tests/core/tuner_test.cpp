// Tuners against known answers: exact quadratics, a scripted step context, and their safeguards.
#include <cdat/cdat.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <array>
#include <cmath>
#include <functional>
#include <limits>
#include <sstream>

#include "problems.h"
#include "tolerance.h"

namespace cdat {
namespace {

using testing::Quadratic;
using testing::tolerance_for;

// A step context along a 1-D function φ(η) = f(w + ηu), with scripted slope and curvature.
class ScriptedContext : public StepContext {
 public:
  std::function<double(double)> phi = [](double) { return 1.0; };
  double slope_value = -1.0, curvature_value = 1.0, u_sq_norm = 1.0;
  std::vector<double> trials;
  int curvature_calls = 0;

  int64_t step() const override { return 0; }
  double loss() override { return phi(0.0); }
  double slope() override { return slope_value; }
  double direction_sq_norm() override { return u_sq_norm; }
  double curvature() override {
    ++curvature_calls;
    return curvature_value;
  }
  double value_at(double eta) override {
    trials.push_back(eta);
    return phi(eta);
  }
};

// Takes one TunedOptimizer step on q with GD + tuner and returns (w before, u, η).
struct OneStep {
  torch::Tensor w0, u;
  double eta;
};
OneStep gd_step(Quadratic& q, std::unique_ptr<Tuner> tuner) {
  OneStep s;
  s.w0 = q.w.detach().clone();
  s.u = -q.gradient_at(s.w0);
  TunedOptimizerOptions exact;
  exact.curvature_mode = "exact";  // the tests below compare η with the closed form of the exact uᵀHu
  TunedOptimizer optimizer(q.params(), std::make_unique<GradientDescent>(), std::move(tuner), exact);
  optimizer.step(q.closure());
  s.eta = optimizer.last_stats().lr;
  return s;
}

// The relative rounding error of η = σ·n/d from one GD step on q at w (u = −g), in units of ε: n's and d's
// (problems.h), and the division and σ.
double eta_roundings(const Quadratic& q, const torch::Tensor& w) {
  return q.gradient_sq_norm_roundings(w) + q.curvature_roundings(w) + 2;
}

TEST(Greedy, IsTheExactLineMinimiserOnAQuadratic) {
  Quadratic q({0.5, 1.0, 3.0, 10.0}, /*seed=*/1);
  auto s = gd_step(q, std::make_unique<GreedyTuner>());
  const torch::Tensor w1 = q.w.detach();
  const double k = static_cast<double>(q.spectrum.size()), eta_error = eta_roundings(q, s.w0);
  // At the line minimiser the gradient is orthogonal to the search direction. Exactly 0 but for: the
  // curvature floor eps, which shortens η by a relative eps‖u‖²/(uᵀAu + eps‖u‖²) ≈ 1e-13, and η's rounding
  // δ, each moving the slope by that fraction of |gᵀu| (d(gᵀu)/dη = uᵀAu = |gᵀu|/η there); w₁ = w₀ + ηu
  // rounded twice on |w₀| + |ηu|, moved through A onto u; and A w₁ − b and the dot, 2k + 1 roundings on
  // (|A||w₁| + |b|)ᵀ|u|.
  const double slope_after = torch::dot(q.gradient_at(w1), s.u).item<double>();
  const double slope_before = torch::dot(q.gradient_at(s.w0), s.u).item<double>();
  const double moved = (s.u.abs().dot(q.A.abs().mv(s.w0.abs() + (s.eta * s.u).abs()))).item<double>();
  const double evaluated = (q.A.abs().mv(w1.abs()) + q.b.abs()).dot(s.u.abs()).item<double>();
  const double eps = GreedyTuner().options().eps, u_sq = s.u.dot(s.u).item<double>();
  const double uau = torch::dot(s.u, q.A.mv(s.u)).item<double>(), floor = eps * u_sq / (uau + eps * u_sq);
  EXPECT_LT(std::abs(slope_after), (floor + eta_error * testing::epsilon(torch::kFloat64)) * std::abs(slope_before) +
                                       tolerance_for(torch::kFloat64, 2) * moved +
                                       tolerance_for(torch::kFloat64, 2 * k + 1) * evaluated);
  // And it equals the closed form −gᵀu / (uᵀAu + eps·‖u‖²) (eps: the curvature floor, a relative
  // eps/(uᵀAu/‖u‖²) ≈ 1e-13 here): two computations of η, each within eta_roundings.
  const double closed_form = -slope_before / (uau + eps * u_sq);
  EXPECT_NEAR(s.eta, closed_form, tolerance_for(torch::kFloat64, 2 * eta_error) * closed_form);
}

TEST(Cdat, SigmaTwoStepsOnTheEdgeWhereTheQuadraticModelIsFlat) {
  Quadratic q({0.5, 1.0, 3.0, 10.0}, /*seed=*/2);
  CdatOptions o = CdatOptions::paper_rule();
  o.sigma = 2.0;
  o.eps = 0.0;
  const double f0 = q.value_at(q.w.detach());
  auto s = gd_step(q, std::make_unique<CdatTuner>(o));
  // q(2 n/d) = q(0): on an exact quadratic f(w + ηu) = f(w). Up to: η's relative error δ, which moves f by
  // f'(η)·ηδ = n·ηδ (f' = −n + ηd = n at η = 2n/d); w₁ = w₀ + ηu rounded twice on |w₀| + |ηu|, moved
  // through g(w₁); and the two evaluations of f, 2k + 2 roundings each on value_magnitude_at.
  const torch::Tensor w1 = q.w.detach();
  const double k = static_cast<double>(q.spectrum.size()), n = s.u.dot(s.u).item<double>();
  const double bound =
      eta_roundings(q, s.w0) * testing::epsilon(torch::kFloat64) * n * s.eta +
      tolerance_for(torch::kFloat64, 2) * q.gradient_at(w1).abs().dot(s.w0.abs() + (s.eta * s.u).abs()).item<double>() +
      tolerance_for(torch::kFloat64, 2 * k + 2) * (q.value_magnitude_at(s.w0) + q.value_magnitude_at(w1));
  EXPECT_NEAR(q.value_at(w1), f0, bound);
  EXPECT_GT(s.eta, 0.0);
}

TEST(Cdat, GradientDescentWithSigmaBelowTwoConverges) {
  for (double sigma : {0.5, 1.0, 1.5, 1.9}) {
    Quadratic q({0.1, 0.5, 1.0, 5.0, 20.0}, /*seed=*/4);
    CdatOptions o = CdatOptions::paper_rule();
    o.sigma = sigma;
    TunedOptimizer optimizer(q.params(), std::make_unique<GradientDescent>(), std::make_unique<CdatTuner>(o));
    const double gap0 = q.value_at(q.w.detach()) - q.min_value();
    for (int t = 0; t < 2000; ++t) optimizer.step(q.closure());
    const double gap = q.value_at(q.w.detach()) - q.min_value();
    // A convergence threshold, not a rounding bound: it sits far above the rounding of f and of its minimum
    // (≤ 2k + 2 = 12 roundings of magnitudes ~|f|: ~1e-15·|f|).
    EXPECT_LT(gap, 1e-10 * gap0) << "sigma=" << sigma;
  }
}

TEST(Cdat, EdgeStepOnTopEigenvectorGivesEtaLambdaMaxTwo) {
  // With g aligned with the top eigenvector, η λ_max = σ (PAPER §2): σ = 2 is the edge of stability.
  Quadratic q({1.0, 2.0, 7.0}, /*seed=*/5);
  auto evd = torch::linalg_eigh(q.A, "L");
  torch::Tensor v1 = std::get<1>(evd).select(1, 2);
  { torch::NoGradGuard ng; q.w.copy_(torch::linalg_solve(q.A, q.b) + 0.3 * v1); }
  auto s = gd_step(q, std::make_unique<CdatTuner>(CdatOptions::paper_rule()));
  // η = 2/(R(g) + eps), R the Rayleigh quotient gᵀAg/gᵀg = 7 and eps the curvature floor (ηλ_max = 2 − 2e-13).
  // Errors in g's direction (from the rounding of w, v₁ and g, ~100ε) change R only to second order
  // (~(100ε)²), so only η's own rounding shows, and ·7 and the expected value's 2.
  const double expected = 2.0 * 7.0 / (7.0 + CdatOptions::paper_rule().eps);
  EXPECT_NEAR(s.eta * 7.0, expected, tolerance_for(torch::kFloat64, eta_roundings(q, s.w0) + 3) * expected);
}

TEST(Cdat, NonDescentDirectionGivesZeroWithoutCurvature) {
  ScriptedContext c;
  c.phi = [](double) { return 1.0; };
  c.slope_value = 0.3;  // gᵀu > 0
  CdatTuner tuner(CdatOptions::paper_rule());
  EXPECT_EQ(tuner.learning_rate(c), 0.0);
  EXPECT_TRUE(tuner.report().non_descent);
  EXPECT_EQ(tuner.report().get("numerator"), 0.0);
  EXPECT_EQ(c.curvature_calls, 0);
}

// A tuner's own values: declared once in report_names(), in that order, NaN where not set this step; a
// name it did not declare is refused, setting and reading.
class NamedValuesTuner final : public Tuner {
 public:
  bool set_second = false, set_undeclared = false;
  std::string name() const override { return "named"; }
  std::vector<std::string> report_names() const override { return {"first", "second"}; }

 private:
  double compute(StepContext&, TunerReport& report) override {
    report.set("first", 1.5);
    if (set_second) report.set("second", 2.5);
    if (set_undeclared) report.set("third", 0.0);
    return 0.1;
  }
};

TEST(TunerReport, NamedValuesAreTheDeclaredOnesInOrder) {
  ScriptedContext c;
  NamedValuesTuner tuner;
  tuner.set_second = true;
  tuner.learning_rate(c);
  ASSERT_EQ(tuner.report().values().size(), 2u);
  EXPECT_EQ(tuner.report().values()[0], (std::pair<std::string, double>{"first", 1.5}));
  EXPECT_EQ(tuner.report().get("second"), 2.5);
  tuner.set_second = false;  // a value not set on a step reads NaN, not the last step's
  tuner.learning_rate(c);
  EXPECT_TRUE(std::isnan(tuner.report().get("second")));
  EXPECT_EQ(tuner.report().lr, 0.1);
  EXPECT_THROW(tuner.report().get("third"), InvalidOption);
  tuner.set_undeclared = true;
  EXPECT_THROW(tuner.learning_rate(c), InvalidOption);
  EXPECT_EQ(tuner.logged_names(), tuner.report_names());  // logged by default
}

TEST(TunerReport, BuiltInTunersDeclareTheirValuesAndLogNone) {
  const std::vector<std::string> cdat_values = {"numerator", "denominator", "curvature_floored", "growth_capped"};
  for (const std::string name : {"constant", "schedule", "linesearch", "greedy", "cdat"}) {
    const auto tuner = make_tuner(name, TunerOptions{});
    const bool cdat_rule = name == "cdat" || name == "greedy";
    EXPECT_EQ(tuner->report_names(), cdat_rule ? cdat_values : std::vector<std::string>{}) << name;
    EXPECT_TRUE(tuner->logged_names().empty()) << name;  // metrics.csv and summary.json as before
  }
}

TEST(Cdat, NegativeCurvatureIsUsedByMagnitude) {
  ScriptedContext c;
  c.phi = [](double) { return 1.0; };
  c.slope_value = -4.0;
  c.curvature_value = -2.0;
  c.u_sq_norm = 1.0;
  CdatOptions o = CdatOptions::paper_rule();
  o.sigma = 2.0;
  o.eps = 0.0;
  CdatTuner tuner(o);
  EXPECT_DOUBLE_EQ(tuner.learning_rate(c), 2.0 * 4.0 / 2.0);
}

TEST(Cdat, EpsilonIsACurvatureFloorRelativeToDirectionNorm) {
  ScriptedContext c;
  c.phi = [](double) { return 1.0; };
  c.slope_value = -1e-6;
  c.curvature_value = 0.0;  // flat direction
  c.u_sq_norm = 1e-6;
  CdatOptions o = CdatOptions::paper_rule();
  o.sigma = 1.0;
  o.eps = 1e-3;
  CdatTuner tuner(o);
  // η = σ·n/(|c| + eps·‖u‖²): 3 roundings, the expected value 2 more.
  EXPECT_NEAR(tuner.learning_rate(c), 1e-6 / (1e-3 * 1e-6), tolerance_for(torch::kFloat64, 5) * 1e3);
  // eps = 0 and zero curvature: no quadratic step exists → η = 0, never inf.
  CdatOptions z = CdatOptions::paper_rule();
  z.eps = 0.0;
  CdatTuner zero_eps(z);
  EXPECT_EQ(zero_eps.learning_rate(c), 0.0);
}

TEST(Cdat, NonFiniteCurvatureIsAClearErrorNotANanLearningRate) {
  ScriptedContext c;
  c.phi = [](double) { return 1.0; };
  c.curvature_value = std::numeric_limits<double>::quiet_NaN();
  CdatTuner tuner(CdatOptions::paper_rule());
  try {
    tuner.learning_rate(c);
    FAIL() << "expected NonFiniteError";
  } catch (const NonFiniteError& e) {
    EXPECT_NE(std::string(e.what()).find("curvature"), std::string::npos);
  }
}

// σ = 2, ε = 0 and EMA β: the averaging tests below.
CdatOptions averaged(double beta, CdatOptions::EmaMode mode = CdatOptions::EmaMode::kSeparate) {
  CdatOptions o = CdatOptions::paper_rule();
  o.sigma = 2.0;
  o.eps = 0.0;
  o.ema_beta = beta;
  o.ema_mode = mode;
  return o;
}

// β = 0.75 ≠ 1 − β, so weights swapped between the old average and the new value give other numbers.
// By hand (σ = 2, averages start at 0):
//   (n, d) = (1, 2):   n̄ = 0.25,                      d̄ = 0.5                      η = 2·0.25/0.5 = 1
//   (n, d) = (3, 1):   n̄ = 0.75·0.25 + 0.25·3 = 0.9375, d̄ = 0.75·0.5 + 0.25·1 = 0.625   η = 3
//   (n, d) = (0.5, 4): n̄ = 0.828125 = 53/64,          d̄ = 1.46875 = 47/32            η = 53/47
// (Swapped weights give the same η = 1 at the first step, then 2·2.4375/1.125 = 4.33… at the second.)
// Rounding: each average takes 3 roundings a step (β·n̄, (1 − β)·n, their sum; no cancellation, all terms
// ≥ 0) and η = σ·n̄/d̄ 2 more, so step t is within 3t + 3t + 2 roundings, the expected value within 1.
double ema_roundings(int steps) { return 6.0 * steps + 2 + 1; }
TEST(Cdat, SeparateEmaWeightsTheOldAverageByBeta) {
  CdatTuner tuner(averaged(0.75));
  ScriptedContext c;
  const std::vector<std::array<double, 3>> steps = {{1.0, 2.0, 1.0}, {3.0, 1.0, 3.0}, {0.5, 4.0, 53.0 / 47.0}};
  int t = 0;
  for (auto [n, d, eta] : steps) {
    c.slope_value = -n;
    c.curvature_value = d;
    EXPECT_NEAR(tuner.learning_rate(c), eta, tolerance_for(torch::kFloat64, ema_roundings(++t)) * eta)
        << "n = " << n << ", d = " << d;
  }
}

// With averaging, a non-descent step (gᵀu > 0, so n = 0) still enters both averages: it measures the
// curvature and lowers n̄. β = 0.75, σ = 2: after (1, 2) n̄ = 0.25, d̄ = 0.5; then (n, d) = (0, 1):
// n̄ = 0.1875, d̄ = 0.625 and η = 2·0.1875/0.625 = 0.6 (not 0, and not the previous η = 1).
TEST(Cdat, NonDescentStepEntersTheAveragesAsZeroNumerator) {
  CdatTuner tuner(averaged(0.75));
  ScriptedContext c;
  c.slope_value = -1.0;
  c.curvature_value = 2.0;
  EXPECT_NEAR(tuner.learning_rate(c), 1.0, tolerance_for(torch::kFloat64, ema_roundings(1)) * 1.0);
  c.slope_value = 0.5;  // ascent direction: n = max(−0.5, 0) = 0
  c.curvature_value = 1.0;
  EXPECT_NEAR(tuner.learning_rate(c), 0.6, tolerance_for(torch::kFloat64, ema_roundings(2)) * 0.6);
  EXPECT_TRUE(tuner.report().non_descent);
  EXPECT_EQ(tuner.report().get("numerator"), 0.0);
  EXPECT_EQ(c.curvature_calls, 2);
}

// A zero denominator (uᵀHu = 0 with ε = 0) gives η = 0 and leaves the averages as they were: the step
// after it gives exactly what it would have given without it (the η = 3 of the table above).
TEST(Cdat, ZeroDenominatorGivesZeroAndTheAveragesStay) {
  for (auto mode : {CdatOptions::EmaMode::kSeparate, CdatOptions::EmaMode::kRatio}) {
    CdatTuner with_zero(averaged(0.75, mode)), without_zero(averaged(0.75, mode));
    ScriptedContext c;
    c.slope_value = -1.0;
    c.curvature_value = 2.0;
    with_zero.learning_rate(c);
    without_zero.learning_rate(c);
    c.slope_value = -5.0;
    c.curvature_value = 0.0;
    EXPECT_EQ(with_zero.learning_rate(c), 0.0);
    c.slope_value = -3.0;
    c.curvature_value = 1.0;
    const double expected = without_zero.learning_rate(c);
    EXPECT_EQ(with_zero.learning_rate(c), expected);
    if (mode == CdatOptions::EmaMode::kSeparate) {
      EXPECT_NEAR(expected, 3.0, tolerance_for(torch::kFloat64, ema_roundings(2)) * 3.0);
    }
  }
}

TEST(Cdat, RatioEmaIsBiasCorrected) {
  CdatOptions o = CdatOptions::paper_rule();
  o.sigma = 1.0;
  o.eps = 0.0;
  o.ema_beta = 0.9;
  o.ema_mode = CdatOptions::EmaMode::kRatio;
  CdatTuner tuner(o);
  ScriptedContext c;
  c.phi = [](double) { return 1.0; };
  c.slope_value = -3.0;
  c.curvature_value = 2.0;
  // A constant ratio is returned exactly from the first step on (to rounding). Step t: the ratio's average
  // 3 roundings a step (3t), n/d 1, the bias 1 − βᵗ a pow (1) and a subtraction whose cancellation
  // multiplies the error of βᵗ by βᵗ/(1 − βᵗ) ≤ 9, the division and σ 2: ≤ 3t + 1 + 2·9 + 2.
  auto roundings = [](int t) { return 3.0 * t + 1 + 2 * 9 + 2; };
  for (int t = 1; t <= 5; ++t)
    EXPECT_NEAR(tuner.learning_rate(c), 1.5, tolerance_for(torch::kFloat64, roundings(t)) * 1.5);
  c.slope_value = -1.0;
  const double expected = (0.9 * (1.5 * (1 - std::pow(0.9, 5))) + 0.1 * 0.5) / (1 - std::pow(0.9, 6));
  // The same count for the tuner's sixth step and for `expected`, computed the same way.
  EXPECT_NEAR(tuner.learning_rate(c), expected, tolerance_for(torch::kFloat64, 2 * roundings(6)) * expected);
}

TEST(Cdat, MaxLrCapsTheStep) {
  CdatOptions o = CdatOptions::paper_rule();
  o.max_lr = 0.25;
  o.eps = 0.0;
  CdatTuner tuner(o);
  ScriptedContext c;
  c.phi = [](double) { return 1.0; };
  c.slope_value = -10.0;
  c.curvature_value = 1.0;
  EXPECT_DOUBLE_EQ(tuner.learning_rate(c), 0.25);
}

TEST(Cdat, RejectsOutOfRangeOptions) {
  CdatOptions o;
  o.sigma = 0.0;
  EXPECT_THROW(CdatTuner{o}, InvalidOption);
  o = {};
  o.sigma = -1.0;
  EXPECT_THROW(CdatTuner{o}, InvalidOption);
  o = {};
  o.ema_beta = 1.0;
  EXPECT_THROW(CdatTuner{o}, InvalidOption);
  o = {};
  o.eps = -1e-12;
  EXPECT_THROW(CdatTuner{o}, InvalidOption);
  EXPECT_THROW(ConstantTuner{-0.1}, InvalidOption);
  EXPECT_THROW(ConstantTuner{std::nan("")}, InvalidOption);
}

// ---- Safeguards (ours, not the paper's; docs/method.md) ----

// Only the safeguard under test, on top of the paper's rule.
CdatOptions paper_rule_with(const std::function<void(CdatOptions&)>& enable) {
  CdatOptions o = CdatOptions::paper_rule();
  o.eps = 0.0;
  enable(o);
  return o;
}

TEST(CdatSafeguards, PaperRuleSwitchesEverySafeguardOffAndDefaultsSwitchThemOn) {
  const CdatOptions paper = CdatOptions::paper_rule(1.5, 0.9);
  EXPECT_EQ(paper.sigma, 1.5);
  EXPECT_EQ(paper.ema_beta, 0.9);
  EXPECT_EQ(paper.loss_floor, -std::numeric_limits<double>::infinity());
  EXPECT_EQ(paper.max_growth, 0.0);
  EXPECT_EQ(paper.trust_check, CdatOptions::TrustCheck::kOff);
  const CdatOptions defaults;  // the core cannot know a lower bound of the user's loss
  EXPECT_EQ(defaults.loss_floor, -std::numeric_limits<double>::infinity());
  EXPECT_EQ(defaults.max_growth, 2.0);
  EXPECT_EQ(defaults.trust_check, CdatOptions::TrustCheck::kEveryStep);
  EXPECT_EQ(defaults.trust_ratio, 0.25);
}

// The one table of the safeguards (issue 26.3): each row reads and writes its CdatOptions field, its paper-rule
// value is paper_rule()'s, its range is validate()'s message, and the values the run store names runs with
// are those of the day the keys were introduced, whatever the defaults are now.
TEST(CdatSafeguards, TheTableIsWhatPaperRuleValidateAndTheStoreRead) {
  std::vector<std::string> keys, fields, first_defaults;
  const CdatOptions paper = CdatOptions::paper_rule(), defaults;
  for (const auto& s : cdat_safeguards()) {
    keys.push_back(s.key);
    fields.push_back(s.field);
    first_defaults.push_back(s.first_default);
    EXPECT_EQ(s.get(paper), s.paper_rule.empty() ? s.default_value() : s.paper_rule) << s.key;
    CdatOptions o;
    s.set(o, s.get(paper));
    EXPECT_EQ(s.get(o), s.get(paper)) << s.key;  // the text round-trips
    EXPECT_TRUE(s.in_range(defaults) && s.in_range(paper)) << s.key;
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"loss-floor", "max-growth", "trust-check", "trust-ratio"}));
  EXPECT_EQ(fields, (std::vector<std::string>{"loss_floor", "max_growth", "trust_check", "trust_ratio"}));
  EXPECT_EQ(first_defaults, (std::vector<std::string>{"0", "2", "every", "0.25"}));
  EXPECT_EQ(cdat_safeguard("max-growth").default_value(), "2.0");
  EXPECT_EQ(cdat_safeguard("loss-floor").default_value(), "-inf");
  CdatOptions bad;
  bad.max_growth = 0.5;
  try {
    validate(bad);
    FAIL() << "max-growth 0.5 accepted";
  } catch (const InvalidOption& e) {
    EXPECT_EQ(std::string(e.what()), "max-growth must be " + cdat_safeguard("max-growth").range + ", got 0.5");
  }
  EXPECT_THROW(cdat_safeguard("growth"), InvalidOption);
  EXPECT_THROW(cdat_safeguard("max-growth").set(bad, "fast"), InvalidOption);
}

// φ(η) = 1 − η + η²/2 + 2η³ with n = 1, d = 1 (σ = 2, paper η = 2). The quadratic model predicts
// −η + η²/2; the check accepts while φ(η) − φ(0) ≤ −η + η²/2 + ρη (ρ = 1), i.e. while 2η³ ≤ η:
//   η = 2:   2η³ = 16    > 2    rejected
//   η = 1:   2η³ = 2     > 1    rejected
//   η = 0.5: 2η³ = 0.25 ≤ 0.5   accepted, with φ(0.5) − φ(0) = −0.5 + 0.125 + 0.25 = −0.125.
TEST(CdatSafeguards, TrustCheckHalvesAStepWhoseLossRisesFarAboveTheQuadraticModel) {
  CdatTuner tuner(paper_rule_with([](CdatOptions& o) {
    o.trust_check = CdatOptions::TrustCheck::kFirstStep;
    o.trust_ratio = 1.0;
  }));
  ScriptedContext c;
  c.phi = [](double eta) { return 1.0 - eta + 0.5 * eta * eta + 2.0 * eta * eta * eta; };
  EXPECT_EQ(tuner.learning_rate(c), 0.5);
  EXPECT_EQ(c.trials, (std::vector<double>{2.0, 1.0, 0.5}));
  EXPECT_EQ(tuner.report().trials, 3);
  EXPECT_DOUBLE_EQ(tuner.report().actual_change, -0.125);
  EXPECT_FALSE(tuner.report().search_failed);
}

// On an exact quadratic φ(η) = 1 − η + η²/2 the model is exact: the first trial is accepted, η = 2 as
// the paper's rule gives, and the actual change is the model's 0 at the edge.
TEST(CdatSafeguards, TrustCheckAcceptsTheFirstTrialWhereTheModelIsExact) {
  CdatTuner tuner(paper_rule_with([](CdatOptions& o) { o.trust_check = CdatOptions::TrustCheck::kEveryStep; }));
  ScriptedContext c;
  c.phi = [](double eta) { return 1.0 - eta + 0.5 * eta * eta; };
  EXPECT_EQ(tuner.learning_rate(c), 2.0);
  EXPECT_EQ(c.trials, std::vector<double>{2.0});
  EXPECT_EQ(tuner.report().actual_change, 0.0);
}

TEST(CdatSafeguards, TrustCheckFirstStopsCheckingOnceAStepWasAcceptedEveryKeepsChecking) {
  for (auto when : {CdatOptions::TrustCheck::kFirstStep, CdatOptions::TrustCheck::kEveryStep}) {
    CdatTuner tuner(paper_rule_with([&](CdatOptions& o) { o.trust_check = when; }));
    ScriptedContext c;
    c.phi = [](double eta) { return 1.0 - eta + 0.5 * eta * eta; };
    tuner.learning_rate(c);
    tuner.learning_rate(c);
    const size_t expected = when == CdatOptions::TrustCheck::kEveryStep ? 2 : 1;
    EXPECT_EQ(c.trials.size(), expected) << to_string(when);
    EXPECT_EQ(tuner.report().trials, when == CdatOptions::TrustCheck::kEveryStep ? 1 : 0);
  }
}

// Every trial non-finite (or rising): η = 0 after trust_max_trials, flagged like a failed line search.
TEST(CdatSafeguards, TrustCheckGivesZeroWhenEveryTrialFails) {
  CdatTuner tuner(paper_rule_with([](CdatOptions& o) {
    o.trust_check = CdatOptions::TrustCheck::kFirstStep;
    o.trust_max_trials = 4;
  }));
  ScriptedContext c;
  c.phi = [](double eta) { return eta == 0.0 ? 1.0 : std::numeric_limits<double>::infinity(); };
  EXPECT_EQ(tuner.learning_rate(c), 0.0);
  EXPECT_EQ(c.trials, (std::vector<double>{2.0, 1.0, 0.5, 0.25}));
  EXPECT_TRUE(tuner.report().search_failed);
  EXPECT_TRUE(std::isnan(tuner.report().actual_change));
  // Nothing was accepted, so the next step is checked again.
  c.phi = [](double eta) { return 1.0 - eta + 0.5 * eta * eta; };
  EXPECT_EQ(tuner.learning_rate(c), 2.0);
}

// Curvature along u collapsing (uᵀHu = 1e-9, a saturated softmax): the paper's rule gives
// η = 2·1/1e-9 = 2e9. With the loss f = 2 and the floor 0 the model's minimum f − n²/(2d) may not go
// below 0: d ≥ 1/(2·2) = 0.25, so η = 2·1/0.25 = 8.
TEST(CdatSafeguards, LossFloorBoundsTheStepWhereTheCurvatureVanishes) {
  ScriptedContext c;
  c.phi = [](double) { return 2.0; };
  c.curvature_value = 1e-9;
  CdatTuner paper(paper_rule_with([](CdatOptions&) {}));
  EXPECT_NEAR(paper.learning_rate(c), 2e9, tolerance_for(torch::kFloat64, 3) * 2e9);  // |c| + 0, n/d, σ·
  CdatTuner floored(paper_rule_with([](CdatOptions& o) { o.loss_floor = 0.0; }));
  EXPECT_EQ(floored.learning_rate(c), 8.0);
  EXPECT_EQ(floored.report().get("curvature_floored"), 1.0);
  EXPECT_EQ(floored.report().get("denominator"), 0.25);
  // A loss floor of 1.5 leaves 0.5 to lose: d ≥ 1/(2·0.5) = 1, η = 2.
  CdatTuner higher(paper_rule_with([](CdatOptions& o) { o.loss_floor = 1.5; }));
  EXPECT_EQ(higher.learning_rate(c), 2.0);
}

TEST(CdatSafeguards, LossFloorLeavesAStepAloneWhoseModelStaysAboveIt) {
  ScriptedContext c;
  c.phi = [](double) { return 2.0; };
  c.curvature_value = 0.5;  // n²/(2d) = 1 ≤ f − 0 = 2: the floor 0.25 is below d
  CdatTuner tuner(paper_rule_with([](CdatOptions& o) { o.loss_floor = 0.0; }));
  EXPECT_EQ(tuner.learning_rate(c), 4.0);
  EXPECT_EQ(tuner.report().get("curvature_floored"), 0.0);
}

// At the floor no decrease is possible (η = 0); below it the floor was wrong for this loss.
TEST(CdatSafeguards, LossAtTheFloorGivesZeroAndBelowItIsAClearError) {
  ScriptedContext c;
  c.curvature_value = 1.0;
  CdatTuner tuner(paper_rule_with([](CdatOptions& o) { o.loss_floor = 0.0; }));
  c.phi = [](double) { return 0.0; };
  EXPECT_EQ(tuner.learning_rate(c), 0.0);
  c.phi = [](double) { return -0.25; };
  try {
    tuner.learning_rate(c);
    FAIL() << "expected InvalidOption";
  } catch (const InvalidOption& e) {
    EXPECT_NE(std::string(e.what()).find("loss-floor"), std::string::npos) << e.what();
  }
}

// n = 1 each step; d = 1 then 0.1: the paper's η goes 2 → 20; max_growth 2 allows 4. A non-descent
// step in between (η = 0) does not reset the reference: it is the last step that moved.
TEST(CdatSafeguards, MaxGrowthBoundsTheIncreaseOverTheLastStepThatMoved) {
  CdatTuner tuner(paper_rule_with([](CdatOptions& o) { o.max_growth = 2.0; }));
  ScriptedContext c;
  EXPECT_EQ(tuner.learning_rate(c), 2.0);
  EXPECT_EQ(tuner.report().get("growth_capped"), 0.0);
  c.slope_value = 1.0;  // ascent: η = 0
  EXPECT_EQ(tuner.learning_rate(c), 0.0);
  c.slope_value = -1.0;
  c.curvature_value = 0.1;
  EXPECT_EQ(tuner.learning_rate(c), 4.0);
  EXPECT_EQ(tuner.report().get("growth_capped"), 1.0);
  // Decreases are never bounded: d = 100 gives the paper's 0.02.
  c.curvature_value = 100.0;
  EXPECT_EQ(tuner.learning_rate(c), 0.02);
}

// A step whose every trust trial failed (η = 0) did not move either: the growth bound still refers to the
// last step that did. n = 1; step 1: d = 1, φ exact → η = 2; step 2: every trial non-finite → η = 0;
// step 3: d = 0.1 and φ(η) = 1 − η + 0.05η² (exact, so the first trial is accepted): the paper's 20 is cut to 4.
TEST(CdatSafeguards, AFailedTrustCheckKeepsTheGrowthReference) {
  CdatTuner tuner(paper_rule_with([](CdatOptions& o) {
    o.max_growth = 2.0;
    o.trust_check = CdatOptions::TrustCheck::kEveryStep;
    o.trust_max_trials = 3;
  }));
  ScriptedContext c;
  c.phi = [](double eta) { return 1.0 - eta + 0.5 * eta * eta; };
  EXPECT_EQ(tuner.learning_rate(c), 2.0);
  c.phi = [](double eta) { return eta == 0.0 ? 1.0 : std::numeric_limits<double>::quiet_NaN(); };
  EXPECT_EQ(tuner.learning_rate(c), 0.0);
  EXPECT_TRUE(tuner.report().search_failed);
  c.curvature_value = 0.1;
  c.phi = [](double eta) { return 1.0 - eta + 0.05 * eta * eta; };
  EXPECT_EQ(tuner.learning_rate(c), 4.0);
  EXPECT_EQ(tuner.report().get("growth_capped"), 1.0);
}

// A well-conditioned quadratic shifted so that its minimum is 0 (f ≥ 0): no safeguard can act. The
// model is exact (trust check accepts), n²/(2d) ≤ f − f* (the line minimum is above the global one),
// and η = 2 uᵀu / uᵀAu stays in [2/λ_max, 2/λ_min] = [1, 2], so it never more than doubles. The default
// options then give the paper's rule bit for bit.
TEST(CdatSafeguards, DefaultsEqualThePaperRuleOnAWellConditionedQuadratic) {
  auto run = [](const CdatOptions& options) {
    Quadratic q({1.0, 1.3, 1.7, 2.0}, /*seed=*/11);
    const double minimum = q.min_value();
    TunedOptimizer optimizer(q.params(), std::make_unique<GradientDescent>(), std::make_unique<CdatTuner>(options));
    std::vector<double> etas;
    for (int t = 0; t < 30; ++t) {
      optimizer.step([&] { return q.loss() - minimum; });
      etas.push_back(optimizer.last_stats().lr);
    }
    return etas;
  };
  CdatOptions defaults;
  defaults.loss_floor = 0.0;  // the shifted quadratic's minimum
  const auto with_safeguards = run(defaults);
  const auto paper = run(CdatOptions::paper_rule());
  EXPECT_EQ(with_safeguards, paper);
}

// The growth bound's reference survives save/load: a resumed tuner caps like the uninterrupted one.
TEST(CdatSafeguards, LastStepSurvivesSaveAndLoad) {
  const CdatOptions o = paper_rule_with([](CdatOptions& x) { x.max_growth = 2.0; });
  CdatTuner original(o), resumed(o);
  ScriptedContext c;
  original.learning_rate(c);
  torch::serialize::OutputArchive out;
  original.save(out);
  std::stringstream buffer;
  out.save_to(buffer);
  torch::serialize::InputArchive in;
  in.load_from(buffer);
  resumed.load(in);
  c.curvature_value = 0.01;
  EXPECT_EQ(original.learning_rate(c), 4.0);
  EXPECT_EQ(resumed.learning_rate(c), 4.0);
}

TEST(CdatSafeguards, RejectsOutOfRangeOptionsNamingTheKey) {
  auto message = [](const std::function<void(CdatOptions&)>& set) {
    CdatOptions o;
    set(o);
    try {
      CdatTuner tuner(o);
    } catch (const InvalidOption& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(message([](CdatOptions& o) { o.max_growth = 0.5; }).find("max-growth"), std::string::npos);
  EXPECT_NE(message([](CdatOptions& o) { o.trust_ratio = -1.0; }).find("trust-ratio"), std::string::npos);
  EXPECT_NE(message([](CdatOptions& o) { o.trust_max_trials = 0; }).find("trust-max-trials"), std::string::npos);
  EXPECT_NE(message([](CdatOptions& o) { o.loss_floor = std::nan(""); }).find("loss-floor"), std::string::npos);
  EXPECT_EQ(message([](CdatOptions& o) { o.max_growth = 0.0; }), "accepted");
  EXPECT_EQ(parse_trust_check("every"), CdatOptions::TrustCheck::kEveryStep);
  EXPECT_THROW(parse_trust_check("sometimes"), InvalidOption);
}

// The greedy baseline is the paper's rule with σ = 1: no safeguard.
TEST(CdatSafeguards, GreedyIsThePaperRule) {
  GreedyTuner greedy;
  EXPECT_EQ(greedy.options().trust_check, CdatOptions::TrustCheck::kOff);
  EXPECT_EQ(greedy.options().max_growth, 0.0);
  EXPECT_FALSE(std::isfinite(greedy.options().loss_floor));
}

TEST(Linesearch, AcceptedStepSatisfiesArmijoAndThePreviousTrialDidNot) {
  // A non-quadratic 1-D profile: φ(η) = exp(2η) − 3η (minimum at η = ln(1.5)/2), slope φ'(0) = −1.
  LinesearchOptions o;
  o.eta_init = 4.0;
  o.eta_max = 10.0;
  LinesearchTuner tuner(o);
  ScriptedContext c;
  c.phi = [](double eta) { return std::exp(2 * eta) - 3 * eta; };
  c.slope_value = -1.0;
  const double eta = tuner.learning_rate(c);
  ASSERT_GT(eta, 0.0);
  const double f0 = c.phi(0.0);
  EXPECT_LE(c.phi(eta), f0 + o.c * eta * c.slope_value);
  ASSERT_GE(c.trials.size(), 2u);  // the first guess min(1.5·4, 10) = 6 is far too long
  EXPECT_DOUBLE_EQ(c.trials.front(), 6.0);
  const double rejected = eta / o.kappa_down;
  // Trial k is 6·κ_downᵏ, one rounding a multiplication; `rejected` one more.
  EXPECT_NEAR(c.trials[c.trials.size() - 2], rejected,
              tolerance_for(torch::kFloat64, static_cast<double>(c.trials.size()) + 1) * rejected);
  EXPECT_GT(c.phi(rejected), f0 + o.c * rejected * c.slope_value);
  EXPECT_EQ(tuner.report().trials, static_cast<int>(c.trials.size()));
}

TEST(Linesearch, NextSearchStartsFromTheGrownPreviousStep) {
  LinesearchOptions o;
  o.eta_init = 0.1;
  o.eta_max = 1.0;
  LinesearchTuner tuner(o);
  ScriptedContext c;
  c.phi = [](double eta) { return (eta - 100.0) * (eta - 100.0); };  // any η ≤ 1 is accepted
  c.slope_value = -200.0;
  // κ_up·η: one rounding a step, and one for the decimal literal.
  EXPECT_NEAR(tuner.learning_rate(c), 0.15, tolerance_for(torch::kFloat64, 2) * 0.15);
  EXPECT_NEAR(tuner.learning_rate(c), 0.225, tolerance_for(torch::kFloat64, 3) * 0.225);
  for (int t = 0; t < 10; ++t) tuner.learning_rate(c);
  EXPECT_DOUBLE_EQ(tuner.learning_rate(c), 1.0);  // capped at eta_max
}

TEST(Linesearch, FailureGivesZeroAndIsReported) {
  LinesearchOptions o;
  o.max_trials = 7;
  LinesearchTuner tuner(o);
  ScriptedContext c;
  c.phi = [](double eta) { return eta == 0.0 ? 1.0 : std::numeric_limits<double>::quiet_NaN(); };
  c.slope_value = -1.0;
  EXPECT_EQ(tuner.learning_rate(c), 0.0);
  EXPECT_TRUE(tuner.report().search_failed);
  EXPECT_EQ(tuner.report().trials, 7);
  EXPECT_EQ(c.trials.size(), 7u);
}

// Every trial finite but none satisfies Armijo (φ increases although the scripted slope says descent):
// η = 0, the failure is reported, and the next search starts from κ_up times the smallest η tried,
// 1.5 · 0.8⁴ = 0.6144 (trials 1, 0.8, 0.64, 0.512, 0.4096), not from the first guess again.
TEST(Linesearch, AllFiniteTrialsFailingArmijoRestartFromTheSmallestTried) {
  LinesearchOptions o;
  o.eta_init = 1.0;
  o.eta_max = 1.0;
  o.max_trials = 5;
  LinesearchTuner tuner(o);
  ScriptedContext c;
  c.phi = [](double eta) { return 1.0 + eta; };
  c.slope_value = -1.0;
  EXPECT_EQ(tuner.learning_rate(c), 0.0);
  EXPECT_TRUE(tuner.report().search_failed);
  EXPECT_FALSE(tuner.report().non_descent);
  EXPECT_EQ(tuner.report().trials, 5);
  const std::vector<double> tried = {1.0, 0.8, 0.8 * 0.8, 0.8 * 0.8 * 0.8, 0.8 * 0.8 * 0.8 * 0.8};
  ASSERT_EQ(c.trials.size(), tried.size());
  // Trial i: i multiplications by κ_down on each side, and the first guess min(κ_up·η, η_max) 1.
  for (size_t i = 0; i < tried.size(); ++i) {
    EXPECT_NEAR(c.trials[i], tried[i], tolerance_for(torch::kFloat64, 2.0 * i + 1) * tried[i]) << "trial " << i;
  }

  c.trials.clear();
  c.phi = [](double eta) { return 1.0 - eta; };  // now every η is accepted at once
  EXPECT_NEAR(tuner.learning_rate(c), 1.5 * tried.back(), tolerance_for(torch::kFloat64, 2 * 5 + 2) * 0.6144);
  ASSERT_EQ(c.trials.size(), 1u);
  EXPECT_NEAR(c.trials[0], 0.6144, tolerance_for(torch::kFloat64, 5 + 1 + 1) * 0.6144);  // + the decimal literal
}

TEST(Linesearch, NonDescentDirectionGivesZeroWithoutTrials) {
  LinesearchTuner tuner;
  ScriptedContext c;
  c.phi = [](double eta) { return 1.0 + eta; };
  c.slope_value = 1.0;
  EXPECT_EQ(tuner.learning_rate(c), 0.0);
  EXPECT_TRUE(tuner.report().non_descent);
  EXPECT_TRUE(c.trials.empty());
}

TEST(Linesearch, OnAQuadraticWithGdTheLossNeverIncreasesAndConverges) {
  Quadratic q({0.5, 2.0, 8.0}, /*seed=*/6);
  TunedOptimizer optimizer(q.params(), std::make_unique<GradientDescent>(), std::make_unique<LinesearchTuner>());
  double previous = q.value_at(q.w.detach());
  for (int t = 0; t < 300; ++t) {
    optimizer.step(q.closure());
    const double now = q.value_at(q.w.detach());
    EXPECT_LE(now, previous);  // Armijo: f(w + ηu) ≤ f(w) + cηgᵀu ≤ f(w)
    previous = now;
  }
  EXPECT_LT(previous - q.min_value(), 1e-6);  // convergence, not rounding (f rounds to ~1e-15 here)
}

TEST(Schedule, WarmupThenCosineToTheFloor) {
  ScheduleOptions o;
  o.peak_lr = 1.0;
  o.warmup_steps = 4;
  o.total_steps = 14;
  o.final_fraction = 0.1;
  ScheduleTuner s(o);
  EXPECT_DOUBLE_EQ(s.at(0), 0.25);
  EXPECT_DOUBLE_EQ(s.at(3), 1.0);
  EXPECT_DOUBLE_EQ(s.at(4), 1.0);
  // floor + (peak − floor)·½(1 + cos(π·progress)) on magnitudes ≤ 1: π and π·progress round (2), cos 1 ulp
  // (2), then 5 operations, and the expected value 3: absolute ≤ 12ε.
  const double schedule_tolerance = tolerance_for(torch::kFloat64, 12);
  EXPECT_NEAR(s.at(9), 0.1 + 0.9 * 0.5, schedule_tolerance);  // halfway through the decay
  EXPECT_NEAR(s.at(14), 0.1, schedule_tolerance);
  EXPECT_NEAR(s.at(100), 0.1, schedule_tolerance);
  o.decay = ScheduleOptions::Decay::kConstant;
  ScheduleTuner flat(o);
  EXPECT_DOUBLE_EQ(flat.at(100), 1.0);
}

TEST(Tuners, MakeTunerByNameAndUnknownNameListsValidOnes) {
  TunerOptions o;
  for (const auto& name : tuner_names()) EXPECT_EQ(make_tuner(name, o)->name(), name);
  try {
    make_tuner("adagrad", o);
    FAIL();
  } catch (const InvalidOption& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("adagrad"), std::string::npos);
    EXPECT_NE(what.find("cdat"), std::string::npos);
    EXPECT_NE(what.find("linesearch"), std::string::npos);
  }
  EXPECT_TRUE(make_tuner("cdat", o)->needs_curvature());
  EXPECT_TRUE(make_tuner("greedy", o)->needs_curvature());
  EXPECT_FALSE(make_tuner("linesearch", o)->needs_curvature());
}

}  // namespace
}  // namespace cdat
