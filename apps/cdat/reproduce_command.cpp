// `cdat reproduce`: runs the experiments of PAPER §4–5 (src/experiments), prints each verdict table and
// writes <out>/<experiment>/{verdicts.md,verdicts.json,*.png} and <out>/verdicts.md for all of them.
// Runs are cached by configuration under <out>/runs, so a repeated or interrupted reproduction continues.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include "commands.h"
#include "experiments/experiments.h"
#include "train/process.h"

namespace cdat::cli {
namespace fs = std::filesystem;
namespace {

struct ReproduceArgs {
  std::vector<std::string> names;
  experiments::Settings settings;
  bool no_figures = false;
};

// Tiny Shakespeare: --text-file, $CDAT_TINYSHAKESPEARE, or the copy next to the source tree (../shared).
// The path is made canonical: it is part of the NanoLM runs' configuration, so one file reached by two
// spellings (a relative path, "src/../shared") must name the same runs in the store.
std::string find_text_file(const std::string& given) {
  if (!given.empty()) {
    if (!fs::is_regular_file(given)) throw UsageError("--text-file: no such file '" + given + "'");
    return fs::weakly_canonical(given).string();
  }
  const char* env = std::getenv("CDAT_TINYSHAKESPEARE");
  for (const std::string& candidate : {std::string(env ? env : ""), std::string(CDAT_SOURCE_DIR) + "/../shared/data/tinyshakespeare.txt",
                                      std::string("data/tinyshakespeare.txt")}) {
    if (!candidate.empty() && fs::is_regular_file(candidate)) return fs::weakly_canonical(candidate).string();
  }
  return "";
}

std::vector<const experiments::Experiment*> selected(const std::vector<std::string>& names) {
  std::vector<const experiments::Experiment*> out;
  for (const auto& name : names) {
    if (name == "all") {
      for (const auto& e : experiments::all_experiments()) out.push_back(&e);
    } else {
      out.push_back(&experiments::find_experiment(name));
    }
  }
  return out;
}

void write_text(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.string() + ".tmp";
  std::ofstream(tmp) << text;
  fs::rename(tmp, path);
}

void run(ReproduceArgs& args) {
  auto& s = args.settings;
  const auto chosen = selected(args.names);  // validates names before any work
  if (!(s.scale > 0)) throw UsageError("--scale must be > 0");
  s.executable = fs::read_symlink("/proc/self/exe").string();
  s.scripts_dir = CDAT_SCRIPTS_DIR;
  s.python = train::figure_python();
  s.text_file = find_text_file(s.text_file);
  s.figures = !args.no_figures;
  // Parallel runs each get one OpenBLAS thread: two pools of two on two cores oversubscribe (docs/performance.md).
  if (s.jobs > 1) setenv("OPENBLAS_NUM_THREADS", "1", 0);
  fs::create_directories(s.out);
  experiments::Context ctx(s);
  std::string combined;
  for (const auto* e : chosen) {
    const auto start = std::chrono::steady_clock::now();
    std::cout << fmt::format("\n### cdat reproduce {} (scale {:g}, {} seeds): {}\n", e->name, s.scale, s.seeds, e->summary) << std::flush;
    const experiments::Report report = e->run(ctx);
    const double minutes = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / 60;
    const fs::path dir = ctx.folder(e->name);
    const std::string markdown = experiments::to_markdown(report) +
                                 fmt::format("\n_Scale {:g}, seeds 0–{}. This pass took {:.1f} min; runs finished by earlier passes were reused "
                                             "from {}._\n",
                                             s.scale, s.seeds - 1, minutes, (fs::path(s.out) / "runs").string());
    write_text(dir / "verdicts.md", markdown);
    // The scale and seeds the verdicts were judged at: the long ctest checks rerun the experiment with them.
    nlohmann::json verdicts = nlohmann::json::parse(experiments::to_json(report));
    verdicts["scale"] = s.scale;
    verdicts["seeds"] = s.seeds;
    write_text(dir / "verdicts.json", verdicts.dump(2) + "\n");
    combined += markdown + "\n";
    std::cout << experiments::verdict_table(report) << fmt::format("  written: {}/verdicts.md ({:.1f} min)\n", dir.string(), minutes);
  }
  write_text(fs::path(s.out) / "verdicts.md", combined);
  std::cout << "\nall verdicts: " << (fs::path(s.out) / "verdicts.md").string() << "\n";
  if (ctx.store().failed_runs() > 0) {
    throw std::runtime_error(fmt::format("{} training runs failed (see their train.log); their verdicts are inconclusive",
                                         ctx.store().failed_runs()));
  }
}

}  // namespace

void add_reproduce_command(CLI::App& app) {
  auto args = std::make_shared<ReproduceArgs>();
  std::string names;
  for (const auto& e : experiments::all_experiments()) names += e.name + ", ";
  CLI::App* cmd = app.add_subcommand(
      "reproduce", "Reproduce the paper's findings: run the experiments' sweeps, draw the figures, judge each claim");
  cmd->add_option("experiments", args->names, "one or more of: " + names + "all")->required()->expected(1, -1);
  cmd->add_option("--scale", args->settings.scale,
                  "multiply steps and data sizes (and widths by √scale above 1); 1 = the 2-core defaults")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--out", args->settings.out, "results folder (runs are cached in OUT/runs)")->capture_default_str();
  cmd->add_option("-j,--jobs", args->settings.jobs, "training runs at a time (separate processes)")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  cmd->add_option("--nproc", args->settings.nproc,
                  "data-parallel ranks per training run (cdat train --nproc; docs/distributed.md); runs are shared "
                  "whatever nproc computed them")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  cmd->add_option("--seeds", args->settings.seeds,
                  "run every configuration with seeds 0..N-1; tables show the median (lowest-highest), verdicts are "
                  "judged on the median run and say in how many seeds they held")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  cmd->add_option("--text-file", args->settings.text_file,
                  "Tiny Shakespeare for the NanoLM workload (default: $CDAT_TINYSHAKESPEARE or ../shared/data)");
  cmd->add_flag("--no-figures", args->no_figures, "skip drawing (no python/matplotlib needed)");
  cmd->callback([args] { run(*args); });
}

}  // namespace cdat::cli
