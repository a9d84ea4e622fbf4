// Verdicts and their Markdown / JSON forms, and the experiment registry.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include <cdat/errors.h>

#include "experiments/experiments.h"
#include "experiments/report.h"

namespace cdat::experiments {
namespace {

TEST(Judge, HoldsDoesNotHoldOrInconclusive) {
  EXPECT_EQ(judge("c", "m", true).outcome, Outcome::kHolds);
  EXPECT_EQ(judge("c", "m", false).outcome, Outcome::kDoesNotHold);
  EXPECT_EQ(judge("c", "m", true, /*measurable=*/false).outcome, Outcome::kInconclusive);
}

Report sample() {
  Report r{"eos", "Edge of stability", "λ rises to 2/η.", {}, {}, {}, {}};
  r.findings.push_back(judge("η = 0.04: hovers at the edge", "median η·λ 2.01", true));
  r.findings.push_back(judge("η = 0.04: loss decreases", "0.1 → 0.2", false));
  r.tables.push_back({"Runs.", {"η", "final loss"}, {{"0.04", "0.05"}}});
  r.figures.push_back("eos.png");
  r.notes.push_back("a note");
  return r;
}

TEST(Report, MarkdownHasTheVerdictTableTablesFiguresAndNotes) {
  const std::string md = to_markdown(sample());
  EXPECT_NE(md.find("# Edge of stability (`cdat reproduce eos`)"), std::string::npos);
  EXPECT_NE(md.find("| η = 0.04: hovers at the edge | median η·λ 2.01 | **holds** |"), std::string::npos) << md;
  EXPECT_NE(md.find("| η = 0.04: loss decreases | 0.1 → 0.2 | **does not hold** |"), std::string::npos);
  EXPECT_NE(md.find("| 0.04 | 0.05 |"), std::string::npos);
  EXPECT_NE(md.find("![eos.png](eos.png)"), std::string::npos);
  EXPECT_NE(md.find("- a note"), std::string::npos);
}

TEST(Report, JsonRoundTrips) {
  const auto j = nlohmann::json::parse(to_json(sample()));
  EXPECT_EQ(j["experiment"], "eos");
  ASSERT_EQ(j["findings"].size(), 2u);
  EXPECT_EQ(j["findings"][1]["verdict"], "does not hold");
  EXPECT_EQ(j["tables"][0]["rows"][0][1], "0.05");
}

TEST(Registry, EveryExperimentOfTheIssueIsThereAndUnknownNamesAreListed) {
  std::vector<std::string> names;
  for (const auto& e : all_experiments()) names.push_back(e.name);
  EXPECT_EQ(names, (std::vector<std::string>{"eos", "undershoot", "linear", "lr-decay", "cdat-full-batch", "one-step-vs-long",
                                             "mini-batch", "ablation", "dynamics", "safeguards", "defaults"}));
  try {
    find_experiment("warmup");
    FAIL() << "no error";
  } catch (const InvalidOption& e) {
    EXPECT_NE(std::string(e.what()).find("unknown experiment 'warmup' (choose from: eos, undershoot"), std::string::npos);
  }
}

TEST(Report, FindingsJudgedOverSeedsListEachSeedsMeasurementAndOutcome) {
  Report r = sample();
  EXPECT_EQ(to_markdown(r).find("**Per seed**"), std::string::npos);  // one run: no per-seed table
  r.findings[0].on_seeds = {{"median η·λ 1.98", Outcome::kHolds}, {"median η·λ 2.4", Outcome::kDoesNotHold}};
  const std::string md = to_markdown(r);
  EXPECT_NE(md.find("| claim | seed 0 | seed 1 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| η = 0.04: hovers at the edge | holds: median η·λ 1.98 | does not hold: median η·λ 2.4 |"),
            std::string::npos)
      << md;
  const std::string one_run_claim = "| η = 0.04: loss decreases |";  // judged on one run: in the verdicts only
  EXPECT_EQ(md.find(one_run_claim, md.find(one_run_claim) + 1), std::string::npos) << md;
  const auto j = nlohmann::json::parse(to_json(r));
  ASSERT_EQ(j["findings"][0]["on_seeds"].size(), 2u);
  EXPECT_EQ(j["findings"][0]["on_seeds"][1]["verdict"], "does not hold");
  EXPECT_EQ(j["findings"][0]["on_seeds"][1]["measurement"], "median η·λ 2.4");
  EXPECT_FALSE(j["findings"][1].contains("on_seeds"));
}

TEST(Formatting, ARatioWithADivergedSideIsADashNotZero) {
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(ratio_text(1.0, 4.0), "0.25");
  EXPECT_EQ(ratio_text(24.5, inf), "—");  // a diverged median below: no ratio (it printed 0 before)
  EXPECT_EQ(ratio_text(inf, 1.0), "—");
  EXPECT_EQ(ratio_text(NAN, 1.0), "—");
}

TEST(Report, AddFindingsKeepsTheirOrderAndAnUndrawnFigureAddsNothing) {
  Report report;
  add_findings(report, {judge("a", "1", true), judge("b", "2", false)});
  add_findings(report, {judge("c", "3", true)});
  ASSERT_EQ(report.findings.size(), 3u);
  EXPECT_EQ(report.findings[0].claim, "a");
  EXPECT_EQ(report.findings[2].claim, "c");
  add_figure(report, "");  // figures off, or the script failed
  add_figure(report, "x.png");
  EXPECT_EQ(report.figures, (std::vector<std::string>{"x.png"}));
}

TEST(Formatting, ATunedBaselinesCellIsItsLossOverSeedsThenItsLearningRate) {
  OverSeeds loss;
  loss.median = 0.125, loss.low = 0.1, loss.high = 0.25, loss.runs = 3;
  EXPECT_EQ(loss_and_lr(loss, 0.05), "0.125 (0.1–0.25) (0.05)");
  EXPECT_EQ(tuned_constant_label(0.05), "tuned constant lr=0.05");
}

}  // namespace
}  // namespace cdat::experiments
