// The c10d + Gloo implementation of cdat::Collective (collective.h). Only this library includes c10d;
// the core and the single-process path never need it.
#pragma once

#include <cdat/collective.h>

#include <chrono>
#include <memory>
#include <string>

namespace cdat::distributed {

// Where the ranks meet: the torchrun environment (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT).
struct Rendezvous {
  int rank = 0;
  int world_size = 1;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
};

// Reads RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT; throws InvalidOption naming a missing or bad one.
Rendezvous rendezvous_from_environment();
// True when the environment makes this process one rank (RANK and WORLD_SIZE are both set).
bool environment_has_rank();

// A TCP port on 127.0.0.1 that was free a moment ago (for local launches).
int free_local_port();

// Connects this rank (rank 0 hosts the TCPStore at master_addr:master_port). Every collective call and
// the connection itself throw std::runtime_error after `timeout` instead of waiting for a lost peer.
std::shared_ptr<Collective> connect_gloo(const Rendezvous& where, std::chrono::milliseconds timeout);

}  // namespace cdat::distributed
