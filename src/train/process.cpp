#include "train/process.h"

#include <spawn.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

extern char** environ;

namespace cdat::train {

int run_process(const std::vector<std::string>& args) {
  if (args.empty()) throw std::invalid_argument("run_process: no program");
  std::vector<std::string> owned = args;
  std::vector<char*> argv;
  for (auto& a : owned) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawn(&pid, owned.front().c_str(), nullptr, nullptr, argv.data(), environ) != 0) return 127;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw std::runtime_error("waiting for " + owned.front() + " failed: " + std::strerror(errno));
  }
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

std::string figure_python() {
  const char* env_python = std::getenv("CDAT_PYTHON");
  return env_python && *env_python ? env_python : "/usr/bin/python3";
}

}  // namespace cdat::train
