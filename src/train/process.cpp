#include "train/process.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace cdat::train {

namespace {

// `extra` entries replace the inherited ones of the same name.
std::vector<std::string> environment_with(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    const std::string name = entry.substr(0, entry.find('=') + 1);
    bool replaced = false;
    for (const auto& x : extra) replaced = replaced || x.rfind(name, 0) == 0;
    if (!replaced) env.push_back(entry);
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& owned) {
  std::vector<char*> pointers;
  for (auto& s : owned) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

pid_t spawn(const std::vector<std::string>& args, const std::vector<std::string>& extra_env) {
  if (args.empty()) throw std::invalid_argument("run_process: no program");
  std::vector<std::string> owned = args;
  std::vector<std::string> env = environment_with(extra_env);
  std::vector<char*> argv = c_strings(owned);
  std::vector<char*> envp = c_strings(env);
  pid_t pid = 0;
  if (posix_spawn(&pid, owned.front().c_str(), nullptr, nullptr, argv.data(), envp.data()) != 0) return -1;
  return pid;
}

}  // namespace

int start_process(const std::vector<std::string>& args, const std::vector<std::string>& extra_env) {
  const pid_t pid = spawn(args, extra_env);
  if (pid < 0) throw std::runtime_error("cannot start " + args.front() + ": " + std::strerror(errno));
  return static_cast<int>(pid);
}

namespace {

int exit_code_of(int status) {
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

// The child's exit code once it has exited; -1 while it runs (`block`: wait for it).
int reap(int pid, bool block) {
  int status = 0;
  for (;;) {
    const pid_t done = waitpid(static_cast<pid_t>(pid), &status, block ? 0 : WNOHANG);
    if (done == static_cast<pid_t>(pid)) return exit_code_of(status);
    if (done == 0) return -1;
    if (errno != EINTR) throw std::runtime_error("waiting for process " + std::to_string(pid) + " failed: " + std::strerror(errno));
  }
}

std::string describe_exit(int rank, int code) {
  if (code > 128) return "rank " + std::to_string(rank) + " was killed by signal " + std::to_string(code - 128);
  return "rank " + std::to_string(rank) + " exited with code " + std::to_string(code);
}

}  // namespace

int wait_process(int pid) { return reap(pid, /*block=*/true); }

std::string wait_ranks(const std::vector<RankProcess>& ranks, std::chrono::milliseconds grace) {
  std::vector<int> codes(ranks.size(), -1);
  std::string failure;
  auto deadline = std::chrono::steady_clock::time_point::max();
  for (size_t running = ranks.size(); running > 0;) {
    for (size_t i = 0; i < ranks.size(); ++i) {
      if (codes[i] >= 0 || (codes[i] = reap(ranks[i].pid, false)) < 0) continue;
      --running;
      if (codes[i] != 0 && failure.empty()) {
        failure = describe_exit(ranks[i].rank, codes[i]);
        deadline = std::chrono::steady_clock::now() + grace;
      }
    }
    if (running > 0 && std::chrono::steady_clock::now() > deadline) {
      for (size_t i = 0; i < ranks.size(); ++i) {
        if (codes[i] >= 0) continue;
        kill(static_cast<pid_t>(ranks[i].pid), SIGKILL);
        codes[i] = reap(ranks[i].pid, true);
        failure += "; rank " + std::to_string(ranks[i].rank) + " was still running after the grace period and was killed";
      }
      running = 0;
    }
    if (running > 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return failure;
}

int run_process(const std::vector<std::string>& args) {
  const pid_t pid = spawn(args, {});
  return pid < 0 ? 127 : wait_process(static_cast<int>(pid));
}

std::string figure_python() {
  const char* env_python = std::getenv("CDAT_PYTHON");
  return env_python && *env_python ? env_python : "/usr/bin/python3";
}

}  // namespace cdat::train
