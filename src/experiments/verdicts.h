// The verdict rules of `cdat reproduce` (PAPER §4): pure functions from run data (metrics read back from
// the runs) to the findings each experiment reports. The experiments run the training and call these;
// the unit tests call them on synthetic series.
#pragma once

#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "experiments/context.h"
#include "experiments/report.h"
#include "experiments/seeds.h"
#include "experiments/series.h"
#include "experiments/run_store.h"
#include "experiments/tuner_runs.h"

namespace cdat::experiments {

// ---- eos (§4.1): constant-LR GD sharpens to the edge 2/η, hovers there, loss falls non-monotonically.
constexpr double kEdgeArrival = 1.9;  // η·λ at which the run counts as having reached the edge

struct EdgeStats {
  double lr = 0, lambda0 = NAN, lambda_max = NAN, arrival = NAN, median_after = NAN, loss_at_arrival = NAN;
  double final_loss = NAN;
  int64_t increases_after = 0;
};
EdgeStats edge_stats(const RunData& run);
// Three findings: sharpens to the edge (λ_max ≥ 1.1 λ₀ and η·λ reaches 1.9); hovers (median η·λ after
// arrival within 2 ± 0.2); loss falls (final < at arrival) with at least one increase after arrival.
std::vector<Finding> eos_findings(const RunData& run);

// ---- undershoot (§4.2): linesearch / greedy settle below the edge.
// Median of the last 10 % of the run over the median of the window [early_from, early_to].
double late_over_early(const Series& s, double early_from, double early_to);
// Six findings on `run` (a linesearch or greedy run) against the tuned constant LR's best run:
// η·λ over the second half in (0.5, 1.95); lr falls (last 10 % / 10–20 % < 1); λ_max and ‖g‖ rise
// (last 10 % / 20–30 % > 1); lower loss than the constant at step T/20; higher final loss than it.
// With `two_step` (a run measured at pairs (t, t+1), RunConfig::sharpness_pairs: greedy, whose η·λ zigzags with
// period 2), the first finding reads the median two-step product (η_t λ_t · η_{t+1} λ_{t+1})^{1/2} over the
// second half (series.h, period_two) instead of the median of η·λ, which would pick one phase or mix them.
std::vector<Finding> undershoot_findings(const std::string& what, const RunData& run, const RunData& constant,
                                         bool two_step = false);

// ---- cdat-full-batch and one-step-vs-long (§4.3).
// λ_max over the last 10 % of the run relative to the 40–50 % window: > 1 means still sharpening.
double late_sharpening(const RunData& run);
// Mean relative one-step decrease (f_t − f_{t+1}) / f_t over the first `steps` steps.
double early_decrease(const RunData& run, int steps);
// The warm-up rule: the median lr over 10–20 % of the run is at least 1.5 × the median lr over its first 5 %
// (medians of whole windows, so the step-0 LR, GD's largest by construction, weighs as one point of many).
constexpr double kWarmupStart = 0.05, kWarmupRise = 1.5;
// Five findings: σ = 2 beats σ = 1; beats the tuned constant (final loss); its lr rises like a warm-up (median
// lr over 10–20 % ≥ 1.5 × over 0–5 %) and then stabilises (median lr of the last quarter / third quarter in
// (0.8, 1.25)); it sharpens less late in the run (late_sharpening) than greedy (σ = 1) and than linesearch, the
// classical tuners the paper contrasts it with. The tuned warm-up + cosine schedule is a comparison in the
// tables, not a claim.
std::vector<Finding> cdat_full_batch_findings(const std::string& where, const CdatPair& pair, const RunData& constant,
                                              const RunData& linesearch);
// The first three of them (σ = 2 vs σ = 1, vs the tuned constant, the warm-up shape): the findings that need no
// sharpness measurement.
std::vector<Finding> cdat_edge_findings(const std::string& where, const CdatPair& pair, const RunData& constant);
// Two findings: greedy's mean one-step decrease over the first 10 steps is larger than σ = 2's; σ = 2 has the
// lower final loss.
std::vector<Finding> one_step_findings(const std::string& where, const CdatPair& pair);

// ---- mini-batch (§4.4): final/initial loss over σ × batch size, with and without EMA.
std::string batch_name(int64_t batch);  // "full" for 0, else the number
struct SigmaGrid {
  std::vector<double> sigmas;
  // (EMA β, batch size; 0 = full batch) → final/initial train loss for each σ, in the order of `sigmas`.
  std::map<std::pair<double, int64_t>, std::vector<double>> ratios;
  double best_sigma(double ema, int64_t batch) const;
  // Decades of final/initial between the best and the worst σ.
  double spread(double ema, int64_t batch) const;
  double best_ratio(double ema, int64_t batch) const;
};
// Three findings, over the mini batch sizes of `batches` (0 = full batch, the last): the best σ without EMA
// is smaller at the smallest batch than in full batch; the mean spread is smaller with EMA 0.9 than without;
// the best CDAT ratio is within 1.5 × the tuned constant's ratio (`constant_ratio` per batch) everywhere.
std::vector<Finding> mini_batch_findings(const SigmaGrid& grid, const std::vector<int64_t>& batches,
                                         const std::map<int64_t, double>& constant_ratio);

// ---- ablation (§4.5): advantage = tuned constant final loss / CDAT final loss (0 when CDAT diverged).
// A factor's points: one (factor value, advantage) per value and seed.
struct FactorTrend {
  std::vector<double> value, advantage;
};
// Least-squares slope of log advantage against log factor value over all points (series.h, log_slope): NaN
// with fewer than 3 usable points (advantage > 0).
double advantage_trend(const FactorTrend& trend);
constexpr double kDecayMatters = 1.1;
struct AblationAdvantages {
  FactorTrend width, depth, data_size;
  std::vector<double> without_decay, with_decay;  // over seeds
};
// Four findings: the advantage grows with width and with depth (trend > 0); weight decay changes the median
// advantage by ≥ 10 %; the trend over data size is flatter (in absolute value) than over width.
std::vector<Finding> ablation_findings(const AblationAdvantages& a);

// ---- safeguards (issue 11; not a claim of the paper): CDAT σ = 2 with its default safeguards over seeds.
// These rules were written down and committed before any run they judge.
// "Blew up" (train/blowup.h, the rule summary.json's flag is written with): no step may raise the loss above
// train::kBlowupFactor = 2 × the initial loss.
constexpr double kAblationWorse = 1.1;    // a safeguard earns its place if, switched off, the median final
constexpr int kAblationCellsNeeded = 2;   // loss rises > 10 % in at least 2 cells, or a run blows up

// The largest train loss of a run over its first one (+inf when the run diverged or did not finish):
// train::peak_over_initial on the run's metrics.
double peak_over_initial(const RunData& run);
// A run that diverged, failed, or raised its loss above train::kBlowupFactor × the initial loss (train::blew_up).
bool blew_up(const RunData& run);
// Two findings on one cell (workload × optimizer): with the default safeguards no seed blows up (no
// divergence, every loss ≤ 2 × the initial); and whether σ = 2 with them beats the tuned constant LR
// (median over seeds), which is reported as found, not a target.
std::vector<Finding> safeguard_findings(const std::string& where, const std::vector<RunData>& defaults,
                                        const std::vector<RunData>& constant);
// One safeguard's ablation: for each cell, the runs with that safeguard and without it, all else equal
// (same seeds). It is kept when, without it, a run blows up that did not with it, or the median final loss
// rises by more than 10 % in at least 2 cells.
struct AblationCell {
  std::vector<RunData> with_it, without_it;
};
// What going without it did: runs that blew up only without it (same seed), and cells whose median final
// loss rose by more than 10 %.
struct AblationEffect {
  int newly_blown = 0, worse_cells = 0;
};
AblationEffect ablation_effect(const std::vector<AblationCell>& cells);
bool safeguard_earns_its_place(const std::vector<AblationCell>& cells);

// ---- defaults (issue 24; not a claim of the paper): does CDAT with its defaults keep the promise of "no
// learning-rate sweep"? These rules were written down and committed before any run they judge.
// A cell is a workload × base optimizer × batch size. On each seed, the default CDAT's ratio is its final train
// loss over the final train loss of the constant LR tuned for that very seed (LrSearch: factor-2 grid widened
// until interior, then refined to √2); a run that blew up (blew_up: diverged, failed, or a train loss above
// 2 × the initial) has ratio +∞. A cell's ratio is the median over its seeds. The targets (issue 24):
constexpr double kDefaultsMedianTarget = 1.0;  // the median over cells of the cells' ratios is ≤ 1
constexpr double kDefaultsWorstTarget = 2.0;   // every cell's ratio is ≤ 2 (the worst cell)
// and no run of the defaults blows up. A candidate change of the defaults is adopted when, on the same cells
// and seeds, (1) none of its runs blows up where the defaults' run of that cell and seed did not, (2) it
// lowers the worst cell's ratio (where both worst cells blew up, ratio +∞: it has fewer runs that blow up;
// amended after the 0.02-scale smoke run, before the runs it judges), and (3) it raises the median over cells by at most kCandidateMedianSlack; a
// candidate meant to cut the cost of a step (not its loss) is adopted under (1) and (3) when it also raises the
// worst cell's ratio by at most that slack and lowers the median cost of a step.
constexpr double kCandidateMedianSlack = 1.05;

struct DefaultsCell {
  std::string where;                     // "mlp-ce, Adam, full batch"
  std::vector<RunData> cdat, constant;   // per seed: the default CDAT, that seed's tuned constant
};
// Per seed: CDAT's final train loss over the tuned constant's (+∞ where CDAT blew up; NaN where the constant
// did not finish or no run is there).
std::vector<double> seed_ratios(const DefaultsCell& cell);
// The cell's ratio: the median of seed_ratios (+∞ when most seeds blew up).
double cell_ratio(const DefaultsCell& cell);
// A ratio for tables and measurements: "∞ (blew up)" where a default blew up (num() prints "—", as for an
// unknown one).
std::string ratio_or_blowup(double ratio);
// "0.5, blew up, 2": per-seed ratios for the tables.
std::string ratios_text(const std::vector<double>& ratios);
// A step's wall time over the tuned constant's step, per seed (from metrics.csv's wall_time_s), and its median.
double cost_ratio(const DefaultsCell& cell);

struct DefaultsSummary {
  int runs = 0, blowups = 0;
  double median_ratio = NAN, worst_ratio = NAN, median_cost = NAN;
  std::string worst_cell;
  std::vector<std::vector<bool>> blown;  // per cell, per seed
};
DefaultsSummary summarize_defaults(const std::vector<DefaultsCell>& cells);
// Per cell: no seed blows up; the ratio is ≤ kDefaultsWorstTarget. Then the three targets over all cells.
std::vector<Finding> defaults_findings(const std::vector<DefaultsCell>& cells);
// The three targets over all cells, for `whose` runs ("the defaults"): no blow-up, the median, the worst cell.
std::vector<Finding> defaults_target_findings(const DefaultsSummary& summary, size_t cells, const std::string& whose);
// Whether a summary meets each of the three targets (in the order of defaults_target_findings).
std::vector<bool> defaults_targets(const DefaultsSummary& summary);
// "blew up 3 (defaults 7), median ratio 1.46 (1.56), worst 3.72 (∞ (blew up))": a summary beside the defaults'.
std::string versus_defaults(const DefaultsSummary& changed, const DefaultsSummary& defaults);
// The adoption rule above; `lowers_cost`: the candidate is meant to cut the cost of a step.
bool candidate_adopted(const DefaultsSummary& defaults, const DefaultsSummary& candidate, bool lowers_cost);
// The adopted candidates run together stay only if they keep every target the defaults met (docs/tuning.md).
bool keeps_targets(const DefaultsSummary& defaults, const DefaultsSummary& adopted);

// ---- linear (PAPER Figure 2; issue 13): the classical tuners are effective on linear models. These rules
// were written down and committed before any run they judge.
// "Effective" = as good as the tuned constant LR without being tuned: a final train loss at most 1.1 × the
// constant's (1.1 leaves room for the constant's advantage of being the best of a factor-2 grid; strictly
// beating it is not claimed).
constexpr double kLinearEffective = 1.1;
// One finding: `what` (a linesearch or greedy run on a linear model) ends with rank_loss() ≤ kLinearEffective ×
// the tuned constant LR's (a diverged run ranks +∞ and fails); inconclusive unless both runs finished.
std::vector<Finding> linear_findings(const std::string& what, const RunData& tuner, const RunData& constant);

// ---- lr-decay (PAPER §4 finding 2: the LR of the classical tuners keeps falling, "orders of magnitude over
// long runs"). Written down and committed before any run it judges.
// The paper's orders of magnitude are read from the start of its runs; we read from 10–20 % of the run (after
// the first transient, and not GD's structurally large step-0 LR, issue 13) to the last 10 %, so we ask for one
// decade over that stretch: a fall ≥ 10 × that is still under way at 10 % of the run.
constexpr double kLrDecayFactor = 0.1;
// Two findings on a long linesearch or greedy run: the median lr over the last 10 % of the run is ≤
// kLrDecayFactor × its median over 10–20 % (late_over_early); and λ_max rises between the same windows (ratio
// > 1), the mechanism (PAPER §5: η ≈ 1.9/λ falls because λ keeps growing). Inconclusive when the run is not
// ok() or a window holds fewer than kMinWindowPoints measurements.
std::vector<Finding> lr_decay_findings(const std::string& what, const RunData& run);

// ---- issue 13 coverage: mini-batch classical tuners, Adam + CDAT, EMA β = 0.99; CE vs MSE on the same MLP.
// These rules were written down and committed before any run they judge (docs/REPORT.md, "Verdict rules").
constexpr double kComparableToConstant = 1.5;  // "comparable": final/initial within 1.5 × the tuned constant's

// Mean SigmaGrid::spread over the mini batch sizes of `batches` (0 = full batch is skipped); NaN without any.
double mean_mini_batch_spread(const SigmaGrid& grid, double ema, const std::vector<int64_t>& batches);
bool has_mini_batch(const std::vector<int64_t>& batches);  // any batch size but 0 (full batch)
// The largest (best ratio over `emas` and σ) / constant_ratio over the mini batch sizes; 0 without any.
double worst_gap_to_constant(const SigmaGrid& grid, const std::vector<double>& emas, const std::vector<int64_t>& batches,
                             const std::map<int64_t, double>& constant_ratio);
// Two findings on a classical tuner in mini batch (PAPER §4.4: stochasticity explains their earlier success),
// from its final/initial `ratio` and the tuned constant's per batch size (smallest first, 0 = full batch last):
// at the smallest batch its ratio is within 1.5 × the constant's; and its gap to the constant (ratio over the
// constant's) is smaller at the smallest batch than in full batch.
std::vector<Finding> classical_mini_batch_findings(const std::string& tuner, const std::map<int64_t, double>& ratio,
                                                   const std::map<int64_t, double>& constant_ratio,
                                                   const std::vector<int64_t>& batches);
// Two findings on Adam + CDAT's σ × batch grid (EMA 0 and 0.9) against Adam's own tuned constant: EMA 0.9 lowers
// the mean spread over σ in mini batch; the best σ (with or without EMA) is within 1.5 × the constant's
// final/initial at every mini batch size.
std::vector<Finding> adam_mini_batch_findings(const SigmaGrid& grid, const std::vector<int64_t>& batches,
                                              const std::map<int64_t, double>& constant_ratio);
// One finding on GD + CDAT: the mean spread over σ in mini batch is smaller with EMA β = 0.99 than with 0.9.
std::vector<Finding> ema_099_findings(const SigmaGrid& grid, const std::vector<int64_t>& batches);

// σ = 2's final loss over the tuned constant's (rank_loss: +inf for a diverged σ = 2); NaN unless the constant is ok().
double edge_over_constant(const RunData& edge, const RunData& constant);
// One finding per optimizer: on the same MLP, σ = 2 does worse against the tuned constant with cross-entropy
// (mlp-ce) than with MSE (mlp-mse): edge_over_constant is larger on CE. The report's "cross-entropy is what
// σ = 2 does badly on" then holds on one architecture.
std::vector<Finding> loss_contrast_findings(const std::string& optimizer, const RunData& mse_edge,
                                            const RunData& mse_constant, const RunData& ce_edge,
                                            const RunData& ce_constant);

}  // namespace cdat::experiments
