// What one reproduced experiment concludes: for each of the paper's claims our measurement and whether
// the claim holds on our runs, plus the tables and figures behind it. Written as Markdown (verdicts.md),
// JSON (verdicts.json) and printed as a table.
#pragma once

#include <string>
#include <vector>

namespace cdat::experiments {

enum class Outcome { kHolds, kDoesNotHold, kInconclusive };
std::string to_string(Outcome outcome);  // "holds", "does not hold", "inconclusive"

// The same rule judged on one seed's run alone.
struct SeedJudgement {
  std::string measurement;
  Outcome outcome = Outcome::kInconclusive;
};

struct Finding {
  std::string claim;        // the paper's claim, on one workload/optimizer
  std::string measurement;  // our numbers
  Outcome outcome = Outcome::kInconclusive;
  std::vector<SeedJudgement> on_seeds;  // judged over seeds (seeds.h): seed k's own measurement and outcome

  int seeds() const { return static_cast<int>(on_seeds.size()); }  // 0 = judged on one run
  int seeds_held() const;                                          // in how many of the seeds it held alone
};
// "holds", or "holds (2/3 seeds)" for a finding judged over seeds.
std::string verdict_text(const Finding& finding);

// Holds if `condition`, otherwise does not hold; inconclusive if `measurable` is false (missing runs).
Finding judge(std::string claim, std::string measurement, bool condition, bool measurable = true);

struct Table {
  std::string caption;
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
};

struct Report {
  std::string name;     // the experiment, e.g. "eos"
  std::string title;
  std::string paper;    // the paper's finding (PAPER §4), one paragraph
  std::vector<Finding> findings;
  std::vector<Table> tables;
  std::vector<std::string> figures;  // PNG paths relative to the experiment folder
  std::vector<std::string> notes;
};

// Appends `findings` to the report's, in order.
void add_findings(Report& report, std::vector<Finding> findings);
// Appends a figure file; "" (not drawn: figures off, or its script failed) adds nothing.
void add_figure(Report& report, const std::string& file);

std::string to_markdown(const Report& report);
std::string to_json(const Report& report);
// The findings as an aligned text table for the terminal.
std::string verdict_table(const Report& report);
std::string markdown_table(const Table& table);

}  // namespace cdat::experiments
