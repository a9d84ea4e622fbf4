#include "distributed/gloo_collective.h"

#include <cdat/errors.h>

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>

namespace cdat::distributed {
namespace {

std::string required_env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') {
    throw InvalidOption(std::string("distributed: environment variable ") + name +
                        " is not set (a rank needs RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT)");
  }
  return value;
}

int int_env(const char* name, int min, int max) {
  const std::string text = required_env(name);
  size_t used = 0;
  int value = 0;
  try {
    value = std::stoi(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || value < min || value > max) {
    throw InvalidOption(std::string("distributed: ") + name + "=" + text + " must be an integer in [" +
                        std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  return value;
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

class GlooCollective : public Collective {
 public:
  GlooCollective(c10::intrusive_ptr<c10d::Store> store, const Rendezvous& where, std::chrono::milliseconds timeout)
      : store_(std::move(store)), rank_(where.rank), world_size_(where.world_size) {
    auto options = c10d::ProcessGroupGloo::Options::create(timeout);
    // A local run stays on the loopback interface; otherwise Gloo's default (this host's name).
    const bool local = where.master_addr == "127.0.0.1" || where.master_addr == "localhost";
    options->devices.push_back(local ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                     : c10d::ProcessGroupGloo::createDefaultDevice());
    options->threads = 1;
    group_ = c10::make_intrusive<c10d::ProcessGroupGloo>(store_, rank_, world_size_, options);
  }
  int rank() const override { return rank_; }
  int world_size() const override { return world_size_; }

 protected:
  void all_reduce_sum_impl(torch::Tensor& flat) override {
    std::vector<at::Tensor> tensors{flat};
    auto work = group_->allreduce(tensors);
    // wait() rethrows a peer's loss (Gloo's connection closed or the timeout) as a c10::Error.
    try {
      work->wait();
    } catch (const std::exception& e) {  // c10::Error, or Gloo's own exceptions rethrown as they are
      throw std::runtime_error("distributed: rank " + std::to_string(rank_) +
                               ": all-reduce failed, a peer rank was lost or timed out (" + first_line(e.what()) + ")");
    }
  }

 private:
  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group_;
  int rank_;
  int world_size_;
};

}  // namespace

int free_local_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("distributed: cannot open a socket to find a free port");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t length = sizeof(addr);
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
                  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) == 0;
  close(fd);
  if (!ok) throw std::runtime_error("distributed: cannot find a free port on 127.0.0.1");
  return ntohs(addr.sin_port);
}

bool environment_has_rank() { return std::getenv("RANK") != nullptr && std::getenv("WORLD_SIZE") != nullptr; }

Rendezvous rendezvous_from_environment() {
  Rendezvous where;
  where.world_size = int_env("WORLD_SIZE", 1, 65535);
  where.rank = int_env("RANK", 0, where.world_size - 1);
  where.master_addr = required_env("MASTER_ADDR");
  where.master_port = int_env("MASTER_PORT", 1, 65535);
  return where;
}

std::shared_ptr<Collective> connect_gloo(const Rendezvous& where, std::chrono::milliseconds timeout) {
  c10d::TCPStoreOptions options;
  options.port = static_cast<std::uint16_t>(where.master_port);
  options.isServer = where.rank == 0;
  options.numWorkers = static_cast<std::size_t>(where.world_size);
  options.waitWorkers = true;
  options.timeout = timeout;
  c10::intrusive_ptr<c10d::Store> store;
  try {
    store = c10::make_intrusive<c10d::TCPStore>(where.master_addr, options);
  } catch (const std::exception& e) {
    throw std::runtime_error("distributed: rank " + std::to_string(where.rank) + " cannot rendezvous at " +
                             where.master_addr + ":" + std::to_string(where.master_port) +
                             (where.rank == 0 ? " (is the port in use?)" : "") + ": " + e.what());
  }
  try {
    return std::make_shared<GlooCollective>(store, where, timeout);
  } catch (const c10::Error& e) {
    throw std::runtime_error("distributed: rank " + std::to_string(where.rank) + " cannot connect to the other ranks: " +
                             e.what_without_backtrace());
  }
}

}  // namespace cdat::distributed
