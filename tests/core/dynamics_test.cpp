// The simplified model of PAPER §5 (cdat::dynamics): the four behaviours of §5 checked numerically, which
// closure shows which, option validation, and the `cdat dynamics` command's CSV.
//
// The thresholds below come from the model's own algebra (noted at each check), with margins of a few
// times the measured deviation; docs/dynamics.md lists the measured numbers.
#include <cdat/dynamics.h>
#include <cdat/errors.h>
#include <cdat/tuner.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tolerance.h"

namespace cdat::dynamics {

// Names the closure in parameterized test output (found by ADL, so outside the anonymous namespace).
void PrintTo(Closure closure, std::ostream* os) { *os << to_string(closure); }

namespace {

using cdat::testing::tolerance_for;

Options with_rule(Rule rule, int64_t steps) {
  Options o;
  o.rule = rule;
  o.steps = steps;
  return o;
}

Options cdat_rule(double sigma, Closure closure, int64_t steps) {
  Options o = with_rule(Rule::kCdat, steps);
  o.sigma = sigma;
  o.closure = closure;
  return o;
}

// Statistics over records [from, to).
struct Window {
  double mean_sharpness = 0, min_sharpness = 0, max_sharpness = 0;
  double min_y = 0, max_y = 0, max_abs_y = 0, median_abs_y = 0, fraction_positive_y = 0;
  int upward_crossings = 0;  // y going from < 0 to ≥ 0
};

Window window(const std::vector<Record>& r, size_t from, size_t to) {
  Window w;
  w.min_sharpness = w.max_sharpness = r[from].sharpness;
  w.min_y = w.max_y = r[from].y;
  std::vector<double> abs_y;
  int positive = 0;
  for (size_t i = from; i < to; ++i) {
    w.mean_sharpness += r[i].sharpness;
    w.min_sharpness = std::min(w.min_sharpness, r[i].sharpness);
    w.max_sharpness = std::max(w.max_sharpness, r[i].sharpness);
    w.min_y = std::min(w.min_y, r[i].y);
    w.max_y = std::max(w.max_y, r[i].y);
    abs_y.push_back(std::abs(r[i].y));
    if (r[i].y > 0) ++positive;
    if (i > from && r[i - 1].y < 0 && r[i].y >= 0) ++w.upward_crossings;
  }
  const double n = static_cast<double>(to - from);
  w.mean_sharpness /= n;
  w.fraction_positive_y = positive / n;
  w.max_abs_y = *std::max_element(abs_y.begin(), abs_y.end());
  std::nth_element(abs_y.begin(), abs_y.begin() + abs_y.size() / 2, abs_y.end());
  w.median_abs_y = abs_y[abs_y.size() / 2];
  return w;
}

Window second_half(const std::vector<Record>& r) { return window(r, r.size() / 2, r.size()); }

double sq(double v) { return v * v; }

// ---------------------------------------------------------------------------------------------------------
// Records and the update equations.

TEST(DynamicsModel, RecordsFollowTheUpdateEquations) {
  Options o = with_rule(Rule::kConstant, 3);
  o.lr = 0.1;
  const auto r = simulate(o);
  ASSERT_EQ(r.size(), 3u);
  for (size_t i = 0; i < r.size(); ++i) {
    EXPECT_EQ(r[i].t, static_cast<int64_t>(i));
    EXPECT_DOUBLE_EQ(r[i].y, r[i].eta * r[i].sharpness - 2.0);
  }
  EXPECT_DOUBLE_EQ(r[0].sharpness, 15.0);
  EXPECT_DOUBLE_EQ(r[0].x, 1e-2);
  EXPECT_DOUBLE_EQ(r[0].eta, 0.1);
  // x₁ = (1 − ηλ₀) x₀ + δ = −0.5·0.01 + 1e-6;  λ₁ = λ₀ + η (a − b x₀²) = 15 + 0.1 (0.1 − 1e-3).
  // Rounding: 4 operations each, the decimal inputs (η, x₀, δ; a, b) and the literal: ≤ 8, on the
  // magnitudes added up, (1 + ηλ₀)·x₀ + δ ≤ 0.026 and λ₀ + η(a + b x₀²) ≤ 15.1.
  EXPECT_NEAR(r[1].x, -0.004999, tolerance_for(torch::kFloat64, 8) * 0.026);
  EXPECT_NEAR(r[1].sharpness, 15.0099, tolerance_for(torch::kFloat64, 8) * 15.1);
}

TEST(DynamicsModel, LaggedClosureDividesByThePreviousSharpness) {
  const auto lagged = simulate(cdat_rule(2.0, Closure::kLagged, 4));
  const auto current = simulate(cdat_rule(2.0, Closure::kCurrent, 4));
  EXPECT_DOUBLE_EQ(lagged[0].eta, 2.0 / 15.0);  // λ₋₁ = λ₀
  for (size_t t = 1; t < lagged.size(); ++t) {
    EXPECT_DOUBLE_EQ(lagged[t].eta, 2.0 / lagged[t - 1].sharpness);
    EXPECT_NE(lagged[t].sharpness, lagged[t - 1].sharpness);  // so the closures do differ
  }
  for (const auto& rec : current) EXPECT_DOUBLE_EQ(rec.eta, 2.0 / rec.sharpness);
}

TEST(DynamicsModel, ClassicalRuleIsCdatWithTheCurrentClosure) {
  Options classical = with_rule(Rule::kClassical, 500);
  classical.scale = 1.7;
  const auto a = simulate(classical);
  const auto b = simulate(cdat_rule(1.7, Closure::kCurrent, 500));
  for (size_t t = 0; t < a.size(); ++t) {
    EXPECT_EQ(a[t].eta, b[t].eta);
    EXPECT_EQ(a[t].sharpness, b[t].sharpness);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Behaviour 1: constant η. λ rises at η·a per step to 2/η, then hovers there in relaxation cycles (x grows
// when ηλ > 2, its b·x² pulls λ back below the edge, x dies, λ rises again).

TEST(DynamicsConstant, SharpnessHoversAtTwoOverEtaAndYOscillatesAroundZero) {
  Options o = with_rule(Rule::kConstant, 20000);
  o.lr = 0.1;
  const auto r = simulate(o);
  const double edge = 2.0 / o.lr;
  // Progressive sharpening before the edge: λ reaches 2/η after ≈ (2/η − λ₀)/(η a) = 500 steps.
  EXPECT_NEAR(r[400].sharpness, 15.0 + 400 * o.lr * o.a, 0.01);
  const Window w = second_half(r);
  EXPECT_NEAR(w.mean_sharpness, edge, 0.06 * edge);  // measured 19.20
  EXPECT_GT(w.min_sharpness, 0.7 * edge);            // measured 14.85
  EXPECT_LT(w.max_sharpness, 1.2 * edge);            // measured 23.37
  // y oscillates around 0: both signs, a large share of each, many cycles (period ≈ 700–900 steps).
  EXPECT_LT(w.min_y, -0.2);
  EXPECT_GT(w.max_y, 0.2);
  EXPECT_GT(w.fraction_positive_y, 0.25);
  EXPECT_LT(w.fraction_positive_y, 0.75);
  EXPECT_GE(w.upward_crossings, 8);
  // No drift: the last quarter looks like the third.
  const Window q3 = window(r, 10000, 15000), q4 = window(r, 15000, 20000);
  EXPECT_NEAR(q4.mean_sharpness, q3.mean_sharpness, 0.03 * edge);
  EXPECT_LT(q4.max_sharpness, 1.02 * q3.max_sharpness);
}

TEST(DynamicsConstant, WithoutDeltaXUnderflowsAndSharpeningNeverStops) {
  // Why δ exists: with δ = 0, x shrinks by |1 − ηλ| < 1 until it is exactly 0, after which nothing pulls λ
  // back and it grows linearly at η·a per step, far past the edge.
  Options o = with_rule(Rule::kConstant, 20000);
  o.delta = 0.0;
  const auto r = simulate(o);
  EXPECT_EQ(r.back().x, 0.0);
  EXPECT_GT(r.back().sharpness, 4.0 * (2.0 / o.lr));  // measured 194.8
}

// ---------------------------------------------------------------------------------------------------------
// Behaviour 2: classical tuner η = s/λ_t. ηλ = s at every step, so y = s − 2; x contracts by |1 − s| and
// settles at δ/s; λ² grows by 2 s (a − b x²) + (s (a − b x²)/λ)² ≈ 2 s a per step, so λ ≈ √(λ₀² + 2 s a t).

TEST(DynamicsClassical, UndershootsAtYMinusPointOneAndSharpnessGrowsLikeSqrtT) {
  constexpr int64_t T = 20000;
  Options o = with_rule(Rule::kClassical, 4 * T + 1);
  o.scale = 1.9;
  const auto r = simulate(o);
  // Each step afresh: η = s/λ and ηλ (2 roundings on s = 1.9), − 2 (1 on 2), the decimal s and −0.1 (2).
  for (const auto& rec : r) ASSERT_NEAR(rec.y, -0.1, tolerance_for(torch::kFloat64, 5) * 2.0) << "step " << rec.t;
  // λ rises and η falls at every step.
  for (size_t t = 1; t < r.size(); ++t) {
    ASSERT_GT(r[t].sharpness, r[t - 1].sharpness) << "step " << t;
    ASSERT_LT(r[t].eta, r[t - 1].eta) << "step " << t;
  }
  EXPECT_LT(r.back().eta, r[0].eta / 10.0);  // 0.127 → 0.0109
  // x dies out to the δ floor δ/s.
  EXPECT_NEAR(std::abs(r.back().x), o.delta / o.scale, 1e-3 * o.delta);
  // λ² − λ₀² is linear in t: four times the steps, four times the growth (measured ratio 3.9999).
  const double l0 = sq(o.lambda0);
  const double growth_T = sq(r[T].sharpness) - l0, growth_4T = sq(r[4 * T].sharpness) - l0;
  EXPECT_NEAR(growth_4T / growth_T, 4.0, 0.005);
  // …with the slope 2 s a predicted above.
  EXPECT_NEAR(growth_4T / (4.0 * T), 2.0 * o.scale * o.a, 0.01 * 2.0 * o.scale * o.a);
  // Growth exponent of λ over the second half (t ∈ [2T, 4T]): → 1/2 as λ₀² becomes negligible (measured 0.495).
  const double p = summarize(r).growth_exponent;
  EXPECT_GT(p, 0.48);
  EXPECT_LE(p, 0.5);
}

// ---------------------------------------------------------------------------------------------------------
// Behaviour 3: CDAT on the edge, σ = 2.
//
// Lagged closure: y_t = 2 λ_t/λ_{t−1} − 2 ≈ 2 Δλ/λ, and |x| grows by |1 − ηλ| = 1 + y per step, so ln|x| −
// ln λ² is (nearly) conserved while b x² < a: λ rises until |x| reaches √(a/b), where λ stops. Hence
// λ_∞ ≈ λ₀ √(√(a/b) / x₀) = 15 √10 ≈ 47.4 with the defaults — reached after ≈ 15000 steps.

TEST(DynamicsCdat, SigmaTwoLaggedStaysOnTheEdgeAndSharpnessStabilizes) {
  const Options o = cdat_rule(2.0, Closure::kLagged, 40000);
  const auto r = simulate(o);
  const Window w = second_half(r);
  EXPECT_LT(w.max_abs_y, 1e-5);                                              // measured 4.8e-7
  EXPECT_LT(w.median_abs_y, 1e-6);                                           // measured 1.4e-8
  EXPECT_LT((w.max_sharpness - w.min_sharpness) / w.mean_sharpness, 0.005);  // measured 0.0007
  const double predicted = o.lambda0 * std::sqrt(std::sqrt(o.a / o.b) / o.x0);
  EXPECT_NEAR(r.back().sharpness, predicted, 0.01 * predicted);  // 47.44 vs 47.43
  EXPECT_NEAR(std::abs(r.back().x), std::sqrt(o.a / o.b), 1e-3);
  EXPECT_LT(std::abs(summarize(r).growth_exponent), 0.01);
  // Already over 20000 steps its sharpness grows far less than the classical tuner's.
  const auto short_run = simulate(cdat_rule(2.0, Closure::kLagged, 20000));
  Options classical = with_rule(Rule::kClassical, 20000);
  const auto classical_run = simulate(classical);
  const Window cw = second_half(short_run), kw = second_half(classical_run);
  EXPECT_LT((cw.max_sharpness - cw.min_sharpness), 0.1 * (kw.max_sharpness - kw.min_sharpness));
}

TEST(DynamicsCdat, SigmaTwoLaggedRecoversFromAPerturbation) {
  // Start with |x| above √(a/b): b x² > a pulls λ down (y < 0), x shrinks back; λ settles again.
  Options o = cdat_rule(2.0, Closure::kLagged, 40000);
  o.x0 = 0.3;
  const auto r = simulate(o);
  EXPECT_LT(r.back().sharpness, o.lambda0);
  const Window w = second_half(r);
  EXPECT_LT(w.max_abs_y, 1e-4);
  EXPECT_LT((w.max_sharpness - w.min_sharpness) / w.mean_sharpness, 0.005);
  EXPECT_NEAR(std::abs(r.back().x), std::sqrt(o.a / o.b), 1e-3);
}

TEST(DynamicsCdat, SigmaTwoCurrentIsOnlyNeutralAndSharpnessKeepsGrowing) {
  // Current closure: ηλ = 2 exactly, so y = 0 but 1 − ηλ = −1: |x| neither grows nor shrinks and stays
  // at x₀ (δ only flips between x₀ and −x₀ + δ). Nothing pulls λ back unless x₀ = √(a/b): λ² grows by
  // 4 (a − b x₀²) per step, like the classical tuner's.
  const Options o = cdat_rule(2.0, Closure::kCurrent, 80000);
  const auto r = simulate(o);
  for (const auto& rec : r) {
    ASSERT_NEAR(rec.y, 0.0, tolerance_for(torch::kFloat64, 3) * 2.0) << "step " << rec.t;  // η = 2/λ, ηλ, − 2
    ASSERT_NEAR(std::abs(rec.x), o.x0, 2 * o.delta) << "step " << rec.t;
  }
  const double rate = 4.0 * (o.a - o.b * sq(o.x0));
  EXPECT_NEAR((sq(r.back().sharpness) - sq(o.lambda0)) / (r.size() - 1), rate, 0.01 * rate);
  EXPECT_GT(summarize(r).growth_exponent, 0.48);  // measured 0.495
}

// Behaviour 4: σ slightly below 2. Both closures: ηλ ≈ σ, so x contracts by ≈ |1 − σ| and dies; y settles
// just below σ − 2 < 0 (the lagged closure adds σ Δλ/λ > 0), and λ creeps up as √t like the classical tuner.
class DynamicsCdatBelowEdge : public ::testing::TestWithParam<std::tuple<double, Closure>> {};

TEST_P(DynamicsCdatBelowEdge, YSettlesSlightlyBelowZeroAndSharpnessCreepsUp) {
  const auto [sigma, closure] = GetParam();
  const auto r = simulate(cdat_rule(sigma, closure, 20000));
  const Window w = second_half(r);
  const Summary s = summarize(r);
  EXPECT_LT(w.max_y, 0.0);
  EXPECT_GE(w.min_y, sigma - 2.0 - tolerance_for(torch::kFloat64, 4) * 2.0);  // σλ_t/λ_{t−1} − 2: 3, σ − 2: 1
  EXPECT_NEAR(s.median_y, sigma - 2.0, 0.05 * (2.0 - sigma));      // lagged σ=1.9: −0.0999
  EXPECT_GT(r.back().sharpness, 1.3 * r[r.size() / 2].sharpness);  // λ(T)/λ(T/2) ≈ 1.39
  EXPECT_GT(s.growth_exponent, 0.4);
  EXPECT_LT(std::abs(r.back().x), 10 * 1e-6);  // x at the δ floor
  // And it ends sharper than CDAT σ = 2 (lagged) over the same steps.
  EXPECT_GT(r.back().sharpness, simulate(cdat_rule(2.0, Closure::kLagged, 20000)).back().sharpness);
}

INSTANTIATE_TEST_SUITE_P(BothClosures, DynamicsCdatBelowEdge,
                         ::testing::Combine(::testing::Values(1.9, 1.99),
                                            ::testing::Values(Closure::kLagged, Closure::kCurrent)),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param) == 1.9 ? "Sigma1_9" : "Sigma1_99") + "_" +
                                  to_string(std::get<1>(info.param));
                         });

// ---------------------------------------------------------------------------------------------------------
// Armijo linesearch on f(x) = ½ λ x²: f(x − ηλx) ≤ f(x) − c η λ² x² ⟺ ηλ ≤ 2 (1 − c). It never
// accepts a step past the edge, so it behaves like the classical tuner: x dies, λ grows as √t.

TEST(DynamicsLinesearch, NeverCrossesTheEdgeAndSharpnessKeepsGrowing) {
  const Options o = with_rule(Rule::kLinesearch, 20000);
  const auto r = simulate(o);
  for (const auto& rec : r) {
    ASSERT_GT(rec.eta, 0.0) << "step " << rec.t;  // no failed search
    // Armijo accepts ηλ ≤ 2(1 − c) up to the rounding of its test f(x − ηλx) ≤ f(x) − cη(λx)² (f = ½λx²;
    // ≤ 8 roundings of f(x) on each side), whose slope in ηλ is ≈ 2·f(x): ηλ may pass 2(1 − c) by 8ε, and
    // y = ηλ − 2 rounds once more on 2.
    ASSERT_LE(rec.y, -2.0 * o.linesearch.c + tolerance_for(torch::kFloat64, 8 + 2) * 2.0) << "step " << rec.t;
  }
  const Summary s = summarize(r);
  EXPECT_LT(s.median_y, -0.1);  // measured −0.211: the κ_up/κ_down cycle lands well below the edge
  EXPECT_GT(s.median_y, -0.4);
  EXPECT_GT(s.growth_exponent, 0.4);
  EXPECT_GT(r.back().sharpness, 1.3 * r[r.size() / 2].sharpness);
  EXPECT_LT(r.back().eta, 0.5 * r[0].eta);  // 0.107 → 0.02
}

TEST(DynamicsLinesearch, FirstStepBacktracksFromEtaMax) {
  // From η = min(1.5·1, 1) = 1, shrink by 0.8 until η ≤ 2(1 − c)/15 = 0.13332: 0.8⁹ = 0.134 fails, 0.8¹⁰ passes.
  const auto r = simulate(with_rule(Rule::kLinesearch, 1));
  // 10 multiplications by κ_down on one side, pow on the other (1 ulp: 2).
  EXPECT_NEAR(r[0].eta, std::pow(0.8, 10), tolerance_for(torch::kFloat64, 10 + 2) * std::pow(0.8, 10));
}

// ---------------------------------------------------------------------------------------------------------
// Options, divergence, summary.

void expect_invalid(const Options& o, const std::string& name) {
  try {
    simulate(o);
    ADD_FAILURE() << "no InvalidOption for " << name;
  } catch (const InvalidOption& e) {
    EXPECT_NE(std::string(e.what()).find(name + " must"), std::string::npos) << e.what();
  }
}

TEST(DynamicsOptions, DefaultsArePapers) {
  const Options o;
  EXPECT_EQ(o.a, 0.1);
  EXPECT_EQ(o.b, 10.0);
  EXPECT_EQ(o.lambda0, 15.0);
  EXPECT_EQ(o.x0, 1e-2);
  EXPECT_EQ(o.delta, 1e-6);
  EXPECT_EQ(o.sigma, 2.0);
  EXPECT_EQ(o.scale, 1.9);
  EXPECT_NO_THROW(validate(o));
}

TEST(DynamicsOptions, OutOfRangeValuesThrowNamingTheOption) {
  const double nan = std::nan("");
  const double inf = INFINITY;
  Options o;
  o = {}, o.a = -0.1, expect_invalid(o, "a");
  o = {}, o.b = nan, expect_invalid(o, "b");
  o = {}, o.lambda0 = 0.0, expect_invalid(o, "lambda0");
  o = {}, o.x0 = inf, expect_invalid(o, "x0");
  o = {}, o.delta = -1e-6, expect_invalid(o, "delta");
  o = {}, o.steps = 0, expect_invalid(o, "steps");
  o = {}, o.lr = 0.0, expect_invalid(o, "lr");
  o = {}, o.scale = -1.9, expect_invalid(o, "scale");
  o = {}, o.sigma = nan, expect_invalid(o, "sigma");
  o = {}, o.linesearch.c = 1.0, expect_invalid(o, "c");
  o = {}, o.linesearch.kappa_down = 1.0, expect_invalid(o, "kappa_down");
  o = {}, o.linesearch.kappa_up = 0.5, expect_invalid(o, "kappa_up");
  o = {}, o.linesearch.eta_max = 0.0, expect_invalid(o, "eta_max");
  o = {}, o.linesearch.eta_init = -1.0, expect_invalid(o, "eta_init");
  o = {}, o.linesearch.max_trials = 0, expect_invalid(o, "max_trials");
}

TEST(DynamicsOptions, NamesRoundTripAndUnknownNamesThrow) {
  for (const auto& name : rule_names()) EXPECT_EQ(to_string(parse_rule(name)), name);
  for (const auto& name : closure_names()) EXPECT_EQ(to_string(parse_closure(name)), name);
  EXPECT_THROW(parse_rule("greedy"), InvalidOption);
  EXPECT_THROW(parse_closure("future"), InvalidOption);
  try {
    parse_rule("greedy");
  } catch (const InvalidOption& e) {
    EXPECT_NE(std::string(e.what()).find("rule"), std::string::npos);
  }
}

TEST(DynamicsOptions, DivergenceThrowsNamingTheStep) {
  // No self-stabilization (b = 0) and ηλ = 15 > 2: x grows by 14 per step and overflows.
  Options o = with_rule(Rule::kConstant, 1000);
  o.lr = 1.0;
  o.b = 0.0;
  EXPECT_THROW(simulate(o), NonFiniteError);
  // A huge x drives λ negative at once; a rule dividing by λ must not produce η < 0.
  Options c = cdat_rule(2.0, Closure::kCurrent, 10);
  c.x0 = 10.0;
  try {
    simulate(c);
    ADD_FAILURE() << "no NonFiniteError";
  } catch (const NonFiniteError& e) {
    EXPECT_NE(std::string(e.what()).find("step 1"), std::string::npos) << e.what();
  }
}

TEST(DynamicsSummary, MedianRangeAndGrowthExponent) {
  std::vector<Record> r;
  for (int64_t t = 0; t < 1000; ++t) {
    const double lambda = 3.0 * std::sqrt(static_cast<double>(t));
    r.push_back(Record{t, 0.5, lambda, static_cast<double>(t % 7), 0.0});
  }
  const Summary s = summarize(r);
  // A least-squares slope of v = ln λ = ln 3 + ½ ln t on u = ln t over t = 500 … 999: exactly ½ but for
  // rounding. Its denominator n·Σu² − (Σu)² cancels by κ = n·Σu² / (n·Σu² − (Σu)²) (u varies by ~10 % of its
  // mean here: κ ≈ 10³), and the sums take n roundings each: (n + 3)·κ for both sums' products; the logs'
  // own ≤ 4 roundings of |v| move the slope by ≤ 4ε·max|v|·Σ|u − ū|/Σ(u − ū)².
  double n = 0, sum_u = 0, sum_uu = 0, spread = 0, max_v = 0;
  for (int64_t t = 500; t < 1000; ++t) n += 1, sum_u += std::log(t), sum_uu += std::log(t) * std::log(t);
  for (int64_t t = 500; t < 1000; ++t) {
    spread += std::abs(std::log(t) - sum_u / n);
    max_v = std::max(max_v, std::abs(std::log(r[t].sharpness)));
  }
  const double kappa = n * sum_uu / (n * sum_uu - sum_u * sum_u), variance = sum_uu - sum_u * sum_u / n;
  const double roundings = 2 * (n + 3) * kappa + 4 * max_v * spread / variance / 0.5;
  EXPECT_NEAR(s.growth_exponent, 0.5, tolerance_for(torch::kFloat64, roundings) * 0.5);
  EXPECT_EQ(s.final_sharpness, r.back().sharpness);
  EXPECT_EQ(s.final_eta, 0.5);
  EXPECT_EQ(s.min_sharpness, r[500].sharpness);
  EXPECT_EQ(s.max_sharpness, r[999].sharpness);
  EXPECT_EQ(s.median_y, 3.0);  // t % 7 over t = 500 … 999 (500 values): both middle values are 3
  EXPECT_THROW(summarize({}), InvalidOption);
}

// ---------------------------------------------------------------------------------------------------------
// The `cdat dynamics` command (when the tool is built).

#ifdef CDAT_CLI_PATH

struct Outcome {
  int code = -1;
  std::string stderr_text;
};

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

Outcome run_cli(const std::string& args) {
  // One file per test process: ctest runs the DynamicsCli tests in parallel, and a shared file let one
  // test read another's (empty) stderr.
  const std::string err = ::testing::TempDir() + "dynamics_cli_stderr_" +
                          ::testing::UnitTest::GetInstance()->current_test_info()->name() + "_" +
                          std::to_string(getpid()) + ".txt";
  const std::string command = std::string(CDAT_CLI_PATH) + " dynamics " + args + " > /dev/null 2> " + err;
  const int status = std::system(command.c_str());
  Outcome o;
  o.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  o.stderr_text = read_all(err);
  return o;
}

TEST(DynamicsCli, WritesTheTrajectoryAsCsv) {
  const std::string csv = ::testing::TempDir() + "dynamics_cli.csv";
  const Outcome out = run_cli("--rule cdat --sigma 1.9 --closure current --steps 50 --x0 0.02 --out " + csv);
  ASSERT_EQ(out.code, 0) << out.stderr_text;
  std::ifstream in(csv);
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  EXPECT_EQ(line, "t,eta,sharpness,y,x");
  Options o = cdat_rule(1.9, Closure::kCurrent, 50);
  o.x0 = 0.02;
  const auto expected = simulate(o);
  size_t rows = 0;
  while (std::getline(in, line)) {
    ASSERT_LT(rows, expected.size());
    std::istringstream fields(line);
    std::vector<double> v;
    for (std::string field; std::getline(fields, field, ',');) v.push_back(std::stod(field));
    ASSERT_EQ(v.size(), 5u) << line;
    const Record& e = expected[rows];
    EXPECT_EQ(v[0], static_cast<double>(e.t));
    // The CSV writes 12 significant digits (std::setprecision(12)): half a unit in the 12th digit, a
    // relative 5e-12, and std::stod's parse 1 rounding; the simulation itself is the same code in both.
    constexpr double kCsv12Relative = 5e-12;
    const double relative = kCsv12Relative + tolerance_for(torch::kFloat64, 1);
    EXPECT_NEAR(v[1], e.eta, relative * std::abs(e.eta));
    EXPECT_NEAR(v[2], e.sharpness, relative * std::abs(e.sharpness));
    EXPECT_NEAR(v[3], e.y, relative * std::abs(e.y));
    EXPECT_NEAR(v[4], e.x, relative * std::abs(e.x));
    ++rows;
  }
  EXPECT_EQ(rows, expected.size());
}

TEST(DynamicsCli, BadValuesExitNonZeroNamingTheFlag) {
  const std::string csv = " --out " + ::testing::TempDir() + "dynamics_cli_bad.csv";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--rule greedy", "--rule"},  {"--closure future", "--closure"},
      {"--steps 0", "--steps"},     {"--sigma -1", "--sigma"},
      {"--lr 0", "--lr"},           {"--delta -1", "--delta"},
      {"--lambda0 0", "--lambda0"}, {"--a -0.5", "--a"},
  };
  for (const auto& [args, flag] : cases) {
    const Outcome out = run_cli(args + csv);
    EXPECT_NE(out.code, 0) << args;
    EXPECT_NE(out.stderr_text.find(flag), std::string::npos) << args << ": " << out.stderr_text;
  }
  // Values the flags' validators let through are caught by the library: usage error (2) naming the option.
  const Outcome nan = run_cli("--x0 nan" + csv);
  EXPECT_EQ(nan.code, 2) << nan.stderr_text;
  EXPECT_NE(nan.stderr_text.find("x0"), std::string::npos) << nan.stderr_text;
  EXPECT_NE(run_cli("--steps 10").code, 0);  // --out is required
}

TEST(DynamicsCli, PlotsAPng) {
  if (std::system("/usr/bin/python3 -c 'import matplotlib' > /dev/null 2>&1") != 0) {
    GTEST_SKIP() << "/usr/bin/python3 with matplotlib is not available";
  }
  const std::string csv = ::testing::TempDir() + "dynamics_cli_plot.csv";
  const std::string png = ::testing::TempDir() + "dynamics_cli_plot.png";
  std::remove(png.c_str());
  const Outcome out = run_cli("--rule constant --steps 200 --out " + csv + " --plot " + png);
  ASSERT_EQ(out.code, 0) << out.stderr_text;
  const std::string bytes = read_all(png);
  ASSERT_GT(bytes.size(), 1000u);
  EXPECT_EQ(bytes.substr(1, 3), "PNG");
}

#endif  // CDAT_CLI_PATH

}  // namespace
}  // namespace cdat::dynamics
