#include "experiments/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

namespace cdat::experiments {

std::string to_string(Outcome outcome) {
  switch (outcome) {
    case Outcome::kHolds: return "holds";
    case Outcome::kDoesNotHold: return "does not hold";
    case Outcome::kInconclusive: return "inconclusive";
  }
  return "?";
}

std::string verdict_text(const Finding& f) {
  if (f.seeds() == 0) return to_string(f.outcome);
  return fmt::format("{} ({}/{} seeds)", to_string(f.outcome), f.seeds_held(), f.seeds());
}

int Finding::seeds_held() const {
  return static_cast<int>(std::count_if(on_seeds.begin(), on_seeds.end(),
                                        [](const SeedJudgement& s) { return s.outcome == Outcome::kHolds; }));
}

Finding judge(std::string claim, std::string measurement, bool condition, bool measurable) {
  Finding f{std::move(claim), std::move(measurement), Outcome::kInconclusive, {}};
  if (measurable) f.outcome = condition ? Outcome::kHolds : Outcome::kDoesNotHold;
  return f;
}

void add_findings(Report& report, std::vector<Finding> findings) {
  for (auto& f : findings) report.findings.push_back(std::move(f));
}

void add_figure(Report& report, const std::string& file) {
  if (!file.empty()) report.figures.push_back(file);
}

std::string markdown_table(const Table& table) {
  auto row = [](const std::vector<std::string>& cells) {
    std::string line = "|";
    for (const auto& c : cells) line += " " + c + " |";
    return line + "\n";
  };
  std::string out;
  if (!table.caption.empty()) out += table.caption + "\n\n";
  out += row(table.header);
  out += row(std::vector<std::string>(table.header.size(), "---"));
  for (const auto& r : table.rows) out += row(r);
  return out;
}

namespace {

// Each seed's run judged alone, for the findings judged over seeds: what "holds (k/n seeds)" counts.
std::string per_seed_table(const std::vector<Finding>& findings) {
  size_t seeds = 0;
  for (const auto& f : findings) seeds = std::max(seeds, f.on_seeds.size());
  if (seeds == 0) return "";
  Table table{"**Per seed**: the same rules judged on each seed's run alone (the verdicts above are the median run's).",
              {"claim"}, {}};
  for (size_t k = 0; k < seeds; ++k) table.header.push_back(fmt::format("seed {}", k));
  for (const auto& f : findings) {
    if (f.on_seeds.empty()) continue;
    std::vector<std::string> row = {f.claim};
    for (const auto& s : f.on_seeds) row.push_back(fmt::format("{}: {}", to_string(s.outcome), s.measurement));
    row.resize(seeds + 1);
    table.rows.push_back(row);
  }
  return "\n" + markdown_table(table);
}

}  // namespace

std::string to_markdown(const Report& report) {
  std::string out = fmt::format("# {} (`cdat reproduce {}`)\n\n**Paper:** {}\n\n", report.title, report.name, report.paper);
  Table verdicts{"", {"claim", "our measurement", "verdict"}, {}};
  for (const auto& f : report.findings) verdicts.rows.push_back({f.claim, f.measurement, "**" + verdict_text(f) + "**"});
  out += markdown_table(verdicts) + "\n";
  for (const auto& t : report.tables) out += markdown_table(t) + "\n";
  for (const auto& fig : report.figures) out += fmt::format("![{}]({})\n\n", fig, fig);
  for (const auto& n : report.notes) out += "- " + n + "\n";
  out += per_seed_table(report.findings);
  return out;
}

std::string to_json(const Report& report) {
  nlohmann::json j;
  j["experiment"] = report.name;
  j["title"] = report.title;
  j["paper"] = report.paper;
  j["findings"] = nlohmann::json::array();
  for (const auto& f : report.findings) {
    nlohmann::json finding = {{"claim", f.claim}, {"measurement", f.measurement}, {"verdict", to_string(f.outcome)}};
    if (f.seeds() > 0) finding.update({{"seeds", f.seeds()}, {"seeds_held", f.seeds_held()}});
    for (const auto& s : f.on_seeds) {
      finding["on_seeds"].push_back({{"measurement", s.measurement}, {"verdict", to_string(s.outcome)}});
    }
    j["findings"].push_back(finding);
  }
  j["tables"] = nlohmann::json::array();
  for (const auto& t : report.tables) j["tables"].push_back({{"caption", t.caption}, {"header", t.header}, {"rows", t.rows}});
  j["figures"] = report.figures;
  j["notes"] = report.notes;
  return j.dump(2) + "\n";
}

std::string verdict_table(const Report& report) {
  std::string out = fmt::format("== {}: {}\n", report.name, report.title);
  for (const auto& f : report.findings) {
    out += fmt::format("  [{:^14}] {}\n  {:16} {}\n", to_string(f.outcome), f.claim, f.seeds() ? fmt::format("{}/{} seeds", f.seeds_held(), f.seeds()) : "", f.measurement);
  }
  return out;
}

}  // namespace cdat::experiments
