#include "experiments/verdicts.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>

#include "experiments/experiments.h"
#include "train/blowup.h"

namespace cdat::experiments {

EdgeStats edge_stats(const RunData& run) {
  EdgeStats s;
  s.lr = run.config.lr;
  const Series lambda = measured(run, "sharpness"), eta_lambda = edge_scaled_sharpness(run), loss = measured(run, "train_loss");
  if (lambda.empty() || loss.empty()) return s;
  s.lambda0 = lambda.value.front();
  s.lambda_max = *std::max_element(lambda.value.begin(), lambda.value.end());
  s.final_loss = run.final_train_loss;
  for (size_t i = 0; i < eta_lambda.step.size(); ++i) {
    if (eta_lambda.value[i] >= kEdgeArrival) {
      s.arrival = eta_lambda.step[i];
      break;
    }
  }
  if (std::isfinite(s.arrival)) {
    std::vector<double> after;
    for (size_t i = 0; i < eta_lambda.step.size(); ++i) {
      if (eta_lambda.step[i] >= s.arrival) after.push_back(eta_lambda.value[i]);
    }
    s.median_after = median(after);
    s.loss_at_arrival = value_at(loss, s.arrival);
    s.increases_after = increases(loss, s.arrival);
  }
  return s;
}

std::vector<Finding> eos_findings(const RunData& run) {
  const EdgeStats s = edge_stats(run);
  const std::string at = fmt::format("η = {:g}", s.lr);
  const bool measured_run = run.ok() && std::isfinite(s.lambda0);
  const bool arrived = measured_run && std::isfinite(s.arrival);
  return {
      judge(at + ": sharpness rises (progressive sharpening) to the edge 2/η",
            fmt::format("λ_max {} → {} (2/η = {})", num(s.lambda0), num(s.lambda_max), num(2 / s.lr)),
            s.lambda_max >= 1.1 * s.lambda0 && std::isfinite(s.arrival), measured_run),
      judge(at + ": then hovers at the edge (median η·λ within 2 ± 0.2)",
            fmt::format("median η·λ {} from step {:.0f} on", num(s.median_after), s.arrival),
            std::abs(s.median_after - 2.0) <= 0.2, arrived),
      judge(at + ": while the loss keeps decreasing, non-monotonically",
            fmt::format("loss {} → {} with {} increases", num(s.loss_at_arrival), num(s.final_loss), s.increases_after),
            s.final_loss < s.loss_at_arrival && s.increases_after > 0, arrived),
  };
}

double late_over_early(const Series& s, double early_from, double early_to) {
  return window_median(s, 0.9, 1.0) / window_median(s, early_from, early_to);
}

std::vector<Finding> undershoot_findings(const std::string& what, const RunData& run, const RunData& constant,
                                         bool two_step) {
  std::vector<Finding> findings;
  const Series eta_lambda = edge_scaled_sharpness(run), lr = measured(run, "lr"), lambda = measured(run, "sharpness"),
               grad = measured(run, "grad_norm"), loss = measured(run, "train_loss"),
               const_loss = measured(constant, "train_loss");
  const bool usable = run.completed && !lambda.empty();
  const double settled = two_step ? period_two(eta_lambda, 0.5, 1.0).two_step : window_median(eta_lambda, 0.5, 1.0);
  findings.push_back(judge(what + ": η·λ settles below the edge 2",
                           two_step ? fmt::format("median two-step product (η_t λ_t · η_(t+1) λ_(t+1))^(1/2) over the second half {}",
                                                  num(settled))
                                    : fmt::format("median η·λ over the second half {}", num(settled)),
                           settled < 1.95 && settled > 0.5, usable && std::isfinite(settled)));
  const double lr_ratio = late_over_early(lr, 0.1, 0.2);
  findings.push_back(judge(what + ": the learning rate keeps falling",
                           fmt::format("lr (last 10 %) / lr (10–20 %) = {}", num(lr_ratio)), lr_ratio < 1.0, usable && std::isfinite(lr_ratio)));
  const double lambda_ratio = late_over_early(lambda, 0.2, 0.3), grad_ratio = late_over_early(grad, 0.2, 0.3);
  findings.push_back(judge(what + ": sharpness keeps rising",
                           fmt::format("λ_max ×{} from 20–30 % of the run to the last 10 %", num(lambda_ratio)),
                           lambda_ratio > 1.0, usable && std::isfinite(lambda_ratio)));
  findings.push_back(judge(what + ": the gradient norm grows",
                           fmt::format("‖g‖ ×{} from 20–30 % of the run to the last 10 %", num(grad_ratio)),
                           grad_ratio > 1.0, usable && std::isfinite(grad_ratio)));
  const double early = std::max(1.0, std::round(last_step(run) / 20));
  const double ours_early = value_at(loss, early), const_early = value_at(const_loss, early);
  findings.push_back(judge(what + ": early gains over the tuned constant LR",
                           fmt::format("loss at step {:g}: {} vs constant {}", early, num(ours_early), num(const_early)),
                           ours_early < const_early, usable && constant.ok()));
  findings.push_back(judge(what + ": the tuned constant LR wins in the long run",
                           fmt::format("final loss {} vs constant {}", final_loss(run), num(constant.final_train_loss)),
                           run.rank_loss() > constant.final_train_loss, usable && constant.ok()));
  return findings;
}

double late_sharpening(const RunData& run) {
  const Series lambda = measured(run, "sharpness");
  return window_median(lambda, 0.9, 1.0) / window_median(lambda, 0.4, 0.5);
}

double early_decrease(const RunData& run, int steps) {
  const Series loss = measured(run, "train_loss");
  double sum = 0;
  int n = 0;
  for (size_t i = 1; i < loss.value.size() && static_cast<int>(i) <= steps; ++i, ++n) {
    sum += (loss.value[i - 1] - loss.value[i]) / loss.value[i - 1];
  }
  return n ? sum / n : std::nan("");
}

std::vector<Finding> cdat_edge_findings(const std::string& where, const CdatPair& pair, const RunData& constant) {
  std::vector<Finding> findings;
  const RunData& s2 = pair.sigma2;
  const bool have = s2.completed && pair.sigma1.completed && constant.completed;
  findings.push_back(judge(where + ": σ = 2 beats σ = 1",
                           fmt::format("final loss {} vs {}", final_loss(s2), final_loss(pair.sigma1)),
                           s2.rank_loss() < pair.sigma1.rank_loss(), have));
  findings.push_back(judge(where + ": σ = 2 beats the tuned constant LR",
                           fmt::format("final loss {} vs {} (lr {:g})", final_loss(s2), final_loss(constant), constant.config.lr),
                           s2.rank_loss() < constant.rank_loss(), have));
  const Series lr = measured(s2, "lr");
  const double rise = window_median(lr, 0.1, 0.2) / window_median(lr, 0.0, kWarmupStart);
  const double drift = window_median(lr, 0.75, 1.0) / window_median(lr, 0.5, 0.75);
  findings.push_back(judge(where + ": σ = 2's LR rises early like a warm-up, then stabilises",
                           fmt::format("lr(10–20 %) / lr(0–5 %) = {}; lr(last quarter) / lr(third quarter) = {}",
                                       num(rise), num(drift)),
                           rise >= kWarmupRise && drift > 0.8 && drift < 1.25,
                           s2.ok() && std::isfinite(rise) && std::isfinite(drift)));
  return findings;
}

std::vector<Finding> cdat_full_batch_findings(const std::string& where, const CdatPair& pair, const RunData& constant,
                                              const RunData& linesearch) {
  std::vector<Finding> findings = cdat_edge_findings(where, pair, constant);
  const RunData& s2 = pair.sigma2;
  const double ours = late_sharpening(s2);
  for (const auto& [name, classical] : {std::pair{"greedy (σ = 1)", &pair.sigma1}, std::pair{"linesearch", &linesearch}}) {
    const double theirs = late_sharpening(*classical);
    findings.push_back(judge(where + ": σ = 2 reduces progressive sharpening (vs " + name + ")",
                             fmt::format("λ_max growth from 40–50 % to the last 10 %: ×{} vs ×{}", num(ours), num(theirs)),
                             ours < theirs, s2.ok() && classical->completed && std::isfinite(ours) && std::isfinite(theirs)));
  }
  return findings;
}

std::vector<Finding> one_step_findings(const std::string& where, const CdatPair& pair) {
  const double greedy_early = early_decrease(pair.sigma1, 10), edge_early = early_decrease(pair.sigma2, 10);
  const bool have = pair.sigma1.completed && pair.sigma2.completed;
  return {
      judge(where + ": greedy decreases the loss more per step early on",
            fmt::format("mean one-step decrease {} vs {} (σ = 2)", num(greedy_early), num(edge_early)),
            greedy_early > edge_early, have),
      judge(where + ": σ = 2 wins over the run",
            fmt::format("final loss {} vs {} (greedy)", final_loss(pair.sigma2), final_loss(pair.sigma1)),
            pair.sigma2.rank_loss() < pair.sigma1.rank_loss(), have),
  };
}

double SigmaGrid::best_sigma(double ema, int64_t batch) const {
  const auto& v = ratios.at({ema, batch});
  return sigmas[std::min_element(v.begin(), v.end()) - v.begin()];
}

double SigmaGrid::spread(double ema, int64_t batch) const {
  const auto& v = ratios.at({ema, batch});
  return std::log10(*std::max_element(v.begin(), v.end())) - std::log10(*std::min_element(v.begin(), v.end()));
}

double SigmaGrid::best_ratio(double ema, int64_t batch) const {
  const auto& v = ratios.at({ema, batch});
  return *std::min_element(v.begin(), v.end());
}

std::string batch_name(int64_t batch) { return batch == 0 ? "full" : std::to_string(batch); }

bool has_mini_batch(const std::vector<int64_t>& batches) {
  return std::any_of(batches.begin(), batches.end(), [](int64_t b) { return b != 0; });
}

double mean_mini_batch_spread(const SigmaGrid& grid, double ema, const std::vector<int64_t>& batches) {
  double sum = 0;
  int mini = 0;
  for (int64_t b : batches) {
    if (b == 0) continue;
    sum += grid.spread(ema, b);
    ++mini;
  }
  return mini ? sum / mini : NAN;
}

double worst_gap_to_constant(const SigmaGrid& grid, const std::vector<double>& emas, const std::vector<int64_t>& batches,
                             const std::map<int64_t, double>& constant_ratio) {
  double worst = 0;
  for (int64_t b : batches) {
    if (b == 0) continue;
    double best = INFINITY;
    for (double ema : emas) best = std::min(best, grid.best_ratio(ema, b));
    worst = std::max(worst, best / constant_ratio.at(b));
  }
  return worst;
}

namespace {

// "EMA 0.9 lowers the mean spread over σ" and "the best σ is within 1.5 × the tuned constant", on one grid;
// `prefix` names the optimizer ("" for the original GD claims).
std::vector<Finding> sensitivity_and_parity_findings(const std::string& prefix, const SigmaGrid& grid,
                                                     const std::vector<int64_t>& batches,
                                                     const std::map<int64_t, double>& constant_ratio) {
  const double spread_plain = mean_mini_batch_spread(grid, 0.0, batches), spread_ema = mean_mini_batch_spread(grid, 0.9, batches);
  const double worst_gap = worst_gap_to_constant(grid, {0.0, 0.9}, batches, constant_ratio);
  const bool mini = has_mini_batch(batches);
  return {
      judge(prefix + "EMA smoothing reduces the sensitivity to σ in mini batch",
            fmt::format("mean spread over σ {} decades with EMA 0.9 vs {} without", num(spread_ema), num(spread_plain)),
            spread_ema < spread_plain, mini),
      judge(prefix + "in mini batch CDAT (best σ) is comparable to the tuned constant LR (within 1.5 ×)",
            fmt::format("worst best-CDAT / tuned-constant final-loss ratio over batch sizes: {}", num(worst_gap)),
            worst_gap <= kComparableToConstant, mini),
  };
}

}  // namespace

std::vector<Finding> mini_batch_findings(const SigmaGrid& grid, const std::vector<int64_t>& batches,
                                         const std::map<int64_t, double>& constant_ratio) {
  const int64_t smallest = batches.front();
  std::vector<Finding> findings = {
      judge("the best σ shrinks as the batch shrinks (no EMA)",
            fmt::format("best σ {:g} at batch {} vs {:g} in full batch", grid.best_sigma(0.0, smallest),
                        batch_name(smallest), grid.best_sigma(0.0, 0)),
            grid.best_sigma(0.0, smallest) < grid.best_sigma(0.0, 0), has_mini_batch(batches))};
  for (auto& f : sensitivity_and_parity_findings("", grid, batches, constant_ratio)) findings.push_back(std::move(f));
  return findings;
}

std::vector<Finding> classical_mini_batch_findings(const std::string& tuner, const std::map<int64_t, double>& ratio,
                                                   const std::map<int64_t, double>& constant_ratio,
                                                   const std::vector<int64_t>& batches) {
  const int64_t smallest = batches.front();
  const bool mini = smallest != 0;
  auto gap = [&](int64_t b) { return ratio.at(b) / constant_ratio.at(b); };
  const double small_gap = gap(smallest), full_gap = gap(0);
  return {
      judge(fmt::format("{} at batch {} is comparable to the tuned constant LR (within 1.5 ×)", tuner, batch_name(smallest)),
            fmt::format("final/initial {} vs constant {} (×{})", num(ratio.at(smallest)), num(constant_ratio.at(smallest)),
                        num(small_gap)),
            small_gap <= kComparableToConstant, mini && std::isfinite(small_gap)),
      judge(fmt::format("{}'s gap to the tuned constant is smaller in mini batch than in full batch", tuner),
            fmt::format("final/initial over the constant's: ×{} at batch {} vs ×{} in full batch", num(small_gap),
                        batch_name(smallest), num(full_gap)),
            small_gap < full_gap, mini && std::isfinite(small_gap) && std::isfinite(full_gap)),
  };
}

std::vector<Finding> adam_mini_batch_findings(const SigmaGrid& grid, const std::vector<int64_t>& batches,
                                              const std::map<int64_t, double>& constant_ratio) {
  return sensitivity_and_parity_findings("Adam + CDAT: ", grid, batches, constant_ratio);
}

std::vector<Finding> ema_099_findings(const SigmaGrid& grid, const std::vector<int64_t>& batches) {
  const double spread_09 = mean_mini_batch_spread(grid, 0.9, batches), spread_099 = mean_mini_batch_spread(grid, 0.99, batches);
  return {judge("EMA β = 0.99 reduces the sensitivity to σ further than β = 0.9 (GD, mini batch)",
                fmt::format("mean spread over σ {} decades with β = 0.99 vs {} with β = 0.9", num(spread_099), num(spread_09)),
                spread_099 < spread_09, has_mini_batch(batches))};
}

double edge_over_constant(const RunData& edge, const RunData& constant) {
  return constant.ok() ? edge.rank_loss() / constant.final_train_loss : NAN;
}

std::vector<Finding> loss_contrast_findings(const std::string& optimizer, const RunData& mse_edge,
                                            const RunData& mse_constant, const RunData& ce_edge,
                                            const RunData& ce_constant) {
  const double mse = edge_over_constant(mse_edge, mse_constant), ce = edge_over_constant(ce_edge, ce_constant);
  return {judge(fmt::format("{} on the same MLP: σ = 2 does worse against the tuned constant with cross-entropy than with MSE",
                            optimizer),
                fmt::format("σ = 2 / constant final loss: {} (CE) vs {} (MSE)", num(ce), num(mse)), ce > mse,
                mse_edge.completed && ce_edge.completed && !std::isnan(mse) && !std::isnan(ce))};
}

double advantage_trend(const FactorTrend& trend) {
  std::vector<double> log_value;
  for (double v : trend.value) log_value.push_back(std::log(v));
  return log_slope(log_value, trend.advantage);
}

std::vector<Finding> ablation_findings(const AblationAdvantages& a) {
  const double width = advantage_trend(a.width), depth = advantage_trend(a.depth), data = advantage_trend(a.data_size);
  const double without = median(a.without_decay), with = median(a.with_decay);
  const double decay_change = std::log(with / without);
  auto finite = [](double x) { return std::isfinite(x); };
  auto points = [](const FactorTrend& t) { return fmt::format("{} points", t.value.size()); };
  return {
      judge("CDAT's advantage grows with width",
            fmt::format("slope of log advantage over log width {} ({})", num(width), points(a.width)), width > 0, finite(width)),
      judge("CDAT's advantage grows with depth",
            fmt::format("slope of log advantage over log depth {} ({})", num(depth), points(a.depth)), depth > 0, finite(depth)),
      judge("weight decay matters (changes the advantage by ≥ 10 %)",
            fmt::format("median advantage {} without, {} with weight decay 1e-3", num(without), num(with)),
            std::abs(decay_change) >= std::log(kDecayMatters), finite(decay_change)),
      judge("more data helps little (the advantage's trend over data size is flatter than over width)",
            fmt::format("slope of log advantage over log data size {} vs over log width {}", num(data), num(width)),
            std::abs(data) < std::abs(width), finite(data) && finite(width)),
  };
}

double peak_over_initial(const RunData& run) {
  if (!run.ok()) return std::numeric_limits<double>::infinity();  // a run that did not finish has no columns
  return train::peak_over_initial(run.column("train_loss"), run.final_train_loss, true);
}

bool blew_up(const RunData& run) { return train::blew_up(peak_over_initial(run)); }

std::vector<Finding> safeguard_findings(const std::string& where, const std::vector<RunData>& defaults,
                                        const std::vector<RunData>& constant) {
  const OverSeeds ours = over_seeds(defaults), theirs = over_seeds(constant);
  bool finished = !defaults.empty() && !constant.empty();
  for (const auto& run : defaults) finished = finished && run.completed;
  return {
      judge(where + ": σ = 2 with the default safeguards never blows up (no divergence, loss ≤ 2 × initial)",
            fmt::format("{}/{} seeds blew up; final loss {}", ours.blowups, ours.runs, describe(ours)),
            ours.blowups == 0, finished),
      judge(where + ": σ = 2 with the default safeguards beats the tuned constant LR (median over seeds)",
            fmt::format("final loss {} vs {}", describe(ours), describe(theirs)), ours.median < theirs.median,
            finished && std::isfinite(theirs.median)),
  };
}

AblationEffect ablation_effect(const std::vector<AblationCell>& cells) {
  AblationEffect effect;
  for (const auto& cell : cells) {
    for (size_t i = 0; i < cell.with_it.size() && i < cell.without_it.size(); ++i) {
      effect.newly_blown += blew_up(cell.without_it[i]) && !blew_up(cell.with_it[i]);
    }
    if (over_seeds(cell.without_it).median > kAblationWorse * over_seeds(cell.with_it).median) ++effect.worse_cells;
  }
  return effect;
}

bool safeguard_earns_its_place(const std::vector<AblationCell>& cells) {
  const AblationEffect effect = ablation_effect(cells);
  return effect.newly_blown > 0 || effect.worse_cells >= kAblationCellsNeeded;
}

std::vector<double> seed_ratios(const DefaultsCell& cell) {
  std::vector<double> ratios;
  for (size_t k = 0; k < cell.cdat.size() && k < cell.constant.size(); ++k) {
    const RunData &ours = cell.cdat[k], &theirs = cell.constant[k];
    if (!theirs.ok() || !ours.completed) {
      ratios.push_back(NAN);  // nothing to compare with (a failed baseline, or our run did not finish)
    } else {
      ratios.push_back(blew_up(ours) ? std::numeric_limits<double>::infinity()
                                     : ours.final_train_loss / theirs.final_train_loss);
    }
  }
  return ratios;
}

namespace {

// The median of finite-or-infinite values, NaN when any is NaN (a missing comparison makes the cell unknown).
double median_or_nan(const std::vector<double>& values) {
  if (values.empty() || std::any_of(values.begin(), values.end(), [](double v) { return std::isnan(v); })) return NAN;
  return median(values);
}

// The median of the finite values (NaN when there are none): costs whose runs did not finish drop out.
double median_of_finite(const std::vector<double>& values) {
  std::vector<double> finite;
  std::copy_if(values.begin(), values.end(), std::back_inserter(finite), [](double v) { return std::isfinite(v); });
  return median(finite);
}

// Wall time of a step, from metrics.csv's cumulative wall_time_s (NaN without it).
double seconds_per_step(const RunData& run) {
  if (!run.ok()) return NAN;
  const auto column = run.columns.find("wall_time_s");
  if (column == run.columns.end() || column->second.empty()) return NAN;
  return column->second.back() / static_cast<double>(column->second.size());
}

}  // namespace

std::string ratio_or_blowup(double ratio) { return std::isinf(ratio) ? "∞ (blew up)" : num(ratio); }

std::string ratios_text(const std::vector<double>& ratios) {
  std::string text;
  for (double r : ratios) text += (text.empty() ? "" : ", ") + (std::isinf(r) ? std::string("blew up") : num(r));
  return text;
}

double cell_ratio(const DefaultsCell& cell) { return median_or_nan(seed_ratios(cell)); }

double cost_ratio(const DefaultsCell& cell) {
  std::vector<double> ratios;
  for (size_t k = 0; k < cell.cdat.size() && k < cell.constant.size(); ++k) {
    ratios.push_back(seconds_per_step(cell.cdat[k]) / seconds_per_step(cell.constant[k]));
  }
  return median_of_finite(ratios);
}

DefaultsSummary summarize_defaults(const std::vector<DefaultsCell>& cells) {
  DefaultsSummary summary;
  std::vector<double> cell_ratios, costs;
  for (const auto& cell : cells) {
    std::vector<bool> blown;
    for (const auto& run : cell.cdat) {
      blown.push_back(blew_up(run));
      ++summary.runs;
      summary.blowups += blown.back() ? 1 : 0;
    }
    summary.blown.push_back(blown);
    cell_ratios.push_back(cell_ratio(cell));
    costs.push_back(cost_ratio(cell));
  }
  if (cells.empty()) return summary;
  // The worst cell: the first whose ratio is unknown (NaN), else the one with the largest ratio (+∞: blew up).
  auto worst = std::find_if(cell_ratios.begin(), cell_ratios.end(), [](double r) { return std::isnan(r); });
  if (worst == cell_ratios.end()) worst = std::max_element(cell_ratios.begin(), cell_ratios.end());
  summary.worst_ratio = *worst;
  summary.worst_cell = cells[static_cast<size_t>(worst - cell_ratios.begin())].where;
  summary.median_ratio = median_or_nan(cell_ratios);
  summary.median_cost = median_of_finite(costs);
  return summary;
}

std::vector<Finding> defaults_findings(const std::vector<DefaultsCell>& cells) {
  std::vector<Finding> findings;
  for (const auto& cell : cells) {
    const std::vector<double> ratios = seed_ratios(cell);
    const double ratio = cell_ratio(cell);
    const int blown = static_cast<int>(std::count_if(cell.cdat.begin(), cell.cdat.end(), [](const RunData& r) { return blew_up(r); }));
    const bool measured = !std::isnan(ratio);
    findings.push_back(judge(cell.where + ": the defaults do not blow up",
                             fmt::format("{}/{} seeds blew up", blown, cell.cdat.size()), blown == 0,
                             std::all_of(cell.cdat.begin(), cell.cdat.end(), [](const RunData& r) { return r.completed; })));
    findings.push_back(judge(cell.where + fmt::format(": the defaults end within {:g} × the per-seed tuned constant LR", kDefaultsWorstTarget),
                             fmt::format("ratio {} (seeds: {})", ratio_or_blowup(ratio), ratios_text(ratios)),
                             ratio <= kDefaultsWorstTarget, measured));
  }
  for (auto& finding : defaults_target_findings(summarize_defaults(cells), cells.size(), "the defaults")) {
    findings.push_back(std::move(finding));
  }
  return findings;
}

std::vector<bool> defaults_targets(const DefaultsSummary& summary) {
  return {summary.blowups == 0, summary.median_ratio <= kDefaultsMedianTarget, summary.worst_ratio <= kDefaultsWorstTarget};
}

std::string versus_defaults(const DefaultsSummary& changed, const DefaultsSummary& defaults) {
  return fmt::format("blew up {} (defaults {}), median ratio {} ({}), worst {} ({})", changed.blowups, defaults.blowups,
                     ratio_or_blowup(changed.median_ratio), ratio_or_blowup(defaults.median_ratio),
                     ratio_or_blowup(changed.worst_ratio), ratio_or_blowup(defaults.worst_ratio));
}

std::vector<Finding> defaults_target_findings(const DefaultsSummary& summary, size_t cells, const std::string& whose) {
  const bool measured = !std::isnan(summary.median_ratio);
  const std::vector<bool> met = defaults_targets(summary);
  return {judge("no run of " + whose + " blows up", fmt::format("{} of {} runs blew up", summary.blowups, summary.runs),
                met[0], summary.runs > 0),
          judge(fmt::format("the median over cells of {}' ratio to the tuned constant is ≤ {:g}", whose, kDefaultsMedianTarget),
                fmt::format("median {} over {} cells", num(summary.median_ratio), cells), met[1], measured),
          judge(fmt::format("{}: the worst cell's ratio is ≤ {:g}", whose, kDefaultsWorstTarget),
                fmt::format("worst {} ({})", ratio_or_blowup(summary.worst_ratio), summary.worst_cell), met[2], measured)};
}

bool keeps_targets(const DefaultsSummary& defaults, const DefaultsSummary& adopted) {
  const std::vector<bool> before = defaults_targets(defaults), after = defaults_targets(adopted);
  for (size_t i = 0; i < before.size(); ++i) {
    if (before[i] && !after[i]) return false;
  }
  return true;
}

bool candidate_adopted(const DefaultsSummary& defaults, const DefaultsSummary& candidate, bool lowers_cost) {
  for (size_t i = 0; i < defaults.blown.size() && i < candidate.blown.size(); ++i) {
    for (size_t k = 0; k < defaults.blown[i].size() && k < candidate.blown[i].size(); ++k) {
      if (candidate.blown[i][k] && !defaults.blown[i][k]) return false;  // (1) a new blow-up
    }
  }
  if (!(candidate.median_ratio <= kCandidateMedianSlack * defaults.median_ratio)) return false;  // (3)
  if (lowers_cost) {
    return candidate.worst_ratio <= kCandidateMedianSlack * defaults.worst_ratio && candidate.median_cost < defaults.median_cost;
  }
  if (std::isinf(candidate.worst_ratio) && std::isinf(defaults.worst_ratio)) {
    return candidate.blowups < defaults.blowups;  // (2), both worst cells blew up: fewer blow-ups is lower
  }
  return candidate.worst_ratio < defaults.worst_ratio;  // (2)
}

std::vector<Finding> linear_findings(const std::string& what, const RunData& tuner, const RunData& constant) {
  const double ratio = tuner.rank_loss() / constant.rank_loss();
  return {judge(what + ": as effective as the tuned constant LR (final loss ≤ 1.1 × its)",
                fmt::format("final loss {} vs constant {} (lr {:g}): ×{}", final_loss(tuner), final_loss(constant),
                            constant.config.lr, num(ratio)),
                tuner.rank_loss() <= kLinearEffective * constant.rank_loss(), tuner.completed && constant.ok())};
}

std::vector<Finding> lr_decay_findings(const std::string& what, const RunData& run) {
  const double lr_ratio = late_over_early(measured(run, "lr"), 0.1, 0.2);
  const double lambda_ratio = late_over_early(measured(run, "sharpness"), 0.1, 0.2);
  return {judge(what + ": the learning rate falls by at least an order of magnitude",
                fmt::format("lr (last 10 %) / lr (10–20 %) = {}", num(lr_ratio)), lr_ratio <= kLrDecayFactor,
                run.ok() && std::isfinite(lr_ratio)),
          judge(what + ": while sharpness keeps rising",
                fmt::format("λ_max ×{} from 10–20 % of the run to the last 10 %", num(lambda_ratio)), lambda_ratio > 1.0,
                run.ok() && std::isfinite(lambda_ratio))};
}

}  // namespace cdat::experiments
