// A SIGKILL while a checkpoint is being written leaves the previous checkpoint loadable (issue 6):
// checkpoint_writer rewrites one checkpoint in a loop and is killed at random moments; after every
// kill the checkpoint loads and is consistent (meta.step = every parameter), and the steps only grow.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <string>
#include <thread>

#include "kill_model.h"
#include "train/checkpoint.h"

extern char** environ;

namespace cdat::reliability {
namespace {
namespace fs = std::filesystem;

// Starts checkpoint_writer PATH START and returns once it has written its first checkpoint.
pid_t start_writer(const std::string& path, int64_t start) {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) throw std::runtime_error("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
  const std::string start_text = std::to_string(start);
  std::string program = CDAT_CHECKPOINT_WRITER;
  char* argv[] = {program.data(), const_cast<char*>(path.c_str()), const_cast<char*>(start_text.c_str()), nullptr};
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, program.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  if (rc != 0) {
    ::close(pipe_fds[0]);
    throw std::runtime_error("cannot start " + program);
  }
  std::string line;
  char c = 0;
  while (::read(pipe_fds[0], &c, 1) == 1 && c != '\n') line += c;
  ::close(pipe_fds[0]);
  if (line != "ready") throw std::runtime_error("checkpoint_writer did not start (got '" + line + "')");
  return pid;
}

TEST(CheckpointKill, SigkillWhileWritingLeavesThePreviousCheckpointLoadable) {
  const fs::path dir = fs::path(::testing::TempDir()) / "cdat_checkpoint_kill";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string path = (dir / "checkpoint.pt").string();
  std::mt19937 rng(20240601);
  std::uniform_int_distribution<int> delay_ms(0, 400);
  int64_t last_step = -1;
  int killed_mid_write = 0;
  const int rounds = 10;
  for (int round = 0; round < rounds; ++round) {
    const int64_t start = last_step + 1;
    const pid_t pid = start_writer(path, start);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "round " << round;
    if (fs::exists(path + ".tmp")) ++killed_mid_write;  // died between creating the temporary file and the rename

    KillModel loaded;
    train::CheckpointMeta meta;
    ASSERT_NO_THROW(meta = train::load_checkpoint(path, *loaded.net, *loaded.optimizer)) << "round " << round;
    EXPECT_GE(meta.step, start) << "the writer's first checkpoint was complete before the kill";
    EXPECT_DOUBLE_EQ(meta.best_loss, static_cast<double>(meta.step));
    for (const auto& p : loaded.net->parameters()) {
      ASSERT_TRUE(torch::all(p == static_cast<double>(meta.step)).item<bool>())
          << "round " << round << ": parameters of another step than meta.step = " << meta.step;
    }
    last_step = meta.step;
  }
  RecordProperty("killed_mid_write", killed_mid_write);
  // The test proves something only if some kills landed inside a write (writes take most of the loop).
  EXPECT_GE(killed_mid_write, 1) << "no kill landed while a checkpoint was being written";
}

}  // namespace
}  // namespace cdat::reliability
