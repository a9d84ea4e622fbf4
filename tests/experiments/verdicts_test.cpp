// The verdict rules of `cdat reproduce` on synthetic runs: for each rule a series where the paper's claim
// clearly holds, one where it clearly fails, and one sitting on the rule's threshold (values chosen so that
// the threshold is hit exactly in floating point: powers of two, or the same arithmetic as the rule).
#include "experiments/verdicts.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>

#include "tolerance.h"
#include "train/blowup.h"

namespace cdat::experiments {
namespace {

constexpr Outcome kHolds = Outcome::kHolds, kFails = Outcome::kDoesNotHold, kUnknown = Outcome::kInconclusive;

std::vector<Outcome> outcomes(const std::vector<Finding>& findings) {
  std::vector<Outcome> out;
  for (const auto& f : findings) out.push_back(f.outcome);
  return out;
}

// A finished run whose metrics are the given columns (one value per step 0, 1, ...).
RunData run_with(const std::map<std::string, std::vector<double>>& columns, double final_loss, double lr = 0.125) {
  RunData run;
  run.folder = "synthetic";
  run.config.lr = lr;
  run.completed = true;
  run.final_train_loss = final_loss;
  const size_t rows = columns.begin()->second.size();
  for (size_t i = 0; i < rows; ++i) run.columns["step"].push_back(static_cast<double>(i));
  for (const auto& [name, values] : columns) run.columns[name] = values;
  return run;
}

// A column of `rows` values f(step).
std::vector<double> column(size_t rows, const std::function<double(double)>& f) {
  std::vector<double> v;
  for (size_t i = 0; i < rows; ++i) v.push_back(f(static_cast<double>(i)));
  return v;
}

// ---- eos. η = 1/8, so the edge 2/η = 16 and η·λ = λ/8 exactly.
RunData eos_run(const std::vector<double>& sharpness, const std::vector<double>& loss) {
  return run_with({{"sharpness", sharpness},
                   {"stability_threshold", std::vector<double>(sharpness.size(), 16.0)},
                   {"train_loss", loss}},
                  loss.back());
}

TEST(EosVerdict, SharpensToTheEdgeHoversAndFallsNonMonotonically) {
  // η·λ = 1, 1.5, 2, 2.125, 1.875, 2.1, 1.95: arrives at step 2, median after it 2; two loss increases after it.
  const auto run = eos_run({8, 12, 16, 17, 15, 16.8, 15.6}, {1, 0.9, 0.8, 0.85, 0.7, 0.6, 0.65});
  EXPECT_EQ(outcomes(eos_findings(run)), (std::vector<Outcome>{kHolds, kHolds, kHolds}));
  const EdgeStats s = edge_stats(run);
  EXPECT_EQ(s.arrival, 2.0);
  EXPECT_EQ(s.median_after, 2.0);
  EXPECT_EQ(s.increases_after, 2);
}

TEST(EosVerdict, NeverReachingTheEdgeFailsAndLeavesTheRestInconclusive) {
  const auto run = eos_run({8, 9, 10, 11, 12}, {1, 0.9, 0.8, 0.7, 0.6});
  EXPECT_EQ(outcomes(eos_findings(run)), (std::vector<Outcome>{kFails, kUnknown, kUnknown}));
}

TEST(EosVerdict, OvershootingTheEdgeAndAMonotoneLossFail) {
  // η·λ = 1, 2, 2.5, 2.5, 2.5: arrives at step 1 but the median after it is 2.5; the loss never rises.
  const auto run = eos_run({8, 16, 20, 20, 20}, {1, 0.9, 0.8, 0.7, 0.6});
  EXPECT_EQ(outcomes(eos_findings(run)), (std::vector<Outcome>{kHolds, kFails, kFails}));
}

TEST(EosVerdict, EtaLambdaExactlyOnTheArrivalLevelCountsAsArrived) {
  // λ = 15.2: η·λ = 15.2/8 = 1.9 exactly (a power-of-two division), the arrival level kEdgeArrival.
  const auto run = eos_run({8, 15.2, 15.2, 15.2}, {1, 0.8, 0.9, 0.7});
  EXPECT_EQ(edge_stats(run).arrival, 1.0);
  EXPECT_EQ(outcomes(eos_findings(run)), (std::vector<Outcome>{kHolds, kHolds, kHolds}));
  // Just below it (15.1/8 = 1.8875) it never arrives.
  const auto below = eos_run({8, 15.1, 15.1, 15.1}, {1, 0.8, 0.9, 0.7});
  EXPECT_EQ(outcomes(eos_findings(below)), (std::vector<Outcome>{kFails, kUnknown, kUnknown}));
}

TEST(EosVerdict, ADivergedRunIsInconclusive) {
  auto run = eos_run({8, 12, 16, 17, 15, 16.8, 15.6}, {1, 0.9, 0.8, 0.85, 0.7, 0.6, 0.65});
  run.diverged = true;
  EXPECT_EQ(outcomes(eos_findings(run)), (std::vector<Outcome>{kUnknown, kUnknown, kUnknown}));
}

// ---- undershoot. 101 steps: windows are fractions of the last step 100; "early" is step round(100/20) = 5.
RunData undershoot_run(const std::function<double(double)>& eta_lambda, const std::function<double(double)>& sharpness,
                       const std::function<double(double)>& grad_norm, const std::function<double(double)>& loss) {
  const size_t n = 101;
  // lr = η·λ / λ and threshold 2/lr, so the edge-scaled sharpness 2λ/threshold is η·λ.
  auto lr = [&](double t) { return eta_lambda(t) / sharpness(t); };
  return run_with({{"lr", column(n, lr)},
                   {"sharpness", column(n, sharpness)},
                   {"stability_threshold", column(n, [&](double t) { return 2 / lr(t); })},
                   {"grad_norm", column(n, grad_norm)},
                   {"train_loss", column(n, loss)}},
                  loss(100.0));
}

RunData constant_run(const std::function<double(double)>& loss) {
  return run_with({{"train_loss", column(101, loss)}}, loss(100.0));
}

TEST(UndershootVerdict, SettlingBelowTheEdgeWithFallingLrRisingSharpnessAndLosingLateHolds) {
  // η·λ = 1.75, λ = 10 + t/10 (so lr = 1.75/λ falls), ‖g‖ = 1 + t/100; loss 1/(1 + t) early ahead of the
  // constant's 2/(1 + t), but ends at 0.5 against the constant's 0.25.
  const auto run = undershoot_run([](double) { return 1.75; }, [](double t) { return 10 + t / 10; },
                                  [](double t) { return 1 + t / 100; }, [](double t) { return t < 100 ? 1 / (1 + t) : 0.5; });
  const auto constant = constant_run([](double t) { return t < 100 ? 2 / (1 + t) : 0.25; });
  EXPECT_EQ(outcomes(undershoot_findings("x", run, constant)), std::vector<Outcome>(6, kHolds));
}

TEST(UndershootVerdict, RunsAtTheEdgeWithRisingLrFallingSharpnessAndWinningLateFail) {
  const auto run = undershoot_run([](double) { return 2.0; }, [](double t) { return 20 - t / 10; },
                                  [](double t) { return 2 - t / 100; }, [](double t) { return t < 100 ? 2 / (1 + t) : 0.1; });
  const auto constant = constant_run([](double t) { return t < 100 ? 1 / (1 + t) : 0.25; });
  EXPECT_EQ(outcomes(undershoot_findings("x", run, constant)), std::vector<Outcome>(6, kFails));
}

TEST(UndershootVerdict, OnTheThresholdsEveryStrictRuleFails) {
  // η·λ = 0.5 (the lower bound, excluded); lr, λ, ‖g‖ constant (ratios exactly 1); the same losses.
  const auto run = undershoot_run([](double) { return 0.5; }, [](double) { return 10.0; }, [](double) { return 1.0; },
                                  [](double t) { return 1 / (1 + t); });
  const auto constant = constant_run([](double t) { return 1 / (1 + t); });
  EXPECT_EQ(outcomes(undershoot_findings("x", run, constant)), std::vector<Outcome>(6, kFails));
  EXPECT_EQ(late_over_early(measured(run, "lr"), 0.1, 0.2), 1.0);
}

TEST(UndershootVerdict, GreedysZigzagIsJudgedOnTheTwoStepProduct) {
  // η·λ 4 on even steps and 0.5625 on odd ones (period 2, every step measured): the median over the second half
  // (steps 50..100, 26 even points of 51) is 4, above the edge, but every two-step product is
  // (4 · 0.5625)^{1/2} = 1.5 < 1.95: settled below the edge.
  const auto run = undershoot_run([](double t) { return std::fmod(t, 2.0) == 0.0 ? 4.0 : 0.5625; },
                                  [](double t) { return 10 + t / 10; }, [](double t) { return 1 + t / 100; },
                                  [](double t) { return t < 100 ? 1 / (1 + t) : 0.5; });
  const auto constant = constant_run([](double t) { return t < 100 ? 2 / (1 + t) : 0.25; });
  EXPECT_EQ(undershoot_findings("x", run, constant).front().outcome, kFails);
  EXPECT_EQ(undershoot_findings("x", run, constant, true).front().outcome, kHolds);
  EXPECT_DOUBLE_EQ(period_two(edge_scaled_sharpness(run), 0.5, 1.0).two_step, 1.5);
}

TEST(UndershootVerdict, WithoutSharpnessOrConstantItIsInconclusive) {
  auto run = undershoot_run([](double) { return 1.75; }, [](double t) { return 10 + t / 10; },
                            [](double t) { return 1 + t / 100; }, [](double t) { return 1 / (1 + t); });
  run.columns["sharpness"] = std::vector<double>(101, NAN);
  auto constant = constant_run([](double t) { return 2 / (1 + t); });
  EXPECT_EQ(outcomes(undershoot_findings("x", run, constant)), std::vector<Outcome>(6, kUnknown));
}

// ---- cdat-full-batch. 101 steps; lr(0) is the first value, windows 10–30 %, 50–75 %, 75–100 %.
RunData cdat_run(const std::function<double(double)>& lr, const std::function<double(double)>& sharpness, double final_loss) {
  return run_with({{"lr", column(101, lr)}, {"sharpness", column(101, sharpness)}, {"train_loss", column(101, [](double) { return 1.0; })}},
                  final_loss);
}


// lr 1/8 · 2^{t/10} up to step 20, then 1/2: median over steps 0..5 is 1/8 · (2^0.2 + 2^0.3)/2 ≈ 0.144, over
// steps 10..20 it is 1/8 · 2^1.5 ≈ 0.354: a rise of ≈ 2.5.
double warming_up(double t) { return 0.125 * std::pow(2.0, std::min(t, 20.0) / 10); }
// lr 1/4 over the first 5 % (steps 0..5), then 1/4 · rise: the warm-up ratio is `rise`.
std::function<double(double)> rising_by(double rise) {
  return [rise](double t) { return t <= 5 ? 0.25 : 0.25 * rise; };
}
double flat_sharpness(double) { return 10.0; }
double sharpening(double t) { return 10 + t; }

TEST(CdatFullBatchVerdict, EdgeBeatsGreedyAndConstantWarmsUpAndSharpensLessThanTheClassicalTuners) {
  // λ flat for σ = 2 (growth ×1), rising for greedy and linesearch (×(100/… ) > 1).
  const CdatPair pair{cdat_run(warming_up, flat_sharpness, 0.1), cdat_run([](double) { return 0.5; }, sharpening, 0.2)};
  const auto constant = cdat_run([](double) { return 0.1; }, flat_sharpness, 0.15);
  const auto linesearch = cdat_run([](double) { return 0.1; }, sharpening, 0.3);
  EXPECT_EQ(outcomes(cdat_full_batch_findings("x", pair, constant, linesearch)), std::vector<Outcome>(5, kHolds));
}

TEST(CdatFullBatchVerdict, EdgeLosingWithFlatLrAndMoreSharpeningFails) {
  const CdatPair pair{cdat_run([](double) { return 0.25; }, sharpening, 0.3),
                      cdat_run([](double) { return 0.5; }, flat_sharpness, 0.2)};
  const auto constant = cdat_run([](double) { return 0.1; }, sharpening, 0.15);
  const auto linesearch = cdat_run([](double) { return 0.1; }, flat_sharpness, 0.3);
  EXPECT_EQ(outcomes(cdat_full_batch_findings("x", pair, constant, linesearch)), std::vector<Outcome>(5, kFails));
}

TEST(CdatFullBatchVerdict, TheWarmUpIsReadOffWindowsNotTheStepZeroLr) {
  // The old rule divided lr(10–30 %) by lr(0): a single low first step (1/64 against 1/4 after) made it a
  // "warm-up" (×16), and a single high one (GD's step 0) hid one. Window medians see one point of six: ×1.
  const CdatPair low_first{cdat_run([](double t) { return t == 0 ? 1.0 / 64 : 0.25; }, flat_sharpness, 0.1),
                           cdat_run([](double) { return 0.5; }, sharpening, 0.2)};
  const auto constant = cdat_run([](double) { return 0.1; }, flat_sharpness, 0.15);
  EXPECT_EQ(cdat_full_batch_findings("x", low_first, constant, constant)[2].outcome, kFails);
  const CdatPair high_first{cdat_run([](double t) { return t == 0 ? 4.0 : warming_up(t); }, flat_sharpness, 0.1),
                            low_first.sigma1};
  EXPECT_EQ(cdat_full_batch_findings("x", high_first, constant, constant)[2].outcome, kHolds);
}

TEST(CdatFullBatchVerdict, OnTheThresholds) {
  // The same final loss as σ = 1 and as the constant, the same sharpening as greedy and linesearch (strict: fail).
  const auto edge = [](double rise) { return cdat_run(rising_by(rise), flat_sharpness, 0.55); };
  // The warm-up ratio exactly 1.5 (0.375 / 0.25; ≥: holds).
  const CdatPair pair{edge(1.5), cdat_run([](double) { return 0.5; }, flat_sharpness, 0.55)};
  const auto constant = cdat_run([](double) { return 0.1; }, flat_sharpness, 0.55);
  EXPECT_EQ(outcomes(cdat_full_batch_findings("x", pair, constant, constant)),
            (std::vector<Outcome>{kFails, kFails, kHolds, kFails, kFails}));
  // Just under it (0.37 / 0.25 = 1.48) is no warm-up.
  EXPECT_EQ(cdat_full_batch_findings("x", {edge(1.48), pair.sigma1}, constant, constant)[2].outcome, kFails);
  // An lr drift of exactly 1.25 (0.5 in the last quarter over 0.4 in the third) is not "stabilised".
  const CdatPair drifting{cdat_run([](double t) { return t <= 5 ? 0.1 : t <= 75 ? 0.4 : 0.5; },
                                   flat_sharpness, 0.1),
                          pair.sigma1};
  EXPECT_EQ(cdat_full_batch_findings("x", drifting, constant, constant)[2].outcome, kFails);
}

TEST(CdatFullBatchVerdict, TooFewSharpnessPointsInAWindowIsInconclusive) {
  // Sharpness measured every 25 steps: the window 90–100 % holds steps 100 only (and 40–50 % steps 50): fewer
  // than kMinWindowPoints, so the sharpening contrast cannot be judged.
  auto sparse = [](double t) { return std::fmod(t, 25.0) == 0 ? 10.0 : NAN; };
  const CdatPair pair{cdat_run(warming_up, sparse, 0.1), cdat_run([](double) { return 0.5; }, sharpening, 0.2)};
  const auto constant = cdat_run([](double) { return 0.1; }, flat_sharpness, 0.15);
  const auto findings = cdat_full_batch_findings("x", pair, constant, constant);
  EXPECT_EQ(findings[3].outcome, kUnknown);
  EXPECT_EQ(findings[4].outcome, kUnknown);
}

// ---- one-step-vs-long: mean relative one-step decrease over the first 10 steps, and the final loss.
RunData loss_run(const std::function<double(double)>& loss) { return run_with({{"train_loss", column(20, loss)}}, loss(19)); }

TEST(OneStepVerdict, GreedyFasterEarlyEdgeBetterLate) {
  // Greedy halves the loss each step (decrease 0.5) but ends at 0.3; σ = 2 loses a quarter (0.25), ends at 0.1.
  const CdatPair pair{loss_run([](double t) { return t < 19 ? std::pow(0.75, t) : 0.1; }),
                      loss_run([](double t) { return t < 19 ? std::pow(0.5, t) : 0.3; })};
  EXPECT_EQ(outcomes(one_step_findings("x", pair)), (std::vector<Outcome>{kHolds, kHolds}));
  EXPECT_EQ(early_decrease(pair.sigma1, 10), 0.5);
  const CdatPair swapped{pair.sigma1, pair.sigma2};
  EXPECT_EQ(outcomes(one_step_findings("x", swapped)), (std::vector<Outcome>{kFails, kFails}));
  const CdatPair same{pair.sigma1, pair.sigma1};  // equal: strict rules fail
  EXPECT_EQ(outcomes(one_step_findings("x", same)), (std::vector<Outcome>{kFails, kFails}));
}

// ---- mini-batch: σ ∈ {0.5, 1, 2}, batches {32, full}.
SigmaGrid grid(std::vector<double> plain32, std::vector<double> ema32, std::vector<double> plain_full) {
  SigmaGrid g{{0.5, 1.0, 2.0}, {}};
  g.ratios[{0.0, 32}] = std::move(plain32);
  g.ratios[{0.9, 32}] = std::move(ema32);
  g.ratios[{0.0, 0}] = std::move(plain_full);
  g.ratios[{0.9, 0}] = g.ratios[{0.0, 0}];
  return g;
}

TEST(MiniBatchVerdict, SmallerBestSigmaLessSpreadWithEmaAndComparableToConstantHolds) {
  // Batch 32: best σ 0.5 (full batch: 2); spread log10(1/0.01) = 2 decades without EMA, log10(0.1/0.01) = 1 with;
  // best ratio 0.01 vs the constant's 0.008 (1.25 ×).
  const auto g = grid({0.01, 0.1, 1.0}, {0.01, 0.05, 0.1}, {0.5, 0.1, 0.01});
  EXPECT_EQ(outcomes(mini_batch_findings(g, {32, 0}, {{32, 0.008}, {0, 0.01}})), std::vector<Outcome>(3, kHolds));
}

TEST(MiniBatchVerdict, SameBestSigmaMoreSpreadWithEmaAndFarBehindConstantFails) {
  const auto g = grid({1.0, 0.1, 0.01}, {1.0, 0.001, 0.1}, {0.5, 0.1, 0.01});
  EXPECT_EQ(outcomes(mini_batch_findings(g, {32, 0}, {{32, 0.0001}, {0, 0.01}})), std::vector<Outcome>(3, kFails));
}

TEST(MiniBatchVerdict, OnTheThresholds) {
  // Same best σ and same spread (strict: fail); best CDAT ratio exactly 1.5 × the constant's (0.75 / 0.5: holds).
  const auto g = grid({1.0, 0.75, 0.75}, {1.0, 0.75, 0.75}, {1.0, 0.75, 0.75});
  EXPECT_EQ(outcomes(mini_batch_findings(g, {32, 0}, {{32, 0.5}, {0, 0.5}})), (std::vector<Outcome>{kFails, kFails, kHolds}));
  EXPECT_EQ(g.best_sigma(0.0, 32), 1.0);  // the first of equal minima
}

TEST(MiniBatchVerdict, WithoutMiniBatchesItIsInconclusive) {
  const auto g = grid({1.0, 0.75, 0.75}, {1.0, 0.75, 0.75}, {1.0, 0.75, 0.75});
  EXPECT_EQ(outcomes(mini_batch_findings(g, {0}, {{0, 0.5}})), std::vector<Outcome>(3, kUnknown));
}

// ---- ablation: (value, advantage) points per factor; widths 32, 128, 512, depths 1, 2, 4, data 512, 2048, 8192.
FactorTrend trend(const std::vector<double>& values, const std::vector<double>& advantages) { return {values, advantages}; }

// advantage_trend's rounding: the least-squares slope of log advantage over log value (tests/tolerance.h),
// whose logs add 2 roundings to each coordinate.
double trend_tolerance(const FactorTrend& t) {
  std::vector<double> x, y;
  for (double v : t.value) x.push_back(std::log(v));
  for (double a : t.advantage) y.push_back(std::log(a));
  return cdat::testing::slope_tolerance(x, y, 2 + 2);
}
AblationAdvantages ablation(const std::vector<double>& width, const std::vector<double>& depth, std::vector<double> decay,
                            const std::vector<double>& data) {
  return {trend({32, 128, 512}, width), trend({1, 2, 4}, depth), trend({512, 2048, 8192}, data), {decay[0]}, {decay[1]}};
}

TEST(AblationVerdict, GrowsWithWidthAndDepthDecayMattersDataLittle) {
  // Width: log advantage 0, log 1.5, log 4 over log width spaced by log 4: slope log 4 / (2 log 4) = 0.5; data:
  // log 1.5 / (2 log 4) ≈ 0.146, flatter.
  const auto a = ablation({1, 1.5, 4}, {1, 2, 3}, {1, 1.5}, {1, 1.2, 1.5});
  EXPECT_NEAR(advantage_trend(a.width), 0.5, trend_tolerance(a.width));
  EXPECT_EQ(outcomes(ablation_findings(a)), std::vector<Outcome>(4, kHolds));
  const auto b = ablation({4, 1.5, 1}, {3, 2, 1}, {1, 1.05}, {1, 2, 8});
  EXPECT_EQ(outcomes(ablation_findings(b)), std::vector<Outcome>(4, kFails));
}

TEST(AblationVerdict, SeedsPoolIntoOneFit) {
  // Seed 0 rises 1 → 2 → 4 (slope log 4 / (2 log 4) = 0.5), seed 1 falls 2 → 1.5 → 1 (slope log ½ / (2 log 4) =
  // −0.25). With the same values for both seeds the pooled least-squares slope is the mean of the two: 0.125.
  const FactorTrend pooled{{32, 128, 512, 32, 128, 512}, {1, 2, 4, 2, 1.5, 1}};
  EXPECT_NEAR(advantage_trend(pooled), 0.125, trend_tolerance(pooled));
  const FactorTrend falling = trend({32, 128, 512}, {2, 1.5, 1});
  EXPECT_NEAR(advantage_trend(falling), -0.25, trend_tolerance(falling));
}

TEST(AblationVerdict, OnTheThresholds) {
  // No change with width or depth (slope exactly 0, strict: fail); weight decay changes it by exactly 10 %
  // (≥: holds); data changes it exactly as width does (strict: fail).
  const auto a = ablation({1, 1, 1}, {1, 1, 1}, {1.0, 1.1}, {1, 1, 1});
  EXPECT_EQ(outcomes(ablation_findings(a)), (std::vector<Outcome>{kFails, kFails, kHolds, kFails}));
  // CDAT diverged at two widths (advantage 0): one usable point, no trend.
  const auto diverged = ablation({0, 0, 1}, {1, 1, 1}, {1, 1}, {1, 1, 1});
  EXPECT_EQ(ablation_findings(diverged)[0].outcome, kUnknown);
  EXPECT_EQ(ablation_findings(diverged)[3].outcome, kUnknown);
}

// ---- safeguards (issue 11). A run whose loss goes 1 → peak → final.
RunData loss_run(double peak, double final_loss) { return run_with({{"train_loss", {1.0, peak, final_loss}}}, final_loss); }
RunData diverged_run() {
  RunData run = loss_run(1.5, 0.5);
  run.diverged = true;
  return run;
}

TEST(SafeguardVerdict, PeakOverInitialAndBlowupAtExactlyTwice) {
  EXPECT_EQ(peak_over_initial(loss_run(1.5, 0.25)), 1.5);
  EXPECT_FALSE(blew_up(loss_run(2.0, 0.25)));  // on the threshold: 2 × the initial is allowed
  EXPECT_TRUE(blew_up(loss_run(2.0000001, 0.25)));
  EXPECT_TRUE(blew_up(diverged_run()));
  EXPECT_EQ(peak_over_initial(diverged_run()), std::numeric_limits<double>::infinity());
  // The final evaluation counts too: a last step that doubled the loss is a blow-up.
  EXPECT_TRUE(blew_up(run_with({{"train_loss", {1.0, 0.5}}}, 2.5)));
  // A train loss that is not finite, an empty (unmeasured) cell included, is a blow-up: one rule, train/blowup.h,
  // which summary.json's "blew_up" is written with and scripts/run_store_table.py reads.
  EXPECT_TRUE(blew_up(run_with({{"train_loss", {1.0, NAN, 0.5}}}, 0.5)));
  EXPECT_EQ(train::peak_over_initial({1.0, 1.5, 0.5}, 0.25, true), 1.5);
  EXPECT_EQ(train::peak_over_initial({1.0, 1.5, 0.5}, 0.25, false), std::numeric_limits<double>::infinity());
}

TEST(SafeguardVerdict, OverSeedsTakesTheMedianAndCountsNotOkRunsAsInfinite) {
  const OverSeeds s = over_seeds({loss_run(1.0, 0.5), loss_run(1.0, 0.25), diverged_run()});
  EXPECT_EQ(s.median, 0.5);
  EXPECT_EQ(s.low, 0.25);
  EXPECT_EQ(s.high, std::numeric_limits<double>::infinity());
  EXPECT_EQ(s.blowups, 1);
  EXPECT_EQ(over_seeds({loss_run(1.0, 0.5), loss_run(1.0, 0.25)}).median, 0.375);
}

TEST(SafeguardVerdict, NoBlowupHoldsOneBlowupFailsAndTheConstantComparisonIsByMedian) {
  const std::vector<RunData> calm = {loss_run(1.0, 0.25), loss_run(1.5, 0.5), loss_run(2.0, 0.125)};
  const std::vector<RunData> constant = {loss_run(1.0, 0.5), loss_run(1.0, 0.5), loss_run(1.0, 0.5)};
  EXPECT_EQ(outcomes(safeguard_findings("w", calm, constant)), (std::vector<Outcome>{kHolds, kHolds}));
  const std::vector<RunData> one_blowup = {loss_run(1.0, 0.25), loss_run(2.5, 0.125), loss_run(1.0, 0.125)};
  EXPECT_EQ(outcomes(safeguard_findings("w", one_blowup, constant)), (std::vector<Outcome>{kFails, kHolds}));
  // Equal medians (0.5 vs 0.5): σ = 2 does not beat the constant.
  const std::vector<RunData> equal = {loss_run(1.0, 0.5), loss_run(1.0, 0.5), loss_run(1.0, 0.5)};
  EXPECT_EQ(outcomes(safeguard_findings("w", equal, constant)), (std::vector<Outcome>{kHolds, kFails}));
  RunData unfinished = loss_run(1.0, 0.5);
  unfinished.completed = false;
  EXPECT_EQ(outcomes(safeguard_findings("w", {unfinished}, constant)), (std::vector<Outcome>{kUnknown, kUnknown}));
}

TEST(SafeguardVerdict, ASafeguardEarnsItsPlaceByANewBlowupOrTwoCellsTenPercentWorse) {
  const std::vector<RunData> base = {loss_run(1.0, 0.5), loss_run(1.0, 0.5), loss_run(1.0, 0.5)};
  const std::vector<RunData> same = base;
  // 0.5 × 1.1 = 0.55 exactly in the rule's arithmetic: on the threshold is not worse.
  const std::vector<RunData> at_threshold = {loss_run(1.0, 0.5 * 1.1), loss_run(1.0, 0.5 * 1.1), loss_run(1.0, 0.5)};
  const std::vector<RunData> worse = {loss_run(1.0, 0.75), loss_run(1.0, 0.75), loss_run(1.0, 0.5)};
  const std::vector<RunData> blown = {loss_run(1.0, 0.5), loss_run(3.0, 0.5), loss_run(1.0, 0.5)};
  EXPECT_FALSE(safeguard_earns_its_place({{base, same}, {base, same}}));
  EXPECT_FALSE(safeguard_earns_its_place({{base, worse}, {base, same}}));  // one cell only
  EXPECT_TRUE(safeguard_earns_its_place({{base, worse}, {base, worse}}));
  EXPECT_FALSE(safeguard_earns_its_place({{base, at_threshold}, {base, at_threshold}}));
  EXPECT_TRUE(safeguard_earns_its_place({{base, blown}, {base, same}}));
  // A run that blew up with the defaults too is not the safeguard's doing.
  EXPECT_FALSE(safeguard_earns_its_place({{blown, blown}, {base, same}}));
}

// ---- defaults (issue 24). Runs whose loss goes 1 → peak → final; a step's wall time 1 s unless given.
RunData timed_run(double peak, double final_loss, double seconds_a_step = 1.0) {
  return run_with({{"train_loss", {1.0, peak, final_loss}}, {"wall_time_s", {seconds_a_step, 2 * seconds_a_step, 3 * seconds_a_step}}},
                  final_loss);
}
DefaultsCell defaults_cell(std::vector<RunData> cdat, double constant_loss = 0.5) {
  std::vector<RunData> constant(cdat.size(), timed_run(1.0, constant_loss, 0.5));
  return {"w", std::move(cdat), std::move(constant)};
}

TEST(DefaultsVerdict, SeedRatiosAreOverEachSeedsOwnTunedConstantAndABlowupIsInfinite) {
  DefaultsCell cell = defaults_cell({timed_run(1.0, 0.25), timed_run(1.0, 1.0), timed_run(3.0, 0.125)});
  cell.constant[1] = timed_run(1.0, 0.25, 0.5);  // each seed has its own constant
  const std::vector<double> ratios = seed_ratios(cell);
  ASSERT_EQ(ratios.size(), 3u);
  EXPECT_EQ(ratios[0], 0.5);
  EXPECT_EQ(ratios[1], 4.0);
  EXPECT_EQ(ratios[2], std::numeric_limits<double>::infinity());  // its loss rose to 3 × the initial
  EXPECT_EQ(cell_ratio(cell), 4.0);
  EXPECT_EQ(cost_ratio(cell), 2.0);  // 1 s a step over 0.5 s
  // A baseline that did not finish leaves the cell unknown, not good.
  cell.constant[0].completed = false;
  EXPECT_TRUE(std::isnan(cell_ratio(cell)));
}

TEST(DefaultsVerdict, TargetsHoldOnTheThresholdsAndFailAboveThem) {
  // Ratios 0.5, 1 and 2 (on the worst-cell threshold), no blow-up: every target holds.
  const std::vector<DefaultsCell> at_threshold = {defaults_cell({timed_run(1.0, 0.25)}), defaults_cell({timed_run(1.0, 0.5)}),
                                                  defaults_cell({timed_run(1.0, 1.0)})};
  std::vector<Outcome> all_hold(2 * at_threshold.size() + 3, kHolds);
  EXPECT_EQ(outcomes(defaults_findings(at_threshold)), all_hold);
  const DefaultsSummary summary = summarize_defaults(at_threshold);
  EXPECT_EQ(summary.median_ratio, 1.0);
  EXPECT_EQ(summary.worst_ratio, 2.0);
  EXPECT_EQ(summary.blowups, 0);
  // A cell at 2.5 fails its cell and the worst-cell target; the median (1.0) still holds.
  std::vector<DefaultsCell> worse = at_threshold;
  worse[2] = defaults_cell({timed_run(1.0, 1.25)});
  const std::vector<Outcome> found = outcomes(defaults_findings(worse));
  EXPECT_EQ(found[5], kFails);
  EXPECT_EQ(found[6], kHolds);   // no blow-up
  EXPECT_EQ(found[7], kHolds);   // median 1.0 ≤ 1
  EXPECT_EQ(found[8], kFails);   // worst 2.5 > 2
  // One blown run fails its cell's first finding and the no-blow-up target.
  worse[2] = defaults_cell({timed_run(2.5, 0.25)});
  const std::vector<Outcome> blown = outcomes(defaults_findings(worse));
  EXPECT_EQ(blown[4], kFails);
  EXPECT_EQ(blown[6], kFails);
}

TEST(DefaultsVerdict, AnUnknownCellIsTheWorstAndStaysIt) {
  DefaultsCell unknown = defaults_cell({timed_run(1.0, 0.25)});
  unknown.constant[0].completed = false;
  const DefaultsSummary s = summarize_defaults({defaults_cell({timed_run(1.0, 0.25)}), unknown, defaults_cell({timed_run(1.0, 2.0)})});
  EXPECT_TRUE(std::isnan(s.worst_ratio));
  EXPECT_TRUE(std::isnan(s.median_ratio));
}

TEST(DefaultsVerdict, ACandidateIsAdoptedWhenItLowersTheWorstCellWithoutANewBlowup) {
  const std::vector<DefaultsCell> defaults = {defaults_cell({timed_run(1.0, 0.5), timed_run(1.0, 0.5)}),
                                              defaults_cell({timed_run(1.0, 1.5), timed_run(1.0, 1.5)})};  // worst 3
  const DefaultsSummary before = summarize_defaults(defaults);
  // Lower worst cell (2), same median slack: adopted.
  std::vector<DefaultsCell> better = defaults;
  better[1] = defaults_cell({timed_run(1.0, 1.0), timed_run(1.0, 1.0)});
  EXPECT_TRUE(candidate_adopted(before, summarize_defaults(better), false));
  // The same, but a run blows up that did not: rejected.
  std::vector<DefaultsCell> blown = better;
  blown[0].cdat[1] = timed_run(2.5, 0.5);
  EXPECT_FALSE(candidate_adopted(before, summarize_defaults(blown), false));
  // The worst cell no lower: rejected.
  EXPECT_FALSE(candidate_adopted(before, before, false));
  // Both worst cells blew up (+∞): fewer blow-ups, and none new, is lower; as many is not.
  std::vector<DefaultsCell> two_blown = defaults, one_blown = defaults;
  two_blown[1].cdat = {timed_run(3.0, 0.5), timed_run(3.0, 0.5)};
  one_blown[1].cdat = {timed_run(3.0, 0.5), timed_run(1.0, 0.5)};
  EXPECT_TRUE(candidate_adopted(summarize_defaults(two_blown), summarize_defaults(one_blown), false));
  EXPECT_FALSE(candidate_adopted(summarize_defaults(two_blown), summarize_defaults(two_blown), false));
  // A lower worst cell bought with a median more than 5 % higher: rejected. Median before (1 + 3) / 2 = 2;
  // after (1.5 + 2.75) / 2 = 2.125 > 2.1.
  std::vector<DefaultsCell> traded = {defaults_cell({timed_run(1.0, 0.75), timed_run(1.0, 0.75)}),
                                      defaults_cell({timed_run(1.0, 1.375), timed_run(1.0, 1.375)})};
  EXPECT_FALSE(candidate_adopted(before, summarize_defaults(traded), false));
  // The cost branch: the same losses at a cheaper step (0.5 s instead of 1 s) are adopted; a dearer one is not.
  std::vector<DefaultsCell> cheaper = defaults;
  for (auto& cell : cheaper) {
    for (auto& run : cell.cdat) run = timed_run(1.0, run.final_train_loss, 0.5);
  }
  EXPECT_TRUE(candidate_adopted(before, summarize_defaults(cheaper), true));
  EXPECT_FALSE(candidate_adopted(summarize_defaults(cheaper), before, true));
}

TEST(DefaultsVerdict, AdoptedCandidatesStayOnlyIfTheyKeepEveryTargetTheDefaultsMet) {
  // Defaults: no blow-up (met), median 1.5 (missed), worst 2 (met).
  const std::vector<DefaultsCell> defaults = {defaults_cell({timed_run(1.0, 0.5)}), defaults_cell({timed_run(1.0, 1.0)})};
  const DefaultsSummary before = summarize_defaults(defaults);
  const std::vector<bool> met = defaults_targets(before);
  ASSERT_EQ(met.size(), 3u);
  EXPECT_TRUE(met[0]);
  EXPECT_FALSE(met[1]);
  EXPECT_TRUE(met[2]);
  EXPECT_EQ(outcomes(defaults_target_findings(before, defaults.size(), "the defaults")),
            (std::vector<Outcome>{kHolds, kFails, kHolds}));
  // Lower everywhere: kept. The median now met as well.
  const std::vector<DefaultsCell> lower = {defaults_cell({timed_run(1.0, 0.25)}), defaults_cell({timed_run(1.0, 0.5)})};
  EXPECT_TRUE(keeps_targets(before, summarize_defaults(lower)));
  // A worst cell above 2 loses a target the defaults met: not kept, whatever the median gained.
  const std::vector<DefaultsCell> worse_worst = {defaults_cell({timed_run(1.0, 0.125)}), defaults_cell({timed_run(1.0, 1.25)})};
  EXPECT_FALSE(keeps_targets(before, summarize_defaults(worse_worst)));
  // A blow-up loses the no-blow-up target.
  const std::vector<DefaultsCell> blown = {defaults_cell({timed_run(2.5, 0.25)}), defaults_cell({timed_run(1.0, 0.5)})};
  EXPECT_FALSE(keeps_targets(before, summarize_defaults(blown)));
  // A target the defaults missed may stay missed.
  EXPECT_TRUE(keeps_targets(before, before));
}

TEST(DefaultsVerdict, TheDefaultTunerIsTheLibrarysWhateverTheWorkloadPins) {
  const Workload w = mlp_ce(0.1);
  train::RunConfig paper = with_tuner(w.base, "adam", "cdat", 2.0);  // the paper's rule, for the reproductions
  paper.curvature_mode = "parabola";  // and keys a workload might pin, away from the defaults
  paper.curvature_every = 4;
  paper.sigma = 1.0;
  ASSERT_NE(paper.safeguards, train::RunConfig{}.safeguards);
  const train::RunConfig c = with_default_tuner(paper, "adam");
  const train::RunConfig defaults;
  EXPECT_EQ(c.tuner, "cdat");
  EXPECT_EQ(c.optimizer, "adam");
  EXPECT_EQ(c.curvature_mode, defaults.curvature_mode);
  EXPECT_EQ(c.curvature_every, defaults.curvature_every);
  EXPECT_EQ(c.safeguards, defaults.safeguards);
  EXPECT_EQ(c.trust_check, defaults.trust_check);
  EXPECT_EQ(c.sigma, defaults.sigma);
  EXPECT_EQ(c.measure_curvature, defaults.measure_curvature);
  EXPECT_EQ(c.train_size, w.base.train_size);  // the workload stays
  EXPECT_EQ(c.loss, "ce");
}

// ---- seeds (issue 13): the median run, and verdicts judged on it with a count of seeds.
TEST(Seeds, TheMedianRunIsTheElementWiseMedianOverTheSeedsThatMeasuredARow) {
  RunData a = run_with({{"train_loss", {1, 0.5, 0.25}}, {"sharpness", {1, NAN, 3}}}, 0.25);
  RunData b = run_with({{"train_loss", {1, 0.75, 0.5}}, {"sharpness", {2, NAN, 4}}}, 0.5);
  RunData c = run_with({{"train_loss", {1, 0.25}}, {"sharpness", {9, NAN}}}, 0.125);  // shorter: stopped early
  const RunData m = median_run({a, b, c});
  EXPECT_EQ(m.column("train_loss"), (std::vector<double>{1, 0.5, 0.375}));  // row 2: median of {0.25, 0.5}
  EXPECT_EQ(m.column("step"), (std::vector<double>{0, 1, 2}));
  EXPECT_EQ(m.column("sharpness")[0], 2);
  EXPECT_TRUE(std::isnan(m.column("sharpness")[1]));  // no seed measured it
  EXPECT_EQ(m.column("sharpness")[2], 3.5);
  EXPECT_EQ(m.final_train_loss, 0.25);
  EXPECT_TRUE(m.ok());
  c.final_over_initial = NAN;  // a diverged seed's ratio counts as +inf, not as a NaN that breaks the median
  c.diverged = true;
  a.final_over_initial = 0.25;
  b.final_over_initial = 0.5;
  EXPECT_EQ(median_run({a, b, c}).final_over_initial, 0.5);
  b.final_over_initial = NAN;  // two of three diverged: the median ratio is +inf (no progress), not NaN or 0.25
  b.diverged = true;
  EXPECT_EQ(median_run({a, b, c}).final_over_initial, std::numeric_limits<double>::infinity());
  b.diverged = false;
  c.diverged = false;
  // Two of three seeds diverged: the median run's final loss is +inf, so it counts as diverged.
  b.diverged = true;
  c.diverged = true;
  EXPECT_FALSE(median_run({a, b, c}).ok());
  b.diverged = false;
  EXPECT_TRUE(median_run({a, b, c}).ok());
  c.completed = false;  // a seed that did not finish: the median is not complete (its verdicts are inconclusive)
  EXPECT_FALSE(median_run({a, b, c}).completed);
}

TEST(Seeds, TheMedianDecidesAndTheSeedsAreCounted) {
  // Seed k's measurement is x_k = 1, 3, 4 and the median run's 3; the claim is "x > 2".
  const std::vector<double> x = {1, 3, 4};
  auto findings_at = [&](int k) {
    const double value = k == kMedian ? 3.0 : x[static_cast<size_t>(k)];
    // A third claim holds wherever measured, but seed 1 could not measure it: inconclusive there, not "held".
    return std::vector<Finding>{judge("x > 2", "", value > 2), judge("x > 3.5", "", value > 3.5),
                                judge("measured", "", true, k != 1)};
  };
  const auto findings = judged_over_seeds(3, findings_at);
  ASSERT_EQ(findings.size(), 3u);
  EXPECT_EQ(verdict_text(findings[2]), "holds (2/3 seeds)");
  EXPECT_EQ(findings[0].outcome, kHolds);
  EXPECT_EQ(findings[0].seeds_held(), 2);
  EXPECT_EQ(findings[0].seeds(), 3);
  EXPECT_EQ(verdict_text(findings[0]), "holds (2/3 seeds)");
  EXPECT_EQ(findings[1].outcome, kFails);
  EXPECT_EQ(verdict_text(findings[1]), "does not hold (1/3 seeds)");
  ASSERT_EQ(findings[1].on_seeds.size(), 3u);  // each seed's own outcome, in seed order
  EXPECT_EQ(findings[1].on_seeds[0].outcome, kFails);
  EXPECT_EQ(findings[1].on_seeds[2].outcome, kHolds);
  EXPECT_EQ(findings[2].on_seeds[1].outcome, kUnknown);
  EXPECT_EQ(verdict_text(judge("one run", "", true)), "holds");
}

TEST(Seeds, DescribeShowsTheSpreadOnlyOverSeveralSeeds) {
  EXPECT_EQ(describe(over_seeds({loss_run(1.0, 0.5), loss_run(1.0, 0.25), loss_run(1.0, 0.125)})), "0.25 (0.125–0.5)");
  EXPECT_EQ(describe(over_seeds({loss_run(1.0, 0.5)})), "0.5");
}

// ---- verdict windows: fewer than 3 measurements in a window makes the finding inconclusive.
TEST(UndershootVerdict, SharpnessMeasuredTooRarelyForItsWindowsIsInconclusive) {
  // λ only every 50 steps (0, 50, 100): the second half holds 2 points, 20–30 % none.
  auto sparse = [](double t) { return std::fmod(t, 50.0) == 0 ? 10 + t / 10 : NAN; };
  auto run = undershoot_run([](double) { return 1.75; }, [](double t) { return 10 + t / 10; },
                            [](double t) { return 1 + t / 100; }, [](double t) { return t < 100 ? 1 / (1 + t) : 0.5; });
  run.columns["sharpness"] = column(101, sparse);
  const auto constant = constant_run([](double t) { return t < 100 ? 2 / (1 + t) : 0.25; });
  EXPECT_EQ(outcomes(undershoot_findings("x", run, constant)),
            (std::vector<Outcome>{kUnknown, kHolds, kUnknown, kHolds, kHolds, kHolds}));
}

// ---- linear (Figure 2): a linesearch or greedy run against the tuned constant LR, by final loss.
RunData final_loss_run(double final_loss) { return run_with({{"train_loss", {1.0, final_loss}}}, final_loss); }

TEST(LinearVerdict, EffectiveWhenWithinATenthOfTheTunedConstant) {
  const RunData constant = final_loss_run(0.25);
  EXPECT_EQ(outcomes(linear_findings("x", final_loss_run(0.125), constant)), std::vector<Outcome>{kHolds});  // beats it
  EXPECT_EQ(outcomes(linear_findings("x", final_loss_run(0.27), constant)), std::vector<Outcome>{kHolds});   // ×1.08
  EXPECT_EQ(outcomes(linear_findings("x", final_loss_run(0.5), constant)), std::vector<Outcome>{kFails});    // ×2
}

TEST(LinearVerdict, OnTheThresholdItHoldsAndJustAboveItFails) {
  // 1.1 × 0.25 computed as the rule computes it (a multiplication by a power of two is exact).
  const double edge = kLinearEffective * 0.25;
  const RunData constant = final_loss_run(0.25);
  EXPECT_EQ(outcomes(linear_findings("x", final_loss_run(edge), constant)), std::vector<Outcome>{kHolds});
  EXPECT_EQ(outcomes(linear_findings("x", final_loss_run(std::nextafter(edge, 1.0)), constant)), std::vector<Outcome>{kFails});
}

TEST(LinearVerdict, ADivergedTunerFailsAMissingRunIsInconclusive) {
  RunData diverged = final_loss_run(0.125);
  diverged.diverged = true;  // ranks +∞
  const RunData constant = final_loss_run(0.25);
  EXPECT_EQ(outcomes(linear_findings("x", diverged, constant)), std::vector<Outcome>{kFails});
  RunData unfinished = final_loss_run(0.125);
  unfinished.completed = false;
  EXPECT_EQ(outcomes(linear_findings("x", unfinished, constant)), std::vector<Outcome>{kUnknown});
  RunData constant_diverged = constant;
  constant_diverged.diverged = true;
  EXPECT_EQ(outcomes(linear_findings("x", final_loss_run(0.125), constant_diverged)), std::vector<Outcome>{kUnknown});
}

// ---- lr-decay. 101 steps: 10–20 % is steps 10..20, the last 10 % steps 90..100 (medians at 15 and 95).
RunData long_run(const std::function<double(double)>& lr, const std::function<double(double)>& sharpness) {
  return run_with({{"lr", column(101, lr)}, {"sharpness", column(101, sharpness)}, {"train_loss", column(101, [](double) { return 1.0; })}},
                  1.0);
}

TEST(LrDecayVerdict, ExponentialDecayWithRisingSharpnessHolds) {
  // lr = 2^(−t/10): medians 2^(−1.5) and 2^(−9.5), ratio 2^(−8) = 1/256; λ = 10 + t/10 rises (×19.5/11.5).
  const auto run = long_run([](double t) { return std::exp2(-t / 10); }, [](double t) { return 10 + t / 10; });
  EXPECT_EQ(outcomes(lr_decay_findings("x", run)), (std::vector<Outcome>{kHolds, kHolds}));
  EXPECT_EQ(late_over_early(measured(run, "lr"), 0.1, 0.2), 1.0 / 256);
}

TEST(LrDecayVerdict, AOneOverTDecayIsNotAnOrderOfMagnitudeAndFlatSharpnessFails) {
  // lr = 1/(1 + t/10): medians 1/2.5 and 1/10.5, ratio 2.5/10.5 ≈ 0.24 > 0.1; λ constant (ratio 1, not > 1).
  const auto run = long_run([](double t) { return 1 / (1 + t / 10); }, [](double) { return 10.0; });
  EXPECT_EQ(outcomes(lr_decay_findings("x", run)), (std::vector<Outcome>{kFails, kFails}));
}

TEST(LrDecayVerdict, AFallWithinTheFirstTenthOfTheRunDoesNotCount) {
  // lr 10 over steps 0..9 (a transient), 1 from step 10 on, 0.5 over the last 10 %: 10–20 % reads 1, so the ratio
  // is 0.5 although the LR fell 20 × since step 0.
  const auto run = long_run([](double t) { return t < 10 ? 10.0 : t < 90 ? 1.0 : 0.5; }, [](double t) { return 10 + t / 10; });
  EXPECT_EQ(outcomes(lr_decay_findings("x", run)), (std::vector<Outcome>{kFails, kHolds}));
}

TEST(LrDecayVerdict, OnTheThreshold) {
  // lr 1 until step 50, then 0.1: the ratio of the window medians is 0.1 / 1 = 0.1 exactly, which holds.
  const auto at = long_run([](double t) { return t < 50 ? 1.0 : 0.1; }, [](double t) { return 10 + t / 10; });
  EXPECT_EQ(outcomes(lr_decay_findings("x", at)), (std::vector<Outcome>{kHolds, kHolds}));
  const auto above = long_run([](double t) { return t < 50 ? 1.0 : std::nextafter(0.1, 1.0); }, [](double t) { return 10 + t / 10; });
  EXPECT_EQ(outcomes(lr_decay_findings("x", above)), (std::vector<Outcome>{kFails, kHolds}));
}

TEST(LrDecayVerdict, SparseSharpnessOrADivergedRunIsInconclusive) {
  // λ only every 50 steps (0, 50, 100): each window holds at most one point, fewer than kMinWindowPoints.
  auto run = long_run([](double t) { return std::exp2(-t / 10); },
                      [](double t) { return std::fmod(t, 50.0) == 0 ? 10 + t / 10 : NAN; });
  EXPECT_EQ(outcomes(lr_decay_findings("x", run)), (std::vector<Outcome>{kHolds, kUnknown}));
  run.diverged = true;
  EXPECT_EQ(outcomes(lr_decay_findings("x", run)), (std::vector<Outcome>{kUnknown, kUnknown}));
}

// ---- issue 13 coverage: classical tuners and Adam + CDAT in mini batch, EMA β = 0.99, CE vs MSE.
TEST(ClassicalMiniBatchVerdict, ComparableAtBatch32AndCloserThanInFullBatchHolds) {
  // Batch 32: 0.012 / 0.01 = 1.2 ≤ 1.5; full batch 0.5 / 0.01 = 50 > 1.2.
  EXPECT_EQ(outcomes(classical_mini_batch_findings("linesearch", {{32, 0.012}, {0, 0.5}}, {{32, 0.01}, {0, 0.01}}, {32, 0})),
            (std::vector<Outcome>{kHolds, kHolds}));
}

TEST(ClassicalMiniBatchVerdict, FarBehindAtBatch32AndFurtherThanInFullBatchFails) {
  // Batch 32: 0.04 / 0.01 = 4 > 1.5; full batch 0.02 / 0.01 = 2 < 4.
  EXPECT_EQ(outcomes(classical_mini_batch_findings("greedy", {{32, 0.04}, {0, 0.02}}, {{32, 0.01}, {0, 0.01}}, {32, 0})),
            (std::vector<Outcome>{kFails, kFails}));
}

TEST(ClassicalMiniBatchVerdict, OnTheThresholdsAndWithoutMiniBatches) {
  // 0.75 / 0.5 = 1.5 exactly (holds); the same gap in full batch is not smaller (strict: fails).
  EXPECT_EQ(outcomes(classical_mini_batch_findings("greedy", {{32, 0.75}, {0, 0.75}}, {{32, 0.5}, {0, 0.5}}, {32, 0})),
            (std::vector<Outcome>{kHolds, kFails}));
  EXPECT_EQ(outcomes(classical_mini_batch_findings("greedy", {{0, 0.75}}, {{0, 0.5}}, {0})),
            (std::vector<Outcome>{kUnknown, kUnknown}));
}

TEST(AdamMiniBatchVerdict, TheSensitivityAndParityRulesOnAdamsOwnGrid) {
  // The grids of MiniBatchVerdict: spreads 1 < 2 decades and 1.25 × the constant (holds); 3 > 0 decades and
  // 0.001 / 0.0001 = 10 × (fails).
  const auto good = grid({0.01, 0.1, 1.0}, {0.01, 0.05, 0.1}, {0.5, 0.1, 0.01});
  const auto findings = adam_mini_batch_findings(good, {32, 0}, {{32, 0.008}, {0, 0.01}});
  EXPECT_EQ(outcomes(findings), (std::vector<Outcome>{kHolds, kHolds}));
  EXPECT_EQ(findings[0].claim.rfind("Adam + CDAT: ", 0), 0u);
  const auto bad = grid({1.0, 1.0, 1.0}, {1.0, 0.001, 0.1}, {0.5, 0.1, 0.01});
  EXPECT_EQ(outcomes(adam_mini_batch_findings(bad, {32, 0}, {{32, 0.0001}, {0, 0.01}})), (std::vector<Outcome>{kFails, kFails}));
  EXPECT_EQ(outcomes(adam_mini_batch_findings(good, {0}, {{0, 0.01}})), (std::vector<Outcome>{kUnknown, kUnknown}));
}

TEST(EmaVerdict, BetaPoint99LowersTheMeanSpreadOverTheMiniBatches) {
  auto g = grid({0.01, 0.1, 1.0}, {0.01, 0.1, 1.0}, {0.5, 0.1, 0.01});  // β = 0.9 at batch 32: 2 decades
  g.ratios[{0.99, 32}] = {0.01, 0.05, 0.1};                              // 1 decade: holds
  g.ratios[{0.99, 0}] = {1.0, 1.0, 1e-9};                                // full batch is not averaged in
  EXPECT_EQ(outcomes(ema_099_findings(g, {32, 0})), std::vector<Outcome>{kHolds});
  g.ratios[{0.99, 32}] = {0.01, 0.1, 1.0};  // the same 2 decades: not smaller
  EXPECT_EQ(outcomes(ema_099_findings(g, {32, 0})), std::vector<Outcome>{kFails});
  EXPECT_EQ(outcomes(ema_099_findings(g, {0})), std::vector<Outcome>{kUnknown});
  EXPECT_DOUBLE_EQ(mean_mini_batch_spread(g, 0.0, {32, 0}), 2.0);
}

TEST(LossContrastVerdict, EdgeDoesWorseAgainstTheConstantWithCrossEntropy) {
  // MSE: σ = 2 0.25 vs constant 0.5 (×0.5); CE: 0.75 vs 0.5 (×1.5): holds. Swapped: fails. Equal: fails (strict).
  const auto r = [](double f) { return loss_run(1.0, f); };
  EXPECT_EQ(outcomes(loss_contrast_findings("GD", r(0.25), r(0.5), r(0.75), r(0.5))), std::vector<Outcome>{kHolds});
  EXPECT_EQ(outcomes(loss_contrast_findings("GD", r(0.75), r(0.5), r(0.25), r(0.5))), std::vector<Outcome>{kFails});
  EXPECT_EQ(outcomes(loss_contrast_findings("GD", r(0.25), r(0.5), r(0.25), r(0.5))), std::vector<Outcome>{kFails});
  // A diverged σ = 2 on CE counts as +inf (worse); a diverged constant leaves nothing to compare.
  EXPECT_EQ(outcomes(loss_contrast_findings("GD", r(0.25), r(0.5), diverged_run(), r(0.5))), std::vector<Outcome>{kHolds});
  EXPECT_EQ(outcomes(loss_contrast_findings("GD", r(0.25), r(0.5), r(0.25), diverged_run())), std::vector<Outcome>{kUnknown});
  EXPECT_EQ(edge_over_constant(r(0.75), r(0.5)), 1.5);
}

TEST(CdatFullBatchVerdict, TheEdgeFindingsAreTheFirstThreeAndNeedNoSharpness) {
  const CdatPair pair{cdat_run(warming_up, flat_sharpness, 0.1), cdat_run([](double) { return 0.5; }, sharpening, 0.2)};
  const auto constant = cdat_run([](double) { return 0.1; }, flat_sharpness, 0.15);
  EXPECT_EQ(outcomes(cdat_edge_findings("x", pair, constant)), std::vector<Outcome>(3, kHolds));
}

}  // namespace
}  // namespace cdat::experiments
