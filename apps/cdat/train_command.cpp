// `cdat train`: one run from flags / a TOML file, or `--resume DIR` to continue an interrupted run.
#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include <unistd.h>

#include "commands.h"
#include "distributed/gloo_collective.h"
#include "progress_bar.h"
#include "run_options.h"
#include "train/process.h"
#include "train/runner.h"

namespace cdat::cli {
namespace {

std::atomic<bool> g_stop{false};

extern "C" void request_stop(int) {
  g_stop = true;
  static const char note[] = "\ncdat: finishing the current step, then saving a checkpoint\n";
  [[maybe_unused]] const auto written = ::write(STDERR_FILENO, note, sizeof note - 1);  // async-signal-safe
}

// SIGINT/SIGTERM finish the current step, checkpoint and exit non-zero. A repeated signal changes nothing
// (an impatient second Ctrl-C must not cost the run); SIGKILL still stops at once, and the previous
// checkpoint then stays loadable (checkpoints are written atomically).
void install_signal_handlers() {
  struct sigaction action {};
  action.sa_handler = request_stop;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

// Whether two paths name the same existing folder (`runs/a` and `runs/a/`, or relative and absolute).
bool same_folder(const std::string& a, const std::string& b) {
  std::error_code ec;
  return std::filesystem::equivalent(a, b, ec);
}

// The configuration of the run in `run_dir`, to continue it. The flags (and --config) given with --resume
// may repeat the run's own values, which is what people type: they are compared after parsing, so
// `--batch-size full` equals a stored 0 and `--lr 0.10` equals 0.1. --steps may change; --out may name the
// run's folder; any other differing key is refused, each named with both values.
train::RunConfig resumed_config(const RunOptions& options, const std::string& run_dir) {
  const train::RunConfig stored = train::load_run_config(run_dir);
  train::RunConfig requested = options.resolve_over(stored);
  std::string differing;
  for (const auto& key : train::config_keys()) {
    const std::string was = train::get_key(stored, key.name), now = train::get_key(requested, key.name);
    if (key.name == "steps" || was == now || (key.name == "out" && same_folder(now, run_dir))) continue;
    differing += fmt::format("{}--{} {}, not {}", differing.empty() ? "" : "; ", key.name, was, now);
  }
  if (!differing.empty()) throw UsageError("--resume: the run in " + run_dir + " was made with " + differing);
  requested.out = run_dir;
  return requested;
}

struct TrainArgs {
  std::unique_ptr<RunOptions> options;
  std::string resume;
  bool quiet = false;
};

// --nproc N without the torchrun environment: start N ranks of this executable on 127.0.0.1 (each runs
// `train --config OUT/config.toml` or `train --resume OUT`), wait for all, and name the rank that failed.
void launch_ranks(const train::RunConfig& config, const TrainArgs& args) {
  std::vector<std::string> command = {std::filesystem::read_symlink("/proc/self/exe").string(), "train", "-q"};
  if (args.resume.empty()) {
    std::filesystem::create_directories(config.out);
    const std::string path = (std::filesystem::path(config.out) / "config.toml").string();
    std::ofstream(path) << train::to_toml(config);
    command.insert(command.end(), {"--config", path});
  } else {
    command.insert(command.end(), {"--resume", args.resume, "--steps", std::to_string(config.steps)});
  }
  const std::string port = std::to_string(distributed::free_local_port());
  std::vector<train::RankProcess> ranks;
  for (int64_t rank = 0; rank < config.nproc; ++rank) {
    ranks.push_back({static_cast<int>(rank),
                     train::start_process(command, {"RANK=" + std::to_string(rank), "WORLD_SIZE=" + std::to_string(config.nproc),
                                                    "MASTER_ADDR=127.0.0.1", "MASTER_PORT=" + port})});
  }
  const auto grace = std::chrono::milliseconds(static_cast<int64_t>(config.dist_timeout * 1000.0)) + std::chrono::seconds(5);
  const std::string failure = train::wait_ranks(ranks, grace);
  if (!failure.empty()) throw std::runtime_error(failure);
}

// This process is one rank (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT): connect, then train.
std::shared_ptr<Collective> join_ranks(const train::RunConfig& config) {
  const auto where = distributed::rendezvous_from_environment();
  if (where.world_size != config.nproc) {
    throw UsageError(fmt::format("--nproc {} but WORLD_SIZE={} in the environment", config.nproc, where.world_size));
  }
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(config.dist_timeout * 1000.0));
  return distributed::connect_gloo(where, timeout);
}

void run_train(const TrainArgs& args) {
  const train::RunConfig config = args.resume.empty() ? args.options->resolve() : resumed_config(*args.options, args.resume);
  train::validate(config);
  std::shared_ptr<Collective> collective;
  if (config.nproc > 1 && !distributed::environment_has_rank()) {
    if (!args.quiet) std::cout << "# cdat train: " << config.nproc << " ranks\n" << train::to_toml(config) << std::flush;
    launch_ranks(config, args);
    return;
  }
  if (config.nproc > 1) collective = join_ranks(config);
  const bool quiet = args.quiet || (collective && collective->rank() != 0);
  if (!quiet) {
    std::cout << (args.resume.empty() ? "# cdat train: resolved configuration\n" : "# cdat train: resuming\n")
              << train::to_toml(config) << std::flush;
  }
  install_signal_handlers();
  ProgressBar bar(train::run_label(config));
  auto progress = [&](const train::Progress& p) {
    if (!p.warning.empty()) std::cerr << "\ncdat: warning at step " << p.step - 1 << ": " << p.warning << "\n";
    if (!quiet) bar.update(p.step, p.total, p.loss, p.lr, p.elapsed_s);
  };
  const auto summary =
      train::run_training(config, progress, !args.resume.empty(), [] { return g_stop.load(); }, collective);
  bar.finish();
  if (!collective || collective->rank() == 0) std::cout << fmt::format("{}: {} steps in {:.1f} s, train loss {:.6g} → {:.6g} (best {:.6g}), results in {}\n",
                           summary.label, summary.steps, summary.wall_time_s, summary.initial_train_loss,
                           summary.final_train_loss, summary.best_train_loss, config.out);
  if (summary.interrupted) {
    throw std::runtime_error(fmt::format("interrupted after step {}; checkpoint saved, continue with: cdat train --resume {}",
                                         summary.steps, config.out));
  }
  if (summary.diverged) throw std::runtime_error("run diverged at " + summary.diverged_reason);
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto args = std::make_shared<TrainArgs>();
  CLI::App* command = app.add_subcommand("train", "train a model with a base optimizer and a learning-rate tuner");
  args->options = std::make_unique<RunOptions>(*command);
  command->add_option("--resume", args->resume, "continue the run in this folder from its checkpoint")
      ->check(CLI::ExistingDirectory);
  command->add_flag("-q,--quiet", args->quiet, "print only the final line");
  command->callback([args] { run_train(*args); });
}

}  // namespace cdat::cli
