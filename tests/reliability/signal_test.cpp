// `cdat train` interrupted by SIGINT / SIGTERM, end to end (issue 6): the run finishes its step,
// checkpoints and exits 1 with the resume command; summary.json says interrupted (so `cdat sweep` does
// not count it as completed); the checkpoint loads; `cdat train --resume DIR` then finishes with the
// same metrics.csv (but wall_time_s) and the same final parameters as a run never interrupted.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "run_folders.h"
#include "train/sweep.h"

extern char** environ;

namespace cdat::train {
namespace {
namespace fs = std::filesystem;
using Args = std::vector<std::string>;
using testing::Checkpoint;
using testing::lines;
using testing::metrics_without_time;
using testing::read_checkpoint;


// Starts `cdat ARGS` with stdout and stderr to `log`.
pid_t spawn_cdat(const Args& args, const std::string& log) {
  std::vector<std::string> storage = {CDAT_CLI_PATH};
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, storage[0].c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot start " + storage[0]);
  return pid;
}

// The exit code, or 128 + the signal that killed it.
int wait_for(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void interrupt_and_resume(int signal, const std::string& name, const Args& extra) {
  const fs::path base = fs::path(::testing::TempDir()) / ("cdat_signal_" + name);
  fs::remove_all(base);
  fs::create_directories(base);
  const std::string straight = (base / "straight").string(), split = (base / "split").string();
  const int64_t steps = 400;
  Args common = {"train", "--steps", std::to_string(steps), "--train-size", "256", "--width", "32",
                 "--sharpness-every", "50", "--lanczos-iters", "5", "-q"};
  common.insert(common.end(), extra.begin(), extra.end());
  auto with_out = [&](const std::string& out) {
    Args a = common;
    a.insert(a.end(), {"--out", out});
    return a;
  };

  // The run never interrupted.
  ASSERT_EQ(wait_for(spawn_cdat(with_out(straight), (base / "straight.log").string())), 0)
      << read_text((base / "straight.log").string());

  // The interrupted run: the signal arrives once metrics.csv holds rows (rows reach the file in blocks).
  const std::string log = (base / "split.log").string();
  const pid_t pid = spawn_cdat(with_out(split), log);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (lines(split + "/metrics.csv").size() < 3) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) FAIL() << "cdat ended before any row was written:\n" << read_text(log);
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      wait_for(pid);
      FAIL() << "no rows in metrics.csv after 120 s";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_EQ(::kill(pid, signal), 0);
  const int rc = wait_for(pid);
  const std::string message = read_text(log);
  ASSERT_EQ(rc, 1) << message;
  EXPECT_NE(message.find("continue with: cdat train --resume " + split), std::string::npos) << message;

  nlohmann::json summary;
  std::ifstream(split + "/summary.json") >> summary;
  EXPECT_EQ(summary["interrupted"], true);
  const int64_t done = summary["steps"].get<int64_t>();
  ASSERT_GT(done, 0);
  ASSERT_LT(done, steps) << "the run finished before the signal arrived; make it longer";
  SweepResult as_sweep_child;
  EXPECT_FALSE(read_run_summary(split, as_sweep_child)) << "cdat sweep must not count an interrupted run as completed";

  Checkpoint checkpoint;
  ASSERT_NO_THROW(checkpoint = read_checkpoint(split));
  EXPECT_EQ(checkpoint.step, done);
  EXPECT_TRUE(torch::isfinite(checkpoint.parameters).all().item<bool>());
  EXPECT_EQ(static_cast<int64_t>(lines(split + "/metrics.csv").size()), done + 1) << "header + one row per step done";

  // Resume to the end.
  const std::string resume_log = (base / "resume.log").string();
  ASSERT_EQ(wait_for(spawn_cdat({"train", "--resume", split, "-q"}, resume_log)), 0) << read_text(resume_log);
  std::ifstream(split + "/summary.json") >> summary;
  EXPECT_EQ(summary["interrupted"], false);
  EXPECT_EQ(summary["steps"], steps);

  const auto resumed = metrics_without_time(split), reference = metrics_without_time(straight);
  ASSERT_EQ(resumed.size(), static_cast<size_t>(steps + 1));
  for (int64_t step = 0; step < steps; ++step) {  // every step once, in order
    const auto& row = resumed[static_cast<size_t>(step + 1)];
    ASSERT_EQ(row.substr(0, row.find(',')), std::to_string(step));
  }
  EXPECT_EQ(resumed, reference);
  const auto final_split = read_checkpoint(split), final_straight = read_checkpoint(straight);
  EXPECT_EQ(final_split.step, steps);
  EXPECT_TRUE(torch::equal(final_split.parameters, final_straight.parameters)) << "final parameters differ";
  ::testing::Test::RecordProperty("interrupted_after_step", static_cast<int>(done));
}

TEST(Signals, SigintFullBatchCheckpointsExitsOneAndResumesBitIdentically) {
  CDAT_REQUIRE_FASHION_MNIST();
  interrupt_and_resume(SIGINT, "sigint_full", {});
}

TEST(Signals, SigtermMiniBatchCheckpointsExitsOneAndResumesBitIdentically) {
  CDAT_REQUIRE_FASHION_MNIST();
  interrupt_and_resume(SIGTERM, "sigterm_mini", {"--batch-size", "32", "--optimizer", "adam", "--ema", "0.9"});
}

}  // namespace
}  // namespace cdat::train
